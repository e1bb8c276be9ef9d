package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressBar: nothing for the first progressAfter, then one line
// redrawn in place with frames, megabytes of the file and the rate; done
// clears it. A replay whose stderr is not a terminal never makes one
// (TestReplayProgressNotPiped).
func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(1000, 0)
	p := &progressBar{w: &b, size: 200e6, now: func() time.Time { return now }}
	p.start = now
	now = now.Add(time.Second)
	p.update(1_000_000, 50e6)
	if b.Len() != 0 {
		t.Fatalf("bar drawn after 1 s: %q", b.String())
	}
	now = now.Add(3 * time.Second)
	p.update(4_000_000, 100e6)
	got := b.String()
	for _, want := range []string{"\r[############............] ", "4.0M frames", "100/200 MB  50%", "1.00M frames/s", "\x1b[K"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar %q lacks %q", got, want)
		}
	}
	b.Reset()
	now = now.Add(10 * time.Millisecond)
	p.update(4_100_000, 101e6)
	if b.Len() != 0 {
		t.Errorf("bar redrawn after 10 ms: %q", b.String())
	}
	p.done()
	if b.String() != "\r\x1b[K" {
		t.Errorf("done wrote %q, want the line cleared", b.String())
	}
}

// TestReplayProgressNotPiped: with stderr not a terminal, a replay long
// enough for a bar writes nothing but its own messages there.
func TestReplayProgressNotPiped(t *testing.T) {
	path := t.TempDir() + "/busy.pcap"
	writeBusy(t, path, 200_000)
	_, errs, code := run(t, "replay", path, "--host", "10.0.0.1/16", "--profile", "6.18")
	if code != ExitOK || strings.Contains(errs, "\r") || strings.Contains(errs, "frames/s") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
