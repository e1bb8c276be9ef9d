package capture

import (
	"encoding/binary"
	"errors"
	"fmt"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// pktTypeFromLinux reads a PACKET_* number from an SLL header (or a
// Kuznetzov record): the skb packet type, ether.PktType, which arp_rcv
// drops OtherHost and Loopback frames by and the state arp_process picks
// for a new entry depends on (Host versus Broadcast, spec §4.1, §4.4).
// PACKET_USER and PACKET_KERNEL (6, 7) only occur on netlink captures and
// say nothing: ok is false for them and anything else.
func pktTypeFromLinux(v uint16) (ether.PktType, bool) {
	if v <= uint16(ether.PktLoopback) {
		return ether.PktType(v), true
	}
	return 0, false
}

// Frame is one capture record normalised to what the ARP receive path looks
// at. The Reader reuses a single Frame, so it (and Payload in particular) is
// valid only until the next call to Next; copy what you keep.
type Frame struct {
	// Index is the 1-based number of the record in the file, counting
	// records that were skipped, so it matches tcpdump's `-#` numbering.
	Index int
	// Time is the capture timestamp in nanoseconds since the Unix epoch, on
	// the capturing host's clock. pcapng simple packet blocks carry no
	// timestamp and report 0.
	Time int64
	// PktType is the skb packet type the capture recorded, set when
	// HasPktType: from the SLL/SLL2 packet type, a pcapng epb_flags option,
	// or a Kuznetzov-patched pcap record. Plain Ethernet records carry
	// none (HasPktType false, the zero value on purpose, so that a caller
	// never silently gets "host"), and the caller decides from Dst
	// (ether.Classify, as eth_type_trans does).
	PktType    ether.PktType
	HasPktType bool
	// HasEth says Dst and Src are set: the link type has Ethernet addresses.
	HasEth bool
	// HasSrc says Src is set. It is true with HasEth, and for SLL/SLL2
	// records whose link-layer address is 6 bytes long (SLL records only
	// the source address, never the destination).
	HasSrc   bool
	Dst, Src arp.MAC
	// HardwareType is the ARPHRD_* type of the capturing device from an
	// SLL/SLL2 header, or 1 (ARPHRD_ETHER) for Ethernet records. arp_process
	// checks the ARP hardware type against it (spec §4.2).
	HardwareType uint16
	// Interface is the pcapng interface ID of the record (0 for pcap).
	Interface int
	// IfIndex is the Linux interface index from an SLL2 header (0 when the
	// link type has none): with `tcpdump -i any` it tells devices apart.
	IfIndex int
	// VLANs is the number of 802.1Q/802.1ad tags stepped over, and
	// OuterVLAN the VLAN ID of the outermost one (0 when VLANs is 0).
	VLANs     int
	OuterVLAN uint16
	// EtherType is the protocol after the link header and any tags:
	// ether.EtherTypeARP for ARP.
	EtherType uint16
	// Payload is the bytes after the link header and tags: the ARP packet
	// itself when EtherType is ARP. It aliases the Reader's buffer.
	Payload []byte
	// CapLen is the number of bytes captured and OrigLen the length of the
	// frame on the wire; CapLen < OrigLen means the snap length cut it.
	CapLen, OrigLen int
}

// LinkType is a pcap LINKTYPE_* number. Only the three types arplab can
// decode have constants; Reader reports any other by number and name.
type LinkType uint32

// Link types arplab decodes.
const (
	// Ethernet is LINKTYPE_ETHERNET (DLT_EN10MB), what `tcpdump -i eth0`
	// writes.
	Ethernet LinkType = 1
	// LinuxSLL is LINKTYPE_LINUX_SLL, what `tcpdump -i any` writes on older
	// libpcap; it keeps the kernel's packet type.
	LinuxSLL LinkType = 113
	// LinuxSLL2 is LINKTYPE_LINUX_SLL2, what `tcpdump -i any` writes since
	// libpcap 1.10; it adds the interface index.
	LinuxSLL2 LinkType = 276
)

// linkTypeNames are the names tcpdump prints after "link-type" for the link
// types in tcpdump's own test captures, so that messages match what a user
// sees from `tcpdump -r`.
var linkTypeNames = map[LinkType]string{
	0: "NULL", 1: "EN10MB", 8: "SLIP", 9: "PPP", 10: "FDDI", 50: "PPP_SERIAL",
	100: "ATM_RFC1483", 101: "RAW", 104: "C_HDLC", 105: "IEEE802_11",
	106: "ATM_CLIP", 107: "FRELAY", 108: "LOOP", 113: "LINUX_SLL", 123: "SUNATM",
	127: "IEEE802_11_RADIO", 129: "ARCNET_LINUX", 132: "JUNIPER_ES",
	137: "JUNIPER_ATM1", 164: "JUNIPER_MONITOR", 178: "JUNIPER_ETHER", 182: "MFR",
	195: "IEEE802_15_4", 226: "IPNET", 228: "IPV4", 229: "IPV6", 231: "DBUS",
	239: "NFLOG", 242: "IPOIB", 258: "PKTAP", 271: "VSOCK", 276: "LINUX_SLL2",
	281: "DSA_TAG_BRCM", 282: "DSA_TAG_BRCM_PREPEND", 284: "DSA_TAG_DSA",
	285: "DSA_TAG_EDSA",
}

// String returns tcpdump's name for the link type, or DLT_n when tcpdump
// has none (the shared capture index uses the same fallback).
func (t LinkType) String() string {
	if s, ok := linkTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("DLT_%d", uint32(t))
}

func (t LinkType) supported() bool {
	return t == Ethernet || t == LinuxSLL || t == LinuxSLL2
}

// Skip reasons, the keys of Reader.Skipped. Reasons for unsupported link
// types are built per type ("unsupported link type 147 (DLT_147)").
const (
	// SkipSnaplenCut: the snap length cut the record inside the link
	// header or a VLAN tag, so there is no EtherType to dispatch on.
	SkipSnaplenCut = "snaplen-cut"
	// SkipShortLinkHeader: the frame itself (not the capture) is shorter
	// than its link header, a crafted or damaged frame.
	SkipShortLinkHeader = "short link header"
	// SkipTooManyTags: more stacked VLAN tags than ether.MaxTags.
	SkipTooManyTags = "too many VLAN tags"
	// SkipTruncatedRecord: the file ends inside the last record, as when
	// tcpdump was killed mid-write; tcpdump warns and stops there too.
	SkipTruncatedRecord = "truncated record"
)

// SLL and SLL2 header sizes (pcap-linktype(7): LINKTYPE_LINUX_SLL/SLL2).
const (
	sllLen  = 16
	sll2Len = 20
)

// decodeLink fills f's link-layer fields from data, the captured bytes of one
// record of link type lt. It returns a skip reason, or "" when f is usable.
// CapLen, OrigLen, Index, Time and Interface are set by the caller first;
// tags is scratch space for the VLAN tag walk. This is the per-frame hot
// path: it decodes the Ethernet header in place rather than through
// ether.Header, whose tag array would be copied for every frame.
func decodeLink(f *Frame, tags *[ether.MaxTags]ether.Tag, lt LinkType, data []byte) string {
	var (
		proto uint16
		off   int
	)
	f.PktType, f.HasPktType = 0, false
	switch lt {
	case Ethernet:
		if len(data) < ether.HeaderLen {
			return shortReason(f)
		}
		f.HasEth, f.HasSrc = true, true
		f.Dst, f.Src = arp.MAC(data[0:6]), arp.MAC(data[6:12])
		f.HardwareType = 1 // ARPHRD_ETHER
		f.IfIndex = 0
		proto, off = binary.BigEndian.Uint16(data[12:14]), ether.HeaderLen
	case LinuxSLL, LinuxSLL2:
		var addr []byte
		if lt == LinuxSLL {
			// pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
			if len(data) < sllLen {
				return shortReason(f)
			}
			f.PktType, f.HasPktType = pktTypeFromLinux(binary.BigEndian.Uint16(data[0:2]))
			f.HardwareType = binary.BigEndian.Uint16(data[2:4])
			addr = data[6:14][:min(int(binary.BigEndian.Uint16(data[4:6])), 8)]
			f.IfIndex = 0
			proto, off = binary.BigEndian.Uint16(data[14:16]), sllLen
		} else {
			// protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
			if len(data) < sll2Len {
				return shortReason(f)
			}
			f.IfIndex = int(binary.BigEndian.Uint32(data[4:8]))
			f.HardwareType = binary.BigEndian.Uint16(data[8:10])
			f.PktType, f.HasPktType = pktTypeFromLinux(uint16(data[10]))
			addr = data[12:20][:min(int(data[11]), 8)]
			proto, off = binary.BigEndian.Uint16(data[0:2]), sll2Len
		}
		f.HasEth, f.Dst = false, arp.MAC{}
		f.HasSrc, f.Src = len(addr) == 6, arp.MAC{}
		if f.HasSrc {
			f.Src = arp.MAC(addr)
		}
	default:
		return unsupportedReason(lt)
	}
	f.VLANs, f.OuterVLAN, f.EtherType = 0, 0, proto
	// SLL records can carry tags too: the kernel usually strips them before
	// a packet socket sees the frame, but not without hardware offload.
	if ether.IsTagType(proto) {
		n, et, o, err := ether.UnmarshalTags(data[off:], proto, tags[:])
		switch {
		case errors.Is(err, ether.ErrTooManyTags):
			return SkipTooManyTags
		case err != nil: // ErrShortTag
			return shortReason(f)
		}
		f.VLANs, f.OuterVLAN, f.EtherType = n, tags[0].ID, et
		off += o
	}
	f.Payload = data[off:]
	return ""
}

// shortReason tells a capture cut by the snap length apart from a frame that
// really was that short.
func shortReason(f *Frame) string {
	if f.CapLen < f.OrigLen {
		return SkipSnaplenCut
	}
	return SkipShortLinkHeader
}

func unsupportedReason(lt LinkType) string {
	return fmt.Sprintf("unsupported link type %d (%s)", uint32(lt), lt)
}

// IsND reports whether the frame carries an ICMPv6 neighbour discovery
// message directly after its IPv6 header, the shape every ND sender uses:
// a cheap test before ND, as EtherType is before decoding ARP.
func (f *Frame) IsND() bool {
	return f.EtherType == ether.EtherTypeIPv6 && ndisc.IsND(f.Payload)
}

// ND decodes the frame's neighbour discovery message into m, the IPv6
// counterpart of decoding Payload as ARP: Ethernet, SLL and SLL2 records
// and VLAN-tagged ones alike, since Payload is what follows the link
// header and the tags. A frame that is not IPv6 is ndisc.ErrNotICMPv6; an
// IPv6 packet that is not ND gets ndisc's reason (ndisc.ErrNotND, …).
// It does not allocate.
func (f *Frame) ND(m *ndisc.Message) error {
	if f.EtherType != ether.EtherTypeIPv6 {
		return ndisc.ErrNotICMPv6
	}
	return m.Unmarshal(f.Payload)
}
