package sim

import (
	"fmt"
	"maps"
	"math"
	"math/bits"
	"net/netip"
	"slices"

	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// host is a Linux host of the scenario: a stack.Host (the neighbour model
// and the IPv4 stack around it) on the simulator's clock, with the frames
// it has queued for resolution. It is the host's Observer: what the model
// does becomes trace lines, frames on the segment and flow notifications.
type host struct {
	w       *world
	cfg     *scenario.Host
	name    string
	observe bool
	st      *stack.Host
	tb      *neigh.Table // st.Table, read only
	clock   vtime.Clock
	ifs     []*hostIf
	pending map[uint64]*frame
	wakeTok uint64
	wakeAt  vtime.Time
	wakeSet bool
	wakeFor vtime.Jiffies // the deadline the wake was set for
	frameNo int
	// stats are the observed entries' counters behind the verdict, and
	// recent the last few looked up (a false confirmation is counted per
	// packet, on the same few entries).
	stats  map[netip.Addr]*entryStats
	recent [8]struct {
		ip netip.Addr
		s  *entryStats
	}
}

// entry is the counters of the entry for ip.
func (h *host) entry(ip netip.Addr) *entryStats {
	b := ip.As16()
	r := &h.recent[b[15]%uint8(len(h.recent))]
	if r.s != nil && r.ip == ip {
		return r.s
	}
	s := h.stats[ip]
	if s == nil {
		s = &entryStats{}
		h.stats[ip] = s
	}
	r.ip, r.s = ip, s
	return s
}

type hostIf struct {
	h   *host
	st  *stack.Device
	dev *neigh.Device
	seg *segment
	// reach is 1 when a frame to the interface's MAC reaches it, 2 when
	// not, 0 before it is asked (reachable)
	reach uint8
}

func (i *hostIf) mac() arp.MAC { return i.dev.MAC }

func (i *hostIf) receive(f *frame, pt neigh.PktType) { i.h.receive(i, f, pt) }

func newHost(w *world, c *scenario.Host, observe bool) (*host, error) {
	prof, err := profileOf(c)
	if err != nil {
		return nil, fmt.Errorf("%s: host %s: %v", w.s.File, c.Name, err)
	}
	hz := c.HZ
	if hz == 0 {
		hz = prof.HZ
	}
	var phase vtime.Duration
	if w.opt.Vary {
		phase = vtime.Duration(w.rng.stream("phase/" + c.Name).Int64N(1e9 / int64(hz)))
	}
	// jiffies start at −300·HZ at boot (INITIAL_JIFFIES) and the host has
	// been up for Uptime.
	base := vtime.Jiffies(uint64(int64(-300*hz))) + vtime.Jiffies(int64(c.Uptime.D)/(1e9/int64(hz)))
	clock, err := vtime.NewClock(hz, base, phase)
	if err != nil {
		return nil, err
	}
	// The table was created long before the run; entries are seeded up
	// to their age before t=0.
	var oldest vtime.Duration
	for _, n := range c.Neighbours {
		oldest = max(oldest, n.Age.D)
	}
	start := clock.Jiffies(vtime.Time(-oldest))
	// No observer while the host is set up: what existed before t=0 is
	// not part of the trace.
	st, err := stack.New(stack.Config{Name: c.Name, Profile: prof, HZ: hz, Rand: w.rng.stream("reachable/" + c.Name),
		Rand6: w.rng.stream("reachable6/" + c.Name), Start: start, PeriodicPhase: vtime.Ticks(hz), CPUs: c.CPUs, Clock: clock})
	if err != nil {
		return nil, fmt.Errorf("%s: host %s: %v", w.s.File, c.Name, err)
	}
	h := &host{w: w, cfg: c, name: c.Name, observe: observe, st: st, tb: st.Table, clock: clock, pending: map[uint64]*frame{},
		stats: map[netip.Addr]*entryStats{}}
	for _, ic := range c.Interfaces {
		var addrs []netip.Prefix
		v6, ll := false, false
		for _, a := range ic.Addrs {
			addrs = append(addrs, a.Prefix)
			v6 = v6 || a.Addr().Is6()
			ll = ll || a.Addr().IsLinkLocalUnicast()
		}
		if v6 && !ll {
			// addrconf gives every IPv6 interface its EUI-64 link-local
			// address (addr_gen_mode eui64): NUD probes come from it
			// (ndisc §2.3).
			addrs = append(addrs, netip.PrefixFrom(ndisc.LinkLocal(ic.MAC.MAC), 64))
		}
		d := st.AddDevice(ic.Name, ic.MAC.MAC, addrs)
		ifc := &hostIf{h: h, st: d, dev: d.Device, seg: w.segs[ic.Segment]}
		ifc.seg.ports = append(ifc.seg.ports, ifc)
		h.ifs = append(h.ifs, ifc)
	}
	for _, r := range c.Routes {
		st.AddGateway(r.To.Prefix, r.Via.Addr)
	}
	for _, k := range sortedSysctls(c.Sysctls) {
		if err := st.Sysctl(k, c.Sysctls[k]); err != nil {
			return nil, fmt.Errorf("%s: host %s: %v", w.s.File, c.Name, err)
		}
	}
	// Unrelated entries (spec §11 Q7) sit in another subnet.
	for i := 0; i < c.Entries; i++ {
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		mac := arp.MAC{0x02, 0xee, 0, 0, byte(i >> 8), byte(i)}
		st.Install(h.ifs[0].st, ip, mac, neigh.Stale, start)
	}
	for _, n := range c.Neighbours {
		st, _ := neigh.ParseState(n.State)
		if err := h.st.Install(h.ifByName(n.Dev).st, n.IP.Addr, n.LLAddr.MAC, st, clock.Jiffies(vtime.Time(-n.Age.D))); err != nil {
			return nil, fmt.Errorf("%s: host %s: %v", w.s.File, c.Name, err)
		}
	}
	st.Advance(clock.Jiffies(0))
	h.quietConfirms(w.opt.verdictOnly && w.sink == nil)
	st.Obs = h
	h.reschedule()
	return h, nil
}

func sortedSysctls(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func (h *host) ifByName(n string) *hostIf {
	for _, i := range h.ifs {
		if i.dev.Name == n {
			return i
		}
	}
	return nil
}

// ifOf is the simulator's interface of a host device.
func (h *host) ifOf(d *stack.Device) *hostIf {
	for _, i := range h.ifs {
		if i.st == d {
			return i
		}
	}
	return h.ifs[0]
}

// ifFor returns the interface whose subnet holds ip (on-link routing).
func (h *host) ifFor(ip netip.Addr) (*hostIf, int) {
	for i, ifc := range h.ifs {
		addrs := ifc.dev.Addrs
		if ip.Is6() && ifc.st.ND != nil {
			addrs = ifc.st.ND.Addrs
		}
		for _, p := range addrs {
			if p.Masked().Contains(ip) {
				return ifc, i
			}
		}
	}
	return h.ifs[0], 0
}

// route is the output route to dst: the interface, the next hop and the
// cached route objects, one per CPU (spec §3, §6.1).
func (h *host) route(dst netip.Addr) (ifc *hostIf, nexthop netip.Addr, cached []*neigh.Route) {
	d, nh, cached, _ := h.st.Route(dst)
	return h.ifOf(d), nh, cached
}

// source is the source address of a packet to dst out of ifc: the
// interface's first IPv4 address, or for IPv6 its address in dst's
// prefix, else its first global one, else its link-local one (the
// outcome of source-address selection for the simple cases simulated).
func (h *host) source(ifc *hostIf, dst netip.Addr) netip.Addr {
	if !dst.Is6() {
		if len(ifc.dev.Addrs) == 0 {
			return netip.IPv4Unspecified()
		}
		return ifc.dev.Addrs[0].Addr()
	}
	if ifc.st.ND == nil {
		return netip.IPv6Unspecified()
	}
	var global, ll netip.Addr
	for _, p := range ifc.st.ND.Addrs {
		a := p.Addr()
		switch {
		case p.Masked().Contains(dst) && (!a.IsLinkLocalUnicast() || dst.IsLinkLocalUnicast()):
			return a
		case a.IsLinkLocalUnicast():
			if !ll.IsValid() {
				ll = a
			}
		case !global.IsValid():
			global = a
		}
	}
	if dst.IsLinkLocalUnicast() || !global.IsValid() {
		return ll
	}
	return global
}

// at makes the simulator's present the host's time for the next input.
// Timers due by now run at their own wake event, which the simulator
// orders among the inputs of the same instant.
func (h *host) at() { h.st.SetNow(jiffies(h.clock, h.w.sch.now)) }

// jiffies is c.Jiffies(t), the same value, in one product and one
// division by a constant where that product cannot overflow (t ≥ −phase
// and up to about a hundred days at HZ=1000): Clock.Jiffies splits every
// time into seconds and the rest, and every request and answer of a
// session asks it. The overflow test is the product's own high word (one
// multiplication gives both), not a division by HZ: ns·hz ≤ MaxInt64 is
// ns ≤ MaxInt64/hz for non-negative integers. TestJiffiesAsClock checks
// it against Clock.Jiffies.
func jiffies(c vtime.Clock, t vtime.Time) vtime.Jiffies {
	ns := int64(t) + int64(c.Phase)
	if hz := int64(c.HZ); ns >= 0 && hz > 0 {
		if hi, lo := bits.Mul64(uint64(ns), uint64(hz)); hi == 0 && lo <= math.MaxInt64 {
			return c.Base + vtime.Jiffies(int64(lo)/1e9)
		}
	}
	return c.Jiffies(t)
}

// toSeconds converts one of this host's jiffies to run seconds.
func (h *host) toSeconds(j vtime.Jiffies) float64 { return h.clock.TimeOf(j).Seconds() }

// Observe turns a model result into trace lines, frames and flow
// notifications. The result belongs to the table, so everything that
// could feed the host again is deferred to a later event.
func (h *host) Observe(_ *stack.Host, in *stack.Input, r *neigh.Result) {
	if len(r.Decisions) == 0 && len(r.Actions) == 0 {
		return // most outputs and every confirmation
	}
	w := h.w
	now := w.seconds(w.sch.now)
	for i := range r.Decisions {
		d := &r.Decisions[i]
		if !w.opt.verdictOnly {
			h.account(d, in)
		}
		h.watchHeal(d)
		if h.observe && w.sink != nil {
			h.st.Lines(in, d, now, h.toSeconds, w.emit)
		}
	}
	for i := range r.Actions {
		a := &r.Actions[i]
		ifc := h.ifOf(h.st.DeviceOf(a.Dev))
		if a.Target.Is6() {
			// nd_tbl's NS probes and NA replies (ndisc §2.3, §4.5); the
			// IPv4 path below never builds an ND message
			if m, dst, ok := stack.NDMessage(a, ifc.dev.MAC); ok {
				if a.Kind == neigh.ActProbe && h.observe {
					w.emit(h.st.ProbeLine(a, now))
					h.entry(a.Target).probes++
				}
				ifc.seg.transmit(ifc, &frame{src: ifc.dev.MAC, dst: dst, nd: &m, size: ndSize(&m)})
				continue
			}
		}
		switch a.Kind {
		case neigh.ActProbe:
			dst, tha := arp.Broadcast, arp.Zero
			if a.Unicast {
				dst = a.DstMAC
			}
			p := arp.NewPacket(arp.OpRequest, ifc.dev.MAC, a.Src, tha, a.Target)
			f := &frame{src: ifc.dev.MAC, dst: dst, arp: &p, size: 42}
			if h.observe {
				if w.sink != nil {
					w.emit(h.st.ProbeLine(a, now))
				}
				if !w.opt.verdictOnly {
					h.entry(a.Target).probes++
				}
			}
			ifc.seg.transmit(ifc, f)
		case neigh.ActReply:
			p := arp.NewPacket(arp.OpReply, ifc.dev.MAC, a.Src, a.DstMAC, a.Target)
			ifc.seg.transmit(ifc, &frame{src: ifc.dev.MAC, dst: a.DstMAC, arp: &p, size: 42})
		case neigh.ActTransmit:
			if f := h.pending[a.Packet]; f != nil {
				delete(h.pending, a.Packet)
				f.dst = a.DstMAC
				ifc.seg.transmit(ifc, f)
			}
		case neigh.ActUnreachable, neigh.ActDiscarded:
			if f := h.pending[a.Packet]; f != nil {
				delete(h.pending, a.Packet)
				if f.ip != nil && f.ip.conn != nil {
					c, unreachable := f.ip.conn, a.Kind == neigh.ActUnreachable
					w.sch.after(0, func() { c.unreachable(unreachable) })
				}
				w.release(f)
			}
		}
	}
}

// quietConfirms spares the host's tables the decisions of confirmations
// (neigh.Table.QuietConfirm) when nothing but watchHeal reads decisions
// (a verdict-only run, no trace). A confirmation changes no MAC, so the
// first decision that shows an entry with its IP's new owner's MAC comes
// from whatever put that MAC there, after the move; except when the
// entry held that MAC already at the move, which doMove checks for.
func (h *host) quietConfirms(on bool) {
	h.st.Table.QuietConfirm = on
	if h.st.ND != nil {
		h.st.ND.QuietConfirm = on
	}
}

// watchHeal notes when an entry first holds the MAC of its IP's new owner
// after a move.
func (h *host) watchHeal(d *neigh.Decision) {
	if !h.observe || !d.New.Valid() {
		return
	}
	w := h.w
	// most decisions are about IPs that never moved: the moves are few,
	// so look there before any map
	moved := false
	for i := range w.moves {
		if w.moves[i].ip == d.IP {
			moved = true
			break
		}
	}
	if !moved {
		return
	}
	owner := w.owners[d.IP]
	if owner == nil || d.NewMAC != owner.mac() {
		return
	}
	k := healKey{h.name, d.IP}
	if _, done := w.healed[k]; done {
		return
	}
	for _, m := range w.moves {
		if m.ip == d.IP && m.to == owner.mac() {
			w.healed[k] = w.sch.now
			return
		}
	}
}

// announced counts one announcement (a GARP, an unsolicited NA) by what
// it did to the entry.
func (s *entryStats) announced(eff trace.Effect, d *neigh.Decision) {
	switch eff {
	case trace.EffectIgnored:
		s.garpIgnored++
		if s.firstIgnored == "" {
			s.firstIgnored = d.Explain()
		}
	case trace.EffectNoop:
		s.garpNoop++
	case trace.EffectHonoured, trace.EffectCreated:
		s.garpHonoured++
	}
}

// account keeps the per-entry counters behind the verdict: what GARPs and
// unsolicited NAs did to the entry, and confirmations through a shared
// route that landed on it for another destination's socket.
func (h *host) account(d *neigh.Decision, in *stack.Input) {
	if !h.observe {
		return
	}
	switch {
	case d.Frame && in.ND != nil && in.ND.Type == neigh.NDNeighAdvert && !in.ND.Solicited:
		// an unsolicited NA is IPv6's GARP; one that left the entry on
		// another MAC (a weak override keeps the old one) was ignored
		eff := trace.FrameEffect(d.Verdict, in.ND.TargetLL, d.NewMAC)
		if eff == trace.EffectHonoured && (!in.ND.HasTargetLL || in.ND.TargetLL != d.NewMAC) {
			eff = trace.EffectIgnored
		}
		h.entry(d.IP).announced(eff, d)
	case d.Frame && in.ARP != nil && in.ARP.SIP == in.ARP.TIP:
		h.entry(d.IP).announced(trace.FrameEffect(d.Verdict, in.ARP.SHA, d.NewMAC), d)
	case d.Rule == neigh.RuleConfirmRoute:
		if h.w.sockDest(d.Flow) != d.IP {
			h.entry(d.IP).falseConfirms++
		}
	}
}

// reschedule makes sure the host wakes at the table's next deadline.
// While a wake is set for the deadline it last saw, there is nothing to
// do (the wake is at or after now, where the deadline's time would put
// it again).
func (h *host) reschedule() {
	dl := h.st.NextDeadline()
	if h.wakeSet && dl == h.wakeFor {
		return
	}
	t := h.clock.TimeOf(dl)
	if t < h.w.sch.now {
		t = h.w.sch.now
	}
	h.wakeFor = dl
	if h.wakeSet && h.wakeAt == t {
		return
	}
	h.wakeTok++
	tok := h.wakeTok
	h.wakeAt, h.wakeSet = t, true
	h.w.sch.at(t, func() {
		if tok != h.wakeTok {
			return // superseded
		}
		h.wakeSet = false
		h.st.AdvanceTo(h.w.sch.now)
		h.reschedule()
	})
}

func (h *host) receive(ifc *hostIf, f *frame, pt neigh.PktType) {
	if f.nd != nil {
		h.frameNo = h.w.frames
		h.at()
		h.st.ReceiveNDMessage(ifc.st, f.nd, pt, h.frameNo, f.dst, true)
		h.reschedule()
		return
	}
	if f.arp != nil {
		h.frameNo = h.w.frames
		p := *f.arp
		h.at()
		h.st.ReceiveARP(ifc.st, &p, pt, h.frameNo, f.dst, true)
		h.reschedule()
		return
	}
	if f.ip == nil || pt != neigh.PktHost {
		return
	}
	ifc.receiveIP(f.ip)
}

// receiveIP is an IP packet for the host arriving on ifc.
func (ifc *hostIf) receiveIP(p *ipPacket) {
	if ifc.isLocal(p.dst) && p.conn != nil {
		p.conn.deliver(&p.seg)
	}
}

// isLocal reports whether ip is one of the interface's addresses.
func (ifc *hostIf) isLocal(ip netip.Addr) bool {
	if ip.Is6() {
		return ifc.st.ND != nil && ifc.st.ND.IsLocal(ip)
	}
	return ifc.dev.IsLocal(ip)
}

// output sends an IP packet of a flow through the neighbour layer, out
// of the flow's interface towards its next hop (the flow's route). The
// packet becomes a frame only where it has to wait or travel as one: a
// session's request to a station (trip) may make a round trip instead
// (world.startTrip).
func (h *host) output(c *conn, seg *tcpSeg, udp bool, size int, trip bool) {
	ifc := c.f.ifc
	h.at()
	// a session's packets take the table's fast path (spec §3 step 2);
	// anything else is the whole output path
	v, id := neigh.TxSent, uint64(0)
	mac, fast := h.st.OutputFast(ifc.st, c.f.nexthop, c.sock)
	if !fast {
		v, mac, id = h.st.Output(ifc.st, c.f.nexthop, c.sock, 0, size, 0)
	}
	switch v {
	case neigh.TxSent:
		if !trip || !h.w.startTrip(ifc, c, seg, size, mac) {
			f := h.w.newIPFrame(c.packet(seg, udp), size)
			f.src, f.dst = ifc.dev.MAC, mac
			ifc.seg.transmit(ifc, f)
		}
	case neigh.TxQueued:
		f := h.w.newIPFrame(c.packet(seg, udp), size)
		f.src = ifc.dev.MAC
		h.pending[id] = f
	case neigh.TxDropped:
		h.w.sch.after(0, func() { c.unreachable(true) })
	}
	// The fast path moves no timer (it changes `confirmed` at most), and
	// every input that can move one is followed by reschedule (receive,
	// admin and sysctl, refused or not, the slow path, the wake itself; a
	// confirmation moves none): so with the wake set, reschedule would
	// find the deadline it was set for and return.
	if fast && h.wakeSet && !h.w.opt.noFastSkip {
		return
	}
	h.reschedule()
}

// confirm is an upper-layer confirmation by a socket (spec §6.3). It
// leaves the host's time where it is (no at()): a confirmation reads no
// time, it only marks the shared route or the socket, and nothing
// changes in the table until the next packet is sent (§6.3), so it has
// no decision or action to stamp; the next input that reads the time
// moves it first (every input here calls at(), and a timer wake takes
// the later of its tick and the host's time). Every session's answer
// confirms, so this spares a jiffies computation per round trip; the
// golden traces of every built-in are the same either way.
func (h *host) confirm(c *conn) {
	h.st.Confirm(c.sock, 0)
}

func (h *host) admin(cmd string) {
	c, err := scenario.ParseNeighCmd(cmd)
	if err != nil {
		return // validated at load
	}
	h.at()
	if err := h.st.Admin(h.ifByName(c.Dev).st, c.Op, c.IP, c.LLAddr, c.State); err != nil {
		h.refused("admin-error", err)
		return
	}
	h.reschedule()
}

// refused notes an `ip neigh` command or a sysctl the kernel refused, and
// reschedules as after every other input: output's fast path counts on
// it. A refusal may have done work on the way (an `ip neigh` that creates
// runs forced GC before its update is refused, spec §7.2). In the model
// as it stands none moves a timer (forced GC removes only entries without
// one; the other refusals come before anything is written), so the wake
// stays where it was; were one to, its timer would run at its own tick,
// not at the host's next input (TestRefusalRunsATimerItMoved).
func (h *host) refused(cause string, err error) {
	h.w.emit(trace.Event{Time: h.w.seconds(h.w.sch.now), Kind: trace.KindNote, Host: h.name, Cause: cause, Explanation: err.Error()})
	h.reschedule()
}

func (h *host) sysctl(k, v string) {
	if err := h.st.Sysctl(k, v); err != nil {
		h.refused("sysctl-error", err)
		return
	}
	h.w.emit(trace.Event{Time: h.w.seconds(h.w.sch.now), Kind: trace.KindNote, Host: h.name, Cause: "sysctl",
		Explanation: fmt.Sprintf("sysctl %s=%s", k, v)})
	h.reschedule()
}
