package kernel

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// FlagMap holds §9.1 feature flags by id ("F1".."F16"), as doctor reports
// and `profiles NAME` show them. In Go the ids keep the spec's spelling;
// in JSON they are written in lowercase ("f1"), because every arplab
// --json output uses one key style, lowercase snake_case (docs/trace.md,
// "One JSON style"). Reading accepts either spelling, so reports saved
// before the change still load.
type FlagMap map[string]bool

// FlagsOf returns every flag of f by id.
func FlagsOf(f Features) FlagMap {
	m := FlagMap{}
	for _, fl := range FlagTable {
		m[fl.ID] = f.Flag(fl.ID)
	}
	return m
}

// MarshalJSON writes the flags with lowercase keys, sorted as
// encoding/json sorts map keys.
func (m FlagMap) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	low := make(map[string]bool, len(m))
	for k, v := range m {
		low[strings.ToLower(k)] = v
	}
	return json.Marshal(low)
}

// UnmarshalJSON reads flags written with either key spelling ("f1" or
// "F1"); a key that is no §9.1 flag is an error naming it.
func (m *FlagMap) UnmarshalJSON(b []byte) error {
	var raw map[string]bool
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*m = nil
		return nil
	}
	out := make(FlagMap, len(raw))
	var bad []string
	for k, v := range raw {
		id := strings.ToUpper(k)
		if !isFlagID(id) {
			bad = append(bad, k)
			continue
		}
		out[id] = v
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("flags: %q is not a §9.1 flag (f1 to f%d)", bad[0], len(FlagTable))
	}
	*m = out
	return nil
}

func isFlagID(id string) bool {
	for _, fl := range FlagTable {
		if fl.ID == id {
			return true
		}
	}
	return false
}
