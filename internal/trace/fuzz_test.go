package trace

import (
	"bytes"
	"testing"
)

// FuzzRead: any bytes give events or an error with a line number, never a
// panic; what is read re-encodes and reads back the same.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"time":1,"kind":"arp","verdict":"ignored","ip":"10.0.0.1","frame":2}` + "\n"))
	f.Add([]byte(`{"kind":"header","attrs":{"a":"b"}}` + "\n" + `{"kind":"state","state":"STALE"}`))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := Read(bytes.NewReader(b), "fuzz.jsonl")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteAll(&buf, evs); err != nil {
			t.Fatal(err)
		}
		again, err := Read(&buf, "again.jsonl")
		if err != nil || len(again) != len(evs) {
			t.Fatalf("re-read: %v (%d vs %d)", err, len(again), len(evs))
		}
	})
}

// FuzzReadOutput: any bytes give events and output lines, or an error
// naming a line; every line is accounted for (an event, an output line or
// a blank one), and an output line's kind is one of the output kinds.
func FuzzReadOutput(f *testing.F) {
	f.Add([]byte(`{"time":0,"kind":"header"}` + "\n" + `{"kind":"summary","summary":{"ok":true},"fixes":[]}` + "\n"))
	f.Add([]byte(`{"kind":"matrix_row","label":"baseline","ok":true}` + "\n" + `{"kind":"montecarlo","montecarlo":{"runs":3}}`))
	f.Add([]byte(`{"kind":"verify_result","agree":true}` + "\n\n" + `{"kind":"summary2"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, other, err := ReadOutput(bytes.NewReader(b), "fuzz.jsonl")
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte("fuzz.jsonl:")) {
				t.Fatalf("error without the file and line: %v", err)
			}
			return
		}
		lines := 0
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		if len(evs)+len(other) != lines {
			t.Fatalf("%d events + %d output lines for %d lines", len(evs), len(other), lines)
		}
		for _, o := range other {
			if !outputKinds[o.Kind] || o.Line < 1 {
				t.Fatalf("output line %+v", o)
			}
		}
	})
}
