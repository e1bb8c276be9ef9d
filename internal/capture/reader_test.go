package capture

import (
	"arplab/internal/testkit"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"

	"github.com/google/go-cmp/cmp"
)

// Canonical frames used by the synthetic files.
var (
	garpReq   = testkit.GARPRequest(ipA, macA).Append(nil)
	garpReply = testkit.GARPReply(ipA, macA).Append(nil)
	ethGARP   = testkit.Ether(arp.Broadcast, macA, ether.EtherTypeARP, nil, garpReq)
	ethReply  = testkit.Ether(macB, macA, ether.EtherTypeARP, nil, garpReply)
	ethTagged = testkit.Ether(arp.Broadcast, macA, ether.EtherTypeARP, []ether.Tag{{TPID: ether.EtherTypeVLAN, ID: 10}}, garpReq)
)

// ethWant is the Frame an untagged Ethernet GARP from macA decodes to.
func ethWant(index int, time int64, dst arp.MAC, frame []byte) Frame {
	return Frame{Index: index, Time: time, HasEth: true, HasSrc: true, Dst: dst, Src: macA,
		HardwareType: 1, EtherType: ether.EtherTypeARP, Payload: frame[14:],
		CapLen: len(frame), OrigLen: len(frame)}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestSyntheticFiles(t *testing.T) {
	const sec, usec, nsec = 1700000000, 123456, 123456789
	tMicro := int64(sec)*1e9 + usec*1e3
	tNano := int64(sec)*1e9 + nsec

	sll2 := func(pkt uint8) []byte {
		return append(testkit.SLL2(ether.EtherTypeARP, 3, 1, pkt, macA[:]), garpReq...)
	}
	sll2Want := func(index int, pkt uint8, data []byte) Frame {
		return Frame{Index: index, Time: tMicro, PktType: ether.PktType(pkt), HasPktType: pkt <= 5, HasSrc: true, Src: macA, HardwareType: 1,
			IfIndex: 3, EtherType: ether.EtherTypeARP, Payload: data[20:], CapLen: len(data), OrigLen: len(data)}
	}
	sll2File := newPcapFile(leOrder, magicMicro, uint32(LinuxSLL2))
	var sll2Frames []Frame
	for pkt := uint8(0); pkt <= 7; pkt++ {
		sll2File.record(sec, usec, sll2(pkt), 0)
		want := sll2Want(int(pkt)+1, pkt, sll2(pkt)) // PACKET_HOST … PACKET_LOOPBACK; 6, 7 say nothing
		if !want.HasPktType {
			want.PktType = 0
		}
		sll2Frames = append(sll2Frames, want)
	}

	sllVLAN := append(testkit.SLL(0, 1, macA[:], ether.EtherTypeVLAN), 0x00, 0x0a, 0x08, 0x06) // tag VID 10, then ARP
	sllVLAN = append(sllVLAN, garpReq...)
	sllIPoIB := append(testkit.SLL(1, 32, make([]byte, 20), ether.EtherTypeARP), garpReq...) // 20-byte address: no Src

	kuz := newPcapFile(leOrder, magicKuznetzov, uint32(Ethernet)).record(sec, usec, ethGARP, 0).bytes()
	kuz[24+22] = 1 // pkt_type PACKET_BROADCAST

	short := ethGARP[:10]
	tooManyTags := append(append(make([]byte, 12), bytes.Repeat([]byte{0x81, 0x00, 0x00, 0x01}, ether.MaxTags+1)...), 0x08, 0x06)

	pcapng := newNgFile().section(leOrder).
		iface(Ethernet, 0).                                                          // 0: microseconds by default
		iface(LinuxSLL2, 0, ngOpt{optIfTsresol, []byte{9}}).                         // 1: nanoseconds
		iface(147, 0).                                                               // 2: USER0, not decodable
		block(4, make([]byte, 8)).                                                   // name resolution block: stepped over
		epb(0, uint64(sec)*1e6+usec, ethGARP, u32opt(leOrder, optEpbFlags, 1|3<<2)). // inbound broadcast
		epb(1, uint64(sec)*1e9+nsec, sll2(0)).
		block(5, make([]byte, 20)). // interface statistics block
		epb(2, 0, ethGARP).
		block(0x40000bad, []byte("custom block")).
		spb(uint32(len(ethReply)), ethReply).
		pb(0, uint64(sec)*1e6+usec, ethReply).
		epb(0, uint64(sec)*1e6+usec, ethReply, u32opt(leOrder, optEpbFlags, 2)). // outbound
		bytes()
	withSLL2Time := func(f Frame) Frame { f.Time, f.Interface = tNano, 1; return f }
	ngFrames := []Frame{
		func() Frame {
			f := ethWant(1, tMicro, arp.Broadcast, ethGARP)
			f.PktType, f.HasPktType = ether.PktBroadcast, true
			return f
		}(),
		withSLL2Time(sll2Want(2, 0, sll2(0))),
		ethWant(4, 0, macB, ethReply), // simple packet block: no timestamp
		ethWant(5, tMicro, macB, ethReply),
		func() Frame {
			f := ethWant(6, tMicro, macB, ethReply)
			f.PktType, f.HasPktType = ether.PktOutgoing, true
			return f
		}(),
	}

	// Big-endian section, binary resolution 2^-20 s and a 1000 s offset:
	// 5.5 units of a second after the offset.
	beNg := newNgFile().section(beOrder).
		iface(Ethernet, 0, ngOpt{optIfTsresol, []byte{0x80 | 20}}, u64opt(beOrder, optIfTsoffset, 1000)).
		epb(0, 5<<20|1<<19, ethGARP, u32opt(beOrder, optEpbFlags, 1|1<<2)). // inbound unicast
		bytes()

	// Two sections in different byte orders; the second redefines interface 0.
	twoSections := append(newNgFile().section(leOrder).iface(Ethernet, 0).epb(0, 7e6, ethGARP).bytes(),
		newNgFile().section(beOrder).iface(LinuxSLL2, 0, ngOpt{optIfTsresol, []byte{12}}).epb(0, 9e12, sll2(4)).bytes()...)

	tests := []struct {
		name        string
		file        []byte
		wantFormat  string
		wantLink    string
		want        []Frame
		wantSkipped map[string]int
	}{
		{
			name:       "PcapLittleEndianMicro",
			file:       newPcapFile(leOrder, magicMicro, 1).record(sec, usec, ethGARP, 0).record(sec, usec, ethTagged, 0).bytes(),
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{ethWant(1, tMicro, arp.Broadcast, ethGARP),
				func() Frame {
					f := ethWant(2, tMicro, arp.Broadcast, ethTagged)
					f.VLANs, f.OuterVLAN, f.Payload = 1, 10, ethTagged[18:]
					return f
				}()},
		},
		{
			name:       "PcapBigEndianMicro",
			file:       newPcapFile(beOrder, magicMicro, 1).record(sec, usec, ethGARP, 0).bytes(),
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{ethWant(1, tMicro, arp.Broadcast, ethGARP)},
		},
		{
			name:       "PcapLittleEndianNano",
			file:       newPcapFile(leOrder, magicNano, 1).record(sec, nsec, ethGARP, 0).bytes(),
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{ethWant(1, tNano, arp.Broadcast, ethGARP)},
		},
		{
			name:       "PcapBigEndianNano",
			file:       newPcapFile(beOrder, magicNano, 1).record(sec, nsec, ethGARP, 0).bytes(),
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{ethWant(1, tNano, arp.Broadcast, ethGARP)},
		},
		{
			// The upper bits of the link type field carry FCS information.
			name:       "PcapLinkTypeWithFCSBits",
			file:       newPcapFile(leOrder, magicMicro, 0x14000001).record(sec, usec, ethGARP, 0).bytes(),
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{ethWant(1, tMicro, arp.Broadcast, ethGARP)},
		},
		{
			name:       "PcapKuznetzovPktType",
			file:       kuz,
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{func() Frame {
				f := ethWant(1, tMicro, arp.Broadcast, ethGARP)
				f.PktType, f.HasPktType = ether.PktBroadcast, true
				return f
			}()},
		},
		{
			name:       "Gzip",
			file:       gzipped(newPcapFile(leOrder, magicMicro, 1).record(sec, usec, ethGARP, 0).bytes()),
			wantFormat: "pcap", wantLink: "EN10MB",
			want: []Frame{ethWant(1, tMicro, arp.Broadcast, ethGARP)},
		},
		{
			name:       "SLL2EveryPacketType",
			file:       sll2File.bytes(),
			wantFormat: "pcap", wantLink: "LINUX_SLL2",
			want: sll2Frames,
		},
		{
			name:       "SLLWithVLANTag",
			file:       newPcapFile(leOrder, magicMicro, uint32(LinuxSLL)).record(sec, usec, sllVLAN, 0).bytes(),
			wantFormat: "pcap", wantLink: "LINUX_SLL",
			want: []Frame{{Index: 1, Time: tMicro, PktType: ether.PktHost, HasPktType: true, HasSrc: true, Src: macA, HardwareType: 1,
				VLANs: 1, OuterVLAN: 10, EtherType: ether.EtherTypeARP, Payload: sllVLAN[20:],
				CapLen: len(sllVLAN), OrigLen: len(sllVLAN)}},
		},
		{
			name:       "SLLLongAddressHasNoSrc",
			file:       newPcapFile(leOrder, magicMicro, uint32(LinuxSLL)).record(sec, usec, sllIPoIB, 0).bytes(),
			wantFormat: "pcap", wantLink: "LINUX_SLL",
			want: []Frame{{Index: 1, Time: tMicro, PktType: ether.PktBroadcast, HasPktType: true, HardwareType: 32,
				EtherType: ether.EtherTypeARP, Payload: sllIPoIB[16:], CapLen: len(sllIPoIB), OrigLen: len(sllIPoIB)}},
		},
		{
			name: "EthernetSkips",
			file: newPcapFile(leOrder, magicMicro, 1).
				record(sec, usec, short, 0).           // really 10 bytes long
				record(sec, usec, short, 60).          // 10 of 60 bytes captured
				record(sec, usec, ethTagged[:16], 60). // cut inside the tag
				record(sec, usec, tooManyTags, 0).
				record(sec, usec, ethGARP, 0).
				bytes(),
			wantFormat: "pcap", wantLink: "EN10MB",
			want:        []Frame{ethWant(5, tMicro, arp.Broadcast, ethGARP)},
			wantSkipped: map[string]int{SkipShortLinkHeader: 1, SkipSnaplenCut: 2, SkipTooManyTags: 1},
		},
		{
			name:       "SLLShort",
			file:       newPcapFile(leOrder, magicMicro, uint32(LinuxSLL2)).record(sec, usec, sll2(0)[:19], 0).bytes(),
			wantFormat: "pcap", wantLink: "LINUX_SLL2",
			wantSkipped: map[string]int{SkipShortLinkHeader: 1},
		},
		{
			name:       "PcapngMixedInterfacesAndBlocks",
			file:       pcapng,
			wantFormat: "pcapng", wantLink: "EN10MB,LINUX_SLL2,DLT_147",
			want:        ngFrames,
			wantSkipped: map[string]int{"unsupported link type 147 (DLT_147)": 1},
		},
		{
			name:       "PcapngBigEndianBinaryResolution",
			file:       beNg,
			wantFormat: "pcapng", wantLink: "EN10MB",
			want: []Frame{func() Frame {
				f := ethWant(1, 1005_500_000_000, arp.Broadcast, ethGARP)
				f.PktType, f.HasPktType = ether.PktHost, true
				return f
			}()},
		},
		{
			// The second section's interface 0 is SLL2 with picosecond stamps.
			name:       "PcapngTwoSections",
			file:       twoSections,
			wantFormat: "pcapng", wantLink: "EN10MB,LINUX_SLL2",
			want: []Frame{ethWant(1, 7e9, arp.Broadcast, ethGARP),
				func() Frame { f := sll2Want(2, 4, sll2(4)); f.Time = 9e9; return f }()},
		},
		{
			name:       "PcapngGzip",
			file:       gzipped(beNg),
			wantFormat: "pcapng", wantLink: "EN10MB",
			want: []Frame{func() Frame {
				f := ethWant(1, 1005_500_000_000, arp.Broadcast, ethGARP)
				f.PktType, f.HasPktType = ether.PktHost, true
				return f
			}()},
		},
		{
			name:       "PcapngHeaderOnly",
			file:       newNgFile().section(leOrder).bytes(),
			wantFormat: "pcapng", wantLink: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every file must read the same through a one-byte-at-a-time
			// reader, which exercises each refill path of the buffer.
			for _, slow := range []bool{false, true} {
				var rd io.Reader = bytes.NewReader(tt.file)
				if slow {
					rd = iotest.OneByteReader(rd)
				}
				r, err := NewReader(rd, tt.name)
				if err != nil {
					t.Fatalf("NewReader: %v", err)
				}
				got := readAll(t, r)
				// For pcapng, LinkType lists the interfaces seen so far:
				// all of them once the file has been read.
				if r.Format() != tt.wantFormat || r.LinkType() != tt.wantLink {
					t.Errorf("Format(), LinkType() = %q, %q, want %q, %q", r.Format(), r.LinkType(), tt.wantFormat, tt.wantLink)
				}
				if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
					t.Errorf("frames (slow reader %v) (-want +got):\n%s", slow, diff)
				}
				wantSkipped := tt.wantSkipped
				if wantSkipped == nil {
					wantSkipped = map[string]int{}
				}
				if diff := cmp.Diff(wantSkipped, r.Skipped()); diff != "" {
					t.Errorf("Skipped() (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	eth := newPcapFile(leOrder, magicMicro, 1).record(1, 0, ethGARP, 0).bytes()
	capTooLarge := newPcapFile(leOrder, magicMicro, 1).record(1, 0, ethGARP, 0).record(2, 0, ethGARP, 0).bytes()
	leOrder.PutUint32(capTooLarge[24+16+60+8:], 0x7fffffff) // record 2's caplen
	badVersion := bytes.Clone(eth)
	badVersion[4] = 3

	shb := newNgFile().section(leOrder).bytes() // 28 bytes
	ngEth := newNgFile().section(leOrder).iface(Ethernet, 0).epb(0, 0, ethGARP).bytes()
	// ngEth layout: SHB at 0 (28 bytes), IDB at 28 (20 bytes), EPB at 48.
	badBOM := bytes.Clone(ngEth)
	badBOM[8] = 0
	oddLength := bytes.Clone(ngEth)
	leOrder.PutUint32(oddLength[48+4:], 13)
	badTrailer := bytes.Clone(ngEth)
	badTrailer[len(badTrailer)-4]++
	capPastBlock := bytes.Clone(ngEth)
	leOrder.PutUint32(capPastBlock[48+8+12:], 61)
	badVersionNg := bytes.Clone(ngEth)
	badVersionNg[12] = 2
	unknownIface := newNgFile().section(leOrder).iface(Ethernet, 0).epb(1, 0, ethGARP).bytes()
	packetFirst := newNgFile().section(leOrder).epb(0, 0, ethGARP).bytes()
	tsresolFine := newNgFile().section(leOrder).iface(Ethernet, 0, ngOpt{optIfTsresol, []byte{20}}).bytes()
	optPastBlock := newNgFile().section(leOrder).iface(Ethernet, 0, ngOpt{2, []byte("eth0")}).bytes()
	leOrder.PutUint16(optPastBlock[28+16+2:], 200) // if_name length 200
	hugeBlock := append(bytes.Clone(ngEth), newNgFile().section(leOrder).bytes()...)
	leOrder.PutUint32(hugeBlock[len(ngEth)+4:], 1<<30) // second SHB claims 1 GiB

	tests := []struct {
		name    string
		file    []byte
		atOpen  bool
		wantErr error
		wantMsg string // the full message after "capture: NAME: "
	}{
		{name: "Empty", file: nil, atOpen: true, wantErr: ErrNotCapture,
			wantMsg: "byte offset 0: not a pcap or pcapng file: file is 0 bytes long"},
		{name: "Text", file: []byte("hello, world\n"), atOpen: true, wantErr: ErrNotCapture,
			wantMsg: "byte offset 0: not a pcap or pcapng file (magic number 0x6c6c6568)"},
		{name: "BadGzip", file: []byte{0x1f, 0x8b, 0, 0}, atOpen: true, wantErr: ErrNotCapture,
			wantMsg: "byte offset 0: not a pcap or pcapng file: bad gzip stream: unexpected EOF"},
		{name: "TruncatedPcapHeader", file: eth[:10], atOpen: true, wantErr: io.ErrUnexpectedEOF,
			wantMsg: "byte offset 0: file header is truncated (10 of 24 bytes): unexpected EOF"},
		{name: "PcapVersion", file: badVersion, atOpen: true, wantErr: ErrCorrupt,
			wantMsg: "byte offset 4: corrupt capture file: pcap version 3.4, want 2.x"},
		{name: "PcapCapLenTooLarge", file: capTooLarge, wantErr: ErrCorrupt,
			wantMsg: "byte offset 108 (record 2): corrupt capture file: captured length 2147483647 exceeds the 262144-byte limit"},
		{name: "PcapngTruncatedSHB", file: shb[:20], atOpen: true, wantErr: io.ErrUnexpectedEOF,
			wantMsg: "byte offset 0: section header block is truncated: unexpected EOF"},
		{name: "PcapngByteOrderMagic", file: badBOM, atOpen: true, wantErr: ErrCorrupt,
			wantMsg: "byte offset 8: corrupt capture file: section header byte-order magic is 0x1a2b3c00"},
		{name: "PcapngVersion", file: badVersionNg, atOpen: true, wantErr: ErrCorrupt,
			wantMsg: "byte offset 12: corrupt capture file: pcapng version 2.0, want 1.x"},
		{name: "PcapngOddBlockLength", file: oddLength, wantErr: ErrCorrupt,
			wantMsg: "byte offset 52: corrupt capture file: block of type 0x6 has length 13 (want a multiple of 4 from 12 to 16777216)"},
		{name: "PcapngHugeBlock", file: hugeBlock, wantErr: ErrCorrupt,
			wantMsg: "byte offset 144: corrupt capture file: block of type 0xa0d0d0a has length 1073741824 (want a multiple of 4 from 12 to 16777216)"},
		{name: "PcapngTrailer", file: badTrailer, wantErr: ErrCorrupt,
			wantMsg: "byte offset 136: corrupt capture file: block's trailing length 93 does not match its leading length 92"},
		{name: "PcapngCapLenPastBlock", file: capPastBlock, wantErr: ErrCorrupt,
			wantMsg: "byte offset 68 (record 1): corrupt capture file: captured length 61 exceeds the 60 bytes in the block"},
		{name: "PcapngUnknownInterface", file: unknownIface, wantErr: ErrCorrupt,
			wantMsg: "byte offset 56 (record 1): corrupt capture file: packet for interface 1, but the section describes 1"},
		{name: "PcapngPacketBeforeInterface", file: packetFirst, atOpen: true, wantErr: ErrCorrupt,
			wantMsg: "byte offset 36 (record 1): corrupt capture file: packet for interface 0, but the section describes 0"},
		{name: "PcapngTsresolTooFine", file: tsresolFine, atOpen: true, wantErr: ErrCorrupt,
			wantMsg: "byte offset 44: corrupt capture file: if_tsresol 0x14 is finer than a 64-bit timestamp can count"},
		{name: "PcapngOptionPastBlock", file: optPastBlock, atOpen: true, wantErr: ErrCorrupt,
			wantMsg: "byte offset 44: corrupt capture file: interface option 2 of length 200 runs past the block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.file), tt.name)
			if tt.atOpen {
				if err == nil {
					t.Fatalf("NewReader succeeded, want an error")
				}
			} else {
				if err != nil {
					t.Fatalf("NewReader: %v", err)
				}
				for err == nil {
					_, err = r.Next()
				}
				if _, again := r.Next(); again != err {
					t.Errorf("Next after the error = %v, want the same error %v", again, err)
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want errors.Is %v", err, tt.wantErr)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if want := "capture: " + tt.name + ": " + tt.wantMsg; err.Error() != want {
				t.Errorf("error =\n  %s\nwant\n  %s", err, want)
			}
		})
	}
}

// TestTruncatedFinalRecord cuts files inside their last record: the frames
// before it are returned, the cut one is counted, and the end is io.EOF.
func TestTruncatedFinalRecord(t *testing.T) {
	pcap := newPcapFile(leOrder, magicMicro, 1).record(1, 0, ethGARP, 0).record(2, 0, ethReply, 0).bytes()
	ng := newNgFile().section(leOrder).iface(Ethernet, 0).epb(0, 0, ethGARP).epb(0, 0, ethReply).bytes()
	const pcapRec2, ngRec2 = 24 + 16 + 60, 48 + 92
	// gzip needs incompressible data to lose part of a record when its
	// tail is cut: a 200-byte second record of pseudo-random bytes.
	noise := make([]byte, 200)
	for i, x := 0, uint32(1); i < len(noise); i++ {
		x = x*1664525 + 1013904223
		noise[i] = byte(x >> 24)
	}
	gz := gzipped(newPcapFile(leOrder, magicMicro, 1).record(1, 0, ethGARP, 0).record(2, 0, noise, 0).bytes())
	tests := []struct {
		name string
		file []byte
	}{
		{"PcapInRecordHeader", pcap[:pcapRec2+5]},
		{"PcapInData", pcap[:len(pcap)-1]},
		{"PcapngInBlockHeader", ng[:ngRec2+3]},
		{"PcapngInBlock", ng[:len(ng)-4]},
		{"GzipPcapInData", gz[:len(gz)-8-50]}, // the 8-byte trailer and 50 bytes of data
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.file), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r)
			if len(got) != 1 || got[0].Dst != arp.Broadcast {
				t.Errorf("read %d frames, want only the first, complete one", len(got))
			}
			if diff := cmp.Diff(map[string]int{SkipTruncatedRecord: 1}, r.Skipped()); diff != "" {
				t.Errorf("Skipped() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadError checks that an I/O error (not the end of the file) stops
// reading with an *Error that says where.
func TestReadError(t *testing.T) {
	file := newPcapFile(leOrder, magicMicro, 1).record(1, 0, ethGARP, 0).record(2, 0, ethGARP, 0).bytes()
	boom := errors.New("disk on fire")
	rd := io.MultiReader(bytes.NewReader(file[:50]), iotest.ErrReader(boom))
	r, err := NewReader(rd, "f.pcap")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if !errors.Is(err, boom) || err.Error() != "capture: f.pcap: byte offset 50: disk on fire" {
		t.Errorf("Next error = %v, want %q wrapping %v", err, "capture: f.pcap: byte offset 50: disk on fire", boom)
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open("/nonexistent/x.pcap")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/x.pcap") {
		t.Errorf("Open error = %v, want one naming the file", err)
	}
}

// TestNextDoesNotAllocate guards the replay budget: reading a frame must
// not allocate, for either format (BenchmarkReader* measure the speed).
func TestNextDoesNotAllocate(t *testing.T) {
	for _, tt := range benchFiles() {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(tt.loop(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(10000, func() {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Next allocates %v times per frame, want 0", allocs)
			}
		})
	}
}

func ExampleReader() {
	file := newPcapFile(leOrder, magicMicro, uint32(Ethernet)).record(1700000000, 0, ethGARP, 0).bytes()
	r, err := NewReader(bytes.NewReader(file), "garp.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		f, err := r.Next()
		if err != nil {
			break // io.EOF, or an *Error saying where the file is damaged
		}
		var p arp.Packet
		if f.EtherType != ether.EtherTypeARP || p.Unmarshal(f.Payload) != nil {
			continue
		}
		fmt.Printf("#%d %v > %v %v %v gratuitous=%v\n", f.Index, f.Src, f.Dst, p.Op, p.SIP, p.IsGratuitous())
	}
	fmt.Println("skipped:", r.Skipped())
	// Output:
	// #1 02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff request 10.0.0.10 gratuitous=true
	// skipped: map[]
}

// TestPcapngEndTime: the statistics block's isb_endtime is when the
// capture ended, in the interface's resolution; without one there is no
// end time.
func TestPcapngEndTime(t *testing.T) {
	for _, order := range []byteOrder{leOrder, beOrder} {
		f := newNgFile().section(order).iface(Ethernet, 65535).
			epb(0, 1_700_000_000_000_000, testkit.ARPFrame(arp.Broadcast, macA, testkit.GARPRequest(ipA, macA))).
			isb(0, 1_700_000_010_000_000, 1_700_000_012_500_000)
		r, err := NewReader(bytes.NewReader(f.bytes()), "end.pcapng")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.EndTime(); ok {
			t.Error("an end time before the statistics block was read")
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		if end, ok := r.EndTime(); !ok || end != 1_700_000_012_500_000_000 {
			t.Errorf("EndTime = %d, %v; want 1700000012.5 s", end, ok)
		}
	}
}
