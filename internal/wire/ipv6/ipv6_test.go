package ipv6

import (
	"net/netip"
	"testing"

	"arplab/internal/wire/ipv4"
)

// tcpPacket is an IPv6 packet carrying a TCP ACK with 10 bytes of data,
// of which only the TCP header was captured.
var tcpPacket = []byte{
	0x60, 0x12, 0x34, 0x56, // version 6, traffic class 0x01, flow label 0x23456
	0x00, 0x1e, 6, 64, // payload length 30, TCP, hop limit 64
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // 2001:db8::1
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, // 2001:db8::2
	0x30, 0x39, 0x00, 0x50, // ports 12345 → 80
	0, 0, 0, 1, 0, 0, 0, 2, // seq 1, ack 2
	0x50, 0x10, 0x01, 0x00, // data offset 5, ACK, window 256
	0, 0, 0, 0, // checksum, urgent
}

func TestParse(t *testing.T) {
	h, ok := Parse(tcpPacket)
	want := Header{TrafficClass: 0x01, FlowLabel: 0x23456, PayloadLen: 30, NextHeader: 6, HopLimit: 64,
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}
	if !ok || h != want {
		t.Fatalf("Parse = %+v, %v; want %+v", h, ok, want)
	}
	s, ok := h.TCP(tcpPacket[HeaderLen:])
	if !ok || s.SrcPort != 12345 || s.DstPort != 80 || s.Seq != 1 || s.Ack != 2 || !s.Has(ipv4.FlagACK) || s.Window != 256 || s.DataLen != 10 {
		t.Errorf("TCP = %+v, %v; want 12345→80 seq 1 ack 2 ACK window 256, 10 bytes of data", s, ok)
	}
	if sp, dp := h.Ports(tcpPacket[HeaderLen:]); sp != 12345 || dp != 80 {
		t.Errorf("Ports = %d, %d; want 12345, 80", sp, dp)
	}
}

func TestParseRejects(t *testing.T) {
	v4 := append([]byte{0x45}, tcpPacket[1:]...)
	for name, b := range map[string][]byte{"short": tcpPacket[:HeaderLen-1], "version 4": v4, "empty": nil} {
		if h, ok := Parse(b); ok {
			t.Errorf("%s: Parse = %+v, want false", name, h)
		}
	}
	udp := append([]byte(nil), tcpPacket...)
	udp[6] = ipv4.ProtoUDP
	h, _ := Parse(udp)
	if _, ok := h.TCP(udp[HeaderLen:]); ok {
		t.Error("TCP decoded from a UDP packet")
	}
	if sp, dp := h.Ports(udp[HeaderLen:]); sp != 12345 || dp != 80 {
		t.Errorf("UDP Ports = %d, %d; want 12345, 80", sp, dp)
	}
}

func TestOfEthernet(t *testing.T) {
	frame := append([]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x86, 0xdd}, tcpPacket...)
	h, rest, ok := OfEthernet(frame)
	if !ok || h.Dst != netip.MustParseAddr("2001:db8::2") || len(rest) != len(tcpPacket)-HeaderLen {
		t.Errorf("OfEthernet = %+v, %d bytes, %v", h, len(rest), ok)
	}
	frame[12], frame[13] = 0x08, 0x00
	if _, _, ok := OfEthernet(frame); ok {
		t.Error("OfEthernet took an IPv4 EtherType")
	}
}
