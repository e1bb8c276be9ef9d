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
	"container/heap"
	"math/rand/v2"

	"arplab/internal/vtime"
)

// event is one scheduled callback.
type event struct {
	at  vtime.Time
	seq uint64
	fn  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}

// scheduler runs events in (time, insertion) order.
type scheduler struct {
	now    vtime.Time
	seq    uint64
	q      eventHeap
	events int // events run, for the figures
}

// at schedules fn at t (never in the past).
func (s *scheduler) at(t vtime.Time, fn func()) {
	if t < s.now {
		t = s.now
	}
	s.seq++
	heap.Push(&s.q, event{at: t, seq: s.seq, fn: fn})
}

// after schedules fn d from now.
func (s *scheduler) after(d vtime.Duration, fn func()) { s.at(s.now.Add(d), fn) }

// run processes events until the queue is empty or the end is reached.
func (s *scheduler) run(end vtime.Time) {
	for len(s.q) > 0 {
		if s.q[0].at > end {
			break
		}
		e := heap.Pop(&s.q).(event)
		s.now = e.at
		s.events++
		e.fn()
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
