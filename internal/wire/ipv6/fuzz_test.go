package ipv6

import "testing"

// FuzzParse: any bytes decode without a panic, and what decodes is
// consistent: version 6, a flow label of 20 bits, IPv6 addresses, and a
// TCP header only for next header 6.
func FuzzParse(f *testing.F) {
	f.Add(tcpPacket)
	f.Add(tcpPacket[:HeaderLen])
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 17, 255, 15: 1, 31: 2, 39: 0, 0x12, 0x34, 0x02, 0x22, 0, 8, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := Parse(b)
		if !ok {
			return
		}
		if len(b) < HeaderLen || b[0]>>4 != 6 || h.FlowLabel > 0xfffff || !h.Src.Is6() || !h.Dst.Is6() {
			t.Fatalf("inconsistent header %+v from %d bytes", h, len(b))
		}
		if s, tcp := h.TCP(b[HeaderLen:]); tcp && (h.NextHeader != 6 || s.DataLen < 0) {
			t.Fatalf("TCP %+v decoded from next header %d", s, h.NextHeader)
		}
	})
}
