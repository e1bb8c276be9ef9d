package sim

import (
	"fmt"
	"net/netip"

	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/ipv4"
)

// TCP timing of the kernels in the story (include/net/tcp.h): the initial
// RTO is 1 s and doubles; a connect gives up after 6 SYN retransmissions
// (spec §10.5: retransmissions at +1, +3, +7, +15, +31, +63 s).
const (
	synRTO      = vtime.Second
	synRetries  = 6
	dataRTO     = 200 * vtime.Millisecond // TCP_RTO_MIN on an idle LAN
	dataRetries = 8
	retryDelay  = vtime.Second // an SSH client's pause before it connects again
)

// flow is upper-layer traffic from a Linux host to an IP.
type flow struct {
	w     *world
	cfg   *scenario.Flow
	name  string
	h     *host
	route *neigh.Route
	// ifc and nexthop are the flow's output route: a host's addresses
	// and routes are set up before the run and never change in it.
	ifc      *hostIf
	nexthop  netip.Addr
	started  vtime.Time
	conn     *conn
	attempts int
	done     bool
	ok       bool
	failedAt vtime.Time
	estAt    vtime.Time
	why      string
	lostSYN  int
	// session is Kind tcp (a long session of requests), end its until:
	// asked on every request and answer
	session bool
	end     vtime.Time
	// src is the source address of the flow's packets (host.source: a
	// simulated host's addresses do not change in a run), srcLocal
	// whether the host takes packets sent back to it (hostIf.receiveIP)
	src      netip.Addr
	srcLocal bool
}

func newFlow(w *world, c *scenario.Flow, idx int) *flow {
	h := w.host(c.From)
	ifc, nh, cached := h.route(c.To.Addr)
	cpu := idx % h.cfg.CPUs
	if c.CPU != nil {
		cpu = *c.CPU % h.cfg.CPUs
	}
	f := &flow{w: w, cfg: c, name: c.Name, h: h, route: cached[cpu], ifc: ifc, nexthop: nh, session: c.Kind == "tcp"}
	f.end = vtime.Time(w.s.Duration.D)
	if c.Until.D > 0 {
		f.end = vtime.Time(c.Until.D)
	}
	f.src = h.source(ifc, c.To.Addr)
	f.srcLocal = ifc.isLocal(f.src)
	return f
}

// notable reports whether losses of this flow are worth a trace line: SSH
// attempts are what the user watches; background sessions are not.
func (f *flow) notable() bool { return f.cfg.Kind == "ssh" }

func (f *flow) event(cause, what string, ok *bool) {
	f.w.emit(trace.Event{Time: f.w.seconds(f.w.sch.now), Kind: trace.KindFlow, Host: f.h.name, Flow: f.name,
		IP: f.cfg.To.String(), Cause: cause, OK: ok, Explanation: what})
}

func (f *flow) start() {
	f.started = f.w.sch.now
	switch f.cfg.Kind {
	case "udp":
		f.conn = &conn{f: f, sock: &neigh.Socket{Name: f.name + "→" + f.cfg.To.String(), Route: f.route}}
		f.w.setSockDst(f.conn.sock.Name, f.nexthop)
		f.udpTick()
	default:
		if f.cfg.Kind == "ssh" {
			end := f.started.Add(f.cfg.Timeout.D)
			f.w.sch.at(end, func() {
				if !f.done {
					f.fail(fmt.Sprintf("not connected after %v (%d attempts, %d SYNs lost)", f.cfg.Timeout.D, f.attempts, f.lostSYN))
				}
			})
		}
		f.connect()
	}
}

func (f *flow) until() vtime.Time { return f.end }

func (f *flow) connect() {
	if f.done {
		return
	}
	f.attempts++
	c := &conn{f: f, sock: &neigh.Socket{Name: fmt.Sprintf("%s#%d→%v", f.name, f.attempts, f.cfg.To), Route: f.route}}
	f.w.setSockDst(c.sock.Name, f.nexthop)
	f.conn = c
	if f.cfg.Kind == "ssh" {
		f.event("connect", fmt.Sprintf("%s: connect to %v:22 (attempt %d)", f.name, f.cfg.To, f.attempts), nil)
	}
	c.sendSYN()
}

func (f *flow) established() {
	f.estAt = f.w.sch.now
	if f.cfg.Kind == "ssh" && !f.done {
		f.done, f.ok = true, true
		f.event("established", fmt.Sprintf("%s: connected after %v", f.name, f.w.sch.now.Sub(f.started)), trace.Bool(true))
	}
}

func (f *flow) fail(why string) {
	if f.done && !f.ok {
		return
	}
	f.done, f.ok, f.why, f.failedAt = true, false, why, f.w.sch.now
	f.event("failed", f.name+": "+why, trace.Bool(false))
}

