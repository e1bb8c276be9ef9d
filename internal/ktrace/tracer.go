package ktrace

import (
	"context"
	"sync"

	"arplab/internal/labsys"
)

// TracerOptions configures a Tracer.
type TracerOptions struct {
	// Events to enable, from events/neigh/. Nil means DefaultEvents.
	// Events the kernel does not have are skipped; Tracer.Enabled lists
	// the ones that are on.
	Events []string
	// Devs, if not empty, restricts every event to these device names
	// with an in-kernel filter. Tracepoints carry no namespace, so this
	// (with run-unique names, see Lab.IfName) is what keeps other runs'
	// and the host's own neighbour activity out.
	Devs []string
	// BufferKB sets the per-CPU ring buffer size of the instance; 0 keeps
	// the kernel's default.
	BufferKB int
	// OnEvent, when set, receives every event as it is read (on the
	// reader goroutine) and the tracer keeps none in memory: a stream for
	// long-running watchers. OnLost receives ring-buffer overruns.
	OnEvent func(Event)
	OnLost  func(lost int)
	// PrivateMount mounts a tracefs of the tracer's own even when
	// /sys/kernel/tracing is mounted (tests use it to exercise that path).
	PrivateMount bool
}

// Tracer reads the neigh:* tracepoints of a private trace instance and
// keeps every parsed event. It is the kernel oracle: unlike netlink it also
// reports updates the kernel ignored (neigh_update with update_flags 00).
type Tracer struct {
	name    string
	sys     tracerSys
	onEvent func(Event)
	onLost  func(int)

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever events or syncs arrive
	events    []Event
	lost      int
	parseErrs []error
	syncSeen  int
	readErr   error
	closed    bool
}

// Name returns the trace instance's name.
func (t *Tracer) Name() string { return t.name }

// Events returns a copy of every event read so far, in trace order.
func (t *Tracer) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Lost returns how many events the kernel dropped because the ring buffer
// was full; if it is not 0 the recorded sequence has gaps.
func (t *Tracer) Lost() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lost
}

// ParseErrors returns the lines that could not be parsed (at most 100).
func (t *Tracer) ParseErrors() []error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]error(nil), t.parseErrs...)
}

// WaitFor returns the first recorded event (from the start of the trace)
// for which match is true, waiting for more events until ctx ends.
func (t *Tracer) WaitFor(ctx context.Context, match func(Event) bool) (Event, error) {
	next := 0
	for {
		t.mu.Lock()
		for ; next < len(t.events); next++ {
			if match(t.events[next]) {
				ev := t.events[next]
				t.mu.Unlock()
				return ev, nil
			}
		}
		ch, rerr, closed := t.changed, t.readErr, t.closed
		t.mu.Unlock()
		if rerr != nil {
			return Event{}, rerr
		}
		if closed {
			return Event{}, labsys.ErrClosed
		}
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-ch:
		}
	}
}

// record adds parsed events and wakes waiters. Called by the reader.
func (t *Tracer) record(evs []Event, lost int, perrs []error, syncSeen int) {
	if t.onEvent != nil {
		for _, e := range evs {
			t.onEvent(e)
		}
		evs = nil
	}
	if lost > 0 && t.onLost != nil {
		t.onLost(lost)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, evs...)
	t.lost += lost
	for _, e := range perrs {
		if len(t.parseErrs) < 100 {
			t.parseErrs = append(t.parseErrs, e)
		}
	}
	if syncSeen > t.syncSeen {
		t.syncSeen = syncSeen
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *Tracer) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.readErr == nil {
		t.readErr = err
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// waitSync waits until the reader has seen sync marker seq.
func (t *Tracer) waitSync(ctx context.Context, seq int) error {
	for {
		t.mu.Lock()
		seen, ch, rerr, closed := t.syncSeen, t.changed, t.readErr, t.closed
		t.mu.Unlock()
		switch {
		case seen >= seq:
			return nil
		case rerr != nil:
			return rerr
		case closed:
			return labsys.ErrClosed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
