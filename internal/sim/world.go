package sim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"arplab/internal/garp"
	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"
	"arplab/internal/wire/ndisc"
)

// frame is one Ethernet frame on a segment: an ARP packet or an IPv4
// packet of a flow (the simulator does not need the bytes; the pcap writer
// builds them).
type frame struct {
	src, dst arp.MAC
	arp      *arp.Packet
	nd       *ndisc.Message // an IPv6 neighbour-discovery message
	ip       *ipPacket
	size     int
	// refs counts the deliveries of the frame still scheduled; an IPv4
	// frame goes back to the world's free list when the last one is done
	// (world.release).
	refs int32
}

type ipPacket struct {
	src, dst netip.Addr
	udp      bool
	conn     *conn
	seg      tcpSeg
}

// tcpSeg is a simulated TCP segment. Four fields, so that the compiler
// keeps a segment in registers: one it copies through memory just after
// writing it field by field stalls the processor (store forwarding), and
// a session's round trip copies its segments a few times.
type tcpSeg struct {
	flags uint8 // ipv4.FlagSYN, ipv4.FlagACK
	data  int   // payload bytes
	seq   uint32
	ackNo uint32
}

func (s *tcpSeg) syn() bool { return s.flags&ipv4.FlagSYN != 0 }
func (s *tcpSeg) ack() bool { return s.flags&ipv4.FlagACK != 0 }

// port is anything attached to a segment.
type port interface {
	mac() arp.MAC
	receive(f *frame, pt neigh.PktType)
}

type segment struct {
	cfg   scenario.Segment
	ports []port
	// macs[i] is ports[i]'s MAC, and byMAC maps them when there are many
	// (a scan of a few MACs is quicker than hashing one); both are built
	// at the first frame: ports do not change.
	macs  []uint64 // macKey
	byMAC map[arp.MAC]port
	// byLast[b] is 1 + the index of the last port whose MAC ends in
	// byte b, 0 when none does, or ambiguousLast when MACs of two ports
	// end in b: a frame's owner is then one comparison away, not a scan.
	byLast [256]int16
	rng    *rand.Rand
	pcg    *rand.PCG // rng's generator (int64n)
	w      *world
}

// macKey is m as one word, quicker to compare than six bytes.
func macKey(m arp.MAC) uint64 {
	return uint64(binary.LittleEndian.Uint32(m[:4])) | uint64(binary.LittleEndian.Uint16(m[4:]))<<32
}

// scanPorts is how many ports a segment looks a MAC up among by scanning.
const scanPorts = 16

// ambiguousLast marks a last MAC byte two ports share (segment.byLast).
const ambiguousLast = -1

// portOf is the port with MAC m, where a learning switch sends a unicast
// frame (a MAC two ports share goes to the last, as a switch that learnt
// it last would).
func (g *segment) portOf(m arp.MAC) (port, bool) {
	if g.macs == nil {
		g.macs = make([]uint64, len(g.ports))
		for i, p := range g.ports {
			g.macs[i] = macKey(p.mac())
		}
		if len(g.ports) <= scanPorts {
			for i, p := range g.ports {
				mac := p.mac()
				b := &g.byLast[mac[5]]
				switch {
				case *b == ambiguousLast:
				case *b == 0 || g.macs[*b-1] == g.macs[i]:
					*b = int16(i + 1) // the last port with a MAC wins
				default:
					*b = ambiguousLast
				}
			}
		} else {
			g.byMAC = make(map[arp.MAC]port, len(g.ports))
			for _, p := range g.ports {
				g.byMAC[p.mac()] = p
			}
		}
	}
	if g.byMAC != nil {
		p, ok := g.byMAC[m]
		return p, ok
	}
	k := macKey(m)
	switch i := g.byLast[m[5]]; i {
	case 0:
		return nil, false
	case ambiguousLast:
	default:
		if g.macs[i-1] == k {
			return g.ports[i-1], true
		}
		return nil, false
	}
	for i := len(g.macs) - 1; i >= 0; i-- {
		if g.macs[i] == k {
			return g.ports[i], true
		}
	}
	return nil, false
}

