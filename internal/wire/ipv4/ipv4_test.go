package ipv4

import "testing"

func TestParseTCP(t *testing.T) {
	b := []byte{
		0x45, 0x00, 0x00, 0x30, 0, 1, 0x40, 0, 64, 6, 0, 0,
		192, 0, 2, 1, 192, 0, 2, 2,
		0x30, 0x39, 0x00, 0x16, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0x50, FlagSYN | FlagACK, 0x01, 0x00, 0, 0, 0, 0,
	}
	h, ok := Parse(b)
	if !ok || h.SrcAddr().String() != "192.0.2.1" || h.DstAddr().String() != "192.0.2.2" || h.Proto != ProtoTCP {
		t.Fatalf("header %+v ok=%v", h, ok)
	}
	s, ok := ParseTCP(&h, h.Payload(b))
	if !ok || s.SrcPort != 12345 || s.DstPort != 22 || s.Seq != 0x1000 || s.Ack != 0x2000 || s.Window != 256 {
		t.Fatalf("tcp %+v ok=%v", s, ok)
	}
	// total length 48 − 20 − 20: 8 bytes of data (not captured), plus SYN
	if s.DataLen != 8 || s.SeqLen() != 9 || s.End() != 0x1009 {
		t.Fatalf("data %d seqlen %d end %#x", s.DataLen, s.SeqLen(), s.End())
	}
	b[6] = 0x00
	b[7] = 0x10 // a later fragment: no transport header
	h, _ = Parse(b)
	if _, ok := ParseTCP(&h, h.Payload(b)); ok {
		t.Fatal("decoded a TCP header from a later fragment")
	}
}

func TestParseRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":          {0x45, 0, 0, 20},
		"version 6":      append([]byte{0x65}, make([]byte, 19)...),
		"IHL 4":          append([]byte{0x44, 0, 0, 20}, make([]byte, 16)...),
		"total < header": append([]byte{0x45, 0, 0, 10}, make([]byte, 16)...),
		"options cut":    append([]byte{0x4f, 0, 0, 60}, make([]byte, 16)...),
	} {
		if _, ok := Parse(b); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSeqAfter(t *testing.T) {
	if !SeqAfter(1, 0) || SeqAfter(0, 1) || SeqAfter(5, 5) || !SeqAfter(0, 0xffffffff) {
		t.Fatal("SeqAfter is not modulo 2^32")
	}
}
