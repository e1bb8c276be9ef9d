package ether

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"arplab/internal/wire/arp"

	"github.com/google/go-cmp/cmp"
)

var (
	macA = arp.MAC{0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f}
	macB = arp.MAC{0x00, 0x80, 0xea, 0x81, 0x88, 0x63}
)

// merge joins field groups so that test bytes can be written one field per
// line with a comment, as ndp's tests do.
func merge(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		want    Header
		wantOff int
		wantErr error
	}{
		{
			name: "UntaggedARP",
			b: merge(
				arp.Broadcast[:],   // dst
				macA[:],            // src
				[]byte{0x08, 0x06}, // ARP
				[]byte{0x00, 0x01}, // first payload bytes, not examined
			),
			want:    Header{Dst: arp.Broadcast, Src: macA, EtherType: EtherTypeARP},
			wantOff: 14,
		},
		{
			// Frame 1 of tcpdump's 802.1ad_QinQ.pcap: S-tag 200, C-tag 2001.
			name: "QinQ",
			b: merge(
				arp.Broadcast[:],
				macA[:],
				[]byte{0x88, 0xa8, 0x00, 0xc8}, // S-tag, VID 200
				[]byte{0x81, 0x00, 0x07, 0xd1}, // C-tag, VID 2001
				[]byte{0x08, 0x06},             // ARP
			),
			want: Header{Dst: arp.Broadcast, Src: macA, VLANs: 2,
				Tags: [MaxTags]Tag{
					{TPID: EtherTypeQinQ, ID: 200},
					{TPID: EtherTypeVLAN, ID: 2001},
				},
				EtherType: EtherTypeARP},
			wantOff: 22,
		},
		{
			name: "PriorityAndDEI",
			b: merge(
				macB[:],
				macA[:],
				[]byte{0x81, 0x00, 0xb0, 0x0a}, // PCP 5, DEI 1, VID 10
				[]byte{0x08, 0x00},             // IPv4
			),
			want: Header{Dst: macB, Src: macA, VLANs: 1,
				Tags:      [MaxTags]Tag{{TPID: EtherTypeVLAN, Priority: 5, DropEligible: true, ID: 10}},
				EtherType: EtherTypeIPv4},
			wantOff: 18,
		},
		{
			name: "PreStandardQinQ",
			b: merge(
				macB[:], macA[:],
				[]byte{0x91, 0x00, 0x00, 0x05}, // 0x9100 S-tag, VID 5
				[]byte{0x08, 0x06},
			),
			want: Header{Dst: macB, Src: macA, VLANs: 1,
				Tags:      [MaxTags]Tag{{TPID: EtherTypeQinQ9100, ID: 5}},
				EtherType: EtherTypeARP},
			wantOff: 18,
		},
		{
			// 802.3 length field: reported as is, the caller sees "not ARP".
			name:    "Length8023",
			b:       merge(macB[:], macA[:], []byte{0x00, 0x2e}),
			want:    Header{Dst: macB, Src: macA, EtherType: 0x002e},
			wantOff: 14,
		},
		{
			name:    "Short",
			b:       merge(macB[:], macA[:], []byte{0x08}),
			wantErr: ErrShort,
		},
		{
			name:    "Empty",
			wantErr: ErrShort,
		},
		{
			name:    "CutInsideTag",
			b:       merge(macB[:], macA[:], []byte{0x81, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00}),
			wantErr: ErrShortTag,
		},
		{
			name:    "TagWithNothingAfterTPID",
			b:       merge(macB[:], macA[:], []byte{0x88, 0xa8}),
			wantErr: ErrShortTag,
		},
		{
			name: "TooManyTags",
			b: merge(macB[:], macA[:],
				bytes.Repeat([]byte{0x81, 0x00, 0x00, 0x01}, MaxTags+1),
				[]byte{0x08, 0x06}),
			wantErr: ErrTooManyTags,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Header
			off, err := h.Unmarshal(tt.b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Unmarshal error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if off != tt.wantOff {
				t.Errorf("Unmarshal offset = %d, want %d", off, tt.wantOff)
			}
			if off != h.Len() {
				t.Errorf("Len() = %d, want the payload offset %d", h.Len(), off)
			}
			if diff := cmp.Diff(tt.want, h); diff != "" {
				t.Errorf("Unmarshal header (-want +got):\n%s", diff)
			}
			// The encoding of a decoded header is the bytes it came from.
			if got := h.Append(nil); !bytes.Equal(got, tt.b[:off]) {
				t.Errorf("Append = % x, want % x", got, tt.b[:off])
			}
		})
	}
}

