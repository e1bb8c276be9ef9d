package replay

import (
	"errors"
	"fmt"
	"net/netip"

	"arplab/internal/capture"
	"arplab/internal/neigh"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
	"arplab/internal/wire/ipv6"
	"arplab/internal/wire/ndisc"
)

// Skip reasons replay adds to the capture reader's.
const (
	skipLoopback    = "looped-back copy (PACKET_LOOPBACK, dropped by arp_rcv)"
	skipNoDirection = "SLL packet type is none of host, broadcast, multicast, otherhost, outgoing"
)

// frame replays one capture record. It is the hot path: nothing here
// allocates unless the sink keeps events or a new flow or neighbour is seen.
func (r *replayer) frame(f *capture.Frame) {
	r.sum.Frames++
	r.advance(f.Time)
	mono := r.capAnchor
	if len(r.stale.queue) > 0 {
		r.stale.check(mono)
	}
	// the host never sends to its own MAC, so the tracker never asks
	// about it: half a capture's frames are the host's own
	if f.HasSrc && r.stale.macs.Len() > 0 && f.Src != r.host.mac {
		r.stale.heard(f.Src, mono)
	}
	isARP := f.EtherType == ether.EtherTypeARP
	if isARP {
		r.sum.ARPFrames++
	}
	if linkOf(f) != r.host.link || (f.HardwareType != arp.HardwareEthernet && f.HardwareType != arp.HardwareIEEE802) {
		r.sum.OtherLink++
		return
	}
	pt := f.PktType
	switch {
	case !f.HasPktType:
		if !f.HasEth {
			r.skipped[skipNoDirection]++
			return
		}
		if f.Src == r.host.mac {
			r.sent(f)
			return
		}
		pt = ether.Classify(f.Dst, r.host.mac)
	case pt == ether.PktOutgoing:
		r.sent(f)
		return
	case pt == ether.PktLoopback:
		r.skipped[skipLoopback]++
		return
	}
	switch f.EtherType {
	case ether.EtherTypeARP:
		if !r.v6 {
			r.receiveARP(f, pt)
		}
	case ether.EtherTypeIPv4:
		if pt != neigh.PktOtherHost && !r.v6 {
			r.receiveIPv4(f)
		}
	case ether.EtherTypeIPv6:
		if r.v6 {
			r.receiveND(f, pt)
		}
	}
}

// receiveIPv6 gives the host a TCP segment for its address: its
// acknowledgement may confirm a neighbour (ndisc §6.3, spec §6.3).
func (r *replayer) receiveIPv6(f *capture.Frame) {
	ih, ok := ipv6.Parse(f.Payload)
	if !ok || ih.Dst != r.host.ip {
		return
	}
	r.curNs, r.curFrame = f.Time, f.Index
	if r.st.ReceiveIPv6(ih, f.Payload[ipv6.HeaderLen:], f.Index) {
		r.sum.Confirmations++
	}
}

// receiveND gives a received ND message to nd_tbl (ndisc §4); other IPv6
// packets change nothing there (no IPv6 upper-layer confirmation from
// received packets is modelled: docs/trace.md).
func (r *replayer) receiveND(f *capture.Frame, pt neigh.PktType) {
	m := &r.nd
	if err := m.Unmarshal(f.Payload); err != nil {
		switch {
		case errors.Is(err, ndisc.ErrNotND), errors.Is(err, ndisc.ErrNotICMPv6):
			if pt != neigh.PktOtherHost {
				r.receiveIPv6(f)
			}
		default:
			r.skipped[err.Error()]++
		}
		return
	}
	r.sum.Received++
	r.sum.NDFrames++
	if m.Src != r.host.ip && r.host.prefix.Contains(m.Src) && f.HasSrc && !f.Src.IsMulticast() {
		if k := macKey(f.Src); r.macIPOf(k) != m.Src {
			r.macIP.Set(k, m.Src)
		}
	}
	r.curNs, r.curFrame = f.Time, f.Index
	r.st.ReceiveNDMessage(r.sd, m, pt, f.Index, f.Dst, f.HasEth)
}

// receiveARP gives a received ARP frame to the model (spec §4).
func (r *replayer) receiveARP(f *capture.Frame, pt neigh.PktType) {
	p := &r.pkt
	if err := p.Unmarshal(f.Payload); err != nil {
		r.skipped[err.Error()]++
		return
	}
	r.sum.Received++
	// Remember who has which MAC, to recognise gateways by MAC later.
	if p.SIP != r.host.ip && p.SIP.Is4() && r.onLink4(p.SIP.As4()) && !p.SHA.IsMulticast() {
		if k := macKey(p.SHA); r.macIPOf(k) != p.SIP {
			r.macIP.Set(k, p.SIP)
		}
	}
	r.curNs, r.curFrame = f.Time, f.Index
	r.st.ReceiveARP(r.sd, p, pt, f.Index, f.Dst, f.HasEth)
}

