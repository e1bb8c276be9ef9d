//go:build linux

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"arplab/internal/live/livetest"
	"arplab/internal/testkit"
	"arplab/internal/trace"
)

// TestWatchJSONRendersAndMatchesSchema: what `watch --json` writes while
// GARPs move an entry (root: two namespaces and a veth) holds to the trace
// event schema, uses snake_case keys only, and renders as text and HTML.
func TestWatchJSONRendersAndMatchesSchema(t *testing.T) {
	livetest.Need(t)
	p := livetest.NewPair(t)
	vip := livetest.VIP.String()
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	p.WaitReady(t)

	var wout, werr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), []string{"watch", "--netns", p.Observer, p.ObserverDev, "--json", "--seconds", "4"}, &wout, &werr)
	}()
	waitFor(t, 10*time.Second, "watch's header line", func() error {
		if !strings.Contains(wout.String(), `"kind":"header"`) {
			return context.DeadlineExceeded
		}
		return nil
	})
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, vip, "--mode", "request", "--count", "2", "--interval", "200ms"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("watch exited %d: %s", code, werr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watch --seconds 4 did not stop")
	}
	out := wout.String()
	n := validateOutput(t, "watch --json", out, schemas(t), map[trace.Kind]string{})
	if n["trace-event"] < 2 {
		t.Fatalf("watch --json wrote %v lines, want the header and the entry's change:\n%s", n, out)
	}
	if !strings.Contains(out, `"ip":"`+vip+`"`) {
		t.Errorf("watch --json has no line for %s:\n%s", vip, out)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "watch.jsonl")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	txt, errs, code := run(t, "render", f)
	if code != ExitOK || !strings.Contains(txt, vip) {
		t.Errorf("render watch.jsonl: exit %d %s\n%s", code, errs, txt)
	}
	if _, errs, code := run(t, "render", f, "--html", filepath.Join(dir, "watch.html")); code != ExitOK {
		t.Errorf("render watch.jsonl --html: exit %d %s", code, errs)
	}
}
