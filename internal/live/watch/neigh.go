package watch

// The correlator's neighbour-table side: a change's transition, its probable
// cause, and the ignored updates the tracepoint shows.

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

func transition(before entry, had bool, n *neighObs) string {
	old := "no entry"
	if had {
		old = strings.TrimSpace(before.state + " " + before.lladdr)
	}
	if n.deleted {
		return old + " → deleted"
	}
	return strings.TrimSpace(fmt.Sprintf("%s → %s %s", old, n.state, n.lladdr))
}

func (c *correlator) emitNeigh(o *obs) {
	n := o.neigh
	k := key{n.dev, n.ip}
	before, had := c.mirror[k]
	if n.deleted {
		if !had {
			return
		}
		delete(c.mirror, k)
	} else {
		if had && before == (entry{n.lladdr, n.state}) {
			return // a notification without a change of state or lladdr
		}
		c.mirror[k] = entry{n.lladdr, n.state}
	}
	from := StateNone
	if had {
		from = parseState(before.state)
	}
	c.ob.Entry(EntryChange{At: o.at, Dev: n.dev, IP: n.ip, From: from, To: parseState(n.state), Resync: n.resync})
	if d, ok := c.dead[k]; ok && (n.deleted || !valid(n.state) || n.lladdr != d.mac) {
		c.clearDead(k, o.at)
	}
	if n.deleted || !valid(n.state) {
		delete(c.pending, k)
	}
	if c.out == nil {
		return
	}
	ev := c.event(o.at, trace.KindState, n.dev, n.ip, "")
	ev.LLAddr, ev.State = n.lladdr, n.state
	if had {
		ev.OldLLAddr, ev.OldState = before.lladdr, before.state
	} else {
		ev.OldState = "NONE"
	}
	ev.Cause, ev.Rule, ev.Explanation = c.cause(o, before, had)
	if f := c.causedBy(o.at, n); f != nil && !n.resync && !n.deleted {
		ev.Frame = f.num
	} else if f := c.weakNA(o, before, had); f != nil && !n.resync {
		ev.Frame = f.num
	}
	c.out(ev)
}

// cause attributes change o: a received frame, a probe we sent, or the
// transition it looks like.
func (c *correlator) cause(o *obs, before entry, had bool) (cause, rule, expl string) {
	n := o.neigh
	tr := transition(before, had, n)
	if n.resync {
		return "resync", "", tr + ", found when the table was re-read after a netlink overrun (the moment and cause were missed)"
	}
	if f := c.causedBy(o.at, n); f != nil && !n.deleted {
		cls, rule := c.class(f), "§4.4"
		if f.frame.nd != nil {
			rule = "ndisc §4"
		}
		_, mac, _ := announce(f.frame)
		return cls, rule, fmt.Sprintf("%s, %.1f ms after a %s from %v (frame %d)",
			tr, float64(o.at.Sub(f.at))/1e6, cls, mac, f.num)
	}
	if f := c.weakNA(o, before, had); f != nil {
		_, mac, _ := announce(f.frame)
		return "na", "ndisc §4.3", fmt.Sprintf("%s, %.1f ms after a non-override NA from %v (frame %d): the weak override "+
			"makes a REACHABLE entry STALE and keeps its MAC", tr, float64(o.at.Sub(f.at))/1e6, mac, f.num)
	}
	for _, h := range c.history[c.since(o.at.Add(-c.window)):] {
		if h.at.After(o.at.Add(c.window)) {
			break
		}
		if f := h.frame; f != nil && f.pktType == ether.PktOutgoing && f.dev == n.dev && solicits(f) == n.ip && !h.at.Before(o.at.Add(-c.window)) {
			return "probe", "§2.2", fmt.Sprintf("%s; this host probed %v (frame %d)", tr, n.ip, h.num)
		}
	}
	old := "NONE"
	if had {
		old = before.state
	}
	// INCOMPLETE and FAILED entries carry no lladdr: that is not a change.
	sameMAC := had && (before.lladdr == n.lladdr || n.lladdr == "")
	switch {
	case n.deleted:
		return "timer/unknown", "§7", tr + " (garbage collection, carrier loss or an administrator)"
	case !sameMAC:
		// Timers and traffic never change an lladdr: something the
		// watcher did not see did (an administrator, a missed frame).
	case old == "REACHABLE" && n.state == "STALE":
		return "timer", "§2.2", tr + ": reachable_time expired"
	case old == "DELAY" && n.state == "PROBE", old == "PROBE" && n.state == "FAILED", old == "INCOMPLETE" && n.state == "FAILED":
		return "timer", "§2.2", tr
	case old == "STALE" && n.state == "DELAY":
		return "output", "§3", tr + ": a packet was sent to the neighbour"
	case old == "DELAY" && n.state == "REACHABLE":
		return "confirm", "§2.2", tr + ": an upper-layer confirmation arrived during DELAY"
	}
	return "timer/unknown", "", tr + " with no ARP frame in the preceding " + c.window.String()
}

func (c *correlator) emitTracepoint(o *obs) {
	t := o.tp
	ign, why := t.ignored()
	if !ign {
		return
	}
	c.ob.IgnoredUpdate(t.dev, tracepointRule(t))
	if c.out == nil {
		return
	}
	// A frame on the same device from the same address near the
	// tracepoint already carries this reason in its verdict.
	for _, h := range c.history[c.since(o.at.Add(-c.window)):] {
		if h.at.After(o.at.Add(c.window)) {
			break
		}
		if f := h.frame; f != nil && f.pktType != ether.PktOutgoing && f.dev == t.dev && f.pkt.SIP == t.ip &&
			f.pkt.SHA.String() == t.newLLAddr && absDur(h.at.Sub(o.at)) <= c.window {
			return
		}
	}
	ev := c.event(o.at, trace.KindNote, t.dev, t.ip, "ignored neighbour update (no matching ARP frame seen): "+why)
	ev.LLAddr, ev.State = t.lladdr, t.state
	ev.Updated, ev.Confirmed = trace.U64(t.updated), trace.U64(t.confirmed)
	ev.Cause = "ignored-update"
	c.out(ev)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// solicits returns the address an outgoing frame asks for: the target of
// an ARP request that is not a GARP, or of an NS that is not DAD (spec
// linux-ndisc §2.3); the zero Addr for other frames.
func solicits(f *frameObs) netip.Addr {
	if m := f.nd; m != nil {
		if m.Type == ndisc.TypeNeighborSolicitation && !m.Src.IsUnspecified() {
			return m.Target
		}
		return netip.Addr{}
	}
	if f.pkt.Op == arp.OpRequest && f.pkt.SIP != f.pkt.TIP {
		return f.pkt.TIP
	}
	return netip.Addr{}
}
