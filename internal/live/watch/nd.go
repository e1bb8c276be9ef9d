package watch

// The IPv6 side of the correlator: neighbour discovery frames (spec
// ../shared/spec/linux-ndisc.md) explain nd_tbl changes the way ARP frames
// explain arp_tbl ones, and each received NA or NS gets a verdict.

import (
	"fmt"
	"net/netip"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// NDVerdict is one received ND message's outcome, for an observer that
// also implements NDObserver.
type NDVerdict struct {
	At      time.Time
	Dev     string
	Type    ndisc.Type
	Target  netip.Addr // the entry the message is about (NA target, NS/RS/RA source)
	Verdict Verdict
	// Reason is the spec's rule for a verdict other than honoured: "hop
	// limit", "no entry", "failed", "non-override", "dropped" (by a knob
	// or a rule the watcher cannot see), or "" when it was honoured.
	Reason string
}

// NDObserver is an Observer that also wants ND verdicts and the
// solicitations this host sent (the metrics exporter's IPv6 counters). The
// watcher checks for it, so an Observer without ND keeps working
// unchanged; ND probes then reach no one (Observer.Probe is ARP's).
type NDObserver interface {
	ND(v NDVerdict)
	// NDProbe is a neighbour solicitation this host sent (unicast: to
	// the cached MAC, spec linux-ndisc §2.3).
	NDProbe(dev string, unicast bool)
}

// announce returns what frame f says about a neighbour entry: the address
// (an NA's target; the source of an NS, RS or RA, which update the
// sender's entry, §4.5, §4.6) and the link-layer address it carries (the
// option, or for an NA without one the Ethernet source). ok is false for
// frames that say nothing about an entry (a DAD NS from ::).
func announce(f *frameObs) (ip netip.Addr, mac arp.MAC, ok bool) {
	m := f.nd
	if m == nil {
		return f.pkt.SIP, f.pkt.SHA, true
	}
	switch m.Type {
	case ndisc.TypeNeighborAdvertisement:
		if m.HasTargetLL {
			return m.Target, m.TargetLL, true
		}
		return m.Target, f.ethSrc, true
	case ndisc.TypeNeighborSolicitation, ndisc.TypeRouterSolicitation, ndisc.TypeRouterAdvertisement:
		if m.Src.IsUnspecified() {
			return netip.Addr{}, arp.MAC{}, false
		}
		if m.HasSourceLL {
			return m.Src, m.SourceLL, true
		}
		return m.Src, f.ethSrc, true
	}
	return netip.Addr{}, arp.MAC{}, false
}

// ndClass names an ND frame's kind, as Event.Cause: "na-override" (O set:
// the announcement that moves an entry), "na-solicited", "na", "ns",
// "dad-ns", "rs", "ra", "redirect".
func ndClass(m *ndisc.Message) string {
	switch m.Type {
	case ndisc.TypeNeighborAdvertisement:
		switch {
		case m.Override:
			return "na-override"
		case m.Solicited:
			return "na-solicited"
		}
		return "na"
	case ndisc.TypeNeighborSolicitation:
		if m.Src.IsUnspecified() {
			return "dad-ns"
		}
		return "ns"
	case ndisc.TypeRouterSolicitation:
		return "rs"
	case ndisc.TypeRouterAdvertisement:
		return "ra"
	}
	return "redirect"
}

func ndFrame(f *frameObs) *trace.NDFrame {
	return trace.NDFields(f.nd, f.ethDst, true, f.pktType.String())
}

// emitND reports an ND frame: one this host sent (a probe when it is a
// non-DAD NS, spec §2.3), or one it received, with a verdict read from
// the nd_tbl change that followed it, or, when none did, from the rules
// of §4.1–§4.5 applied to the entry as the watcher knew it.
func (c *correlator) emitND(o *obs) {
	f := o.frame
	m := f.nd
	cls := ndClass(m)
	if f.pktType == ether.PktOutgoing {
		if m.Type == ndisc.TypeNeighborSolicitation && !m.Src.IsUnspecified() && m.Target.IsValid() {
			unicast := !f.ethDst.IsMulticast()
			if no, ok := c.ob.(NDObserver); ok {
				no.NDProbe(f.dev, unicast)
			}
			if unicast {
				k := key{f.dev, m.Target}
				if _, waiting := c.pending[k]; !waiting {
					c.pending[k] = pendingProbe{mac: f.ethDst, at: o.at}
				}
			}
			if c.out != nil {
				ev := c.event(o.at, trace.KindProbe, f.dev, m.Target, fmt.Sprintf("this host solicited %v (eth dst %v)", m.Target, f.ethDst))
				ev.Cause, ev.ND, ev.Frame = "probe", ndFrame(f), o.num
				c.out(ev)
			}
			return
		}
		if c.out != nil {
			ev := c.event(o.at, trace.KindSend, f.dev, m.Target, "this host sent a "+cls)
			ev.Cause, ev.ND, ev.Frame = cls, ndFrame(f), o.num
			c.out(ev)
		}
		return
	}
	ip, mac, ok := announce(f)
	var ev trace.Event
	if c.out != nil {
		ev = c.event(o.at, trace.KindND, f.dev, ip, "")
		ev.Cause, ev.ND, ev.Frame, ev.Rule = cls, ndFrame(f), o.num, "ndisc §4"
	}
	v := NDVerdict{At: o.at, Dev: f.dev, Type: m.Type, Target: ip}
	var expl string
	if !ok {
		// a DAD NS: our own tentative address is all it can touch (§4.7)
		v.Verdict, v.Reason = VerdictNoOp, ""
		expl = fmt.Sprintf("duplicate address detection for %v: no neighbour entry is touched (ndisc §4.5)", m.Target)
	} else {
		k := key{f.dev, ip}
		before, had := c.mirror[k]
		change, _ := c.after(o, k)
		if change == nil && m.Type == ndisc.TypeNeighborAdvertisement && !m.Override && had && before.state == "REACHABLE" {
			change = c.weakOverride(o, k, before.lladdr)
		}
		if f.pktType == ether.PktOtherHost {
			v.Verdict, v.Reason = VerdictDropped, "otherhost"
			expl = fmt.Sprintf("addressed to %v, not to this host", f.ethDst)
		} else {
			c.answered(k, mac, o.at)
			v.Verdict, v.Reason, expl = c.judgeND(m, mac, before, had, change)
		}
		if c.out != nil {
			if had {
				ev.LLAddr, ev.State = before.lladdr, before.state
			}
			if change != nil {
				ev.LLAddr, ev.State = change.neigh.lladdr, change.neigh.state
			}
		}
	}
	if c.out != nil {
		ev.Verdict = map[Verdict]string{VerdictHonoured: trace.Honoured, VerdictNoOp: trace.Honoured, VerdictCreated: trace.Created,
			VerdictIgnored: trace.Ignored, VerdictDropped: trace.Dropped}[v.Verdict]
		ev.Explanation = expl
		c.out(ev)
	}
	if no, ok := c.ob.(NDObserver); ok {
		no.ND(v)
	}
}

// judgeND decides a received ND message's verdict from the change that
// followed it (change, nil when none) and the entry before (ndisc §4.1–§4.5,
// §4.3's table). mac is the link-layer address the message carries.
func (c *correlator) judgeND(m *ndisc.Message, mac arp.MAC, before entry, had bool, change *obs) (Verdict, string, string) {
	sameMAC := had && before.lladdr == mac.String()
	switch {
	case change != nil && !had:
		return VerdictCreated, "", transition(before, had, change.neigh)
	case change != nil && m.Type == ndisc.TypeNeighborAdvertisement && !m.Override && !sameMAC &&
		change.neigh.lladdr == before.lladdr:
		return VerdictIgnored, "non-override", transition(before, had, change.neigh) +
			": a non-override NA with a new MAC only turns REACHABLE into STALE, keeping the old MAC (weak override, ndisc §4.3)"
	case change != nil:
		return VerdictHonoured, "", fmt.Sprintf("%s; netlink reported the change", transition(before, had, change.neigh))
	case m.HopLimit != ndisc.NDHopLimit:
		return VerdictDropped, "hop limit", fmt.Sprintf("hop limit %d: ndisc_rcv accepts only 255 (ndisc §4.1)", m.HopLimit)
	case m.Code != 0:
		return VerdictDropped, "dropped", fmt.Sprintf("ICMPv6 code %d: ndisc_rcv drops it (ndisc §4.1)", m.Code)
	case m.Type != ndisc.TypeNeighborAdvertisement:
		if sameMAC || !had {
			return VerdictNoOp, "", "no change to the sender's entry"
		}
		return VerdictIgnored, "dropped", fmt.Sprintf("the entry kept %s (%s): the message was dropped before the table "+
			"(it would have overridden it, ndisc §4.5)", before.lladdr, before.state)
	case !had:
		return VerdictDropped, "no entry", fmt.Sprintf("no entry for %v: an NA never creates one on a host "+
			"(routers only, with accept_untracked_na, ndisc §4.4)", m.Target)
	case before.state == "FAILED":
		return VerdictIgnored, "failed", "the entry is FAILED: ndisc_recv_na ignores every NA until the next packet " +
			"resolves it afresh (ndisc §4.2 step 7)"
	case sameMAC || !m.HasTargetLL:
		return VerdictNoOp, "", fmt.Sprintf("the entry already had %s (%s): nothing to change", before.lladdr, before.state)
	case !m.Override:
		return VerdictIgnored, "non-override", fmt.Sprintf("a non-override NA with a new MAC leaves %s entries alone (ndisc §4.3)", before.state)
	}
	return VerdictIgnored, "dropped", fmt.Sprintf("the entry kept %s (%s) although the NA overrides: drop_unsolicited_na, "+
		"a PERMANENT entry, or a drop before ND (ndisc §4.1, §4.2)", before.lladdr, before.state)
}

// weakOverride finds the change a non-override NA with a new MAC makes to
// a REACHABLE entry: STALE with the old lladdr (ndisc §4.3), which
// causedBy cannot tie to the NA since it does not carry the NA's MAC.
func (c *correlator) weakOverride(o *obs, k key, old string) *obs {
	lo, hi := since(c.changes, o.at.Add(-5*time.Millisecond)), since(c.changes, o.at.Add(c.window+1))
	for _, h := range c.changes[lo:hi] {
		if n := h.neigh; n != nil && !n.resync && (key{n.dev, n.ip}) == k && !h.at.Before(o.at) {
			if n.state == "STALE" && n.lladdr == old {
				return h
			}
			return nil
		}
	}
	return nil
}

// weakNA returns the non-override NA that explains change o when o is
// REACHABLE → STALE keeping the lladdr (ndisc §4.3's weak override): the
// latest such NA for the entry, with another MAC, within the window before.
func (c *correlator) weakNA(o *obs, before entry, had bool) *obs {
	n := o.neigh
	if !had || before.state != "REACHABLE" || n.state != "STALE" || n.lladdr != before.lladdr {
		return nil
	}
	var best *obs
	for _, h := range c.history[c.since(o.at.Add(-c.window)):c.since(o.at.Add(1))] {
		f := h.frame
		if f == nil || f.nd == nil || f.pktType == ether.PktOutgoing || f.dev != n.dev || f.nd.Type != ndisc.TypeNeighborAdvertisement || f.nd.Override {
			continue
		}
		if ip, mac, _ := announce(f); ip == n.ip && mac.String() != before.lladdr {
			best = h
		}
	}
	return best
}
