package verify

// The IPv6 half of a host's model: neighbour-discovery frames the host
// received (fed to nd_tbl) and sent (compared), IPv6 data through the
// output path, and the ND table's parameters as the lab read them
// (../shared/spec/linux-ndisc.md).

import (
	"fmt"
	"net/netip"
	"strconv"

	"arplab/internal/lab"
	"arplab/internal/neigh"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// ndOf is a decoded ND frame in the model's terms.
func ndOf(m *ndisc.Message) neigh.ND {
	return neigh.ND{Type: neigh.NDType(m.Type), Code: m.Code, Src: m.Src, Dst: m.Dst, HopLimit: m.HopLimit, Target: m.Target,
		Router: m.Router, Solicited: m.Solicited, Override: m.Override,
		SourceLL: m.SourceLL, TargetLL: m.TargetLL, HasSourceLL: m.HasSourceLL, HasTargetLL: m.HasTargetLL, HasNonce: m.HasNonce}
}

// ndKey is the entry an ND message is about: an NA's target, an NS's
// source.
func ndKey(m *ndisc.Message) netip.Addr {
	if m.Type == ndisc.TypeNeighborSolicitation {
		return m.Src
	}
	return m.Target
}

// setupND gives the model's devices what the lab read of IPv6: the
// link-local address beside the scenario's, the ND parameters (the
// kernel's own reachable_time) and net/ipv6/conf.
func (m *hostModel) setupND(rh *lab.RunHost) {
	if m.st.ND == nil {
		return
	}
	run := m.v.run
	for i, v := range []int{run.ND.Thresh1, run.ND.Thresh2, run.ND.Thresh3} {
		m.st.Sysctl(fmt.Sprintf("net.ipv6.neigh.default.gc_thresh%d", i+1), strconv.Itoa(v))
	}
	applyConf(m.st, "net.ipv6.conf.all.", rh.ConfAll6)
	for _, d := range rh.Devs {
		if dev := m.devs[d.Name]; dev != nil && dev.ND != nil {
			d.Params6.Apply(dev.ND, run.HZ)
			applyConf(m.st, "net.ipv6.conf."+d.Name+".", d.Conf6)
		}
	}
}

// addrsWithLinkLocal are a lab interface's addresses for the model: the
// scenario's, and in an IPv6 run the link-local address the kernel gave
// it (the source of its NSs, and an on-link prefix for
// accept_untracked_na = 2).
func addrsWithLinkLocal(d *lab.RunDev) []netip.Prefix {
	addrs := append([]netip.Prefix(nil), d.Addrs...)
	if d.LinkLocal.IsValid() {
		addrs = append(addrs, netip.PrefixFrom(d.LinkLocal, 64))
	}
	return addrs
}

func (m *hostModel) receiveND(in *input) {
	f := &m.v.run.Frames[in.Frame]
	dev := m.devs[f.Dev]
	msg, eh, ok := lab.FrameND(f.Data)
	if !ok || dev.ND == nil {
		return
	}
	nd := ndOf(&msg)
	m.frameDecision = nil
	m.st.ReceiveND(dev, &nd, neigh.PktType(f.Type), in.Frame+1, eh.Dst, true)
	m.v.res.Stats.Frames++
	if m.frameDecision == nil {
		return
	}
	d := *m.frameDecision
	v := in.Verdict
	if v == nil || v.Verdict == "" {
		return // no oracle
	}
	m.v.res.Stats.Verdicts++
	key := ndKey(&msg)
	// A FAILED entry's NA never reaches neigh_update (ndisc §4.2 step 7):
	// the tracepoints show nothing, which reads as dropped.
	mv := d.Verdict
	if d.Rule == neigh.RuleNAFailed {
		mv = trace.Dropped
	}
	// The entry as neigh_update_done shows it: after the update, with the
	// queued packets it released already sent through it (an INCOMPLETE
	// entry resolved by an NA is DELAY by then, as for ARP), but before
	// an NS's reply, which ndisc_recv_ns sends after the update returns
	// (STALE → DELAY, ndisc §3).
	after, has := m.st.Lookup(dev, key)
	model := describe(mv, has, after.State.String(), after.LLAddr, after.State.Valid())
	if msg.Type == ndisc.TypeNeighborSolicitation && mv != trace.Dropped {
		model = describe(mv, true, d.New.String(), d.NewMAC, d.New.Valid())
	}
	m.compareVerdict(in, key, mv, model, ndFrameDesc(&msg, f), &d)
}

func ndFrameDesc(msg *ndisc.Message, f *lab.RunFrame) string {
	var dst arp.MAC
	copy(dst[:], f.Data[:6])
	return fmt.Sprintf("%v, eth dst %v (%v)", msg, dst, f.Type)
}

// sentND counts the NSs (probes) and NAs (replies) the host sent, per
// entry: an NS by its target, an NA by its IPv6 destination, as the
// model's actions name them.
func (m *hostModel) sentND(in *input) {
	f := &m.v.run.Frames[in.Frame]
	msg, eh, ok := lab.FrameND(f.Data)
	if !ok {
		return
	}
	switch msg.Type {
	case ndisc.TypeNeighborSolicitation:
		if msg.Src.IsUnspecified() {
			return // our own DAD: not a probe (the lab's addresses skip DAD)
		}
		c := m.count(m.kern, entryKey{f.Dev, msg.Target})
		if eh.Dst[0]&1 == 0 {
			c.unicast++
		} else {
			c.broadcast++
		}
	case ndisc.TypeNeighborAdvertisement:
		m.count(m.kern, entryKey{f.Dev, msg.Dst}).replies++
	}
}

// sendIP6 feeds an IPv6 datagram the host sent through the output path
// of nd_tbl: on-link destinations only (the lab's IPv6 scenarios have no
// IPv6 gateways).
func (m *hostModel) sendIP6(in *input, dst netip.Addr) {
	f := &m.v.run.Frames[in.Frame]
	dev := m.devs[f.Dev]
	if dev.ND == nil || !onLink6(dev, dst) {
		m.v.notef("host %s: IPv6 to %v not modelled (not an on-link unicast neighbour)", m.name, dst)
		return
	}
	k := entryKey{f.Dev, dst}
	if m.credits[k] > 0 {
		m.credits[k]-- // a packet the model had queued, now released
		return
	}
	m.st.Output(dev, dst, nil, 0, f.Len, in.Frame+1)
	m.v.res.Stats.Outputs++
}

// onLink6 reports whether dst is a unicast neighbour of dev: link-local,
// or inside one of its IPv6 prefixes.
func onLink6(dev *stack.Device, dst netip.Addr) bool {
	if dst.IsMulticast() {
		return false
	}
	if dst.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range dev.ND.Addrs {
		if p.Masked().Contains(dst) {
			return true
		}
	}
	return false
}

// ndEntryString is stateString for a table read of an IPv6 entry, with the
// router flag (NTF_ROUTER, ndisc §5.3) that the NA's R flag maintains.
func ndEntryString(s string, ip netip.Addr, router bool) string {
	if ip.Is6() && router {
		return s + " router"
	}
	return s
}

// kernelNDProbe is the target of an NS the host sent as a probe (not DAD).
func kernelNDProbe(f *lab.RunFrame) (netip.Addr, bool) {
	msg, _, ok := lab.FrameND(f.Data)
	if !ok || msg.Type != ndisc.TypeNeighborSolicitation || msg.Src.IsUnspecified() {
		return netip.Addr{}, false
	}
	return msg.Target, true
}
