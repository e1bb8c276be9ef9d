package watch

import (
	"testing"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// loopSim drives a correlator as Watch's loop does: a flush and a netlink
// barrier every 20 ms tick, and a netlink reader that runs lag behind the
// socket. Notifications are stamped when read, frames by the kernel.
type loopSim struct {
	c      *correlator
	lag    time.Duration
	now    time.Time
	queued []simItem // in the socket, not yet read
}

type simItem struct {
	queued  time.Time
	n       *neighObs // nil: a barrier sent at queued
	barrier bool
}

// runTo advances the simulated clock to t in 1 ms steps.
func (s *loopSim) runTo(t time.Time) {
	for s.now.Before(t) {
		s.now = s.now.Add(time.Millisecond)
		for len(s.queued) > 0 && !s.queued[0].queued.Add(s.lag).After(s.now) {
			it := s.queued[0]
			s.queued = s.queued[1:]
			if it.barrier {
				s.c.drainedTo(it.queued)
				continue
			}
			it.n.after = s.c.drained
			s.c.add(&obs{at: s.now, neigh: it.n})
		}
		if s.now.Sub(t0)%(20*time.Millisecond) == 0 {
			s.queued = append(s.queued, simItem{queued: s.now, barrier: true})
			s.c.flush(s.now, false)
		}
	}
}

// TestLateNetlinkReader: a GARP changes the entry at once, but the netlink
// reader is 400 ms behind (a loaded machine). The frame still gets its
// verdict from the change it caused, and the change its cause; a reader on
// time gives the same events. The notification is stamped when read, so
// without the barriers the frame is judged (at hold) before the change
// is read, and the change, 400 ms after the frame, is not tied to it.
func TestLateNetlinkReader(t *testing.T) {
	for _, lag := range []time.Duration{time.Millisecond, 400 * time.Millisecond, 900 * time.Millisecond} {
		t.Run(lag.String(), func(t *testing.T) {
			var got []trace.Event
			c := newCorrelator(t0, 0, "observer", func(e trace.Event) { got = append(got, e) })
			c.gated = true // as Watch's loop, which sends the barriers
			c.seed(reachableOld)
			s := &loopSim{c: c, lag: lag, now: t0.Add(-time.Second)}
			s.runTo(t0)
			c.add(frame(t0, ether.PktBroadcast, arp.Broadcast, garpRequest))
			s.queued = append(s.queued, simItem{queued: t0, n: &neighObs{dev: "o0", ip: vip, lladdr: new, state: "STALE"}})
			s.runTo(t0.Add(3 * time.Second))
			if len(got) != 2 {
				t.Fatalf("got %d events, want the frame and the change: %+v", len(got), got)
			}
			if f := got[0]; f.Kind != trace.KindARP || f.Verdict != trace.Honoured || f.State != "STALE" || f.LLAddr != new {
				t.Errorf("frame event %+v, want honoured with STALE %s", f, new)
			}
			if ch := got[1]; ch.Kind != trace.KindState || ch.Cause != "garp-request" || ch.Frame != 1 {
				t.Errorf("change event %+v, want caused by the garp-request, frame 1", ch)
			}
		})
	}
}

// TestLateBoundNoFalseCause: a change that keeps the frame's MAC but was
// queued well after the window (reachable_time expiring 200 ms after a
// no-op GARP) is not the frame's doing, even though it is read late.
func TestLateBoundNoFalseCause(t *testing.T) {
	var got []trace.Event
	c := newCorrelator(t0, 0, "observer", func(e trace.Event) { got = append(got, e) })
	c.gated = true // as Watch's loop, which sends the barriers
	c.seed([]neighObs{{dev: "o0", ip: vip, lladdr: new, state: "REACHABLE"}})
	s := &loopSim{c: c, lag: 300 * time.Millisecond, now: t0.Add(-time.Second)}
	s.runTo(t0)
	c.add(frame(t0, ether.PktBroadcast, arp.Broadcast, garpRequest))
	s.runTo(t0.Add(200 * time.Millisecond))
	s.queued = append(s.queued, simItem{queued: s.now, n: &neighObs{dev: "o0", ip: vip, lladdr: new, state: "STALE"}})
	s.runTo(t0.Add(3 * time.Second))
	if len(got) != 2 {
		t.Fatalf("got %d events, want the frame and the change: %+v", len(got), got)
	}
	if f := got[0]; f.Verdict != trace.Honoured || f.State != "REACHABLE" || f.Explanation == "" {
		t.Errorf("frame event %+v, want a no-op (REACHABLE %s kept)", f, new)
	}
	if ch := got[1]; ch.Cause != "timer" || ch.Frame != 0 {
		t.Errorf("change event %+v, want the reachable_time timer, no frame", ch)
	}
}