// transmit delivers f from src to the ports it reaches, after latency and
// jitter, each receiver losing it with the segment's loss probability. A
// unicast frame reaches its owner only (a learning switch), or everyone
// when the MAC is unknown and the segment floods.
func (g *segment) transmit(src port, f *frame) {
	w := g.w
	if w.opt.Capture != nil {
		w.frameSent(src, f)
	}
	if !f.dst.IsMulticast() {
		if target, ok := g.portOf(f.dst); ok {
			if target != src {
				g.send(target, f, neigh.PktHost)
			}
			w.release(f)
			return
		}
		if !g.cfg.FloodUnknown {
			if w.tellsLoss(f) {
				w.lost(f, fmt.Sprintf("no port on %s has MAC %v", g.cfg.Name, f.dst))
			}
			w.release(f)
			return
		}
	}
	pt := neigh.PktOtherHost
	switch {
	case f.dst.IsBroadcast():
		pt = neigh.PktBroadcast
	case f.dst.IsMulticast():
		pt = neigh.PktMulticast
	}
	for _, p := range g.ports {
		if p != src {
			g.send(p, f, pt)
		}
	}
	w.release(f)
}

// send schedules f's arrival at p, or its loss.
func (g *segment) send(p port, f *frame, pt neigh.PktType) {
	d, ok := g.delay(f)
	if !ok {
		return
	}
	f.refs++
	g.w.sch.deliver(d, p, f, pt)
}

// delay draws f's fate on the segment, from the segment's stream: lost
// (with the loss probability; the loss is told), or delivered after the
// latency and a jitter.
func (g *segment) delay(f *frame) (vtime.Duration, bool) {
	if g.cfg.Loss > 0 && g.rng.Float64() < g.cfg.Loss {
		if g.w.tellsLoss(f) {
			g.w.lost(f, fmt.Sprintf("lost on %s (loss %.3g)", g.cfg.Name, g.cfg.Loss))
		}
		return 0, false
	}
	d := g.cfg.Latency.D
	if g.cfg.Jitter.D > 0 {
		d += vtime.Duration(int64n(g.pcg, int64(g.cfg.Jitter.D)))
	}
	return d, true
}

// world is one run of a scenario.
type world struct {
	s        *scenario.Scenario
	opt      Options
	sch      scheduler
	rng      streams
	sink     trace.Sink
	segs     map[string]*segment
	hosts    []*host
	stations []*station
	owners   map[netip.Addr]*station
	flows    []*flow
	frames   int
	moves    []move
	// nMoves is how many moves the script has, lastScripted when its
	// last event or timed check is due (world.settled)
	nMoves       int
	lastScripted vtime.Time
	checks       []CheckOutcome
	healed       map[healKey]vtime.Time
	// freeFrames are IPv4 frames no delivery refers to any more
	// (newIPFrame, release).
	freeFrames []*frame
	// sockDst maps a socket's name to its destination, to tell a
	// confirmation that landed on the wrong neighbour.
	sockDst map[string]netip.Addr
	// trip is the round trip a session's request started in the
	// current event, if any (startTrip, finishTrip).
	trip trip
	// moved counts the moves done: only they change which IPs a
	// station takes (conn.takenBy)
	moved int
	// trips is whether sessions' round trips may run in one step: not
	// for a capture, which wants every frame's bytes, nor when the
	// options turn them off
	trips bool
	// tripStats counts, for the tests, the round trips run in one step
	// and those refused before the station's answer and before its
	// arrival
	tripStats [3]int
	// recentSocks caches the last sockDst lookups: a confirmation
	// decision names a socket, and the same few sockets keep coming.
	recentSocks [4]sockDest
	recentNext  int
}

type sockDest struct {
	name string
	dst  netip.Addr
}

// setSockDst records the destination of socket name.
func (w *world) setSockDst(name string, dst netip.Addr) {
	w.sockDst[name] = dst
	w.recentSocks = [4]sockDest{}
}

// sockDest is the destination of socket name (the zero Addr if unknown).
func (w *world) sockDest(name string) netip.Addr {
	for i := range w.recentSocks {
		if r := &w.recentSocks[i]; r.name == name && name != "" {
			return r.dst
		}
	}
	dst := w.sockDst[name]
	w.recentSocks[w.recentNext] = sockDest{name, dst}
	w.recentNext = (w.recentNext + 1) % len(w.recentSocks)
	return dst
}

