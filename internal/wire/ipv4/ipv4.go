// Package ipv4 decodes the parts of IPv4 (RFC 791 §3.1), TCP (RFC 9293
// §3.1) and UDP (RFC 768) headers that the neighbour layer's drivers need:
// the addresses that pick the next hop, and, for TCP, the sequence space a
// segment covers and what it acknowledges, from which the host's tcp_ack
// decides to confirm its neighbour (spec §6.3).
//
// It is the one decoder for these headers: replay reads them from
// captures, verify from the lab's recorded frames. Decoding works in place
// on the caller's bytes and never allocates. Lengths come from the headers,
// not from the captured bytes, so a frame cut by a snap length still says
// how much data it carried.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package ipv4

import (
	"encoding/binary"
	"net/netip"
)

// Protocol numbers the drivers tell apart.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
)

// Header is the part of an IPv4 header arplab reads.
type Header struct {
	Src, Dst [4]byte
	Proto    uint8
	// TotalLen is the datagram's length from the header; HeaderLen the
	// header's own (IHL·4).
	TotalLen, HeaderLen int
	// First is false for every fragment but the first: only the first
	// carries the transport header.
	First bool
}

// SrcAddr and DstAddr are the addresses as netip values.
func (h Header) SrcAddr() netip.Addr { return netip.AddrFrom4(h.Src) }
func (h Header) DstAddr() netip.Addr { return netip.AddrFrom4(h.Dst) }

// Parse decodes the IPv4 header at the start of b (the Ethernet payload).
// It reports false for anything that is not a plausible IPv4 header, and
// for a header longer than the bytes captured.
func Parse(b []byte) (h Header, ok bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return h, false
	}
	h.HeaderLen = int(b[0]&0x0f) * 4
	h.TotalLen = int(binary.BigEndian.Uint16(b[2:4]))
	if h.HeaderLen < 20 || h.TotalLen < h.HeaderLen || len(b) < h.HeaderLen {
		return h, false
	}
	h.First = binary.BigEndian.Uint16(b[6:8])&0x1fff == 0
	h.Proto = b[9]
	h.Src = [4]byte(b[12:16])
	h.Dst = [4]byte(b[16:20])
	return h, true
}

// Payload is the transport header and data that follow h in b (b as given
// to Parse), as far as they were captured.
func (h Header) Payload(b []byte) []byte { return b[h.HeaderLen:] }

// TCP flags (RFC 9293 §3.1).
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagACK uint8 = 0x10
)

// TCP is the part of a TCP header the confirmation rule needs.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	// DataLen is the payload length from the IP total length, not from
	// the captured bytes.
	DataLen int
}

// Has reports whether every flag in f is set.
func (s TCP) Has(f uint8) bool { return s.Flags&f == f }

// SeqLen is the sequence space the segment occupies: its data, and one
// each for SYN and FIN.
func (s TCP) SeqLen() uint32 {
	n := uint32(s.DataLen)
	if s.Has(FlagSYN) {
		n++
	}
	if s.Has(FlagFIN) {
		n++
	}
	return n
}

// End is the sequence number just after the segment.
func (s TCP) End() uint32 { return s.Seq + s.SeqLen() }

// ParseTCP decodes the TCP header of datagram h, whose payload is b. Only
// the first fragment carries one.
func ParseTCP(h *Header, b []byte) (s TCP, ok bool) {
	if h.Proto != ProtoTCP || !h.First || len(b) < 20 {
		return s, false
	}
	off := int(b[12]>>4) * 4
	if off < 20 {
		return s, false
	}
	s.SrcPort = binary.BigEndian.Uint16(b[0:2])
	s.DstPort = binary.BigEndian.Uint16(b[2:4])
	s.Seq = binary.BigEndian.Uint32(b[4:8])
	s.Ack = binary.BigEndian.Uint32(b[8:12])
	s.Flags = b[13]
	s.Window = binary.BigEndian.Uint16(b[14:16])
	s.DataLen = max(h.TotalLen-h.HeaderLen-off, 0)
	return s, true
}

// Ports returns a TCP or UDP datagram's ports (zero for other protocols,
// later fragments, or a transport header cut by the snap length).
func Ports(h *Header, b []byte) (src, dst uint16) {
	if (h.Proto != ProtoTCP && h.Proto != ProtoUDP) || !h.First || len(b) < 4 {
		return 0, 0
	}
	return binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
}

// SeqAfter is TCP's after(a, b): a is strictly later than b in sequence
// space (RFC 9293 §3.4, modulo 2^32).
func SeqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// OfEthernet decodes the IPv4 datagram an untagged Ethernet II frame
// carries (the lab's recorded frames), returning the header and the
// transport bytes after it.
func OfEthernet(b []byte) (Header, []byte, bool) {
	const ethHeader, etherTypeIPv4 = 14, 0x0800
	if len(b) < ethHeader || binary.BigEndian.Uint16(b[12:14]) != etherTypeIPv4 {
		return Header{}, nil, false
	}
	h, ok := Parse(b[ethHeader:])
	if !ok {
		return h, nil, false
	}
	return h, h.Payload(b[ethHeader:]), true
}
