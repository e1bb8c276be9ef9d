package ipv4

import (
	"testing"
)

// FuzzParse: any bytes decode without a panic, and what decodes is
// consistent: lengths within the header's own bounds, a TCP header only
// for the first fragment of protocol 6, ports only for TCP and UDP.
func FuzzParse(f *testing.F) {
	f.Add([]byte{
		0x45, 0x00, 0x00, 0x28, // version 4, IHL 5, total length 40
		0x00, 0x01, 0x40, 0x00, // id, DF, offset 0
		0x40, 0x06, 0x00, 0x00, // TTL, TCP, checksum
		10, 0, 0, 1, 10, 0, 0, 2, // src, dst
		0x30, 0x39, 0x00, 0x50, // ports 12345 → 80
		0, 0, 0, 1, 0, 0, 0, 2, // seq, ack
		0x50, 0x10, 0xff, 0xff, // data offset 5, ACK, window
		0, 0, 0, 0, // checksum, urgent
	})
	f.Add([]byte{0x46, 0, 0, 24, 0, 0, 0x20, 0x10, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := Parse(b)
		if !ok {
			return
		}
		if h.HeaderLen < 20 || h.HeaderLen > h.TotalLen || h.HeaderLen > len(b) {
			t.Fatalf("inconsistent header: %+v for %d bytes", h, len(b))
		}
		p := h.Payload(b)
		s, tcp := ParseTCP(&h, p)
		if tcp && (h.Proto != ProtoTCP || !h.First) {
			t.Fatalf("TCP header decoded from proto %d first=%v", h.Proto, h.First)
		}
		if tcp && s.DataLen < 0 {
			t.Fatalf("negative data length %d", s.DataLen)
		}
		if sp, dp := Ports(&h, p); (sp != 0 || dp != 0) && h.Proto != ProtoTCP && h.Proto != ProtoUDP {
			t.Fatalf("ports %d,%d from protocol %d", sp, dp, h.Proto)
		}
	})
}
