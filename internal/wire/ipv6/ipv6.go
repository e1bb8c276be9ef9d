// Package ipv6 decodes the fixed IPv6 header (RFC 8200 §3): the one
// decoder of it in arplab. ND messages (internal/wire/ndisc) start with it,
// the host's TCP confirmation rule reads it to find a segment's socket
// (ndisc §6.3: IPv6 TCP shares tcp_input.c, so spec §6.3's rule is the
// same), replay reads a frame's addresses from it to identify the host,
// and the lab to tell which neighbour a packet needed. Decoding works in
// place on the caller's bytes and never allocates.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package ipv6

import (
	"encoding/binary"
	"net/netip"

	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

// HeaderLen is the fixed header's length.
const HeaderLen = 40

// Header is the fixed IPv6 header.
type Header struct {
	TrafficClass uint8
	FlowLabel    uint32 // 20 bits
	// PayloadLen is the length after the fixed header, from the header,
	// not from the captured bytes (a frame cut by a snap length still says
	// how much it carried).
	PayloadLen int
	// NextHeader is the upper-layer protocol or the first extension
	// header.
	NextHeader uint8
	HopLimit   uint8
	Src, Dst   netip.Addr
}

// Parse decodes the fixed header at the start of b (an Ethernet payload).
// It reports false when b is shorter than the header or its version is not
// 6. What follows is at b[HeaderLen:].
func Parse(b []byte) (h Header, ok bool) {
	if len(b) < HeaderLen || b[0]>>4 != 6 {
		return h, false
	}
	vtf := binary.BigEndian.Uint32(b[0:4])
	h.TrafficClass = uint8(vtf >> 20)
	h.FlowLabel = vtf & 0xfffff
	h.PayloadLen = int(binary.BigEndian.Uint16(b[4:6]))
	h.NextHeader = b[6]
	h.HopLimit = b[7]
	h.Src = netip.AddrFrom16([16]byte(b[8:24]))
	h.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	return h, true
}

// OfEthernet decodes the IPv6 packet an untagged Ethernet II frame carries
// (the lab's recorded frames), returning the header and the bytes after it.
func OfEthernet(b []byte) (Header, []byte, bool) {
	const ethHeader = 14
	if len(b) < ethHeader || binary.BigEndian.Uint16(b[12:14]) != ether.EtherTypeIPv6 {
		return Header{}, nil, false
	}
	h, ok := Parse(b[ethHeader:])
	if !ok {
		return h, nil, false
	}
	return h, b[ethHeader+HeaderLen:], true
}

// TCP decodes the TCP header that directly follows h (payload is what
// follows the fixed header) with wire/ipv4's TCP decoder, which needs only
// the lengths and the protocol. Extension headers are not walked: Linux's
// TCP sends none, and a packet with one is not a TCP segment here.
func (h Header) TCP(payload []byte) (ipv4.TCP, bool) {
	t := h.transport()
	return ipv4.ParseTCP(&t, payload)
}

// Ports are the source and destination ports of a TCP or UDP packet
// whose transport header directly follows h, else zero (ipv4.Ports).
func (h Header) Ports(payload []byte) (src, dst uint16) {
	t := h.transport()
	return ipv4.Ports(&t, payload)
}

// transport is h as the lengths and protocol wire/ipv4's transport
// decoders read (IPv6 is never fragmented without an extension header).
func (h Header) transport() ipv4.Header {
	return ipv4.Header{Proto: h.NextHeader, TotalLen: HeaderLen + h.PayloadLen, HeaderLen: HeaderLen, First: true}
}