// receiveIPv4 gives the host a datagram for its address: a TCP
// acknowledgement may confirm a neighbour (stack's rule, spec §6.3).
func (r *replayer) receiveIPv4(f *capture.Frame) {
	ih, ok := ipv4.Parse(f.Payload)
	if !ok || ih.Dst != r.host.ip.As4() {
		return
	}
	r.curNs, r.curFrame = f.Time, f.Index
	if r.st.ReceiveIPv4(&ih, ih.Payload(f.Payload), f.Index) {
		r.sum.Confirmations++
	}
}

// sent handles a frame the host sent.
func (r *replayer) sent(f *capture.Frame) {
	r.sum.Sent++
	switch {
	case r.v6 && f.EtherType == ether.EtherTypeIPv6:
		r.sentIPv6(f)
	case r.v6:
	case f.EtherType == ether.EtherTypeARP:
		r.sentARP(f)
	case f.EtherType == ether.EtherTypeIPv4:
		r.sentIPv4(f)
	}
}

// sentIPv6 is sentARP and sentIPv4 for an IPv6 host: an NS it sent is a
// probe to match with the model's (ndisc §2.3); a data packet goes
// through the output path on nd_tbl (ndisc §3).
func (r *replayer) sentIPv6(f *capture.Frame) {
	m := &r.nd
	err := m.Unmarshal(f.Payload)
	if err == nil {
		r.sum.NDFrames++
	}
	switch {
	case err == nil && m.Type == ndisc.TypeNeighborSolicitation && !m.Src.IsUnspecified():
		r.sum.ObservedProbes++
		o := probe{ip: m.Target, at: r.now, ns: f.Time, frame: f.Index}
		if f.HasEth {
			o.known, o.unicast = true, !f.Dst.IsMulticast()
			if o.unicast {
				o.mac = f.Dst
			}
		} else {
			o.known, o.unicast = true, !m.Dst.IsMulticast()
		}
		r.probed(f, o)
	case err == nil:
		r.emitSent(f, "") // an NA (a reply or an announcement), DAD, RS …
	case errors.Is(err, ndisc.ErrNotND), errors.Is(err, ndisc.ErrNotICMPv6):
		h6, ok := ipv6.Parse(f.Payload)
		dst := h6.Dst
		if !ok || dst.IsMulticast() || !usableIP(dst) || dst == r.host.ip || (f.HasEth && f.Dst.IsMulticast()) {
			return
		}
		nh := dst
		if !r.host.prefix.Contains(dst) && !dst.IsLinkLocalUnicast() {
			gw, ok := r.gatewayOf(f)
			if !ok {
				return
			}
			nh = gw
		}
		var sock *neigh.Socket
		if ih, ok := ipv6.Parse(f.Payload); ok && ih.Src == r.host.ip {
			_, _, cached, _ := r.st.Route(nh)
			var route *neigh.Route
			if len(cached) > 0 {
				route = cached[0]
			}
			sock = r.st.SentIPv6(ih, f.Payload[ipv6.HeaderLen:], route)
		}
		r.output(f, nh, sock, f.OrigLen)
	default:
		r.skipped[err.Error()]++
	}
}

// sentARP compares the host's ARP requests with the model's probes.
func (r *replayer) sentARP(f *capture.Frame) {
	p := &r.pkt
	if err := p.Unmarshal(f.Payload); err != nil {
		r.skipped[err.Error()]++
		return
	}
	if p.Op != arp.OpRequest || p.SIP == p.TIP || p.SIP.IsUnspecified() {
		r.emitSent(f, "")
		return // a reply, a GARP or a DAD probe: not a solicitation
	}
	r.sum.ObservedProbes++
	o := probe{ip: p.TIP, at: r.now, ns: f.Time, frame: f.Index}
	if f.HasEth {
		o.known, o.unicast = true, !f.Dst.IsMulticast()
		if o.unicast {
			o.mac = f.Dst
		}
	}
	r.probed(f, o)
}

// probed handles a solicitation the host sent (an ARP request, an NS),
// o, whatever the family.
func (r *replayer) probed(f *capture.Frame, o probe) {
	// The host's probe shows when its timer ran: where the model placed
	// that timer later, it runs now, with all its effects.
	r.alignIP(f, o.ip)
	// A broadcast request (multicast NS) for a target without a usable
	// entry means the host had a packet for it; the packet waits in
	// arp_queue and so is not in the capture (spec §3, ndisc §3). Hand the
	// model such a packet first.
	if !o.unicast {
		if snap, ok := r.tbl.Lookup(r.dev, o.ip); !ok || snap.State == neigh.None || snap.State == neigh.Failed {
			r.sum.InferredOutputs++
			r.everHad[o.ip] = true
			r.curNs, r.curFrame = f.Time, f.Index
			r.st.Output(r.sd, o.ip, nil, uint64(f.Index), 0, f.Index)
		}
	}
	if o.unicast {
		r.stale.send(o.ip, o.mac, r.capAnchor)
	}
	r.emitSent(f, "probe")
	if r.match.observe(o) {
		r.sum.MatchedProbes++
	}
}