func TestShortErrorsAreUnexpectedEOF(t *testing.T) {
	for _, err := range []error{ErrShort, ErrShortTag} {
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false, want true", err)
		}
	}
}

func TestOuterVLAN(t *testing.T) {
	tests := []struct {
		name   string
		h      Header
		wantID uint16
		wantOK bool
	}{
		{name: "Untagged", h: Header{}},
		{name: "QinQ", h: Header{VLANs: 2, Tags: [MaxTags]Tag{{ID: 200}, {ID: 2001}}}, wantID: 200, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := tt.h.OuterVLAN()
			if id != tt.wantID || ok != tt.wantOK {
				t.Errorf("OuterVLAN() = %d, %v, want %d, %v", id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestAppendMasksWideFields(t *testing.T) {
	h := Header{VLANs: 1, Tags: [MaxTags]Tag{{TPID: EtherTypeVLAN, Priority: 0xff, ID: 0xffff}}, EtherType: EtherTypeARP}
	b := h.Append(nil)
	if got, want := b[12:16], []byte{0x81, 0x00, 0xef, 0xff}; !bytes.Equal(got, want) {
		t.Errorf("tag bytes = % x, want % x (PCP 7, DEI 0, VID 4095)", got, want)
	}
}

func TestAppendPanicsOnBadVLANCount(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Append with VLANs = %d did not panic", MaxTags+1)
		}
	}()
	Header{VLANs: MaxTags + 1}.Append(nil)
}

func TestUnmarshalDoesNotAllocate(t *testing.T) {
	b := merge(arp.Broadcast[:], macA[:], []byte{0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x07, 0xd1, 0x08, 0x06})
	var h Header
	allocs := testing.AllocsPerRun(100, func() { _, _ = h.Unmarshal(b) })
	if allocs != 0 {
		t.Errorf("Unmarshal allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	frames := []struct {
		name string
		b    []byte
	}{
		{"Untagged", merge(arp.Broadcast[:], macA[:], []byte{0x08, 0x06})},
		{"QinQ", merge(arp.Broadcast[:], macA[:], []byte{0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x07, 0xd1, 0x08, 0x06})},
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			var h Header
			for b.Loop() {
				if _, err := h.Unmarshal(f.b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	h := Header{Dst: arp.Broadcast, Src: macA, VLANs: 1, Tags: [MaxTags]Tag{{TPID: EtherTypeVLAN, ID: 10}}, EtherType: EtherTypeARP}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}

// TestClassify: eth_type_trans's packet type from the destination MAC, for
// a device whose address is macA.
func TestClassify(t *testing.T) {
	tests := []struct {
		dst  arp.MAC
		want PktType
	}{
		{arp.Broadcast, PktBroadcast},
		{arp.MAC{0x01, 0x00, 0x5e, 0, 0, 1}, PktMulticast},
		{arp.MAC{0x33, 0x33, 0, 0, 0, 1}, PktMulticast},
		{macA, PktHost},
		{macB, PktOtherHost},
	}
	for _, tt := range tests {
		if got := Classify(tt.dst, macA); got != tt.want {
			t.Errorf("Classify(%v, %v) = %v, want %v", tt.dst, macA, got, tt.want)
		}
	}
}

// TestPktTypeString: the PACKET_* values by the names tcpdump and the
// trace use.
func TestPktTypeString(t *testing.T) {
	var got []string
	for p := PktHost; p <= PktLoopback+1; p++ {
		got = append(got, p.String())
	}
	want := []string{"host", "broadcast", "multicast", "otherhost", "outgoing", "loopback", "pkttype(6)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String() (-want +got):\n%s", diff)
	}
}
