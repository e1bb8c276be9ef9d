// Package sim is arplab's deterministic network simulator: discrete events
// in virtual nanoseconds, one event queue ordered by (time, insertion), one
// master seed from which every random stream is derived, L2 segments with
// named fault knobs, Linux hosts that run the neighbour model, stations
// that own IPs, GARP senders that send what real tools send, and upper-layer
// flows whose ACKs confirm neighbours as each kernel does.
//
// There is no wall clock and no goroutine in the loop, so a scenario and a
// seed always give the same trace, byte for byte.
package sim

import (
	"math/rand/v2"

	"arplab/internal/neigh"
	"arplab/internal/vtime"
)

// event is one scheduled action: a callback, or (fn == nil) the delivery
// of a frame to a port, which is most events and is kept closure-free.
type event struct {
	at  vtime.Time
	seq uint64
	fn  func()
	to  port
	f   *frame
	pt  neigh.PktType
}

func (a *event) before(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// scheduler runs events in (time, insertion) order. The heap is written
// out (not container/heap) so that pushing and popping do not box events.
type scheduler struct {
	now    vtime.Time
	seq    uint64
	q      []event
	events int // events run, for the figures
	w      *world
}

func (s *scheduler) push(e event) {
	if e.at < s.now {
		e.at = s.now
	}
	s.seq++
	e.seq = s.seq
	s.q = append(s.q, e)
	i := len(s.q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.q[i].before(&s.q[p]) {
			break
		}
		s.q[i], s.q[p] = s.q[p], s.q[i]
		i = p
	}
}

func (s *scheduler) pop() event {
	q := s.q
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = event{}
	q = q[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q[r].before(&q[l]) {
			m = r
		}
		if !q[m].before(&q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	s.q = q
	return top
}

// at schedules fn at t (never in the past).
func (s *scheduler) at(t vtime.Time, fn func()) { s.push(event{at: t, fn: fn}) }

// after schedules fn d from now.
func (s *scheduler) after(d vtime.Duration, fn func()) { s.at(s.now.Add(d), fn) }

// deliver schedules the arrival of f at port to after d.
func (s *scheduler) deliver(d vtime.Duration, to port, f *frame, pt neigh.PktType) {
	s.push(event{at: s.now.Add(d), to: to, f: f, pt: pt})
}

// run processes events until the queue is empty or the end is reached.
func (s *scheduler) run(end vtime.Time) {
	for len(s.q) > 0 {
		if s.q[0].at > end {
			break
		}
		e := s.pop()
		s.now = e.at
		s.events++
		if e.fn != nil {
			e.fn()
			continue
		}
		s.w.frameReceived(e.to, e.f, e.pt)
		e.to.receive(e.f, e.pt)
	}
	s.now = end
}

// streams derives independent random streams from one master seed, one per
// purpose, so adding a draw in one subsystem does not reshuffle the others
// (style habit 6).
type streams struct{ master uint64 }

// stream returns the stream named name.
func (s streams) stream(name string) *rand.Rand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return rand.New(rand.NewPCG(s.master, h))
}
