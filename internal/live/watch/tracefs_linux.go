//go:build linux

package watch

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
)

// tracer streams neigh:neigh_update from a private tracefs instance (ktrace's
// tracer: its own instance, so it neither sees nor disturbs anyone
// else's tracing, field notes §C.8).
type tracer struct {
	tr    *ktrace.Tracer
	ch    chan *obs
	done  chan struct{}
	mono0 time.Duration // CLOCK_MONOTONIC at wall0, to convert trace times
	wall0 time.Time
}

// openTracer creates instances/arplab-watch-<pid> with neigh_update
// enabled for devs.
func openTracer(devs []string) (*tracer, error) {
	t := &tracer{ch: make(chan *obs, 4096), done: make(chan struct{})}
	t.wall0 = time.Now()
	t.mono0 = time.Duration(kclock.MonoNs(t.wall0))
	send := func(o *obs) {
		select {
		case t.ch <- o:
		case <-t.done:
		}
	}
	tr, err := ktrace.NewTracer(instanceName(os.Getpid()), ktrace.TracerOptions{
		Events: []string{"neigh_update"}, Devs: devs,
		OnEvent: func(ev ktrace.Event) {
			if tp, ok := fromTraceEvent(ev); ok {
				send(&obs{at: t.wall0.Add(tp.mono - t.mono0), tp: &tp})
			}
		},
		OnLost: func(n int) {
			send(&obs{at: time.Now(), note: fmt.Sprintf("tracefs: ring buffer overran, %d events lost", n), lost: n})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if !slices.Contains(tr.Enabled(), "neigh_update") {
		tr.Close()
		return nil, fmt.Errorf("watch: this kernel has no neigh:neigh_update tracepoint (include/trace/events/neigh.h, added in 2018)")
	}
	t.tr = tr
	return t, nil
}

// run forwards the tracer's observations until ctx ends.
func (t *tracer) run(ctx context.Context, inputs chan<- input) error {
	for {
		select {
		case o := <-t.ch:
			select {
			case inputs <- input{o: o}:
			case <-ctx.Done():
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// close removes the instance.
func (t *tracer) close() error {
	close(t.done)
	return t.tr.Close()
}

// instanceName names this process's tracefs instance.
func instanceName(pid int) string { return "arplab-watch-" + strconv.Itoa(pid) }
