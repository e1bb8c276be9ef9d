// Package ether decodes and encodes Ethernet II headers (IEEE 802.3 §3.2.6,
// "Length/Type" used as a type) together with any stack of IEEE 802.1Q
// customer tags and IEEE 802.1ad service tags ("QinQ").
//
// arplab only cares about one question per frame: is this an ARP packet, and
// who sent it to whom? The kernel answers it in eth_type_trans (which sets
// skb->pkt_type from the destination address) and, for tagged frames, in the
// VLAN receive path that strips each tag before arp_rcv sees the packet
// (spec §4.1). Header therefore keeps exactly what those two steps look at:
// the addresses, the tags, and the EtherType that is left after the last tag.
//
// Decoding never allocates, so the capture reader can call it once per frame
// on its hot path. Only the standard library and wire/arp (for MAC) are
// imported, as design.md requires of wire/*.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package ether

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"arplab/internal/wire/arp"
)

// EtherType values that arplab decodes or steps over. Values below
// MinEtherType are 802.3 length fields, not types, and are reported as they
// are.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeIPv6 uint16 = 0x86dd // RFC 2464 §3
	// EtherTypeVLAN is the 802.1Q customer tag (C-tag) TPID.
	EtherTypeVLAN uint16 = 0x8100
	// EtherTypeQinQ is the 802.1ad service tag (S-tag) TPID.
	EtherTypeQinQ uint16 = 0x88a8
	// EtherTypeQinQ9100 and EtherTypeQinQ9200 are pre-standard S-tag TPIDs
	// still emitted by some switches. tcpdump steps over them as "QinQ", and
	// so does the shared capture index (captures/capinfo.py), so we do too.
	// Linux itself only de-tags 0x8100 and 0x88a8: the TPID stays in Tag so a
	// caller that models the kernel strictly can tell them apart.
	EtherTypeQinQ9100 uint16 = 0x9100
	EtherTypeQinQ9200 uint16 = 0x9200
)

// MinEtherType is the smallest value that is a type rather than an 802.3
// length (IEEE 802.3 §3.2.6: 1536 and up).
const MinEtherType uint16 = 0x0600

// Sizes on the wire.
const (
	// HeaderLen is the untagged Ethernet II header: dst, src, type.
	HeaderLen = 14
	// TagLen is one VLAN tag: TPID and TCI. The TPID sits where the
	// EtherType would be, so each tag adds four bytes.
	TagLen = 4
	// MaxTags is how many stacked tags a Header can hold. Real networks
	// stack one (802.1Q) or two (802.1ad); the bound keeps Header a
	// fixed-size value that Append reproduces exactly, and a frame with more
	// tags than this is crafted rather than captured.
	MaxTags = 8
)

// Errors returned by Unmarshal and UnmarshalTags. Callers count frames by
// reason (the capture reader turns them into skip reasons), so each is an
// exported sentinel. The two short-input errors also match
// io.ErrUnexpectedEOF under errors.Is, the convention for truncated input.
var (
	ErrShort       = fmt.Errorf("ether: frame shorter than the %d-byte Ethernet header: %w", HeaderLen, io.ErrUnexpectedEOF)
	ErrShortTag    = fmt.Errorf("ether: frame ends inside a VLAN tag: %w", io.ErrUnexpectedEOF)
	ErrTooManyTags = errors.New("ether: more than 8 stacked VLAN tags")
)

// Tag is one decoded 802.1Q/802.1ad tag. The TCI is split into its three
// fields so that tests and scenario files can say "vlan 200, priority 5"
// instead of a packed hex number.
type Tag struct {
	TPID         uint16 // EtherTypeVLAN, EtherTypeQinQ, or a pre-standard QinQ TPID
	Priority     uint8  // PCP, 3 bits
	DropEligible bool   // DEI (formerly CFI), 1 bit
	ID           uint16 // VID, 12 bits; 0 means "priority tag, no VLAN"
}

// tci packs the tag control information. Out-of-range bits are masked off
// rather than allowed to spill into neighbouring fields.
func (t Tag) tci() uint16 {
	v := uint16(t.Priority&7)<<13 | t.ID&0x0fff
	if t.DropEligible {
		v |= 1 << 12
	}
	return v
}

// IsTagType reports whether t is a TPID that UnmarshalTags steps over.
func IsTagType(t uint16) bool {
	switch t {
	case EtherTypeVLAN, EtherTypeQinQ, EtherTypeQinQ9100, EtherTypeQinQ9200:
		return true
	}
	return false
}

// Header is a decoded Ethernet II header, tags included. It is a plain value:
// it does not point into the frame it was decoded from.
type Header struct {
	Dst, Src arp.MAC
	// VLANs is the number of tags in Tags, outermost first.
	VLANs int
	Tags  [MaxTags]Tag
	// EtherType is the type after the last tag: what the kernel dispatches
	// on once every tag has been stripped.
	EtherType uint16
}

