package cli

import (
	"encoding/json"
	"io"
	"strings"
	"unicode"

	"arplab/internal/trace"
)

// This file holds what every --json output shares: one style (lowercase
// snake_case keys, docs/trace.md "Output lines") and a "kind" on every
// line that is not a trace event, so a reader (arplab render, jq) tells a
// summary from an event by kind alone.

// writeOutputLine writes v as one JSON line with "kind" first. v must
// marshal to a JSON object.
func writeOutputLine(w io.Writer, kind trace.Kind, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	line := append([]byte(`{"kind":`), jsonQuote(string(kind))...)
	if len(body) > 2 {
		line = append(line, ',')
		line = append(line, body[1:]...)
	} else {
		line = append(line, '}')
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

func jsonQuote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// snakeJSON marshals v, a value of a package that names its JSON fields
// the Go way (verify's Result), with every object key in snake_case, so
// all of arplab's outputs share one style without that package carrying
// tags for the CLI. Keys inside "attrs" objects are data, not field names,
// and are kept.
func snakeJSON(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return snakeKeys(m).(map[string]any), nil
}

func snakeKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k == "attrs" {
				out[k] = e
				continue
			}
			out[snake(k)] = snakeKeys(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = snakeKeys(x[i])
		}
		return x
	}
	return v
}

// snake turns a Go field name into snake_case: "HZMethod" → "hz_method",
// "VerdictsAgree" → "verdicts_agree", "ExactJ" → "exact_j", "IP" → "ip".
// Already lowercase keys are unchanged.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
