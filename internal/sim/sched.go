// Package sim is arplab's deterministic network simulator: discrete events
// in virtual nanoseconds, one event queue ordered by (time, insertion), one
// master seed from which every random stream is derived, L2 segments with
// named fault knobs, Linux hosts that run the neighbour model, stations
// that own IPs, GARP senders that send what real tools send, and upper-layer
// flows whose ACKs confirm neighbours as each kernel does.
//
// There is no wall clock and no goroutine in the loop, so a scenario and a
// seed always give the same trace, byte for byte.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package sim

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"arplab/internal/neigh"
	"arplab/internal/vtime"
)

// event is one scheduled action: a callback, or (fn == nil) the delivery
// of a frame to a port, which is most events and is kept closure-free.
type event struct {
	at   vtime.Time
	fn   func()
	to   port
	f    *frame
	seg  *segment
	c    *conn
	tok  uint64
	kind eventKind
	pt   neigh.PktType
}

// eventKind selects what a closure-free event does; the hot events of a
// simulation (frames, TCP timers) carry their operands instead of a closure
// so that scheduling them does not allocate.
type eventKind uint8

const (
	evFunc     eventKind = iota // run fn
	evDeliver                   // frame f arrives at port to
	evTransmit                  // port to sends frame f on segment seg
	evRTO                       // conn c's retransmission timer (token tok)
	evDelack                    // conn c's delayed ACK (token tok)
	evRequest                   // conn c's next request
)

// slot is a heap entry: the ordering key and where the event's operands
// live. Keeping slots small makes the heap's swaps cheap; the events stay
// put in a slab with a free list.
type slot struct {
	at  vtime.Time
	seq uint64
	idx int32
}

func (a slot) before(b slot) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// scheduler runs events in (time, insertion) order.
//
// An event due before everything on the queue is the next one to run
// unless an earlier one is pushed before it runs, so it waits in next
// instead of going through the queue (an earlier push moves it there):
// a frame in flight, pushed by the event before, usually is.
//
// The queue itself is two: a short ring sorted earliest first for events
// due within nearHorizon (frames in flight, TCP timers, flows' next
// requests: nearly all of a run's events), and a binary heap for the
// rest (script events, a connection's timeout, checks: a handful that
// wait long) and for any near event the full ring has no room for. The
// next event is the earlier of the two heads.
type scheduler struct {
	now     vtime.Time
	seq     uint64
	next    slot
	hasNext bool
	// ring[ringHead%ringSize], … are the ring's ringLen slots in order
	ring     [ringSize]slot
	ringHead uint
	ringLen  int
	q        []slot // the heap
	slab     []event
	free     []int32
	events   int // events run, for the figures
	// ran counts the events actually taken off the queue (events also
	// counts the ones a shortcut made unnecessary: skipped and merged)
	ran int
	// end is the end of the current run call: an event a shortcut
	// would merge must be one that call would have run
	end vtime.Time
	// max is the current run call's event budget (≤ 0: none)
	max int
	w   *world
}

// skipped counts an event that would have run at t and been a no-op, and
// is never queued (conn.request's superseded retransmission timer): the
// run's event count and budget stay those of the full queue.
func (s *scheduler) skipped(t vtime.Time) {
	if t <= vtime.Time(s.w.s.Duration.D) {
		s.events++
	}
}

// push queues an event at t (never in the past) and returns it, in the
// slab, for the caller to fill in at once (the pointer is good until the
// next push). A reused slot keeps the fields of the event it held before;
// each kind reads only its own.
func (s *scheduler) push(t vtime.Time, kind eventKind) *event {
	if t < s.now {
		t = s.now
	}
	s.seq++
	return s.pushSeq(t, s.seq, kind)
}

// pushSeq queues an event at t (not in the past) whose place among the
// events of its instant is seq, a number push handed out earlier: an
// event decided on then and queued now runs where it would have run had
// it been queued then (world.finishTrip).
func (s *scheduler) pushSeq(t vtime.Time, seq uint64, kind eventKind) *event {
	var idx int32
	if n := len(s.free); n > 0 {
		idx = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		s.slab = append(s.slab, event{})
		idx = int32(len(s.slab) - 1)
	}
	k := slot{at: t, seq: seq, idx: idx}
	switch {
	case s.hasNext:
		// k displaces next only if it is due before it
		if k.before(s.next) {
			s.insert(s.next)
			s.next = k
		} else {
			s.insert(k)
		}
	case s.nothingDueBy(t):
		s.next, s.hasNext = k, true
	default:
		s.insert(k)
	}
	e := &s.slab[idx]
	e.at, e.kind = t, kind
	return e
}

