package lab

import (
	"fmt"
	"net/netip"

	"arplab/internal/scenario"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// nsMessage builds the solicitation of a scenario's ns step with the
// defaults scenario.NS documents: from the station's link-local address
// (or :: for DAD) to the target's solicited-node group, the station's MAC
// in the source link-layer option, hop limit 255.
func nsMessage(n *scenario.NS, stationMAC arp.MAC) ndisc.Message {
	m := ndisc.Message{Type: ndisc.TypeNeighborSolicitation, HopLimit: n.Hops(), Target: n.Target.Addr,
		Src: ndisc.LinkLocal(stationMAC), Dst: ndisc.SolicitedNode(n.Target.Addr)}
	if n.Src != nil {
		m.Src = n.Src.Addr
	}
	if n.Dst != nil {
		m.Dst = n.Dst.Addr
	}
	m.SourceLL, m.HasSourceLL = n.OptionLL(stationMAC)
	return m
}

// nsFrame builds the Ethernet frame of an ns step. The destination MAC is
// the step's eth_dst, the group MAC of a multicast destination, or the MAC
// of the host interface owning a unicast destination (one of its addresses
// or its EUI-64 link-local address).
func (b *runner) nsFrame(n *scenario.NS, st *station) ([]byte, error) {
	m := nsMessage(n, st.cfg.MAC.MAC)
	h := ether.Header{Src: st.cfg.MAC.MAC}
	switch {
	case n.EthDst != nil:
		h.Dst = n.EthDst.MAC
	case m.Dst.IsMulticast():
		h.Dst = ndisc.MulticastMAC(m.Dst)
	default:
		mac, ok := b.ownerMAC(m.Dst)
		if !ok {
			return nil, fmt.Errorf("no host interface has %v: give eth_dst", m.Dst)
		}
		h.Dst = mac
	}
	return ndisc.AppendFrame(nil, h, &m), nil
}

// ownerMAC is the MAC of the scenario host interface that has ip.
func (b *runner) ownerMAC(ip netip.Addr) (arp.MAC, bool) {
	for _, h := range b.s.Hosts {
		for _, ic := range h.Interfaces {
			if ndisc.LinkLocal(ic.MAC.MAC) == ip {
				return ic.MAC.MAC, true
			}
			for _, a := range ic.Addrs {
				if a.Addr() == ip {
					return ic.MAC.MAC, true
				}
			}
		}
	}
	return arp.MAC{}, false
}
