package capture

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"arplab/internal/testkit"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

var (
	ip6A = netip.MustParseAddr("2001:db8::a")
	// na6 is the unsolicited NA announcing ip6A at macA (spec
	// linux-ndisc §10.1), as its IPv6 packet.
	na6   = testkit.NA(ip6A, ndisc.AllNodes, false, true, macA)
	ethNA = testkit.Ether(ndisc.AllNodesMAC, macA, ether.EtherTypeIPv6, nil, na6)
)

// TestNDInEveryLinkType: an NA in an Ethernet record, a VLAN-tagged one,
// a Linux SLL and an SLL2 record (with a tag) decodes the same, with the
// packet type the cooked headers carry; an ICMPv6 echo and an ARP frame
// are told apart by reason.
func TestNDInEveryLinkType(t *testing.T) {
	echo := bytes.Clone(na6)
	echo[40] = 128 // echo request: IPv6 ICMPv6, not ND
	tag := []ether.Tag{{TPID: ether.EtherTypeVLAN, ID: 200}}
	vlanPayload := append([]byte{0x00, 0xc8, 0x86, 0xdd}, na6...) // TCI 200, then IPv6
	files := []struct {
		name string
		file []byte
		pt   string // the packet type, "unknown" when not recorded
		vlan int
	}{
		{"ethernet", newPcapFile(leOrder, magicMicro, uint32(Ethernet)).record(1, 0, ethNA, 0).bytes(), "unknown", 0},
		{"ethernet vlan", newPcapFile(leOrder, magicMicro, uint32(Ethernet)).record(1, 0,
			testkit.Ether(ndisc.AllNodesMAC, macA, ether.EtherTypeIPv6, tag, na6), 0).bytes(), "unknown", 1},
		{"sll", newPcapFile(beOrder, magicNano, uint32(LinuxSLL)).record(1, 0,
			append(testkit.SLL(2, 1, macA[:], ether.EtherTypeIPv6), na6...), 0).bytes(), "multicast", 0},
		{"sll2 vlan", newNgFile().section(leOrder).iface(LinuxSLL2, 0).epb(0, 1,
			append(testkit.SLL2(ether.EtherTypeVLAN, 3, 1, 2, macA[:]), vlanPayload...)).bytes(), "multicast", 1},
	}
	for _, c := range files {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.file), c.name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			var m ndisc.Message
			if !f.IsND() {
				t.Fatalf("IsND false for EtherType %04x payload % x", f.EtherType, f.Payload)
			}
			if err := f.ND(&m); err != nil || !m.ChecksumOK || m.Target != ip6A || m.TargetLL != macA || !m.Override {
				t.Fatalf("ND: %v, %v", &m, err)
			}
			if pktName(f) != c.pt || f.VLANs != c.vlan || !f.HasSrc || f.Src != macA {
				t.Errorf("pkttype %v, %d VLANs, src %v (%v); want %v, %d, %v", pktName(f), f.VLANs, f.Src, f.HasSrc, c.pt, c.vlan, macA)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("after the NA: %v, want io.EOF", err)
			}
		})
	}
	other := newPcapFile(leOrder, magicMicro, uint32(Ethernet)).
		record(1, 0, testkit.Ether(ndisc.AllNodesMAC, macA, ether.EtherTypeIPv6, nil, echo), 0).
		record(2, 0, ethGARP, 0).bytes()
	r, err := NewReader(bytes.NewReader(other), "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []error{ndisc.ErrNotND, ndisc.ErrNotICMPv6} {
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		var m ndisc.Message
		if err := f.ND(&m); !errors.Is(err, want) || f.IsND() {
			t.Errorf("frame %d: ND = %v (IsND %v), want %v", f.Index, err, f.IsND(), want)
		}
	}
}

// TestSharedCapturesND decodes every IPv6 frame of the shared captures as
// ND without a panic, and agrees with gopacket on which Ethernet frames
// are ND messages: gopacket's ICMPv6 layer with a type 133-137 is what
// ours accepts or rejects only for a malformed body, never as "not ND".
func TestSharedCapturesND(t *testing.T) {
	var nd, ipv6 int
	for _, path := range sharedFiles(t) {
		r, err := Open(path)
		if err != nil {
			continue // unsupported link types: TestSharedCaptures covers them
		}
		for {
			f, err := r.Next()
			if err != nil {
				break
			}
			if f.EtherType != ether.EtherTypeIPv6 {
				continue
			}
			ipv6++
			var m ndisc.Message
			err = f.ND(&m)
			if err == nil {
				nd++
			}
			if !f.HasEth || f.VLANs > 0 {
				continue
			}
			p := gopacket.NewPacket(append(ethHeader(f), f.Payload...), layers.LayerTypeEthernet, gopacket.NoCopy)
			ic, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			gopacketND := ic != nil && ic.TypeCode.Type() >= 133 && ic.TypeCode.Type() <= 137
			notND := errors.Is(err, ndisc.ErrNotND) || errors.Is(err, ndisc.ErrNotICMPv6)
			if (err == nil && !gopacketND) || (gopacketND && notND) {
				t.Errorf("%s frame %d: gopacket says ND=%v, ours: %v", path, f.Index, gopacketND, err)
			}
		}
		r.Close()
	}
	t.Logf("%d IPv6 frames in the shared captures, %d decode as ND", ipv6, nd)
}