// nearHorizon is how far ahead an event goes to the ring, ringSize how
// many it holds. In a ring sorted earliest first, taking the next event
// is taking the head, and an event goes in from whichever end is nearer
// its place: a frame due within a segment's latency from the head, a
// timer or a next request due a good part of a second later from the
// tail, each moving a slot or two. Events due later than the horizon
// would sit at the tail for most of a run, to be stepped over by every
// timer: they wait in the heap instead.
const (
	nearHorizon = vtime.Time(vtime.Second)
	ringSize    = 32 // a power of two
)

// ringAt is the ring's i-th earliest slot.
func (s *scheduler) ringAt(i int) *slot { return &s.ring[(s.ringHead+uint(i))%ringSize] }

// nothingDueBy reports whether no queued event (next aside) is due at or
// before t.
func (s *scheduler) nothingDueBy(t vtime.Time) bool {
	return (s.ringLen == 0 || s.ring[s.ringHead%ringSize].at > t) && (len(s.q) == 0 || s.q[0].at > t)
}

// insert puts k on the queue.
func (s *scheduler) insert(k slot) {
	n := s.ringLen
	if n == ringSize || k.at-s.now > nearHorizon {
		s.heapPush(k)
		return
	}
	switch {
	case n == 0 || !k.before(*s.ringAt(n - 1)):
		// the latest: at the tail
		*s.ringAt(n) = k
	case n < 2 || k.before(*s.ringAt(n / 2)):
		// in the first half: the slots before its place move one
		// towards the head
		s.ringHead--
		i := 0
		for i < n && s.ringAt(i+1).before(k) {
			*s.ringAt(i) = *s.ringAt(i + 1)
			i++
		}
		*s.ringAt(i) = k
	default:
		// in the second half: the slots after its place move one
		// towards the tail
		i := n
		for k.before(*s.ringAt(i - 1)) {
			*s.ringAt(i) = *s.ringAt(i - 1)
			i--
		}
		*s.ringAt(i) = k
	}
	s.ringLen++
}

