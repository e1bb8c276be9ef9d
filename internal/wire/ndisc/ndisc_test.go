package ndisc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

var (
	macA = arp.MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB = arp.MAC{0x02, 0, 0, 0, 0, 0x0b}
	vip  = netip.MustParseAddr("2001:db8::10")
	ipB  = netip.MustParseAddr("2001:db8::b")
)

// unsolicitedNA is the announcement of spec §10.1 (keepalived, the kernel).
func unsolicitedNA() Message {
	return Message{HopLimit: 255, Src: vip, Dst: AllNodes, Type: TypeNeighborAdvertisement,
		Target: vip, Override: true, TargetLL: macA, HasTargetLL: true}
}

// gopacketFrame serialises the same message with gopacket's layers, the
// reference encoder: ours must produce the same bytes.
func gopacketFrame(t *testing.T, dst, src arp.MAC, m Message, flags uint8, vlan uint16) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(src[:]), DstMAC: net.HardwareAddr(dst[:]), EthernetType: layers.EthernetTypeIPv6}
	ip6 := &layers.IPv6{Version: 6, TrafficClass: m.TrafficClass, FlowLabel: m.FlowLabel, NextHeader: layers.IPProtocolICMPv6,
		HopLimit: m.HopLimit, SrcIP: m.Src.AsSlice(), DstIP: m.Dst.AsSlice()}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(m.Type), m.Code)}
	if err := icmp.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	var opts layers.ICMPv6Options
	if m.HasSourceLL {
		opts = append(opts, layers.ICMPv6Option{Type: layers.ICMPv6OptSourceAddress, Data: bytes.Clone(m.SourceLL[:])})
	}
	if m.HasTargetLL {
		opts = append(opts, layers.ICMPv6Option{Type: layers.ICMPv6OptTargetAddress, Data: bytes.Clone(m.TargetLL[:])})
	}
	var body gopacket.SerializableLayer
	switch m.Type {
	case TypeNeighborAdvertisement:
		body = &layers.ICMPv6NeighborAdvertisement{Flags: flags, TargetAddress: m.Target.AsSlice(), Options: opts}
	case TypeNeighborSolicitation:
		body = &layers.ICMPv6NeighborSolicitation{TargetAddress: m.Target.AsSlice(), Options: opts}
	case TypeRouterSolicitation:
		body = &layers.ICMPv6RouterSolicitation{Options: opts}
	case TypeRouterAdvertisement:
		body = &layers.ICMPv6RouterAdvertisement{HopLimit: m.CurHopLimit, Flags: flags, RouterLifetime: m.RouterLifetime,
			ReachableTime: m.ReachableTime, RetransTimer: m.RetransTimer, Options: opts}
	case TypeRedirect:
		body = &layers.ICMPv6Redirect{TargetAddress: m.Target.AsSlice(), DestinationAddress: m.Destination.AsSlice(), Options: opts}
	}
	ls := []gopacket.SerializableLayer{eth, ip6, icmp, body}
	if vlan != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: vlan, Type: layers.EthernetTypeIPv6}, ip6, icmp, body}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAppendFrameMatchesGopacket(t *testing.T) {
	ll := LinkLocal(macB)
	cases := []struct {
		name  string
		m     Message
		dst   arp.MAC
		flags uint8 // the NA's or RA's flag byte as the RFC lays it out
		vlan  uint16
	}{
		{"unsolicited NA", unsolicitedNA(), AllNodesMAC, 0x20, 0},
		{"solicited NA, R, no option", Message{HopLimit: 255, Src: vip, Dst: ipB, Type: TypeNeighborAdvertisement,
			Target: vip, Router: true, Solicited: true}, macB, 0xc0, 0},
		{"multicast NS with SLLAO, VLAN 200", Message{HopLimit: 255, Src: ipB, Dst: SolicitedNode(vip), Type: TypeNeighborSolicitation,
			Target: vip, SourceLL: macB, HasSourceLL: true}, MulticastMAC(SolicitedNode(vip)), 0, 200},
		{"RS", Message{HopLimit: 255, Src: ll, Dst: AllRouters, Type: TypeRouterSolicitation, SourceLL: macB, HasSourceLL: true},
			MulticastMAC(AllRouters), 0, 0},
		{"RA", Message{HopLimit: 255, Src: ll, Dst: AllNodes, Type: TypeRouterAdvertisement, CurHopLimit: 64, Managed: true,
			RouterLifetime: 1800, ReachableTime: 30000, RetransTimer: 1000, SourceLL: macB, HasSourceLL: true}, AllNodesMAC, 0x80, 0},
		{"redirect", Message{HopLimit: 255, Src: ll, Dst: vip, Type: TypeRedirect, Target: LinkLocal(macA),
			Destination: netip.MustParseAddr("2001:db8:1::1"), TargetLL: macA, HasTargetLL: true}, macA, 0, 0},
		{"traffic class and flow label", func() Message {
			m := unsolicitedNA()
			m.TrafficClass, m.FlowLabel = 0xe0, 0xabcde
			return m
		}(), AllNodesMAC, 0x20, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := ether.Header{Dst: c.dst, Src: macB}
			if c.vlan != 0 {
				h.VLANs, h.Tags[0] = 1, ether.Tag{TPID: ether.EtherTypeVLAN, ID: c.vlan}
			}
			got := AppendFrame(nil, h, &c.m)
			want := gopacketFrame(t, c.dst, macB, c.m, c.flags, c.vlan)
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendFrame =\n% x\ngopacket =\n% x", got, want)
			}
			// and gopacket agrees the checksum is right
			p := gopacket.NewPacket(got, layers.LayerTypeEthernet, gopacket.Default)
			ic, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			gip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if ic == nil || gip == nil {
				t.Fatalf("gopacket found no IPv6/ICMPv6 layer: %v", p)
			}
			_ = ic.SetNetworkLayerForChecksum(gip)
			if err, res := ic.VerifyChecksum(); err != nil || !res.Valid {
				t.Fatalf("gopacket: checksum %+v, %v", res, err)
			}
			var gh ether.Header
			var back Message
			if err := UnmarshalFrame(got, &gh, &back); err != nil {
				t.Fatal(err)
			}
			if !back.ChecksumOK {
				t.Errorf("decoded checksum 0x%04x reported wrong", back.Checksum)
			}
			back.Checksum, back.ChecksumOK = 0, false
			if back != c.m {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, c.m)
			}
			if gh.VLANs != h.VLANs || gh.Dst != c.dst {
				t.Errorf("header %+v, want dst %v with %d tags", gh, c.dst, h.VLANs)
			}
		})
	}
}

