package neigh

import (
	"net/netip"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// garpWhy records how the receive path classified a frame with respect to
// gratuitous ARP (spec §4.4), so the explanation can say exactly why a
// GARP did or did not override.
type garpWhy uint8

const (
	garpNotGratuitous    garpWhy = iota // sip != tip
	garpYes                             // recognised: overrides locktime
	garpNoConcept                       // ≤3.13: no GARP logic at all
	garpNeedsARPAccept                  // 3.14–4.11: only with arp_accept
	garpReplyNeverGARP                  // kernel without F2: replies are never GARPs
	garpReplyTHA                        // reply whose tha != sha
	garpSenderNotUnicast                // sip is not a unicast address
)

// ReceiveARP is arp_rcv + arp_process (spec §4) for a frame that arrived on
// dev with the given packet type. Validation failures of the frame itself
// (lengths, hardware type) are the decoder's business: pass only decoded
// Ethernet/IPv4 packets.
func (t *Table) ReceiveARP(now vtime.Jiffies, dev *Device, p *arp.Packet, pt PktType) *Result {
	r := t.begin(now)
	t.Stats.ARPReceived++
	d := Decision{Rule: RuleARPUpdate, Dev: dev.Name, IP: p.SIP, Now: now, Op: p.Op, PktType: pt,
		Locktime: dev.Params.Locktime, NewMAC: p.SHA, Frame: true}
	drop := func(rule Rule) *Result {
		d.Rule, d.Verdict = rule, VerdictDropped
		t.Stats.ARPDropped++
		t.decide(&d)
		return r
	}
	// §4.1: frames for another host never reach arp_process.
	if pt == PktOtherHost {
		return drop(RuleDropOtherHost)
	}
	// §4.2: validation.
	if p.Op != arp.OpRequest && p.Op != arp.OpReply {
		return drop(RuleDropOpcode)
	}
	if len(dev.Addrs) == 0 {
		return drop(RuleDropNoIPv4)
	}
	if p.TIP.IsMulticast() {
		return drop(RuleDropTargetMulticast)
	}
	if p.TIP.IsLoopback() {
		return drop(RuleDropTargetLoopback)
	}
	if t.F.DropGratuitousARP && p.SIP == p.TIP && (t.All.DropGratuitousARP || dev.Conf.DropGratuitousARP) {
		return drop(RuleDropGratuitous)
	}
	// §4.3: duplicate address detection probes update nothing.
	if p.SIP.IsUnspecified() {
		if p.Op == arp.OpRequest && dev.IsLocal(p.TIP) && t.arpIgnoreAllows(dev, p) {
			t.reply(dev, p)
			d.Rule, d.Verdict = RuleDADReplied, VerdictDropped
		} else {
			d.Rule, d.Verdict = RuleDADIgnored, VerdictDropped
		}
		t.decide(&d)
		return r
	}
	// §4.3: a request for one of our addresses.
	if p.Op == arp.OpRequest && dev.IsLocal(p.TIP) {
		if !t.arpIgnoreAllows(dev, p) {
			return drop(RuleRequestIgnored)
		}
		e, _ := t.entries.Get(key(dev, p.SIP))
		created := false
		if e == nil {
			if e = t.create(now, dev, p.SIP); e == nil {
				return drop(RuleTableFull)
			}
			created = true
		}
		d.Rule = RuleRequestForUs
		t.applyUpdate(now, e, &p.SHA, Stale, Override, created, &d)
		t.reply(dev, p)
		return r
	}
	// §4.4: update our table from everything else.
	return t.learn(now, dev, p, pt, &d)
}

// learn is the "update our ARP tables" tail of arp_process (spec §4.4).
func (t *Table) learn(now vtime.Jiffies, dev *Device, p *arp.Packet, pt PktType, d *Decision) *Result {
	r := &t.res
	e, _ := t.entries.Get(key(dev, p.SIP))
	accept := t.arpAccept(dev)
	d.ARPAccept = accept
	unicast := t.senderUnicast(dev, p.SIP)
	// arp_accept=2 (6.0+) accepts only senders inside a subnet of dev.
	acceptOK := accept == 1 || (accept >= 2 && t.F.ARPAcceptMax && dev.onLink(p.SIP))
	if accept >= 1 && !t.F.ARPAcceptMax {
		acceptOK = true
	}
	// Which GARP logic exists on this kernel, and when it runs (§4.4 b–d).
	gate := (t.F.GARPAlwaysOverride && e != nil) || ((t.F.GARPRequestOverride || t.F.GARPAlwaysOverride) && acceptOK)
	isGARP := false
	switch {
	case p.SIP != p.TIP:
		d.GARP = garpNotGratuitous
	case p.Op == arp.OpReply && !t.F.GARPReplyRecognised:
		d.GARP = garpReplyNeverGARP
	case !t.F.GARPRequestOverride && !t.F.GARPAlwaysOverride:
		d.GARP = garpNoConcept
	case !gate:
		d.GARP = garpNeedsARPAccept
	case !unicast:
		d.GARP = garpSenderNotUnicast
	case p.Op == arp.OpReply && p.THA != p.SHA:
		d.GARP = garpReplyTHA
	default:
		d.GARP, isGARP = garpYes, true
	}
	created := false
	if e == nil {
		// Creation needs arp_accept and a reply or a request with tip == sip.
		if !acceptOK || !unicast || !(p.Op == arp.OpReply || p.SIP == p.TIP) {
			d.Rule, d.Verdict = RuleNoEntry, VerdictDropped
			t.Stats.ARPDropped++
			t.decide(d)
			return r
		}
		if e = t.create(now, dev, p.SIP); e == nil {
			d.Rule, d.Verdict = RuleTableFull, VerdictDropped
			t.Stats.ARPDropped++
			t.decide(d)
			return r
		}
		created = true
	}
	// "broadcast replies and requests do not assert reachability"
	state := Stale
	if p.Op == arp.OpReply && pt == PktHost {
		state = Reachable
	}
	d.UpdatedBefore = e.updated
	d.LocktimeOK = vtime.After(now, e.updated+vtime.Jiffies(dev.Params.Locktime))
	d.Override = d.LocktimeOK || isGARP
	var flags UpdateFlags
	if d.Override {
		flags = Override
	}
	t.applyUpdate(now, e, &p.SHA, state, flags, created, d)
	return r
}

// applyUpdate runs neigh_update for a received frame and records the
// decision with its verdict.
func (t *Table) applyUpdate(now vtime.Jiffies, e *Entry, lladdr *arp.MAC, state State, flags UpdateFlags, created bool, d *Decision) {
	d.Old, d.OldMAC, d.HadMAC = e.state, e.ha, e.state.Valid()
	d.Requested = state
	d.UpdatedBefore = e.updated
	d.RouterOld = e.router
	out := t.update(now, e, lladdr, state, flags)
	d.New, d.NewMAC = e.state, e.ha
	d.Updated, d.Confirmed = e.updated, e.confirmed
	d.UpdatedMoved, d.ConfirmedMoved = out.updatedMoved, out.confirmedMoved
	d.MACChanged, d.StateKept = out.macChanged, out.stateKept
	d.RouterNew, d.RouterChanged, d.Weak = e.router, out.routerChanged, out.weak
	switch {
	case created:
		d.Verdict = VerdictCreated
		t.Stats.Created++
	case out.effective:
		d.Verdict = VerdictHonoured
		t.Stats.Honoured++
	default:
		d.Verdict = VerdictIgnored
		t.Stats.Ignored++
	}
	t.decide(d)
	if out.release {
		t.releaseQueue(now, e)
	}
}

// senderUnicast is inet_addr_type(sip) == RTN_UNICAST.
func (t *Table) senderUnicast(dev *Device, ip netip.Addr) bool {
	w, ok := word4(ip)
	if !ok || w == 0 || w>>28 == 0xe || w>>24 == 127 || dev.IsBroadcast(ip) { // 0/32, 224/4, 127/8
		return false
	}
	for _, d := range t.devs {
		if d.IsLocal(ip) {
			return false
		}
	}
	return true
}

// arpIgnoreAllows is arp_ignore (spec §8.2): whether we answer a request
// for one of our addresses.
func (t *Table) arpIgnoreAllows(dev *Device, p *arp.Packet) bool {
	switch max(t.All.ARPIgnore, dev.Conf.ARPIgnore) {
	case 0:
		return true
	case 1:
		return dev.IsLocal(p.TIP)
	case 2:
		if !dev.IsLocal(p.TIP) {
			return false
		}
		for _, a := range dev.Addrs {
			if a.Addr() == p.TIP {
				return a.Masked().Contains(p.SIP)
			}
		}
		return false
	case 3:
		return true // host-scope addresses are not modelled
	default:
		return false // 4–7 reserved, 8: never reply
	}
}

// reply emits the ARP reply we send to a request for a local address.
func (t *Table) reply(dev *Device, p *arp.Packet) {
	t.act(Action{Kind: ActReply, Dev: dev, Target: p.SIP, Src: p.TIP, DstMAC: p.SHA, Unicast: true})
}