// sentIPv4 runs the output path for a packet the host sent (spec §3).
func (r *replayer) sentIPv4(f *capture.Frame) {
	ih, ok := ipv4.Parse(f.Payload)
	if !ok || (f.HasEth && f.Dst.IsMulticast()) {
		return
	}
	dst := ih.DstAddr()
	if !usable4(ih.Dst) || dst == r.host.ip || r.st.IsBroadcast(dst) {
		return
	}
	nh, route := dst, r.sd.Routes[0]
	if !r.onLink4(ih.Dst) {
		gw, ok := r.gatewayOf(f)
		if !ok {
			return
		}
		nh, route = gw, r.st.Gateway(gw).Routes[0]
	}
	var sock *neigh.Socket
	if ih.Src == r.host.ip.As4() {
		sock = r.st.SentIPv4(&ih, ih.Payload(f.Payload), route)
	}
	r.output(f, nh, sock, ih.TotalLen)
}

// gatewayOf is the next hop of an off-link packet the host sent: the
// address whose MAC the frame went to (counted as unrouted when unknown).
func (r *replayer) gatewayOf(f *capture.Frame) (netip.Addr, bool) {
	if f.HasEth {
		if gw, ok := r.macIP.Get(macKey(f.Dst)); ok {
			return gw, true
		}
	}
	r.sum.Unrouted++
	return netip.Addr{}, false
}

// output runs the output path for a packet of size bytes the host sent to
// next hop nh (spec §3, ndisc §3), inferring the entry it evidently had.
func (r *replayer) output(f *capture.Frame, nh netip.Addr, sock *neigh.Socket, size int) {
	if !r.tbl.Has(r.dev, nh) {
		if f.HasEth && !r.opt.NoInferEntries && !r.everHad[nh] {
			r.infer(nh, f)
		}
		r.everHad[nh] = true
	}
	r.sum.Outputs++
	r.curNs, r.curFrame = f.Time, f.Index
	v, mac, _ := r.st.Output(r.sd, nh, sock, uint64(f.Index), size, f.Index)
	// Where the frame went: its destination MAC, or for captures without
	// one (SLL), where the model sent it.
	switch {
	case f.HasEth:
		r.stale.send(nh, f.Dst, r.capAnchor)
	case v == neigh.TxSent:
		r.stale.send(nh, mac, r.capAnchor)
	}
}

// infer installs the entry the host evidently had for nh: it sent f to
// f.Dst without asking for nh first.
func (r *replayer) infer(nh netip.Addr, f *capture.Frame) {
	r.sum.InferredEntries++
	why := "" // a quiet replay writes no words
	if !r.quiet {
		why = fmt.Sprintf("the host sent frame %d to %v for next hop %v without asking for it, so it had the entry "+
			"before the capture: installed as STALE locktime+1 ticks before the first frame", f.Index, f.Dst, nh)
	}
	r.install(nh, f.Dst, neigh.Stale, r.installAt, f.Time, "inferred", why)
}

// align runs the model's timer for the entry the host just probed at the
// frame's time, when the model had placed it later within the timer
// wheel's reach (Options.NoAlign turns it off), and says so in the trace.
// alignIP is align for a probe of ip (an ARP request's or an NS's target).
func (r *replayer) alignIP(f *capture.Frame, ip netip.Addr) {
	if r.opt.NoAlign {
		return
	}
	r.curNs, r.curFrame = f.Time, f.Index
	by, ok := r.st.AlignTimer(r.sd, ip, alignSlack)
	if !ok {
		return
	}
	r.sum.AlignedTimers++
	r.sum.AlignedSeconds += float64(by) / float64(r.hz)
	r.note(f.Time, "aligned", ip, fmt.Sprintf("the host probed %v at %.6f s (frame %d): its timer ran %s earlier than the model had placed it, "+
		"so the model runs it now", ip, seconds(f.Time), f.Index, ticksText(by, r.hz)),
		map[string]string{"ticks": fmt.Sprint(int64(by)), "frame": fmt.Sprint(f.Index)})
}

// alignSlack is how many ticks before the model's expiry a probe may come
// and still be that timer's: the capture's clock and the host's jiffies
// agree only to a tick or so.
const alignSlack = 2

func ticksText(t vtime.Jiffies, hz int64) string {
	return fmt.Sprintf("%d ticks (%.3f s)", int64(t), float64(t)/float64(hz))
}