// heapPush puts k on the heap.
func (s *scheduler) heapPush(k slot) {
	s.q = append(s.q, k)
	q := s.q
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

// popDueBy removes and returns the queue's earliest slot if it is due at
// or before end.
func (s *scheduler) popDueBy(end vtime.Time) (slot, bool) {
	if s.ringLen > 0 {
		k := s.ring[s.ringHead%ringSize]
		if len(s.q) == 0 || k.before(s.q[0]) {
			if k.at > end {
				return slot{}, false
			}
			s.ringHead++
			s.ringLen--
			return k, true
		}
	}
	if len(s.q) == 0 || s.q[0].at > end {
		return slot{}, false
	}
	return s.heapPop(), true
}

// heapPop removes the heap's earliest slot.
func (s *scheduler) heapPop() slot {
	q := s.q
	n := len(q) - 1
	top := q[0]
	q[0] = q[n]
	q = q[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q[r].before(q[l]) {
			m = r
		}
		if !q[m].before(q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	s.q = q
	return top
}

// at schedules fn at t (never in the past).
func (s *scheduler) at(t vtime.Time, fn func()) { s.push(t, evFunc).fn = fn }

// connEvent schedules a TCP timer of c after d.
func (s *scheduler) connEvent(d vtime.Duration, k eventKind, c *conn, tok uint64) {
	e := s.push(s.now.Add(d), k)
	e.c, e.tok = c, tok
}

// transmit schedules src sending f on g after d.
func (s *scheduler) transmit(d vtime.Duration, g *segment, src port, f *frame) {
	e := s.push(s.now.Add(d), evTransmit)
	e.seg, e.to, e.f = g, src, f
}

// answer has station src send f on g after d, the station's think
// time: the last thing the event that runs it does (station.receive, at
// the end of a delivery). When no other event is due by then, nothing can
// happen between now and the transmission, so it is done at once, at its
// own time (the clock moved there and back): the same frames, random
// draws and queue order as the queued transmission, one event fewer on
// the queue. It still counts as an event.
func (s *scheduler) answer(d vtime.Duration, g *segment, src port, f *frame) {
	t := s.now.Add(d)
	if !s.quietUntil(t) {
		s.transmit(d, g, src, f)
		return
	}
	s.events++
	now := s.now
	s.now = t
	g.transmit(src, f)
	s.now = now
}

// quietUntil reports whether an event due at t, pushed now, would be the
// next to run in this run call: no queued event is due at or before t
// (one due at t was pushed earlier and runs first), and t is within the
// call's end.
func (s *scheduler) quietUntil(t vtime.Time) bool {
	return t <= s.end && !(s.hasNext && s.next.at <= t) && s.nothingDueBy(t)
}

// room reports whether n more events fit in the run call's budget.
func (s *scheduler) room(n int) bool { return s.max <= 0 || s.events+n <= s.max }

// after schedules fn d from now.
func (s *scheduler) after(d vtime.Duration, fn func()) { s.at(s.now.Add(d), fn) }

// deliver schedules the arrival of f at port to after d.
func (s *scheduler) deliver(d vtime.Duration, to port, f *frame, pt neigh.PktType) {
	e := s.push(s.now.Add(d), evDeliver)
	e.to, e.f, e.pt = to, f, pt
}

// ctxEvery is how many events run between looks at the context: a few
// milliseconds of work, so a cancelled run stops at once without the check
// costing anything measurable.
const ctxEvery = 1 << 12

// run processes events until the queue is empty or the end is reached. It
// stops early with the context's error when ctx is cancelled, and with a
// *BudgetError once more than max events have run (max ≤ 0: no budget).
func (s *scheduler) run(ctx context.Context, end vtime.Time, max int) error {
	s.end, s.max = end, max
	for {
		var k slot
		if s.hasNext {
			if s.next.at > end {
				break
			}
			k, s.hasNext = s.next, false
		} else {
			var ok bool
			if k, ok = s.popDueBy(end); !ok {
				break
			}
		}
		// e points into the slab: the slot is freed only after the
		// event ran, and a slab the event's own pushes reallocate
		// leaves the old array, which e still reads, as it was.
		e := &s.slab[k.idx]
		s.now = e.at
		s.events++
		s.ran++
		if max > 0 && s.events > max {
			return &BudgetError{Max: max, At: s.now, End: end}
		}
		if s.ran&(ctxEvery-1) == 0 && ctx != nil { // ran%ctxEvery: ran ≥ 0, ctxEvery a power of two
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch e.kind {
		case evFunc:
			e.fn()
		case evDeliver:
			f := e.f
			s.w.frameReceived(e.to, f, e.pt)
			e.to.receive(f, e.pt)
			f.refs--
			s.w.release(f)
		case evTransmit:
			e.seg.transmit(e.to, e.f)
		case evRTO:
			if e.tok == e.c.rtoTok {
				e.c.rtoFired()
			}
		case evDelack:
			e.c.delackFired(e.tok)
		case evRequest:
			e.c.request()
		}
		s.free = append(s.free, k.idx)
	}
	if max > 0 && s.events > max {
		// the last events counted were skipped or merged ones
		return &BudgetError{Max: max, At: s.now, End: end}
	}
	s.now = end
	return nil
}

// DefaultMaxEvents is the event budget of one run when Options.MaxEvents
// is 0: a few tens of seconds of work, hundreds of times what any
// built-in scenario needs (the longest uses about two million).
const DefaultMaxEvents = 50_000_000

// BudgetError stops a run that needed more events than its budget: a
// scenario that sends or times something far more often, or for far
// longer, than a failover needs.
type BudgetError struct {
	Max     int
	At, End vtime.Time
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the simulation stopped after %d events, its budget, at %.1f s of %.1f s simulated: "+
		"something in the scenario happens far more often than a failover needs (or raise the budget with --max-events)",
		e.Max, e.At.Seconds(), e.End.Seconds())
}

// streams derives independent random streams from one master seed, one per
// purpose, so adding a draw in one subsystem does not reshuffle the others
// (style habit 6).
type streams struct{ master uint64 }

// stream returns the stream named name.
func (s streams) stream(name string) *rand.Rand { return rand.New(s.pcg(name)) }

// pcg returns the generator of the stream named name.
func (s streams) pcg(name string) *rand.PCG {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return rand.NewPCG(s.master, h)
}

// int64n is rand.New(p).Int64N(n) for n > 0, the same value from the
// same draws, without the interface call a rand.Rand makes for each: the
// segments' jitter is drawn twice per round trip. A power of two takes
// the low bits of one draw; any other n takes the high word of the
// draw times n, redrawing while the low word falls in the few values
// that would favour some results (Lemire's multiply-shift method).
// TestInt64NAsRand checks it against rand.Rand.
func int64n(p *rand.PCG, n int64) int64 {
	u := uint64(n)
	x := p.Uint64()
	if u&(u-1) == 0 {
		return int64(x & (u - 1))
	}
	hi, lo := bits.Mul64(x, u)
	if lo < u {
		for thresh := -u % u; lo < thresh; {
			hi, lo = bits.Mul64(p.Uint64(), u)
		}
	}
	return int64(hi)
}