// TestDecodeOptionsInAnyOrder decodes an NA whose options come in an order
// ours never writes, with an MTU option ND's cache ignores and a second
// TLLAO: the first TLLAO counts (as in the kernel), the others are counted.
func TestDecodeOptionsInAnyOrder(t *testing.T) {
	m := unsolicitedNA()
	m.HasTargetLL = false
	b := m.Append(nil)
	b = append(b,
		OptMTU, 1, 0, 0, 0, 0, 0x05, 0xdc,
		OptTargetLL, 1, macA[0], macA[1], macA[2], macA[3], macA[4], macA[5],
		OptTargetLL, 1, macB[0], macB[1], macB[2], macB[3], macB[4], macB[5])
	b[5] += 24
	b[42], b[43] = 0, 0
	c := Checksum(m.Src, m.Dst, b[40:])
	b[42], b[43] = byte(c>>8), byte(c)
	var got Message
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !got.ChecksumOK || got.TargetLL != macA || !got.HasTargetLL || got.Unknown != 1 || got.Duplicates != 1 {
		t.Fatalf("got %v (unknown %d, duplicates %d), want tll %v, one unknown, one duplicate", &got, got.Unknown, got.Duplicates, macA)
	}
	got.Checksum, got.ChecksumOK, got.Unknown, got.Duplicates = 0, false, 0, 0
	if want := unsolicitedNA(); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestErrors(t *testing.T) {
	na := unsolicitedNA()
	good := na.Append(nil)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	ns := Message{HopLimit: 255, Src: netip.IPv6Unspecified(), Dst: SolicitedNode(vip), Type: TypeNeighborSolicitation, Target: vip,
		Nonce: [6]byte{1, 2, 3, 4, 5, 6}, HasNonce: true}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShortIPv6},
		{"IPv4", mut(func(b []byte) []byte { b[0] = 0x45; return b }), ErrNotIPv6},
		{"payload length past the capture", good[:len(good)-1], ErrTruncated},
		{"UDP", mut(func(b []byte) []byte { b[6] = 17; return b }), ErrNotICMPv6},
		{"echo request", mut(func(b []byte) []byte { b[40] = 128; return b }), ErrNotND},
		{"option of length 0", mut(func(b []byte) []byte { b[len(b)-7] = 0; return b }), ErrBadOption},
		{"option past the end", mut(func(b []byte) []byte { b[len(b)-7] = 2; return b }), ErrBadOption},
		{"16-byte TLLAO", func() []byte {
			b := bytes.Clone(good)
			b[5] += 8
			b[len(b)-7] = 2
			return append(b, make([]byte, 8)...)
		}(), ErrLLOptionSize},
		{"NA cut before its target", func() []byte {
			b := bytes.Clone(good[:40+12])
			b[4], b[5] = 0, 12
			return b
		}(), ErrShort},
		{"fragment header", func() []byte {
			b := bytes.Clone(good[:40])
			b[6] = 44
			b[4], b[5] = 0, 8+32
			b = append(b, 58, 0, 0, 0, 0, 0, 0, 1)
			return append(b, good[40:]...)
		}(), ErrFragment},
	}
	for _, c := range cases {
		var m Message
		err := m.Unmarshal(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Unmarshal = %v, want %v", c.name, err, c.want)
		}
	}
	if !errors.Is(ErrShort, io.ErrUnexpectedEOF) || !errors.Is(ErrTruncated, io.ErrUnexpectedEOF) {
		t.Error("short-input errors do not match io.ErrUnexpectedEOF")
	}
	// A hop-by-hop header is stepped over; a DAD NS with a nonce decodes.
	hbh := bytes.Clone(good[:40])
	hbh[6] = 0
	hbh[5] += 8
	hbh = append(append(hbh, 58, 0, 1, 4, 0, 0, 0, 0), good[40:]...)
	var m Message
	if err := m.Unmarshal(hbh); err != nil || !m.ChecksumOK || m.Target != vip {
		t.Errorf("NA behind a hop-by-hop header: %v, %v", &m, err)
	}
	if err := m.Unmarshal(ns.Append(nil)); err != nil || !m.HasNonce || m.Nonce != ns.Nonce || m.Src != netip.IPv6Unspecified() {
		t.Errorf("DAD NS: %v, %v", &m, err)
	}
	// A wrong checksum decodes, and is reported.
	bad := mut(func(b []byte) []byte { b[42] ^= 0xff; return b })
	if err := m.Unmarshal(bad); err != nil || m.ChecksumOK {
		t.Errorf("bad checksum: ChecksumOK=%v err=%v", m.ChecksumOK, err)
	}
	// Padding after the payload is ignored.
	if err := m.Unmarshal(append(bytes.Clone(good), 0, 0, 0, 0)); err != nil || !m.ChecksumOK {
		t.Errorf("padded: %v, %v", &m, err)
	}
}