// Len is the encoded length of h: 14 bytes plus 4 per tag. It is also the
// offset of the payload in the frame h was decoded from.
func (h Header) Len() int { return HeaderLen + TagLen*h.VLANs }

// OuterVLAN returns the VLAN ID of the outermost tag, the one a switch port
// or a Linux VLAN device matches first; ok is false for an untagged frame.
func (h Header) OuterVLAN() (id uint16, ok bool) {
	if h.VLANs == 0 {
		return 0, false
	}
	return h.Tags[0].ID, true
}

// Unmarshal decodes the Ethernet header and every stacked tag at the start of
// b into h and returns the offset of the payload. It does not allocate. On
// error h is left partly written and must not be used.
//
// Trailing bytes (payload, padding, an FCS if the capture kept one) are not
// examined: the payload's own decoder decides what it needs.
func (h *Header) Unmarshal(b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, ErrShort
	}
	h.Dst = arp.MAC(b[0:6])
	h.Src = arp.MAC(b[6:12])
	n, et, off, err := UnmarshalTags(b[HeaderLen:], binary.BigEndian.Uint16(b[12:14]), h.Tags[:])
	h.VLANs = n
	h.EtherType = et
	return HeaderLen + off, err
}

// UnmarshalTags steps over the VLAN tags at the start of b, given the type
// field that precedes b (an Ethernet type, or the protocol field of a Linux
// SLL header, which carries the same values). It records the tags in tags,
// outermost first, and returns how many there were, the EtherType after the
// last one, and the offset in b where the payload starts. A stack deeper than
// len(tags) is ErrTooManyTags. It exists separately from Header.Unmarshal so
// that link types without an Ethernet header can share the tag walk.
func UnmarshalTags(b []byte, etherType uint16, tags []Tag) (n int, inner uint16, off int, err error) {
	for IsTagType(etherType) {
		if n == len(tags) {
			return n, etherType, off, ErrTooManyTags
		}
		if len(b)-off < TagLen {
			return n, etherType, off, ErrShortTag
		}
		tci := binary.BigEndian.Uint16(b[off : off+2])
		tags[n] = Tag{
			TPID:         etherType,
			Priority:     uint8(tci >> 13),
			DropEligible: tci&(1<<12) != 0,
			ID:           tci & 0x0fff,
		}
		etherType = binary.BigEndian.Uint16(b[off+2 : off+4])
		off += TagLen
		n++
	}
	return n, etherType, off, nil
}

// Append appends the encoding of h to b: addresses, tags outermost first,
// then EtherType. Tag fields wider than the wire allows are masked.
// A VLANs count outside 0..MaxTags is a programming error and panics.
func (h Header) Append(b []byte) []byte {
	if h.VLANs < 0 || h.VLANs > MaxTags {
		panic(fmt.Sprintf("ether: Header.VLANs = %d, want 0..%d", h.VLANs, MaxTags))
	}
	b = append(b, h.Dst[:]...)
	b = append(b, h.Src[:]...)
	for _, t := range h.Tags[:h.VLANs] {
		b = binary.BigEndian.AppendUint16(b, t.TPID)
		b = binary.BigEndian.AppendUint16(b, t.tci())
	}
	return binary.BigEndian.AppendUint16(b, h.EtherType)
}

// PktType is how a received frame reached the host, skb->pkt_type, with
// the values of the kernel's PACKET_* constants (include/uapi/linux/
// if_packet.h), which AF_PACKET and Linux cooked captures report as they
// are. It matters to ARP: arp_rcv drops OtherHost frames, and a reply that
// is not Host leaves an entry STALE rather than REACHABLE (spec §4.4).
type PktType uint8

// Packet types.
const (
	PktHost      PktType = 0 // unicast to our MAC
	PktBroadcast PktType = 1 // link-layer broadcast
	PktMulticast PktType = 2 // link-layer multicast
	PktOtherHost PktType = 3 // unicast to another MAC, seen because the segment floods
	PktOutgoing  PktType = 4 // sent by this host
	PktLoopback  PktType = 5 // a broadcast or multicast frame looped back to its sender
)

func (p PktType) String() string {
	switch p {
	case PktHost:
		return "host"
	case PktBroadcast:
		return "broadcast"
	case PktMulticast:
		return "multicast"
	case PktOtherHost:
		return "otherhost"
	case PktOutgoing:
		return "outgoing"
	case PktLoopback:
		return "loopback"
	}
	return fmt.Sprintf("pkttype(%d)", uint8(p))
}

// Classify is eth_type_trans's pkt_type for a frame to dst received on a
// device whose address is local: the one place arplab decides it from a
// destination MAC.
func Classify(dst, local arp.MAC) PktType {
	switch {
	case dst.IsBroadcast():
		return PktBroadcast
	case dst.IsMulticast():
		return PktMulticast
	case dst == local:
		return PktHost
	}
	return PktOtherHost
}