// ethHeader rebuilds an untagged Ethernet header for f.
func ethHeader(f *Frame) []byte {
	return ether.Header{Dst: f.Dst, Src: f.Src, EtherType: f.EtherType}.Append(nil)
}

// TestKernelNDCaptures reads two captures of one real exchange on Linux
// 6.18 (testdata/kernel-nd-*.pcap, tcpdump on two namespaces joined by a
// veth): A brings its link up and adds 2001:db8::a with ndisc_notify=1,
// sends to B, changes its MAC from :0a to :0c, and B's entry is then probed
// by unicast NS. One capture is Ethernet on B's side, the other cooked
// (LINUX_SLL2, `tcpdump -i any`) on A's. Both decode to the same messages,
// which match tcpdump's own decoding of the files (DAD NS with a nonce,
// the unsolicited NAs with O, the reply to a unicast NS with S only and no
// target link-layer option, spec linux-ndisc §4.5, §10.1); the three
// port-unreachable errors are counted as not ND.
func TestKernelNDCaptures(t *testing.T) {
	want := map[int]string{
		1:  "NS :: > ff02::1:ff00:b hlim 255 target fe80::ff:fe00:b nonce 23877d03ed66",
		2:  "NS :: > ff02::1:ff00:a hlim 255 target fe80::ff:fe00:a nonce 9b9e19bccd0e",
		3:  "RS fe80::ff:fe00:b > ff02::2 hlim 255 sll 02:00:00:00:00:0b",
		4:  "NA fe80::ff:fe00:a > ff02::1 hlim 255 target fe80::ff:fe00:a [O] tll 02:00:00:00:00:0a",
		5:  "RS fe80::ff:fe00:a > ff02::2 hlim 255 sll 02:00:00:00:00:0a",
		6:  "NS :: > ff02::1:ff00:a hlim 255 target 2001:db8::a nonce 5271a93dcb0b",
		7:  "NA 2001:db8::a > ff02::1 hlim 255 target 2001:db8::a [O] tll 02:00:00:00:00:0a",
		8:  "RS fe80::ff:fe00:b > ff02::2 hlim 255 sll 02:00:00:00:00:0b",
		9:  "NS 2001:db8::a > ff02::1:ff00:b hlim 255 target 2001:db8::b sll 02:00:00:00:00:0a",
		10: "NA 2001:db8::b > 2001:db8::a hlim 255 target 2001:db8::b [SO] tll 02:00:00:00:00:0b",
		12: "RS fe80::ff:fe00:a > ff02::2 hlim 255 sll 02:00:00:00:00:0a",
		13: "NA 2001:db8::a > ff02::1 hlim 255 target 2001:db8::a [O] tll 02:00:00:00:00:0c",
		14: "NA fe80::ff:fe00:a > ff02::1 hlim 255 target fe80::ff:fe00:a [O] tll 02:00:00:00:00:0c",
		15: "NS 2001:db8::a > ff02::1:ff00:b hlim 255 target 2001:db8::b sll 02:00:00:00:00:0c",
		16: "NA 2001:db8::b > 2001:db8::a hlim 255 target 2001:db8::b [SO] tll 02:00:00:00:00:0b",
		18: "NS fe80::ff:fe00:b > 2001:db8::a hlim 255 target 2001:db8::a sll 02:00:00:00:00:0b",
		19: "NA 2001:db8::a > fe80::ff:fe00:b hlim 255 target 2001:db8::a [S]",
		20: "RS fe80::ff:fe00:b > ff02::2 hlim 255 sll 02:00:00:00:00:0b",
		21: "RS fe80::ff:fe00:a > ff02::2 hlim 255 sll 02:00:00:00:00:0c",
	}
	outgoing := map[int]bool{2: true, 4: true, 5: true, 6: true, 7: true, 9: true, 12: true, 13: true, 14: true, 15: true, 19: true, 21: true}
	for _, file := range []string{"testdata/kernel-nd-eth.pcap", "testdata/kernel-nd-any.pcap"} {
		r, err := Open(file)
		if err != nil {
			t.Fatal(err)
		}
		nd, notND := 0, 0
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var m ndisc.Message
			err = f.ND(&m)
			w, isND := want[f.Index]
			switch {
			case !isND:
				notND++
				if !errors.Is(err, ndisc.ErrNotND) || f.IsND() {
					t.Errorf("%s frame %d: %v, want ErrNotND", file, f.Index, err)
				}
				continue
			case err != nil:
				t.Errorf("%s frame %d: %v", file, f.Index, err)
				continue
			}
			nd++
			if got := m.String(); got != w || !m.ChecksumOK {
				t.Errorf("%s frame %d:\n got %s (checksum ok %v)\nwant %s", file, f.Index, got, m.ChecksumOK, w)
			}
			if f.HasPktType && (f.PktType == ether.PktOutgoing) != outgoing[f.Index] {
				t.Errorf("%s frame %d: packet type %v", file, f.Index, f.PktType)
			}
		}
		r.Close()
		if nd != len(want) || notND != 3 {
			t.Errorf("%s: %d ND frames and %d others, want %d and 3", file, nd, notND, len(want))
		}
	}
}

// pktName is a frame's packet type as tcpdump names it, "unknown" when
// the capture did not record one.
func pktName(f *Frame) string {
	if !f.HasPktType {
		return "unknown"
	}
	return f.PktType.String()
}
