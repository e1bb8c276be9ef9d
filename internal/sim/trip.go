package sim

import (
	"arplab/internal/neigh"
	"arplab/internal/vtime"
)

// A round trip is a background session's request (conn.request), its
// arrival at the station that answers it, the station's answer and the
// answer's arrival back at the host: four events on the queue, most of a
// study's work (failure's four sessions make about 8,400 of them per run).
//
// The rule: once the request's step is over, if no queued event is due at
// or before the moment the answer would leave the station, nothing can
// happen between the request and that moment but the arrival; and if,
// once the answer's delay is drawn, no queued event is due at or before
// its arrival either, nothing can happen before the arrival. The queue
// would then run them next, in this order, each at its own time: so they
// run at once, in this order, each at its own time (the clock moves with
// them), with the same random draws from the same streams in the same
// order, the same frames and the same calls into the host's model. They
// still count as the events they would have been. Where the rule does not
// hold (a host timer, a script event, another session's request, a frame
// in flight is due in between, or the run call ends or its budget runs
// out first), the arrival is queued at its own place: its sequence number
// is taken when its delay is drawn, so it runs where it would have run.
// TestTripsChangeNothing runs every built-in with and without trips.
type trip struct {
	f   *frame     // the request
	st  *station   // where it arrives
	at  vtime.Time // when
	seq uint64     // its place among the events of that instant
}

// startTrip is segment.send for a session's request to a station: the
// delay is drawn and the arrival's place taken, but the arrival waits for
// the end of the request's step (finishTrip).
func (w *world) startTrip(st *station, f *frame, d vtime.Duration) {
	w.finishTrip() // never two at once; a request sends one frame
	s := &w.sch
	s.seq++
	f.refs++
	w.trip = trip{f: f, st: st, at: s.now.Add(d), seq: s.seq}
}

// finishTrip ends the step of a request that started a round trip: the
// request's arrival, the station's answer and the answer's arrival run now
// where the rule allows, and are queued where it does not.
func (w *world) finishTrip() {
	tr := w.trip
	if tr.f == nil {
		return
	}
	w.trip = trip{}
	s := &w.sch
	st, f := tr.st, tr.f
	t2 := tr.at.Add(st.cfg.Think.D)
	if !s.quietUntil(t2) || !s.room(3) {
		w.tripStats[1]++
		e := s.pushSeq(tr.at, tr.seq, evDeliver)
		e.to, e.f, e.pt = st, f, neigh.PktHost
		return
	}
	// the arrival at the station (the delivery event, station.receive)
	s.now = tr.at
	s.events++
	resp := st.respond(f)
	f.refs--
	w.release(f)
	if resp == nil {
		return
	}
	// the answer at t2 (scheduler.answer: nothing is due before it)
	s.events++
	s.now = t2
	g := st.seg
	p, ok := g.portOf(resp.dst)
	hi, toHost := p.(*hostIf)
	if !ok || !toHost || resp.dst.IsMulticast() {
		g.transmit(st, resp)
		return
	}
	d, ok := g.delay(resp)
	if !ok {
		w.release(resp)
		return
	}
	// the answer's arrival at the host
	t3 := t2.Add(d)
	if !s.quietUntil(t3) {
		w.tripStats[2]++
		resp.refs++
		e := s.push(t3, evDeliver)
		e.to, e.f, e.pt = hi, resp, neigh.PktHost
		return
	}
	s.now = t3
	s.events++
	w.tripStats[0]++
	w.frameReceived(hi, resp, neigh.PktHost)
	hi.receive(resp, neigh.PktHost)
	w.release(resp)
}
