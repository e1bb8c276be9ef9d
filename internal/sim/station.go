package sim

import (
	"fmt"
	"net/netip"

	"arplab/internal/garp"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv6"
	"arplab/internal/wire/ndisc"
)

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
	if resp := s.respond(f); resp != nil {
		s.w.sch.answer(s.cfg.Think.D, s.seg, s, resp)
	}
}

// respond is the station's answer to an IP packet sent to it (nil:
// none): a packet for an IP it neither owns nor routes for is lost.
func (s *station) respond(f *frame) *frame {
	if !s.takes(f.ip.dst) {
		if s.w.tellsLoss(f) {
			s.w.lost(f, fmt.Sprintf("%s (%v) no longer owns %v", s.cfg.Name, s.mac(), f.ip.dst))
		}
		return nil
	}
	if c := f.ip.conn; c != nil {
		if resp := c.respond(f); resp != nil {
			resp.src, resp.dst = s.mac(), f.src
			return resp
		}
	}
	return nil
}

// takes reports whether the station takes an IP packet for dst: one for
// an IP it neither owns nor routes for is lost.
func (s *station) takes(dst netip.Addr) bool { return s.ips.has(dst) || s.serves(dst) }

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
		LLAddr: p.SHA.String(), Cause: preset, ARP: trace.ARPFields(&p, fr.EthDst, true, ""),
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
	n := ether.HeaderLen + ipv6.HeaderLen + ndisc.NALen
	if m.HasSourceLL || m.HasTargetLL {
		n += 8
	}
	return n
}
