package sim

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"arplab/internal/garp"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
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
func (h *host) at() { h.st.SetNow(h.clock.Jiffies(h.w.sch.now)) }

// toSeconds converts one of this host's jiffies to run seconds.
func (h *host) toSeconds(j vtime.Jiffies) float64 { return h.clock.TimeOf(j).Seconds() }

// Observe turns a model result into trace lines, frames and flow
// notifications. The result belongs to the table, so everything that
// could feed the host again is deferred to a later event.
func (h *host) Observe(_ *stack.Host, in *stack.Input, r *neigh.Result) {
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
	local := ifc.dev.IsLocal(f.ip.dst)
	if f.ip.dst.Is6() {
		local = ifc.st.ND != nil && ifc.st.ND.IsLocal(f.ip.dst)
	}
	if !local {
		return
	}
	if c := f.ip.conn; c != nil {
		c.deliver(f)
	}
}

// output sends an IPv4 packet of a flow through the neighbour layer, out
// of ifc towards nexthop (the flow's route).
func (h *host) output(c *conn, f *frame, ifc *hostIf, nexthop netip.Addr) {
	f.src = ifc.dev.MAC
	h.at()
	v, mac, id := h.st.Output(ifc.st, nexthop, c.sock, 0, f.size, 0)
	switch v {
	case neigh.TxSent:
		f.dst = mac
		ifc.seg.transmit(ifc, f)
	case neigh.TxQueued:
		h.pending[id] = f
	case neigh.TxDropped:
		h.w.sch.after(0, func() { c.unreachable(true) })
		h.w.release(f)
	}
	h.reschedule()
}

// confirm is an upper-layer confirmation by a socket (spec §6.3).
func (h *host) confirm(c *conn) {
	h.at()
	h.st.Confirm(c.sock, 0)
}

func (h *host) admin(cmd string) {
	c, err := scenario.ParseNeighCmd(cmd)
	if err != nil {
		return // validated at load
	}
	h.at()
	if err := h.st.Admin(h.ifByName(c.Dev).st, c.Op, c.IP, c.LLAddr, c.State); err != nil {
		h.w.emit(trace.Event{Time: h.w.seconds(h.w.sch.now), Kind: trace.KindNote, Host: h.name, Cause: "admin-error", Explanation: err.Error()})
		return
	}
	h.reschedule()
}

func (h *host) sysctl(k, v string) {
	if err := h.st.Sysctl(k, v); err != nil {
		h.w.emit(trace.Event{Time: h.w.seconds(h.w.sch.now), Kind: trace.KindNote, Host: h.name, Cause: "sysctl-error", Explanation: err.Error()})
		return
	}
	h.w.emit(trace.Event{Time: h.w.seconds(h.w.sch.now), Kind: trace.KindNote, Host: h.name, Cause: "sysctl",
		Explanation: fmt.Sprintf("sysctl %s=%s", k, v)})
	h.reschedule()
}

// station is a simple endpoint: it answers ARP for the IPs it owns and
// answers TCP, and sends GARPs.
type station struct {
	w   *world
	cfg *scenario.Station
	seg *segment
	ips addrSet
}

func (s *station) mac() arp.MAC { return s.cfg.MAC.MAC }

func (s *station) receive(f *frame, pt neigh.PktType) {
	if f.nd != nil {
		s.receiveND(f, pt)
		return
	}
	if f.arp != nil {
		p := f.arp
		if p.Op != arp.OpRequest || !s.ips.has(p.TIP) || p.SIP == p.TIP {
			return
		}
		if pt == neigh.PktOtherHost && !s.cfg.AnswerForeignProbes {
			return
		}
		rep := arp.NewPacket(arp.OpReply, s.mac(), p.TIP, p.SHA, p.SIP)
		s.w.sch.answer(s.cfg.Think.D, s.seg, s, &frame{src: s.mac(), dst: f.src, arp: &rep, size: 42})
		return
	}
	if f.ip == nil || pt != neigh.PktHost {
		return
	}
	if !s.ips.has(f.ip.dst) && !s.serves(f.ip.dst) {
		if s.w.tellsLoss(f) {
			s.w.lost(f, fmt.Sprintf("%s (%v) no longer owns %v", s.cfg.Name, s.mac(), f.ip.dst))
		}
		return
	}
	if c := f.ip.conn; c != nil {
		if resp := c.respond(f); resp != nil {
			resp.src, resp.dst = s.mac(), f.src
			s.w.sch.answer(s.cfg.Think.D, s.seg, s, resp)
		}
	}
}