func TestAddresses(t *testing.T) {
	if got, want := SolicitedNode(netip.MustParseAddr("2001:db8::1:2a:bc:de01")), netip.MustParseAddr("ff02::1:ffbc:de01"); got != want {
		t.Errorf("SolicitedNode = %v, want %v", got, want)
	}
	if got, want := MulticastMAC(netip.MustParseAddr("ff02::1:ffbc:de01")), (arp.MAC{0x33, 0x33, 0xff, 0xbc, 0xde, 0x01}); got != want {
		t.Errorf("MulticastMAC = %v, want %v", got, want)
	}
	if got := MulticastMAC(AllNodes); got != AllNodesMAC {
		t.Errorf("MulticastMAC(ff02::1) = %v", got)
	}
	if got, want := LinkLocal(arp.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}), netip.MustParseAddr("fe80::5054:ff:fe12:3456"); got != want {
		t.Errorf("LinkLocal = %v, want %v", got, want)
	}
}

// TestChecksumOddLength: over an odd-length message (padded with a zero
// byte, RFC 8200 §8.1) the checksum written into the message verifies.
func TestChecksumOddLength(t *testing.T) {
	m := unsolicitedNA()
	for _, extra := range []int{1, 3} {
		b := append(m.Append(nil)[40:], make([]byte, extra)...)
		b[len(b)-1] = 0x5a
		b[2], b[3] = 0, 0
		c := Checksum(m.Src, m.Dst, b)
		b[2], b[3] = byte(c>>8), byte(c)
		if v := Checksum(m.Src, m.Dst, b); v != 0 {
			t.Errorf("%d-byte message: checksum 0x%04x does not verify (0x%04x)", len(b), c, v)
		}
		if v := Checksum(m.Dst, m.Src, b[:len(b)-1]); v == 0 {
			t.Errorf("%d-byte message: a shorter message verified too", len(b))
		}
	}
}

func TestString(t *testing.T) {
	m := unsolicitedNA()
	if got, want := m.String(), "NA 2001:db8::10 > ff02::1 hlim 255 target 2001:db8::10 [O] tll 02:00:00:00:00:0a"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestUnmarshalDoesNotAllocate(t *testing.T) {
	m := unsolicitedNA()
	b := AppendFrame(nil, ether.Header{Dst: AllNodesMAC, Src: macA}, &m)
	var h ether.Header
	var got Message
	if n := testing.AllocsPerRun(100, func() { _ = UnmarshalFrame(b, &h, &got) }); n != 0 {
		t.Errorf("UnmarshalFrame allocates %v times per call", n)
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = AppendFrame(buf[:0], ether.Header{Dst: AllNodesMAC, Src: macA}, &m) }); n != 0 {
		t.Errorf("AppendFrame allocates %v times per call", n)
	}
	if len(b) != NAFrameLen {
		t.Errorf("NA frame is %d bytes, NAFrameLen says %d", len(b), NAFrameLen)
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	m := unsolicitedNA()
	p := m.Append(nil)
	var got Message
	b.ReportAllocs()
	for b.Loop() {
		if err := got.Unmarshal(p); err != nil {
			b.Fatal(err)
		}
	}
}
