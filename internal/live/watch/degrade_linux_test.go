//go:build linux

package watch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sched "arplab/internal/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/trace"
)

// lockedRecorder is a recorder safe to read while Watch runs.
type lockedRecorder struct {
	mu sync.Mutex
	r  recorder
}

func (l *lockedRecorder) do(f func(*recorder)) { l.mu.Lock(); defer l.mu.Unlock(); f(&l.r) }
func (l *lockedRecorder) Frame(f FrameVerdict) { l.do(func(r *recorder) { r.Frame(f) }) }
func (l *lockedRecorder) Entry(c EntryChange)  { l.do(func(r *recorder) { r.Entry(c) }) }
func (l *lockedRecorder) Probe(d string, u bool) {
	l.do(func(r *recorder) { r.Probe(d, u) })
}
func (l *lockedRecorder) IgnoredUpdate(d string, x Rule) {
	l.do(func(r *recorder) { r.IgnoredUpdate(d, x) })
}
func (l *lockedRecorder) Dead(d DeadChange) { l.do(func(r *recorder) { r.Dead(d) }) }
func (l *lockedRecorder) Health(h Health)   { l.do(func(r *recorder) { r.Health(h) }) }

func (l *lockedRecorder) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.r.lines)
}

// TestWatchWithoutTracepoint: with TraceBestEffort, a tracepoint that
// cannot be opened is reported (Health, a note) and Watch goes on judging
// frames; without it, Watch fails as before.
func TestWatchWithoutTracepoint(t *testing.T) {
	p := livetest.NewPair(t)
	saved := openTracerFunc
	t.Cleanup(func() { openTracerFunc = saved })
	openTracerFunc = func([]string) (*tracer, error) { return nil, errors.New("watch: no tracefs here") }

	if err := Watch(context.Background(), WatchOptions{Netns: p.Observer, Trace: true}, func(trace.Event) {}); err == nil ||
		!strings.Contains(err.Error(), "no tracefs here") {
		t.Fatalf("Watch with a mandatory tracepoint = %v, want the tracer's error", err)
	}

	freshEntry(t, p, "stale")
	rec := &lockedRecorder{}
	w := startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}, Trace: true, TraceBestEffort: true, Observer: rec})
	w.wait(t, "the note", func(e trace.Event) bool {
		return e.Kind == trace.KindNote && strings.Contains(e.Explanation, "tracepoint unavailable") && strings.Contains(e.Explanation, "no tracefs here")
	})
	sendPreset(t, p, "arping-U", sched.Options{Count: 1})
	w.wait(t, "the GARP's change", func(e trace.Event) bool { return e.Kind == trace.KindState && e.Cause == "garp-request" })
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := rec.lines()
		health := slices.Contains(got, "health {Tracepoint:true TracepointAvailable:false TracepointError:watch: no tracefs here EventsLost:0 FramesLost:0 Resync:false ResyncENOBUFS:false}")
		frame := slices.Contains(got, "frame o0 10.99.0.100 garp-request honoured none")
		if health && frame {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer saw %q; want the tracepoint's absence and the honoured GARP", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
