package neigh

import (
	"net/netip"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// NDType is the ICMPv6 type of a neighbour-discovery message: the wire
// codec's type (internal/wire/ndisc), named here in the model's words.
type NDType = ndisc.Type

// ND message types (RFC 4861).
const (
	NDRouterSolicit = ndisc.TypeRouterSolicitation
	NDRouterAdvert  = ndisc.TypeRouterAdvertisement
	NDNeighSolicit  = ndisc.TypeNeighborSolicitation
	NDNeighAdvert   = ndisc.TypeNeighborAdvertisement
	NDRedirect      = ndisc.TypeRedirect
)

// ND is a received neighbour-discovery message in decoded terms: the IPv6
// header fields the receive path reads and the ICMPv6 body. The wire codec
// (internal/wire/ndisc) fills it from a frame; the simulator builds it
// directly. Nothing here is bytes.
type ND struct {
	Type     NDType
	Code     uint8 // ICMPv6 code: ND drops anything but 0 (ndisc §4.1)
	Src, Dst netip.Addr
	HopLimit uint8
	// Target is the NS/NA target address.
	Target netip.Addr
	// The NA flags (R, S, O).
	Router, Solicited, Override bool
	// SourceLL and TargetLL are the link-layer address options (SLLAO,
	// TLLAO), present when the Has fields say so.
	SourceLL, TargetLL       arp.MAC
	HasSourceLL, HasTargetLL bool
	// HasNonce: an NS carries an enhanced-DAD nonce option (RFC 7527).
	HasNonce bool
	// An RA's ReachableTime and RetransTimer in milliseconds (0:
	// unspecified); an accepted RA applies them (ndisc §2.4).
	ReachableTime, RetransTimer uint32
	// BadOptions: the option set is malformed, or a link-layer option
	// does not fit the device; the kernel drops the whole message (§4.1).
	BadOptions bool
	// Fragmented: the packet was reassembled from fragments (§4.1).
	Fragmented bool
}

// NDFlags are the flags of an NA the host sends (Action.ND).
type NDFlags uint8

// NA flags of an Action, and whether it carries a TLLAO.
const (
	NARouter NDFlags = 1 << iota
	NASolicited
	NAOverride
	NATLLAO
)

// isSolicitedNode reports whether ip is a solicited-node group.
func isSolicitedNode(ip netip.Addr) bool {
	if !ip.Is6() {
		return false
	}
	b := ip.As16()
	return ndisc.SolicitedNode(ip) == ip && b[12] == 0xff
}

// linkLocal is the device's link-local address (fe80::/10), if any.
func (d *Device) linkLocal() netip.Addr {
	for _, p := range d.Addrs {
		if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// ReceiveND is ndisc_rcv (ndisc §4) for a message that arrived on dev of
// an IPv6 table with the given packet type. NS and NA run the receive
// path of §4.5 and §4.2; RS, RA and Redirect are counted and explained as
// not modelled (their cache effects need routes the model lacks, §4.6).
func (t *Table) ReceiveND(now vtime.Jiffies, dev *Device, m *ND, pt PktType) *Result {
	r := t.begin(now)
	t.Stats.NDReceived++
	d := Decision{Rule: RuleNAUpdate, Dev: dev.Name, IP: m.Target, Now: now, PktType: pt, Frame: true,
		Locktime: dev.Params.Locktime, NDType: m.Type, NDFlags: ndFlagsOf(m), Untracked: uint8(dev.Conf6.AcceptUntrackedNA), Peer: m.Src}
	if m.Type == NDNeighSolicit {
		d.Rule, d.IP, d.Peer = RuleNSUpdate, m.Src, m.Target
		if m.Src.IsUnspecified() {
			d.IP = m.Target // DAD: no sender entry; the decision is about the address probed
		}
		if m.HasSourceLL {
			d.NewMAC, d.AdvMAC = m.SourceLL, m.SourceLL
		}
	} else if m.HasTargetLL {
		d.NewMAC, d.AdvMAC = m.TargetLL, m.TargetLL
	}
	drop := func(rule Rule) *Result {
		d.Rule, d.Verdict = rule, VerdictDropped
		t.Stats.NDDropped++
		t.decide(&d)
		return r
	}
	if t.Family != IPv6 || !m.Src.Is6() || !m.Dst.Is6() {
		return drop(RuleNDNotIPv6)
	}
	// §4.1: ip6_rcv_core, before any ICMPv6 processing.
	if t.F.NDDropUnicastInL2Mcast && dev.Conf6.DropUnicastInL2Multicast && !m.Dst.IsMulticast() &&
		(pt == PktBroadcast || pt == PktMulticast) {
		return drop(RuleNDUnicastInL2Mcast)
	}
	if pt == PktOtherHost {
		return drop(RuleDropOtherHost)
	}
	switch {
	case m.HopLimit != 255:
		d.Count = int(m.HopLimit)
		return drop(RuleNDHopLimit)
	case m.Code != 0:
		d.Count = int(m.Code)
		return drop(RuleNDCode)
	case m.Fragmented && t.F.NDDropFragments && dev.Conf6.SuppressFragNDisc:
		return drop(RuleNDFragment)
	case m.BadOptions:
		return drop(RuleNDBadOptions)
	}
	switch m.Type {
	case NDNeighAdvert:
		return t.receiveNA(now, dev, m, &d, drop)
	case NDNeighSolicit:
		return t.receiveNS(now, dev, m, &d, drop)
	case NDRouterSolicit, NDRouterAdvert:
		return t.receiveRouterDiscovery(now, dev, m, &d, drop)
	}
	d.IP, d.Peer = m.Src, m.Src
	return drop(RuleNDNotModelled)
}

// receiveRouterDiscovery is ndisc_recv_rs and ndisc_router_discovery
// (ndisc §4.6): the sender's entry, and for an accepted RA the device's
// retrans and reachable times (ndisc §2.4). Routes, prefixes and the
// default router list are not modelled.
func (t *Table) receiveRouterDiscovery(now vtime.Jiffies, dev *Device, m *ND, d *Decision, drop func(Rule) *Result) *Result {
	r := &t.res
	d.IP, d.Peer = m.Src, m.Src
	if m.HasSourceLL {
		d.NewMAC, d.AdvMAC = m.SourceLL, m.SourceLL
	}
	rs := m.Type == NDRouterSolicit
	switch {
	case m.Src.IsUnspecified():
		return drop(RuleRDUnspecified) // RS from ::, nothing to learn
	case rs && !dev.Conf6.Forwarding:
		return drop(RuleRSNotRouter)
	case !rs && !m.Src.IsLinkLocalUnicast():
		return drop(RuleRANotLinkLocal)
	}
	flags := WeakOverride | Override | OverrideIsRouter // RS: clears NTF_ROUTER
	if !rs {
		flags |= IsRouter
		d.Count = b01(t.raAccepted(dev))
		if d.Count == 1 {
			t.applyRAParams(dev, m)
		}
	}
	e := t.get(dev, m.Src)
	created := false
	if e == nil {
		if e = t.create(now, dev, m.Src); e == nil {
			return drop(RuleTableFull)
		}
		created = true
	}
	d.Rule = RuleRDUpdate
	t.applyUpdate(now, e, m.sourceLL(), Stale, flags, created, d)
	return r
}

// sourceLL is the message's source link-layer address option, the lladdr
// of the update an RS, RA or NS makes; nil when it carries none.
func (m *ND) sourceLL() *arp.MAC {
	if !m.HasSourceLL {
		return nil
	}
	ll := m.SourceLL
	return &ll
}

// raAccepted is the accept_ra test of ndisc_router_discovery: a host with
// accept_ra=1, or any device with accept_ra=2.
func (t *Table) raAccepted(dev *Device) bool {
	c := &dev.Conf6
	return (c.AcceptRA == 1 && !c.Forwarding) || c.AcceptRA >= 2
}

// applyRAParams applies an accepted RA's timers (ndisc §2.4): a non-zero
// RetransTimer sets retrans_time (floor HZ/10, HZ/100 from 5.19), a
// non-zero ReachableTime that differs sets base_reachable_time (floor
// HZ/10), gc_stale_time = 3 × it, and re-randomises reachable_time.
func (t *Table) applyRAParams(dev *Device, m *ND) {
	p := &dev.Params
	if m.RetransTimer != 0 {
		floor := vtime.Ticks(max(t.HZ/10, 1))
		if t.F.RARetransSmallFloor {
			floor = vtime.Ticks(max(t.HZ/100, 1))
		}
		p.RetransTime = max(vtime.MsToTicks(int64(m.RetransTimer), t.HZ), floor)
	}
	if m.ReachableTime != 0 {
		rt := max(vtime.MsToTicks(int64(m.ReachableTime), t.HZ), vtime.Ticks(max(t.HZ/10, 1)))
		if rt != p.BaseReachableTime {
			p.BaseReachableTime = rt
			p.GCStaleTime = 3 * rt
			dev.ReachableTime = t.randReachable(rt)
		}
	}
}

func ndFlagsOf(m *ND) NDFlags {
	var f NDFlags
	if m.Router {
		f |= NARouter
	}
	if m.Solicited {
		f |= NASolicited
	}
	if m.Override {
		f |= NAOverride
	}
	if (m.Type == NDNeighAdvert && m.HasTargetLL) || (m.Type != NDNeighAdvert && m.HasSourceLL) {
		f |= NATLLAO // "carries a link-layer option"
	}
	return f
}

// receiveNA is ndisc_recv_na (ndisc §4.2), steps in the kernel's order.
func (t *Table) receiveNA(now vtime.Jiffies, dev *Device, m *ND, d *Decision, drop func(Rule) *Result) *Result {
	r := &t.res
	// Steps 1–2.
	if !m.Target.Is6() || m.Target.IsMulticast() {
		return drop(RuleNATargetMulticast)
	}
	if m.Dst.IsMulticast() && m.Solicited {
		return drop(RuleNASolicitedMulticast)
	}
	// Step 3: before the own-address check and before accept_untracked_na.
	if t.F.DropUnsolicitedNA && !m.Solicited && dev.Conf6.DropUnsolicitedNA {
		return drop(RuleNADropUnsolicited)
	}
	// Step 5: an NA for one of our addresses (tentative addresses, and so
	// DAD failure, are not modelled: every address is preferred).
	if dev.IsLocal(m.Target) {
		return drop(RuleNAOurAddress)
	}
	// Step 6: the target's entry, never created on a host.
	e := t.get(dev, m.Target)
	flags := WeakOverride | OverrideIsRouter
	if m.Override {
		flags |= Override
	}
	if m.Router {
		flags |= IsRouter
	}
	var lladdr *arp.MAC
	if m.HasTargetLL {
		ll := m.TargetLL
		lladdr = &ll
	}
	state := Stale
	if m.Solicited {
		state = Reachable
	}
	if e == nil {
		why := t.untrackedNA(dev, m)
		d.Why = why
		if why != untrackedCreate {
			d.Rule, d.Verdict = RuleNANoEntry, VerdictDropped
			t.Stats.NDDropped++
			t.decide(d)
			return r
		}
		if e = t.create(now, dev, m.Target); e == nil {
			return drop(RuleTableFull)
		}
		// §4.4: created, then updated to STALE even for S=1.
		d.Rule = RuleNAUntracked
		t.applyUpdate(now, e, lladdr, Stale, flags, true, d)
		return r
	}
	// Step 7: a FAILED entry ignores every NA (N2).
	if e.state == Failed {
		d.Rule, d.Verdict = RuleNAFailed, VerdictIgnored
		d.Old, d.New, d.OldMAC = e.state, e.state, e.ha
		d.UpdatedBefore, d.Updated, d.Confirmed = e.updated, e.updated, e.confirmed
		t.Stats.Ignored++
		t.decide(d)
		return r
	}
	// Step 9: neigh_update with WEAK_OVERRIDE, OVERRIDE iff O,
	// OVERRIDE_ISROUTER, ISROUTER iff R (ndisc §5.1).
	t.applyUpdate(now, e, lladdr, state, flags, false, d)
	return r
}

// untrackedWhy says what accept_untracked_na decided (ndisc §4.4).
type untrackedWhy uint8

const (
	untrackedNoPatch untrackedWhy = iota + 1 // ≤5.18: never
	untrackedHost                            // forwarding 0
	untrackedKnobOff                         // accept_untracked_na=0
	untrackedNoTLLAO                         // no TLLAO
	untrackedOffLink                         // =2 and the source is in no prefix of dev
	untrackedCreate                          // create a STALE entry
)

// untrackedNA is the 5.19+ creation test of an NA for a target with no
// entry: every condition of ndisc §4.4, per-device values only.
func (t *Table) untrackedNA(dev *Device, m *ND) untrackedWhy {
	knob := dev.Conf6.AcceptUntrackedNA
	switch {
	case !t.F.AcceptUntrackedNA:
		return untrackedNoPatch
	case knob == 0:
		return untrackedKnobOff
	case !dev.Conf6.Forwarding:
		return untrackedHost
	case !m.HasTargetLL:
		return untrackedNoTLLAO
	case knob >= 2 && t.F.AcceptUntrackedNASubnet && !dev.onLink(m.Src):
		return untrackedOffLink
	}
	return untrackedCreate
}

// receiveNS is ndisc_recv_ns (ndisc §4.5).
func (t *Table) receiveNS(now vtime.Jiffies, dev *Device, m *ND, d *Decision, drop func(Rule) *Result) *Result {
	r := &t.res
	dad := m.Src.IsUnspecified()
	switch {
	case !m.Target.Is6() || m.Target.IsMulticast():
		return drop(RuleNATargetMulticast)
	case dad && !isSolicitedNode(m.Dst):
		return drop(RuleNSDADNotSolicitedNode)
	case dad && m.HasSourceLL:
		return drop(RuleNSDADWithSLLAO)
	}
	// Step 4: an NS for an address that is not ours never touches the
	// cache (N3; anycast and proxy_ndp are not modelled).
	if !dev.IsLocal(m.Target) {
		return drop(RuleNSNotForUs)
	}
	o := NAOverride
	fwd := NDFlags(0)
	if dev.Conf6.Forwarding {
		fwd = NARouter
	}
	// Step 5: DAD for our (preferred) address: defend it, no cache update.
	if dad {
		d.Rule, d.Verdict = RuleNSDAD, VerdictDropped
		t.decide(d)
		t.act(Action{Kind: ActReply, Dev: dev, Target: ndisc.AllNodes, Src: m.Target, DstMAC: ndisc.AllNodesMAC, ND: o | NATLLAO | fwd})
		return r
	}
	// Step 6: the sender's entry; created only for a unicast NS, or one
	// with an SLLAO.
	e := t.get(dev, m.Src)
	created := false
	if e == nil {
		if m.Dst.IsMulticast() && !m.HasSourceLL {
			d.Rule, d.Verdict = RuleNSNoEntry, VerdictDropped
			t.Stats.NDDropped++
			t.decide(d)
			return r // no entry, so no reply either
		}
		if e = t.create(now, dev, m.Src); e == nil {
			return drop(RuleTableFull)
		}
		created = true
	}
	t.applyUpdate(now, e, m.sourceLL(), Stale, WeakOverride|Override, created, d)
	// Step 7: the NA reply, S=1; O and TLLAO only for a multicast NS.
	flags := NASolicited | fwd
	if m.Dst.IsMulticast() {
		flags |= NAOverride | NATLLAO
	} else if dev.Conf6.ForceTLLAO {
		flags |= NATLLAO
	}
	t.sendNA(now, e, m.Target, flags)
	return r
}

// sendNA transmits our NA reply through the sender's entry, as
// ndisc_send_skb does (ndisc §3): a STALE entry turns DELAY at once, and
// an entry with no lladdr starts resolving and queues the reply.
func (t *Table) sendNA(now vtime.Jiffies, e *Entry, src netip.Addr, flags NDFlags) {
	t.replySeq++
	id := replyBit | t.replySeq
	a := Action{Kind: ActReply, Dev: e.dev, Target: e.ip, Src: src, Unicast: true, ND: flags, Packet: id}
	v, mac := t.output(now, e, nil, id, 86)
	switch v {
	case TxSent:
		a.DstMAC = mac
		t.act(a)
	case TxQueued:
		if t.replies == nil {
			t.replies = map[uint64]Action{}
		}
		t.replies[id] = a
	}
}

// replyBit marks the ids of the table's own queued NA replies, so that
// releasing the queue sends them as replies, not as a driver's packets.
const replyBit = 1 << 63

// IsReplyID reports whether a queued packet id is one of the table's own
// NA replies (Output callers never see such an id in their actions).
func IsReplyID(id uint64) bool { return id&replyBit != 0 }

// ndSource is the IPv6 source of an NS (ndisc §2.3): the source of the
// packet waiting for the resolution if it is one of ours, else the
// device's link-local address (none: no probe). The model does not carry
// a queued packet's source, so a packet is taken to come from the
// device's address in the target's prefix (the address source-address
// selection picks), an NA reply from the address it advertises.
func (t *Table) ndSource(e *Entry) netip.Addr {
	if len(e.queue) > 0 {
		if id := e.queue[0].ID; id&replyBit != 0 {
			if a, ok := t.replies[id]; ok {
				return a.Src
			}
		}
		for _, p := range e.dev.Addrs {
			if p.Addr().Is6() && !p.Addr().IsLinkLocalUnicast() && p.Masked().Contains(e.ip) {
				return p.Addr()
			}
		}
	}
	return e.dev.linkLocal()
}