// serves reports whether the station routes for ip: a gateway routes
// only while it holds an address (a router that lost its VIP is down).
func (s *station) serves(ip netip.Addr) bool {
	if s.ips.len() == 0 {
		return false
	}
	for _, p := range s.cfg.Serves {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// sendExplanation is a station's frame in words: a GARP (sip == tip), or
// a reply action's ARP frame to one host.
func sendExplanation(name string, p *arp.Packet) string {
	if p.SIP == p.TIP {
		return fmt.Sprintf("%s sends GARP %v for %v (tha %v)", name, p.Op, p.SIP, p.THA)
	}
	return fmt.Sprintf("%s sends ARP %v %v is-at %v to %v (tha %v)", name, p.Op, p.SIP, p.SHA, p.TIP, p.THA)
}

// sendGARP sends one frame of a GARP schedule, or a reply action's frame
// (cause "reply").
func (s *station) sendGARP(fr garp.Frame, preset string) {
	p := fr.Packet
	p.SHA = s.mac()
	f := &frame{src: s.mac(), dst: fr.EthDst, arp: &p, size: 42}
	s.w.emit(trace.Event{Time: s.w.seconds(s.w.sch.now), Kind: trace.KindSend, Host: s.cfg.Name, IP: p.SIP.String(),
		LLAddr: p.SHA.String(), Cause: preset, ARP: &trace.ARPFrame{Op: p.Op.String(), SHA: p.SHA.String(),
			SIP: p.SIP.String(), THA: p.THA.String(), TIP: p.TIP.String(), EthDst: fr.EthDst.String(), GARP: p.SIP == p.TIP},
		Explanation: sendExplanation(s.cfg.Name, &p)})
	s.seg.transmit(s, f)
}

// receiveND answers an NS for one of the station's IPv6 addresses the way
// Linux does (ndisc §4.5 step 7, §10.1): S=1, O=1 and a TLLAO only when
// the NS was multicast; a unicast NUD probe gets S=1, O=0, no option.
// DAD NS and NS for other targets get nothing; a station keeps no table.
func (s *station) receiveND(f *frame, pt neigh.PktType) {
	m := f.nd
	if m.Type != ndisc.TypeNeighborSolicitation || !s.ips.has(m.Target) || m.Src.IsUnspecified() {
		return
	}
	if pt == neigh.PktOtherHost && !s.cfg.AnswerForeignProbes {
		return
	}
	mc := m.Dst.IsMulticast()
	na := ndisc.Message{Type: ndisc.TypeNeighborAdvertisement, HopLimit: ndisc.NDHopLimit, Src: m.Target, Dst: m.Src,
		Target: m.Target, Solicited: true, Override: mc}
	if mc {
		na.TargetLL, na.HasTargetLL = s.mac(), true
	}
	dst := f.src
	if m.HasSourceLL {
		dst = m.SourceLL
	}
	s.w.sch.answer(s.cfg.Think.D, s.seg, s, &frame{src: s.mac(), dst: dst, nd: &na, size: ndSize(&na)})
}

// sendNA sends one unsolicited NA of an IPv6 announcement schedule.
func (s *station) sendNA(fr garp.NAFrame, preset string) {
	m := fr.Msg
	f := &frame{src: s.mac(), dst: fr.EthDst, nd: &m, size: ndSize(&m)}
	flags := ""
	for _, x := range []struct {
		on bool
		c  string
	}{{m.Router, "R"}, {m.Solicited, "S"}, {m.Override, "O"}} {
		if x.on {
			flags += x.c
		}
	}
	if flags == "" {
		flags = "no flags"
	}
	ll := "no TLLAO"
	if m.HasTargetLL {
		ll = "TLLAO " + m.TargetLL.String()
	}
	in := stack.NDInput(&m)
	s.w.emit(trace.Event{Time: s.w.seconds(s.w.sch.now), Kind: trace.KindSend, Host: s.cfg.Name, IP: m.Target.String(),
		LLAddr: m.TargetLL.String(), Cause: preset, ND: stack.NDFields(&in, fr.EthDst, true, ""),
		Explanation: fmt.Sprintf("%s sends unsolicited NA for %v (%s, %s) from %v to %v", s.cfg.Name, m.Target, flags, ll, m.Src, m.Dst)})
	s.seg.transmit(s, f)
}

// ndSize is the Ethernet frame size of an ND message.
func ndSize(m *ndisc.Message) int {
	n := ether.HeaderLen + ndisc.IPv6HeaderLen + ndisc.NALen
	if m.HasSourceLL || m.HasTargetLL {
		n += 8
	}
	return n
}
