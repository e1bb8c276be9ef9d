package sim

import (
	"arplab/internal/neigh"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
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
// order and the same calls into the host's model, and without building
// the frames nobody else sees. They still count as the events they would
// have been. Where the rule does not hold (a host timer, a script event,
// another session's request or a frame in flight is due in between, or
// the run call ends or its budget runs out first), the frame is built and
// queued at its own place: the request's arrival keeps the sequence
// number it took when its delay was drawn, so it runs where it would have
// run. A run that captures frames (--pcap) makes no trips: the capture
// wants every frame's bytes. TestTripsChangeNothing runs every built-in
// with and without trips, TestTripsRefused a scenario crowded enough that
// the rule often refuses.
type trip struct {
	ifc  *hostIf    // the sender's interface
	st   *station   // where the request arrives
	at   vtime.Time // when
	seq  uint64     // its place among the events of that instant
	c    *conn      // the request: c's packet
	seg  tcpSeg     // with this segment
	size int
}

// startTrip is segment.transmit for a session's request, sent at once to
// mac, when a station has that MAC: the delay is drawn and the arrival's
// place taken, but the arrival waits for the end of the request's step
// (finishTrip). It reports false, doing nothing, for any other request.
func (w *world) startTrip(ifc *hostIf, c *conn, seg *tcpSeg, size int, mac arp.MAC) bool {
	g := ifc.seg
	if mac.IsMulticast() || (w.sink != nil && c.f.notable()) || w.trip.st != nil {
		return false
	}
	// the station with that MAC: ports do not change in a run, so the
	// connection keeps the last one it found
	k := macKey(mac)
	st := c.tripSt
	if st == nil || k != c.tripMAC {
		to, ok := g.portOf(mac)
		if st, ok = to.(*station); !ok {
			return false
		}
		c.tripSt, c.tripMAC = st, k
	}
	d, ok := g.delay(nil)
	if !ok {
		return true // lost (a session's losses are not told)
	}
	s := &w.sch
	s.seq++
	// field by field: a whole trip built and copied in would stall on
	// the copy (tcpSeg)
	tr := &w.trip
	tr.ifc, tr.st, tr.at, tr.seq, tr.c, tr.seg, tr.size = ifc, st, s.now.Add(d), s.seq, c, *seg, size
	return true
}

// finishTrip ends the step of a request that started a round trip: the
// request's arrival, the station's answer and the answer's arrival run now
// where the rule allows, and are queued where it does not.
func (w *world) finishTrip() {
	tr := &w.trip
	if tr.st == nil {
		return
	}
	ifc, st := tr.ifc, tr.st
	tr.ifc, tr.st = nil, nil
	s := &w.sch
	t2 := tr.at.Add(st.cfg.Think.D)
	if !s.quietUntil(t2) || !s.room(3) {
		w.tripStats[1]++
		f := w.newIPFrame(tr.c.packet(&tr.seg, false), tr.size)
		f.src, f.dst = ifc.dev.MAC, st.mac()
		f.refs++
		e := s.pushSeq(tr.at, tr.seq, evDeliver)
		e.to, e.f, e.pt = st, f, neigh.PktHost
		return
	}
	// the arrival at the station (station.receive)
	s.now = tr.at
	s.events++
	c := tr.c
	if !c.takenBy(st) {
		return // lost (not told: startTrip)
	}
	seg, ok := c.answer(&tr.seg, false)
	if !ok {
		return
	}
	size := 54 + seg.data
	// the answer at t2 (scheduler.answer: nothing is due before it), to
	// the request's sender
	s.events++
	s.now = t2
	g := st.seg
	if !ifc.reachable() {
		f := w.newIPFrame(c.reply(&seg), size)
		f.src, f.dst = st.mac(), ifc.dev.MAC
		g.transmit(st, f)
		return
	}
	d, ok := g.delay(nil)
	if !ok {
		return
	}
	// the answer's arrival at the host
	t3 := t2.Add(d)
	if !s.quietUntil(t3) {
		w.tripStats[2]++
		f := w.newIPFrame(c.reply(&seg), size)
		f.src, f.dst = st.mac(), ifc.dev.MAC
		f.refs++
		e := s.push(t3, evDeliver)
		e.to, e.f, e.pt = ifc, f, neigh.PktHost
		return
	}
	s.now = t3
	s.events++
	w.tripStats[0]++
	w.frames++        // world.frameReceived (no capture)
	if c.f.srcLocal { // hostIf.receiveIP
		c.deliver(&seg)
	}
}

// reply is seg as an IP packet of the connection, from the peer.
func (c *conn) reply(seg *tcpSeg) *ipPacket {
	return &ipPacket{src: c.f.cfg.To.Addr, dst: c.f.src, conn: c, seg: *seg}
}

// takenBy is st.takes for the connection's destination, which only a
// move changes (world.moved): the answer is kept until then.
func (c *conn) takenBy(st *station) bool {
	w := c.f.w
	if c.takes != st || c.takesAt != w.moved {
		c.takes, c.takesAt, c.taken = st, w.moved, st.takes(c.f.cfg.To.Addr)
	}
	return c.taken
}

// reachable reports whether a unicast frame to the interface's MAC on its
// segment reaches it (segment.transmit): ports and MACs do not change in
// a run, so it is asked once.
func (ifc *hostIf) reachable() bool {
	if ifc.reach == 0 {
		ifc.reach = 2
		if p, ok := ifc.seg.portOf(ifc.dev.MAC); ok && p == port(ifc) && !ifc.dev.MAC.IsMulticast() {
			ifc.reach = 1
		}
	}
	return ifc.reach == 1
}
