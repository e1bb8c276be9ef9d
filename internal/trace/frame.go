package trace

import (
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// ARPFields is an ARP packet in the trace vocabulary: the one place a
// decoded frame becomes an event's "arp" object, for every producer
// (simulator, replay, lab, watcher). dst is the Ethernet destination when
// hasDst (a cooked capture may not record it); pktType is the skb
// packet type's name, empty when the producer has none (a sender).
func ARPFields(p *arp.Packet, dst arp.MAC, hasDst bool, pktType string) *ARPFrame {
	a := &ARPFrame{Op: p.Op.String(), SHA: p.SHA.String(), SIP: p.SIP.String(), THA: p.THA.String(),
		TIP: p.TIP.String(), PktType: pktType, GARP: p.SIP == p.TIP}
	if hasDst {
		a.EthDst = dst.String()
	}
	return a
}

// NDFields is an ND message in the trace vocabulary, as ARPFields is for
// ARP. LLAddr is the message's link-layer option: the target's (TLLAO: an
// NA's, a Redirect's) when it carries one, else the source's (SLLAO: an
// NS's, RS's, RA's).
func NDFields(m *ndisc.Message, dst arp.MAC, hasDst bool, pktType string) *NDFrame {
	f := &NDFrame{Type: m.Type.String(), Src: m.Src.String(), Dst: m.Dst.String(), HopLimit: int(m.HopLimit),
		Router: m.Router, Solicited: m.Solicited, Override: m.Override, PktType: pktType}
	if m.Target.IsValid() {
		f.Target = m.Target.String()
	}
	switch {
	case m.HasTargetLL:
		f.LLAddr = m.TargetLL.String()
	case m.HasSourceLL:
		f.LLAddr = m.SourceLL.String()
	}
	if hasDst {
		f.EthDst = dst.String()
	}
	return f
}