func (f *flow) udpTick() {
	if f.w.sch.now >= f.until() {
		f.done, f.ok = true, true
		return
	}
	c := f.conn
	if f.cfg.Confirm {
		f.h.confirm(c)
	}
	c.send(tcpSeg{data: 100}, true)
	f.w.sch.after(f.cfg.Interval.D, f.udpTick)
}

// conn is one TCP connection (or the UDP socket) of a flow.
type conn struct {
	f           *flow
	sock        *neigh.Socket
	state       int // 0 SYN_SENT, 1 ESTABLISHED, 2 closed
	retries     int
	rtoTok      uint64
	outstanding bool
	delackTok   uint64
	delack      bool
	seq         uint32     // our next sequence number
	ack         uint32     // the peer's next sequence number (what we acknowledge)
	peerSeq     uint32     // the peer's own next sequence number
	peerAck     uint32     // what the peer acknowledges
	nextReq     vtime.Time // when the next request of a tcp session is due
	// tripSt is the station with MAC tripMAC (a macKey), the last one a
	// request of the connection went to (startTrip)
	tripSt  *station
	tripMAC uint64
	// takes is the station takenBy last asked about, takesAt the moves
	// done then, taken its answer
	takes   *station
	takesAt int
	taken   bool
	// tcp is the host's send state for the connection; it decides which
	// segments from the peer confirm the neighbour (stack.TCPSend: the
	// one copy of spec §6.3's rule).
	tcp stack.TCPSend
}

// tcpOf is a simulated segment as the TCP header fields the rule reads.
func tcpOf(seg *tcpSeg) ipv4.TCP {
	return ipv4.TCP{Seq: seg.seq, Ack: seg.ackNo, DataLen: seg.data, Flags: seg.flags}
}

// ipFrame is a frame and its IPv4 packet in one allocation.
type ipFrame struct {
	frame
	pkt ipPacket
}

// newIPFrame takes an IPv4 frame from the world's free list (or allocates
// one): a run has only a few frames in flight at a time, while a long run
// sends millions, so recycling them keeps the allocator and the garbage
// collector out of the per-packet path. See world.release for when a
// frame goes back.
func (w *world) newIPFrame(p *ipPacket, size int) *frame {
	if n := len(w.freeFrames); n > 0 {
		f := w.freeFrames[n-1]
		w.freeFrames = w.freeFrames[:n-1]
		pkt := f.ip
		*pkt = *p
		*f = frame{ip: pkt, size: size}
		return f
	}
	x := &ipFrame{pkt: *p}
	x.frame.size = size
	x.frame.ip = &x.pkt
	return &x.frame
}

func (c *conn) send(seg tcpSeg, udp bool) { c.sendPacket(seg, udp, false) }

// sendPacket sends seg; trip marks a session's request, whose round trip
// may run in the request's own step (world.startTrip).
func (c *conn) sendPacket(seg tcpSeg, udp, trip bool) {
	f := c.f
	size := 54 + seg.data
	if !udp {
		if seg.syn() {
			c.seq = uint32(1000 * c.f.attempts) // retransmitted SYNs reuse the ISN
		}
		seg.seq, seg.ackNo = c.seq, c.ack
		switch {
		case seg.syn():
			seg.seq = c.seq
		default:
			c.seq += uint32(seg.data)
		}
		c.tcp.Sent(tcpOf(&seg))
	}
	f.h.output(c, &seg, udp, size, trip && f.w.trips)
}

// packet is seg as an IP packet of the connection, from the host.
func (c *conn) packet(seg *tcpSeg, udp bool) *ipPacket {
	return &ipPacket{src: c.f.src, dst: c.f.cfg.To.Addr, udp: udp, conn: c, seg: *seg}
}

func (c *conn) sendSYN() {
	c.send(tcpSeg{flags: ipv4.FlagSYN, seq: c.seq}, false)
	c.armRTO(synRTO << c.retries)
}

// armRTO (re)starts the retransmission timer; a new token cancels the old.
func (c *conn) armRTO(d vtime.Duration) {
	c.rtoTok++
	c.f.w.sch.connEvent(d, evRTO, c, c.rtoTok)
}

// rtoFired is the retransmission timer: retransmit the SYN or the request.
func (c *conn) rtoFired() {
	if c.f.conn != c {
		return
	}
	switch {
	case c.state == 0:
		c.f.lostSYN++
		if c.retries >= synRetries {
			c.state = 2
			c.f.event("timeout", fmt.Sprintf("%s: connect timed out (ETIMEDOUT) after %d SYNs", c.f.name, synRetries+1), nil)
			c.f.w.sch.after(retryDelay, c.f.connect)
			return
		}
		c.retries++
		c.sendSYN()
	case c.state == 1 && c.outstanding:
		if c.retries >= dataRetries {
			c.state = 2
			c.f.fail(fmt.Sprintf("connection timed out: %d retransmissions unanswered", dataRetries))
			return
		}
		c.retries++
		c.sendData()
	}
}

