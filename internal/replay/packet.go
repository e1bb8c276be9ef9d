package replay

import "encoding/binary"

// IP protocol numbers replay tells apart.
const (
	protoTCP = 6
	protoUDP = 17
)

// ipv4Hdr is the part of an IPv4 header replay reads (RFC 791 §3.1).
type ipv4Hdr struct {
	src, dst [4]byte
	proto    uint8
	// totalLen is the datagram length from the header, which survives a
	// snap length that cut the captured bytes.
	totalLen int
	hdrLen   int
	// first is false for every fragment but the first: only the first
	// carries the transport header.
	first bool
}

// parseIPv4 decodes the header at the start of b. It reports false for
// anything that is not a plausible IPv4 header.
func parseIPv4(b []byte) (h ipv4Hdr, ok bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return h, false
	}
	h.hdrLen = int(b[0]&0x0f) * 4
	h.totalLen = int(binary.BigEndian.Uint16(b[2:4]))
	if h.hdrLen < 20 || h.totalLen < h.hdrLen {
		return h, false
	}
	h.first = binary.BigEndian.Uint16(b[6:8])&0x1fff == 0
	h.proto = b[9]
	h.src = [4]byte(b[12:16])
	h.dst = [4]byte(b[16:20])
	return h, true
}

// TCP flags (RFC 9293 §3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// tcpSeg is the part of a TCP header the confirmation logic needs.
type tcpSeg struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	wnd          uint16
	// dataLen is the payload length from the IP total length, not from the
	// captured bytes.
	dataLen int
}

// seqLen is the sequence space the segment occupies: data, SYN and FIN.
func (s tcpSeg) seqLen() uint32 {
	n := uint32(s.dataLen)
	if s.flags&tcpSYN != 0 {
		n++
	}
	if s.flags&tcpFIN != 0 {
		n++
	}
	return n
}

// parseTCP decodes the TCP header of an IPv4 datagram h whose payload
// starts at b.
func parseTCP(h ipv4Hdr, b []byte) (s tcpSeg, ok bool) {
	if len(b) < 20 || !h.first {
		return s, false
	}
	off := int(b[12]>>4) * 4
	if off < 20 {
		return s, false
	}
	s.sport = binary.BigEndian.Uint16(b[0:2])
	s.dport = binary.BigEndian.Uint16(b[2:4])
	s.seq = binary.BigEndian.Uint32(b[4:8])
	s.ack = binary.BigEndian.Uint32(b[8:12])
	s.flags = b[13]
	s.wnd = binary.BigEndian.Uint16(b[14:16])
	s.dataLen = max(h.totalLen-h.hdrLen-off, 0)
	return s, true
}

// seqAfter is TCP's after(a, b): a is strictly later in sequence space.
func seqAfter(a, b uint32) bool { return int32(b-a) < 0 }