type move struct {
	ip       netip.Addr
	at       vtime.Time
	from, to arp.MAC
}

// entryStats counts what happened to one observed entry, for the verdict.
type entryStats struct {
	garpIgnored, garpNoop, garpHonoured, falseConfirms, probes int
	firstIgnored                                               string
	ignoredWhy                                                 string
}

func (w *world) emit(ev trace.Event) {
	if w.sink == nil {
		return
	}
	ev.Source = "sim"
	w.sink.Emit(ev)
}

// release gives an IPv4 frame back to the free list once no delivery is
// scheduled for it (refs is 0): after the segment scheduled its deliveries,
// after each delivery, and where a queued packet is dropped. A frame is
// never kept by a receiver (a reply is a new frame; a pcap gets a copy of
// the bytes), and ARP frames, which are few, are left to the collector.
func (w *world) release(f *frame) {
	if f.refs > 0 || f.ip == nil {
		return
	}
	w.freeFrames = append(w.freeFrames, f)
}

func (w *world) seconds(t vtime.Time) float64 { return t.Seconds() }

// frameSent/frameReceived feed the optional pcap of one host.
func (w *world) frameSent(src port, f *frame) {
	if w.opt.Capture != nil {
		if h, ok := src.(*hostIf); ok && h.h.name == w.opt.CaptureHost {
			w.opt.Capture(w.sch.now, f.bytes())
		}
	}
}

func (w *world) frameReceived(dst port, f *frame, pt neigh.PktType) {
	if h, ok := dst.(*hostIf); ok {
		w.frames++
		if w.opt.Capture != nil && h.h.name == w.opt.CaptureHost {
			w.opt.Capture(w.sch.now, f.bytes())
		}
	}
}

// tellsLoss reports whether the loss of f makes a trace line (lost): only
// with a sink, and for a flow whose losses are notable. The callers build
// the reason only then.
func (w *world) tellsLoss(f *frame) bool {
	return w.sink != nil && f != nil && f.ip != nil && f.ip.conn != nil && f.ip.conn.f.notable()
}

func (w *world) lost(f *frame, why string) {
	if !w.tellsLoss(f) {
		return
	}
	c := f.ip.conn
	what := "segment"
	if f.ip.seg.syn() && !f.ip.seg.ack() {
		what = "SYN"
	}
	w.emit(trace.Event{Time: w.seconds(w.sch.now), Kind: trace.KindFlow, Host: c.f.h.name, Flow: c.f.name,
		IP: f.ip.dst.String(), LLAddr: f.dst.String(), Cause: "lost",
		Explanation: fmt.Sprintf("%s to %v sent to %v is lost: %s", what, f.ip.dst, f.dst, why)})
}

// build creates the world's topology from the scenario.
func build(s *scenario.Scenario, opt Options) (*world, error) {
	w := &world{s: s, opt: opt, rng: streams{master: opt.Seed}, sink: opt.Sink,
		segs: map[string]*segment{}, owners: map[netip.Addr]*station{}, healed: map[healKey]vtime.Time{}, sockDst: map[string]netip.Addr{}}
	w.sch.w = w
	w.trips = opt.Capture == nil && !opt.noTrips
	for _, g := range s.Segments {
		pcg := w.rng.pcg("segment/" + g.Name)
		w.segs[g.Name] = &segment{cfg: g, rng: rand.New(pcg), pcg: pcg, w: w}
	}
	observed := map[int]bool{}
	for _, i := range s.Observed() {
		observed[i] = true
	}
	for i := range s.Hosts {
		h, err := newHost(w, &s.Hosts[i], observed[i])
		if err != nil {
			return nil, err
		}
		w.hosts = append(w.hosts, h)
	}
	for i := range s.Stations {
		st := &station{w: w, cfg: &s.Stations[i]}
		st.seg = w.segs[st.cfg.Segment]
		st.seg.ports = append(st.seg.ports, st)
		for _, ip := range st.cfg.IPs {
			st.ips.add(ip.Addr)
			w.owners[ip.Addr] = st
		}
		w.stations = append(w.stations, st)
	}
	return w, nil
}