// delackFired sends the delayed ACK unless a request carried it.
func (c *conn) delackFired(tok uint64) {
	if tok == c.delackTok && c.delack {
		c.delack = false
		c.send(tcpSeg{flags: ipv4.FlagACK}, false)
	}
}

// deliver is a segment from the peer arriving at the host.
func (c *conn) deliver(seg *tcpSeg) {
	f := c.f
	if f.conn != c || c.state == 2 {
		return
	}
	// tcp_ack confirms the neighbour for a SYN-ACK (forward progress) and
	// for the response that acknowledges a request (spec §6.3): the host's
	// rule decides, before the connection acts on the segment.
	if c.tcp.Received(tcpOf(seg)) {
		f.h.confirm(c)
	}
	switch {
	case seg.syn() && seg.ack() && c.state == 0:
		c.state = 1
		c.seq++ // the SYN took one sequence number
		c.ack = seg.seq + 1
		c.rtoTok++
		c.send(tcpSeg{flags: ipv4.FlagACK}, false)
		f.established()
		if f.cfg.Kind == "tcp" {
			f.w.sch.connEvent(0, evRequest, c, 0)
		}
	case c.state == 1 && seg.data > 0 && seg.ack():
		c.ack = seg.seq + uint32(seg.data)
		if c.outstanding {
			c.outstanding = false
			c.rtoTok++
		}
		// delayed ACK for the response data; when the next request is due
		// first it carries the ACK, and no timer is needed
		c.delack = true
		c.delackTok++
		if !(f.session && c.nextReq <= f.w.sch.now.Add(f.cfg.AckDelay.D) && c.nextReq < f.until()) {
			f.w.sch.connEvent(f.cfg.AckDelay.D, evDelack, c, c.delackTok)
		}
	}
}

// request sends the next request of a long session (kind tcp).
func (c *conn) request() {
	f := c.f
	if c.f.conn != c || c.state != 1 {
		return
	}
	if f.w.sch.now >= f.until() {
		c.state = 2
		if !f.done {
			f.done, f.ok = true, true
		}
		return
	}
	c.delack = false // the ACK rides on the request
	c.outstanding = true
	c.retries = 0
	c.sendPacket(tcpSeg{flags: ipv4.FlagACK, data: 100}, false, true)
	if f.cfg.Interval.D < dataRTO {
		// The next request comes before this one's retransmission timer
		// and leaves it a no-op whatever happens in between: it re-arms
		// the timer (a new token), or finds the session over (state 2,
		// or a newer connection of the flow), where the timer does
		// nothing either. So the timer is not queued; it still counts
		// as the event it would have been.
		c.rtoTok++
		f.w.sch.skipped(f.w.sch.now.Add(dataRTO))
	} else {
		c.armRTO(dataRTO)
	}
	c.nextReq = f.w.sch.now.Add(f.cfg.Interval.D)
	f.w.sch.connEvent(f.cfg.Interval.D, evRequest, c, 0)
	// the request's step is over: its round trip may follow at once
	f.w.finishTrip()
}

func (c *conn) sendData() {
	c.send(tcpSeg{flags: ipv4.FlagACK, data: 100}, false)
	c.armRTO(dataRTO << c.retries)
}

// respond is the peer's answer to a packet (nil: none).
func (c *conn) respond(fr *frame) *frame {
	seg, ok := c.answer(&fr.ip.seg, fr.ip.udp)
	if !ok {
		return nil
	}
	return c.f.w.newIPFrame(&ipPacket{src: fr.ip.dst, dst: fr.ip.src, conn: c, seg: seg}, 54+seg.data)
}

// answer is the segment the peer answers in's segment with, if any.
func (c *conn) answer(in *tcpSeg, udp bool) (tcpSeg, bool) {
	if udp {
		return tcpSeg{}, false
	}
	var seg tcpSeg
	switch {
	case in.syn() && !in.ack():
		c.peerSeq = 5000
		seg = tcpSeg{flags: ipv4.FlagSYN | ipv4.FlagACK, seq: c.peerSeq, ackNo: in.seq + 1}
		c.peerSeq++
	case in.data > 0:
		seg = tcpSeg{flags: ipv4.FlagACK, data: 200, seq: c.peerSeq, ackNo: in.seq + uint32(in.data)}
		c.peerSeq += 200
	default:
		return tcpSeg{}, false
	}
	return seg, true
}

// unreachable is the neighbour layer failing a queued packet: ICMP host
// unreachable to the local sender. A connecting socket aborts with
// EHOSTUNREACH ("No route to host"); an established one keeps trying.
func (c *conn) unreachable(failed bool) {
	f := c.f
	if f.conn != c || !failed {
		return
	}
	if c.state == 0 {
		c.state = 2
		c.rtoTok++
		if f.cfg.Kind == "ssh" {
			f.event("unreachable", fmt.Sprintf("%s: connect failed: No route to host (ARP resolution of %v failed)", f.name, f.cfg.To), nil)
		}
		f.w.sch.after(retryDelay, f.connect)
	}
}
