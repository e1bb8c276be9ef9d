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
