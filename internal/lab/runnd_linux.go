package lab

import (
	"fmt"
	"net/netip"

	"arplab/internal/scenario"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// ndMessage builds the message of a scenario's nd step, with the defaults
// scenario.ND documents: an NA from the target to ff02::1, an NS from the
// station's link-local address (or :: for DAD) to the target's
// solicited-node group, the station's MAC in the link-layer option, hop
// limit 255.
func ndMessage(n *scenario.ND, stationMAC arp.MAC) ndisc.Message {
	m := ndisc.Message{HopLimit: n.Hops(), Target: n.Target.Addr}
	switch n.Type {
	case "na":
		m.Type = ndisc.TypeNeighborAdvertisement
		m.Src, m.Dst = n.Target.Addr, ndisc.AllNodes
		m.Router, m.Solicited, m.Override = n.Router, n.Solicited, n.Override
	default:
		m.Type = ndisc.TypeNeighborSolicitation
		m.Src, m.Dst = ndisc.LinkLocal(stationMAC), ndisc.SolicitedNode(n.Target.Addr)
	}
	if n.Src != nil {
		m.Src = n.Src.Addr
	}
	if n.Dst != nil {
		m.Dst = n.Dst.Addr
	}
	if ll, ok := n.OptionLL(stationMAC); ok {
		if m.Type == ndisc.TypeNeighborAdvertisement {
			m.TargetLL, m.HasTargetLL = ll, true
		} else {
			m.SourceLL, m.HasSourceLL = ll, true
		}
	}
	return m
}

// ndFrame builds the Ethernet frame of an nd step. The destination MAC is
// the step's eth_dst, the group MAC of a multicast destination, or the MAC
// of the host interface owning a unicast destination (one of its addresses
// or its EUI-64 link-local address).
func (b *runner) ndFrame(n *scenario.ND, st *station) ([]byte, error) {
	m := ndMessage(n, st.cfg.MAC.MAC)
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
