package replay

import (
	"fmt"
	"net/netip"

	"arplab/internal/capture"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
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
	if f.HasSrc && len(r.stale.macs) > 0 {
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
	var pt neigh.PktType
	switch f.PktType {
	case capture.Outgoing:
		r.sent(f)
		return
	case capture.Unknown:
		if !f.HasEth {
			r.skipped[skipNoDirection]++
			return
		}
		if f.Src == r.host.mac {
			r.sent(f)
			return
		}
		pt = classify(f.Dst, r.host.mac)
	case capture.Host:
		pt = neigh.PktHost
	case capture.Broadcast:
		pt = neigh.PktBroadcast
	case capture.Multicast:
		pt = neigh.PktMulticast
	case capture.OtherHost:
		pt = neigh.PktOtherHost
	default: // Loopback
		r.skipped[skipLoopback]++
		return
	}
	switch f.EtherType {
	case ether.EtherTypeARP:
		r.receiveARP(f, pt)
	case ether.EtherTypeIPv4:
		if pt != neigh.PktOtherHost {
			r.receiveIPv4(f)
		}
	}
}

// classify is eth_type_trans's pkt_type for a frame to dst on a device
// whose address is local.
func classify(dst, local arp.MAC) neigh.PktType {
	switch {
	case dst.IsBroadcast():
		return neigh.PktBroadcast
	case dst.IsMulticast():
		return neigh.PktMulticast
	case dst == local:
		return neigh.PktHost
	}
	return neigh.PktOtherHost
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
	if p.SIP != r.host.ip && r.host.prefix.Contains(p.SIP) && !p.SHA.IsMulticast() {
		if k := macKey(p.SHA); r.macIP[k] != p.SIP {
			r.macIP[k] = p.SIP
		}
	}
	r.curDst, r.curHasDst = f.Dst, f.HasEth
	res := r.tbl.ReceiveARP(r.now, r.dev, p, pt)
	r.handle(res, r.now, f.Index, f.Time)
}

// receiveIPv4 looks for TCP acknowledgements that confirm a neighbour:
// tcp_ack calls sk_dst_confirm (dst_confirm before 4.11) when the socket
// had packets outstanding and the ACK made forward progress or is a pure
// duplicate (spec §6.3).
func (r *replayer) receiveIPv4(f *capture.Frame) {
	ih, ok := parseIPv4(f.Payload)
	if !ok || ih.proto != protoTCP || ih.dst != r.host.ip.As4() || len(f.Payload) < ih.hdrLen {
		return
	}
	seg, ok := parseTCP(ih, f.Payload[ih.hdrLen:])
	if !ok || seg.flags&tcpACK == 0 || seg.flags&tcpRST != 0 {
		return
	}
	fl := r.flows[flowKey{proto: protoTCP, local: ih.dst, remote: ih.src, lport: seg.dport, rport: seg.sport}]
	if fl == nil || !fl.started {
		return
	}
	outstanding := fl.nxt != fl.una
	if seqAfter(seg.ack, fl.nxt) {
		return // acknowledges data never sent: tcp_ack ignores it
	}
	forward := seqAfter(seg.ack, fl.una)
	dup := !forward && seg.ack == fl.una && seg.dataLen == 0 && seg.flags&(tcpSYN|tcpFIN) == 0 &&
		fl.haveWnd && seg.wnd == fl.wnd
	fl.wnd, fl.haveWnd = seg.wnd, true
	if forward {
		fl.una = seg.ack
	}
	if outstanding && (forward || dup) {
		r.sum.Confirmations++
		r.handle(r.tbl.Confirm(r.now, &fl.sock), r.now, f.Index, f.Time)
	}
}

// sent handles a frame the host sent.
func (r *replayer) sent(f *capture.Frame) {
	r.sum.Sent++
	switch f.EtherType {
	case ether.EtherTypeARP:
		r.sentARP(f)
	case ether.EtherTypeIPv4:
		r.sentIPv4(f)
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
	// A broadcast request for a target without a usable entry means the
	// host had a packet for it; the packet waits in arp_queue and so is not
	// in the capture (spec §3). Hand the model such a packet first.
	if !o.unicast {
		if snap, ok := r.tbl.Lookup(r.dev, p.TIP); !ok || snap.State == neigh.None || snap.State == neigh.Failed {
			r.sum.InferredOutputs++
			r.everHad[p.TIP] = true
			_, _, res := r.tbl.Output(r.now, r.dev, p.TIP, nil, uint64(f.Index), 0)
			r.handle(res, r.now, f.Index, f.Time)
		}
	}
	if o.unicast {
		r.stale.send(p.TIP, o.mac, r.capAnchor)
	}
	r.emitSent(f, "probe")
	if r.match.observe(o) {
		r.sum.MatchedProbes++
	}
}

// sentIPv4 runs the output path for a packet the host sent (spec §3).
func (r *replayer) sentIPv4(f *capture.Frame) {
	ih, ok := parseIPv4(f.Payload)
	if !ok || (f.HasEth && f.Dst.IsMulticast()) {
		return
	}
	dst := netip.AddrFrom4(ih.dst)
	if !usableIP(dst) || dst == r.host.ip || r.isBroadcast(dst) {
		return
	}
	nh, route := dst, &r.subnet
	if !r.host.prefix.Contains(dst) {
		gw, ok := netip.Addr{}, false
		if f.HasEth {
			gw, ok = r.macIP[macKey(f.Dst)]
		}
		if !ok {
			r.sum.Unrouted++
			return
		}
		nh, route = gw, r.gwRoute(gw)
	}
	var sock *neigh.Socket
	if ih.src == r.host.ip.As4() {
		sock = r.socket(ih, f.Payload, route)
	}
	if _, ok := r.tbl.Lookup(r.dev, nh); !ok {
		if f.HasEth && !r.opt.NoInferEntries && !r.everHad[nh] {
			r.infer(nh, f)
		}
		r.everHad[nh] = true
	}
	r.sum.Outputs++
	v, mac, res := r.tbl.Output(r.now, r.dev, nh, sock, uint64(f.Index), ih.totalLen)
	r.handle(res, r.now, f.Index, f.Time)
	// Where the frame went: its destination MAC, or for captures without
	// one (SLL), where the model sent it.
	switch {
	case f.HasEth:
		r.stale.send(nh, f.Dst, r.capAnchor)
	case v == neigh.TxSent:
		r.stale.send(nh, mac, r.capAnchor)
	}
}

// isBroadcast reports the limited broadcast or the host subnet's directed
// broadcast.
func (r *replayer) isBroadcast(ip netip.Addr) bool {
	if ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	p := r.host.prefix
	if p.Bits() >= 31 || !p.Contains(ip) {
		return false
	}
	b := p.Masked().Addr().As4()
	v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | (uint32(1)<<(32-p.Bits()) - 1)
	return ip.As4() == [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func (r *replayer) gwRoute(gw netip.Addr) *neigh.Route {
	rt := r.gwRoutes[gw]
	if rt == nil {
		rt = &neigh.Route{Name: "via " + gw.String()}
		r.gwRoutes[gw] = rt
	}
	return rt
}

// socket returns the host's socket for a datagram it sent, tracking TCP's
// snd_una/snd_nxt from its segments.
func (r *replayer) socket(ih ipv4Hdr, b []byte, route *neigh.Route) *neigh.Socket {
	k := flowKey{proto: ih.proto, local: ih.src, remote: ih.dst}
	var seg tcpSeg
	tcp := false
	if ih.proto == protoTCP && len(b) >= ih.hdrLen {
		if seg, tcp = parseTCP(ih, b[ih.hdrLen:]); tcp {
			k.lport, k.rport = seg.sport, seg.dport
		}
	}
	fl := r.flows[k]
	if fl == nil {
		fl = &flow{sock: neigh.Socket{Name: flowName(k, tcp), Route: route}}
		r.flows[k] = fl
	}
	if tcp && seg.flags&tcpRST == 0 {
		end := seg.seq + seg.seqLen()
		switch {
		case !fl.started || seg.flags&tcpSYN != 0:
			fl.started, fl.una, fl.nxt = true, seg.seq, end
		case seqAfter(end, fl.nxt):
			fl.nxt = end
		}
	}
	return &fl.sock
}

func flowName(k flowKey, tcp bool) string {
	l, rm := netip.AddrFrom4(k.local), netip.AddrFrom4(k.remote)
	switch {
	case tcp:
		return fmt.Sprintf("tcp %v:%d>%v:%d", l, k.lport, rm, k.rport)
	case k.proto == protoUDP:
		return fmt.Sprintf("udp %v>%v", l, rm)
	}
	return fmt.Sprintf("proto%d %v>%v", k.proto, l, rm)
}

// infer installs the entry the host evidently had for nh: it sent f to
// f.Dst without asking for nh first.
func (r *replayer) infer(nh netip.Addr, f *capture.Frame) {
	r.sum.InferredEntries++
	r.install(nh, f.Dst, neigh.Stale, r.installAt, f.Time, "inferred",
		fmt.Sprintf("the host sent frame %d to %v for next hop %v without asking for it, so it had the entry "+
			"before the capture: installed as STALE locktime+1 ticks before the first frame", f.Index, f.Dst, nh))
}
