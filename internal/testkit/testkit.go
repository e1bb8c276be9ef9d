// Package testkit holds the fixtures arplab's tests share: the actors of
// the GARP story (spec §10.1) as MAC addresses, and builders for the
// frames tests feed to readers and models — ARP packets as the senders of
// field-notes.md send them, Ethernet frames padded as a NIC pads them,
// IPv4/TCP datagrams, ND messages (NS, NA), Linux cooked (SLL, SLL2)
// headers. Only tests import it; it imports wire/* and the standard
// library only.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package testkit

import (
	"encoding/binary"
	"net/netip"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
	"arplab/internal/wire/ndisc"
)

// The actors: the observed host H, the floating IP F that moved from
// MACOld to MACNew (the seed's addresses), and another peer G.
var (
	MACHost = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	MACOld  = arp.MAC{0x52, 0x54, 0x00, 0xac, 0xfb, 0xf4}
	MACNew  = arp.MAC{0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01}
	MACG    = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x20}
)

// GARPRequest is an announcement as `arping -U` sends it: a request with
// sender IP = target IP and a zero target MAC.
func GARPRequest(ip netip.Addr, mac arp.MAC) arp.Packet {
	return arp.NewPacket(arp.OpRequest, mac, ip, arp.Zero, ip)
}

// GARPReply is what `arping -A` sends: a reply with sender IP = target IP
// and THA = SHA, the only reply Linux treats as gratuitous (spec §4.4).
func GARPReply(ip netip.Addr, mac arp.MAC) arp.Packet {
	return arp.NewPacket(arp.OpReply, mac, ip, mac, ip)
}

// Request is "who has tip, tell sip" from sha.
func Request(sha arp.MAC, sip, tip netip.Addr) arp.Packet {
	return arp.NewPacket(arp.OpRequest, sha, sip, arp.Zero, tip)
}

// Reply is "sip is at sha", to tha/tip.
func Reply(sha arp.MAC, sip netip.Addr, tha arp.MAC, tip netip.Addr) arp.Packet {
	return arp.NewPacket(arp.OpReply, sha, sip, tha, tip)
}

// Ether is an Ethernet frame around payload, with VLAN tags if given,
// padded to the 60-byte minimum as a NIC sends it.
func Ether(dst, src arp.MAC, etherType uint16, tags []ether.Tag, payload []byte) []byte {
	h := ether.Header{Dst: dst, Src: src, EtherType: etherType, VLANs: len(tags)}
	copy(h.Tags[:], tags)
	b := append(h.Append(nil), payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// ARPFrame is an untagged Ethernet frame carrying p.
func ARPFrame(dst, src arp.MAC, p arp.Packet) []byte {
	return Ether(dst, src, ether.EtherTypeARP, nil, p.Append(nil))
}

// TCP is an IPv4/TCP datagram from src:sport to dst:dport with data bytes
// of payload (zeros) and window 64240.
func TCP(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags uint8, data int) []byte {
	total := 40 + data
	b := []byte{0x45, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = append(b, 0, 0, 0x40, 0, 64, ipv4.ProtoTCP, 0, 0)
	s, d := src.As4(), dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, 5<<4, flags)
	b = binary.BigEndian.AppendUint16(b, 64240)
	b = append(b, 0, 0, 0, 0)
	return append(b, make([]byte, data)...)
}

// SLL is a LINUX_SLL header (pcap-linktype(7)): pktType a PACKET_* value,
// hatype the ARPHRD_* type, addr the link-layer source, proto the
// EtherType.
func SLL(pktType, hatype uint16, addr []byte, proto uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, pktType)
	b = binary.BigEndian.AppendUint16(b, hatype)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addr)))
	var a [8]byte
	copy(a[:], addr)
	b = append(b, a[:]...)
	return binary.BigEndian.AppendUint16(b, proto)
}

// SLL2 is a LINUX_SLL2 header.
func SLL2(proto uint16, ifindex uint32, hatype uint16, pktType uint8, addr []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, proto)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint32(b, ifindex)
	b = binary.BigEndian.AppendUint16(b, hatype)
	b = append(b, pktType, byte(len(addr)))
	var a [8]byte
	copy(a[:], addr)
	return append(b, a[:]...)
}

// NS is a Neighbour Solicitation from src for target, to dst, with its
// SLLAO sll, as its IPv6 packet (hop limit 255, checksummed).
func NS(src, target, dst netip.Addr, sll arp.MAC) []byte {
	m := ndisc.Message{Type: ndisc.TypeNeighborSolicitation, HopLimit: ndisc.NDHopLimit, Src: src, Dst: dst, Target: target,
		SourceLL: sll, HasSourceLL: true}
	return m.Append(nil)
}

// NA is a Neighbour Advertisement for target from target itself, to dst,
// with the S and O flags and its TLLAO tll, as its IPv6 packet.
func NA(target, dst netip.Addr, solicited, override bool, tll arp.MAC) []byte {
	m := ndisc.Message{Type: ndisc.TypeNeighborAdvertisement, HopLimit: ndisc.NDHopLimit, Src: target, Dst: dst, Target: target,
		Solicited: solicited, Override: override, TargetLL: tll, HasTargetLL: true}
	return m.Append(nil)
}
