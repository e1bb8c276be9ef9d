package cli

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"arplab/internal/live/watch"
	"arplab/internal/testkit"
	"arplab/internal/trace"
)

// TestWatchMetricsFlagErrors: flags that would do nothing, or an address
// that cannot be served, are usage errors named in one line, before
// anything is opened.
func TestWatchMetricsFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--quiet"}, "--quiet goes with --metrics ADDR"},
		{[]string{"--per-ip"}, "--per-ip goes with --metrics ADDR"},
		{[]string{"--metrics", "9717"}, `--metrics "9717": want HOST:PORT`},
		{[]string{"--metrics", ""}, `--metrics "": want HOST:PORT`},
		{[]string{"--metrics", "127.0.0.1:99999"}, `--metrics "127.0.0.1:99999": port "99999": want a number from 0 to 65535`},
		{[]string{"--metrics", "localhost:http"}, `--metrics "localhost:http": port "http": want a number`},
		{[]string{"--metrics", "127.0.0.1:"}, `--metrics "127.0.0.1:": no port`},
		{[]string{"--metrics", "127.0.0.1:9717", "--per-ip", "--per-ip-max", "0"}, "--per-ip-max 0: want at least 1"},
		{[]string{"--metrics", "127.0.0.1:9717", "--per-ip-max", "10"}, "--per-ip-max goes with --per-ip"},
	} {
		_, errs, code := run(t, append([]string{"watch"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("watch %v: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, errs, ExitUsage, tc.want)
		}
	}
}

// TestWatchStopsAtOnce: a watcher whose cleanup hangs after the stop does
// not hold the command: it returns within stopGrace of the signal, as
// interrupted, and says what it left.
func TestWatchStopsAtOnce(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	saved := watchFunc
	t.Cleanup(func() { watchFunc = saved })
	watchFunc = func(ctx context.Context, _ watch.WatchOptions, _ func(trace.Event)) error {
		<-ctx.Done()
		<-release // a cleanup that never finishes while the test waits
		return nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	var out, errb testkit.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"watch", "--metrics", "127.0.0.1:0", "--quiet"}, &out, &errb) }()
	time.Sleep(200 * time.Millisecond)
	cancel(Interrupted(os.Interrupt))
	start := time.Now()
	select {
	case code := <-done:
		if code != ExitSIGINT {
			t.Errorf("exit %d, want %d (interrupted)", code, ExitSIGINT)
		}
		if waited := time.Since(start); waited > stopGrace+2*time.Second {
			t.Errorf("returned %v after the stop, want within %v", waited, stopGrace)
		}
		if !strings.Contains(errb.String(), "did not finish within 5s") {
			t.Errorf("stderr %q does not say the cleanup was left", errb.String())
		}
	case <-time.After(stopGrace + 10*time.Second):
		t.Fatalf("watch still running %v after the stop", stopGrace+10*time.Second)
	}
}
