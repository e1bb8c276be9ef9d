package vm

import (
	"bytes"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var b bytes.Buffer
	c := &console{w: &b}
	out := frameWriter{c, KindOut}
	big := strings.Repeat("x", 1500) + "\n"
	if _, err := out.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := c.send(KindExit, []byte("3")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	var seq []uint64
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line == "" {
			continue
		}
		f, ok, err := ParseFrame("[    1.234] noise " + line)
		if !ok || err != nil {
			t.Fatalf("%q: ok=%v err=%v", line, ok, err)
		}
		seq = append(seq, f.Seq)
		if f.Kind == KindOut {
			got = append(got, f.Payload...)
		}
	}
	if string(got) != big {
		t.Errorf("payload did not survive framing: %d bytes, want %d", len(got), len(big))
	}
	if len(seq) != 4 || seq[3] != 3 {
		t.Errorf("sequence numbers %v, want 0..3", seq)
	}
}

func TestParseFrameRejects(t *testing.T) {
	good := string(AppendFrame(nil, Frame{Seq: 7, Kind: KindOut, Payload: []byte("hello")}))
	if _, ok, err := ParseFrame("ordinary console line"); ok || err != nil {
		t.Errorf("plain line: ok=%v err=%v", ok, err)
	}
	for name, line := range map[string]string{
		"corrupted payload": strings.Replace(good, "aGVsbG8", "aGVsbG9", 1),
		"cut":               good[:len(good)-5],
		"kind":              string(AppendFrame(nil, Frame{Kind: "nope"})),
		"extra field":       strings.TrimSpace(good) + " x",
	} {
		if _, ok, err := ParseFrame(line); !ok || err == nil {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
}

// FuzzParseFrame: no input panics; what parses re-encodes to a frame that
// parses to the same value.
func FuzzParseFrame(f *testing.F) {
	f.Add(string(AppendFrame(nil, Frame{Seq: 1, Kind: KindOut, Payload: []byte("ok\n")})))
	f.Add(string(AppendFrame(nil, Frame{Seq: 9, Kind: KindExit, Payload: []byte("0")})))
	f.Add("@@arplab 1 out !!! 00000000")
	f.Add("[ 0.1] @@arplab ")
	f.Fuzz(func(t *testing.T, line string) {
		fr, ok, err := ParseFrame(line)
		if !ok || err != nil {
			return
		}
		again, ok2, err2 := ParseFrame(string(AppendFrame(nil, fr)))
		if !ok2 || err2 != nil || again.Seq != fr.Seq || again.Kind != fr.Kind || !bytes.Equal(again.Payload, fr.Payload) {
			t.Fatalf("round trip of %q: %+v, %v, %v", line, again, ok2, err2)
		}
	})
}
