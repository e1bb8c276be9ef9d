package kernel

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFlagMapJSON: the flags are written with lowercase keys (one JSON
// style), read back in either spelling, and a key that is no flag fails.
func TestFlagMapJSON(t *testing.T) {
	p, err := Lookup("rhel7.3")
	if err != nil {
		t.Fatal(err)
	}
	m := FlagsOf(p.Features())
	b, err := json.Marshal(struct {
		Flags FlagMap `json:"flags"`
	}{m})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(b), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t.Errorf("uppercase in %s", b)
	}
	if !strings.Contains(string(b), `"f5":true`) || !strings.Contains(string(b), `"f1":false`) {
		t.Errorf("rhel7.3's flags: %s", b)
	}
	var back FlagMap
	if err := json.Unmarshal([]byte(`{"f5":true,"F1":false}`), &back); err != nil {
		t.Fatal(err)
	}
	if !back["F5"] || back["F1"] || len(back) != 2 {
		t.Errorf("read back %v", back)
	}
	if err := json.Unmarshal([]byte(`{"f99":true}`), &back); err == nil || !strings.Contains(err.Error(), "f99") {
		t.Errorf("unknown flag: %v", err)
	}
}