func (w *world) host(name string) *host {
	for _, h := range w.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

func (w *world) station(name string) *station {
	for _, s := range w.stations {
		if s.cfg.Name == name {
			return s
		}
	}
	return nil
}

// schedule puts every script event and check on the queue.
func (w *world) schedule() error {
	vary := w.rng.stream("vary")
	for i := range w.s.Script {
		e := &w.s.Script[i]
		at := e.At.D
		if w.opt.Vary && e.Vary.D > 0 {
			at += vtime.Duration(vary.Int64N(int64(e.Vary.D)))
		}
		t := vtime.Time(at)
		switch {
		case e.Move != nil:
			m := e.Move
			w.nMoves++
			w.script(t, func() { w.doMove(m) })
		case e.GARP != nil && e.GARP.IP.Is6():
			g := e.GARP
			st := w.station(g.From)
			frames, err := garp.NASchedule(g.PresetName(), st.cfg.MAC.MAC, g.IP.Addr, g.Options())
			if err != nil {
				return fmt.Errorf("%s: %v", w.s.File, err)
			}
			for i, at := range w.senderTimes(t, g, len(frames), func(i int) vtime.Duration { return frames[i].At }) {
				fr := frames[i]
				w.script(at, func() { st.sendNA(fr, g.PresetName()) })
			}
		case e.GARP != nil:
			g := e.GARP
			st := w.station(g.From)
			frames, err := garp.Schedule(g.PresetName(), st.cfg.MAC.MAC, g.IP.Addr, g.Options())
			if err != nil {
				return fmt.Errorf("%s: %v", w.s.File, err)
			}
			for i, at := range w.senderTimes(t, g, len(frames), func(i int) vtime.Duration { return frames[i].At }) {
				fr := frames[i]
				w.script(at, func() { st.sendGARP(fr, g.PresetName()) })
			}
		case e.Reply != nil:
			fr, err := w.s.ReplyFrame(e.Reply)
			if err != nil {
				return fmt.Errorf("%s: %v", w.s.File, err)
			}
			st := w.station(e.Reply.From)
			w.script(t, func() { st.sendGARP(fr, "reply") })
		case e.Flow != nil:
			fl := newFlow(w, e.Flow, len(w.flows))
			w.flows = append(w.flows, fl)
			w.script(t, fl.start)
		case e.Neigh != nil:
			n := e.Neigh
			w.script(t, func() { w.host(n.Host).admin(n.Cmd) })
		case e.Sysctl != nil:
			sy := e.Sysctl
			w.script(t, func() { w.host(sy.Host).sysctl(sy.Key, sy.Value) })
		case e.NS != nil:
			return fmt.Errorf("%s:%d: ns: the simulator does not send hand-built solicitations; run this scenario with arplab lab or verify", w.s.File, e.Line)
		}
	}
	for i := range w.s.Checks {
		c := &w.s.Checks[i]
		if c.Flow != "" {
			continue
		}
		w.script(vtime.Time(c.At.D), func() { w.check(c) })
	}
	return nil
}

// script queues a script event or a timed check at t.
func (w *world) script(t vtime.Time, fn func()) {
	w.lastScripted = max(w.lastScripted, t)
	w.sch.at(t, fn)
}

// senderTimes places a sender's n frames (offset(i) after t) with the
// sender's per-frame jitter, drawn from the sender's own stream.
func (w *world) senderTimes(t vtime.Time, g *scenario.GARP, n int, offset func(int) vtime.Duration) []vtime.Time {
	jit := w.rng.stream("garp/" + g.From + "/" + g.IP.String())
	out := make([]vtime.Time, n)
	for i := range out {
		d := offset(i)
		if g.Jitter.D > 0 {
			d += vtime.Duration(jit.Int64N(int64(g.Jitter.D)))
		}
		out[i] = t.Add(d)
	}
	return out
}

func (w *world) doMove(m *scenario.Move) {
	to := w.station(m.To)
	var from arp.MAC
	if old := w.owners[m.IP.Addr]; old != nil {
		old.ips.remove(m.IP.Addr)
		from = old.cfg.MAC.MAC
	} else {
		// an IP nobody owned: the entries that matter hold whatever MAC
		// the hosts last knew
		for _, h := range w.hosts {
			for _, ifc := range h.ifs {
				if s, ok := h.st.Lookup(ifc.st, m.IP.Addr); ok && s.State.Valid() {
					from = s.LLAddr
				}
			}
		}
	}
	to.ips.add(m.IP.Addr)
	w.owners[m.IP.Addr] = to
	w.moved++
	for _, h := range w.hosts {
		// an entry that holds the new owner's MAC already may show it
		// first in a confirmation's decision (host.quietConfirms)
		for _, ifc := range h.ifs {
			if s, ok := h.st.Lookup(ifc.st, m.IP.Addr); ok && s.LLAddr == to.cfg.MAC.MAC {
				h.quietConfirms(false)
			}
		}
	}
	w.moves = append(w.moves, move{ip: m.IP.Addr, at: w.sch.now, from: from, to: to.cfg.MAC.MAC})
	ev := trace.Event{Time: w.seconds(w.sch.now), Kind: trace.KindMove, Host: to.cfg.Name, IP: m.IP.String(),
		LLAddr: to.cfg.MAC.String(), Cause: "move",
		Explanation: fmt.Sprintf("%v moves to %s (%v)", m.IP, to.cfg.Name, to.cfg.MAC)}
	if from != (arp.MAC{}) {
		ev.OldLLAddr = from.String()
		ev.Explanation += fmt.Sprintf("; it was at %v", from)
	}
	w.emit(ev)
}

func (w *world) check(c *scenario.Check) {
	h := w.host(c.Host)
	dev := h.ifs[0]
	if c.Dev != "" {
		for _, ifc := range h.ifs {
			if ifc.dev.Name == c.Dev {
				dev = ifc
			}
		}
	}
	s, ok := h.st.Lookup(dev.st, c.IP.Addr)
	got, pass := c.Judge(ok, s.State, s.LLAddr)
	want := c.State
	if c.LLAddr != nil {
		want += " " + c.LLAddr.String()
	}
	out := CheckOutcome{At: w.seconds(w.sch.now), Line: c.Line, What: fmt.Sprintf("%s %v", c.Host, c.IP), Want: want, Got: got, OK: pass}
	w.checks = append(w.checks, out)
	w.emit(trace.Event{Time: out.At, Kind: trace.KindCheck, Host: c.Host, IP: c.IP.String(), OK: trace.Bool(pass),
		State: stateOnly(got), Explanation: fmt.Sprintf("check (line %d): want %s, got %s", c.Line, want, got)})
}

func stateOnly(s string) string {
	if s == scenario.NoEntry {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

// profileOf resolves a host's kernel profile with its patch edits.
func profileOf(h *scenario.Host) (kernel.Profile, error) {
	p, err := kernel.Lookup(h.Profile)
	if err != nil {
		return p, err
	}
	return p.WithPatches(h.Patches)
}

// addrSet is the set of IPs a station owns, asked about with every frame
// it receives: a few IPs are scanned (quicker than hashing one), many go
// in a map.
type addrSet struct {
	few  []netip.Addr
	many map[netip.Addr]bool
}

// scanAddrs is how many IPs an addrSet scans before it uses a map.
const scanAddrs = 16

func (a *addrSet) has(ip netip.Addr) bool {
	if a.many != nil {
		return a.many[ip]
	}
	for _, x := range a.few {
		if x == ip {
			return true
		}
	}
	return false
}

func (a *addrSet) add(ip netip.Addr) {
	switch {
	case a.has(ip):
	case a.many != nil:
		a.many[ip] = true
	case len(a.few) < scanAddrs:
		a.few = append(a.few, ip)
	default:
		a.many = map[netip.Addr]bool{ip: true}
		for _, x := range a.few {
			a.many[x] = true
		}
		a.few = nil
	}
}

func (a *addrSet) remove(ip netip.Addr) {
	if a.many != nil {
		delete(a.many, ip)
		return
	}
	for i, x := range a.few {
		if x == ip {
			a.few = append(a.few[:i], a.few[i+1:]...)
			return
		}
	}
}

func (a *addrSet) len() int {
	if a.many != nil {
		return len(a.many)
	}
	return len(a.few)
}
