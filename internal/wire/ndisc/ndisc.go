// Package ndisc decodes and encodes ICMPv6 Neighbour Discovery messages
// (RFC 4861 §4: Router Solicitation and Advertisement, Neighbour
// Solicitation and Advertisement, Redirect) together with the IPv6 header
// that carries them, and builds whole Ethernet frames with the ICMPv6
// checksum (RFC 4443 §2.3) right.
//
// IPv6's neighbour table is fed by these five messages the way the ARP table
// is fed by ARP packets (../shared/spec/linux-ndisc.md §1.2, §4). What the
// kernel reads from them is what Message keeps: the IPv6 addresses and hop
// limit (ndisc_rcv drops anything whose hop limit is not 255, §4.1), the
// ICMPv6 code (non-zero is dropped, §4.1), the target, the NA's R/S/O flags
// (§4.2, §4.3), the link-layer address options, and the DAD nonce (§4.5).
// The decoder does not apply those checks itself: a message with hop limit 64
// decodes, and the model says why the kernel ignores it. It rejects only what
// the kernel cannot parse at all: a malformed option list, a link-layer
// option of the wrong size for Ethernet (§4.1: "drops the whole message").
//
// Options the kernel does not consult for the neighbour cache (prefix
// information, MTU, redirected header, route information, and unknown types)
// are stepped over and counted in Message.Unknown, never dropped silently.
//
// Decoding works in place, never allocates, and so can run once per frame
// in the capture reader. Only the standard library and wire/arp, wire/ether
// are imported, as for every wire/* package.
package ndisc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv6"
)

// Type is the ICMPv6 type of a Neighbour Discovery message.
type Type uint8

// The five ND message types (RFC 4861 §4).
const (
	TypeRouterSolicitation    Type = 133
	TypeRouterAdvertisement   Type = 134
	TypeNeighborSolicitation  Type = 135
	TypeNeighborAdvertisement Type = 136
	TypeRedirect              Type = 137
)

// String is the short name tcpdump and the trace use: "RS", "RA", "NS",
// "NA", "redirect".
func (t Type) String() string {
	switch t {
	case TypeRouterSolicitation:
		return "RS"
	case TypeRouterAdvertisement:
		return "RA"
	case TypeNeighborSolicitation:
		return "NS"
	case TypeNeighborAdvertisement:
		return "NA"
	case TypeRedirect:
		return "redirect"
	}
	return fmt.Sprintf("icmpv6-type(%d)", uint8(t))
}

// IsND reports whether t is one of the five ND types.
func (t Type) IsND() bool { return t >= TypeRouterSolicitation && t <= TypeRedirect }

// Option types (RFC 4861 §4.6, RFC 7527 §4 for the nonce).
const (
	OptSourceLL       uint8 = 1
	OptTargetLL       uint8 = 2
	OptPrefixInfo     uint8 = 3
	OptRedirectHeader uint8 = 4
	OptMTU            uint8 = 5
	OptNonce          uint8 = 14
)

// Protocol numbers and sizes.
const (
	// ProtoICMPv6 is the IPv6 next-header value of ICMPv6.
	ProtoICMPv6 uint8 = 58
	// NDHopLimit is the only hop limit ND accepts (RFC 4861 §7.1.1,
	// spec §4.1): a message that crossed a router is not from a neighbour.
	NDHopLimit = 255
	// NALen is the length of an NA or NS without options: type, code,
	// checksum, flags or reserved, target.
	NALen = 24
	// NAFrameLen is an untagged Ethernet frame holding an NA with one
	// link-layer option, the shape every announcement has (spec §10.1).
	NAFrameLen = ether.HeaderLen + ipv6.HeaderLen + NALen + 8
)

// Fixed part of each message type after the 4-byte ICMPv6 header, so that
// options start at 4+fixed.
var fixedLen = [5]int{
	TypeRouterSolicitation - TypeRouterSolicitation:    4,  // reserved
	TypeRouterAdvertisement - TypeRouterSolicitation:   12, // hop limit, flags, lifetime, reachable, retrans
	TypeNeighborSolicitation - TypeRouterSolicitation:  20, // reserved, target
	TypeNeighborAdvertisement - TypeRouterSolicitation: 20, // flags, target
	TypeRedirect - TypeRouterSolicitation:              36, // reserved, target, destination
}

// Well-known addresses.
var (
	// AllNodes is ff02::1, where unsolicited NAs go (spec §10.1).
	AllNodes = netip.AddrFrom16([16]byte{0xff, 0x02, 15: 1})
	// AllRouters is ff02::2, where RSs go.
	AllRouters = netip.AddrFrom16([16]byte{0xff, 0x02, 15: 2})
	// AllNodesMAC is 33:33:00:00:00:01, ff02::1's Ethernet group.
	AllNodesMAC = arp.MAC{0x33, 0x33, 0, 0, 0, 1}
)

// SolicitedNode returns the solicited-node multicast group of a (RFC 4291
// §2.7.1): ff02::1:ff00:0/104 with a's last 24 bits. A multicast NS for a
// goes there (spec §2.3). a must be IPv6.
func SolicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// MulticastMAC returns the Ethernet group an IPv6 multicast address maps
// to (RFC 2464 §7): 33:33 and the address's last 32 bits.
func MulticastMAC(a netip.Addr) arp.MAC {
	b := a.As16()
	return arp.MAC{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// LinkLocal returns the EUI-64 link-local address for mac (RFC 4291
// appendix A): fe80::, the MAC with its universal/local bit flipped and
// ff:fe in the middle. It is what the kernel's addrconf gives an Ethernet
// device by default (addr_gen_mode eui64).
func LinkLocal(mac arp.MAC) netip.Addr {
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: mac[0] ^ 0x02, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe,
		13: mac[3], 14: mac[4], 15: mac[5]})
}

// Message is one decoded ND message with the IPv6 header fields ND reads.
// It is a plain value (no pointers into the packet), so it can be copied and
// compared.
type Message struct {
	// IPv6 header.
	TrafficClass uint8
	FlowLabel    uint32 // 20 bits
	HopLimit     uint8
	Src, Dst     netip.Addr

	Type Type
	Code uint8 // must be 0; ndisc_rcv drops others (spec §4.1)
	// Checksum is the ICMPv6 checksum as it was on the wire, and
	// ChecksumOK whether it was right. A wrong one makes the kernel drop
	// the packet before ND sees it (icmpv6_rcv), but captures of a host's
	// own outgoing frames often carry an unfinished checksum (offload), so
	// the decoder reports it rather than rejecting the message.
	Checksum   uint16
	ChecksumOK bool

	// Target is the NS/NA target and the Redirect's better first hop;
	// Destination is the Redirect's destination. Both are invalid (the
	// zero Addr) for RS and RA.
	Target, Destination netip.Addr

	// NA flags (RFC 4861 §4.4): Router, Solicited, Override.
	Router, Solicited, Override bool

	// RA fields (RFC 4861 §4.2). ReachableTime and RetransTimer are in
	// milliseconds, 0 meaning unspecified; the kernel applies non-zero
	// values to the device's parameters (spec §2.4).
	CurHopLimit    uint8
	Managed, Other bool
	RouterLifetime uint16 // seconds
	ReachableTime  uint32 // ms
	RetransTimer   uint32 // ms

	// Link-layer address options: the source's (NS, RS, RA) and the
	// target's (NA, Redirect). Only the first of each counts, as in the
	// kernel; later copies are counted in Duplicates.
	SourceLL, TargetLL       arp.MAC
	HasSourceLL, HasTargetLL bool
	// Nonce is an NS's RFC 7527 nonce option (enhanced DAD, spec §4.5),
	// 6 bytes as Linux sends it; a longer nonce is kept to its first 6.
	Nonce    [6]byte
	HasNonce bool

	// Unknown counts options stepped over without decoding (prefix
	// information, MTU, redirected header and types ND does not define);
	// Duplicates counts repeated link-layer or nonce options, which the
	// kernel ignores after the first.
	Unknown, Duplicates int
}

// Errors. Callers count messages by reason, so each is an exported
// sentinel; the short-input ones also match io.ErrUnexpectedEOF.
var (
	ErrShortIPv6    = fmt.Errorf("ndisc: shorter than the 40-byte IPv6 header: %w", io.ErrUnexpectedEOF)
	ErrNotIPv6      = errors.New("ndisc: IP version is not 6")
	ErrTruncated    = fmt.Errorf("ndisc: IPv6 payload length is longer than the bytes captured: %w", io.ErrUnexpectedEOF)
	ErrNotICMPv6    = errors.New("ndisc: IPv6 packet does not carry ICMPv6")
	ErrFragment     = errors.New("ndisc: ICMPv6 in an IPv6 fragment (ND messages are never fragmented; RFC 6980)")
	ErrNotND        = errors.New("ndisc: ICMPv6 message is not neighbour discovery (types 133-137)")
	ErrShort        = fmt.Errorf("ndisc: ND message shorter than its fixed part: %w", io.ErrUnexpectedEOF)
	ErrBadOption    = errors.New("ndisc: malformed ND option (zero length, or runs past the message)")
	ErrLLOptionSize = errors.New("ndisc: link-layer address option is not 8 bytes (Ethernet)")
	ErrNotEthernet  = errors.New("ndisc: frame is not IPv6 over Ethernet")
)

// IPv6 extension headers the decoder steps over to reach ICMPv6.
const (
	extHopByHop = 0
	extRouting  = 43
	extFragment = 44
	extDestOpts = 60
)

// Unmarshal decodes an IPv6 packet (the payload of an Ethernet frame with
// type 0x86dd) carrying an ND message into m. Hop-by-hop, routing and
// destination-options headers are stepped over. Bytes after the IPv6
// payload length (Ethernet padding) are ignored. It does not allocate; on
// error m is left partly written and must not be used.
func (m *Message) Unmarshal(b []byte) error {
	if len(b) < ipv6.HeaderLen {
		return ErrShortIPv6
	}
	h, ok := ipv6.Parse(b)
	if !ok {
		return ErrNotIPv6
	}
	m.TrafficClass, m.FlowLabel, m.HopLimit, m.Src, m.Dst = h.TrafficClass, h.FlowLabel, h.HopLimit, h.Src, h.Dst
	plen, next := h.PayloadLen, h.NextHeader
	if len(b)-ipv6.HeaderLen < plen {
		return ErrTruncated
	}
	p := b[ipv6.HeaderLen : ipv6.HeaderLen+plen]
	for next != ProtoICMPv6 {
		switch next {
		case extHopByHop, extRouting, extDestOpts:
			if len(p) < 8 {
				return ErrNotICMPv6
			}
			n := (int(p[1]) + 1) * 8
			if len(p) < n {
				return ErrNotICMPv6
			}
			next, p = p[0], p[n:]
		case extFragment:
			return ErrFragment
		default:
			return ErrNotICMPv6
		}
	}
	return m.unmarshalICMP(p)
}

// unmarshalICMP decodes the ICMPv6 message b (the whole upper-layer
// payload, so the checksum can be checked). m.Src and m.Dst are set.
func (m *Message) unmarshalICMP(b []byte) error {
	if len(b) < 4 {
		return ErrShort
	}
	m.Type = Type(b[0])
	if !m.Type.IsND() {
		return ErrNotND
	}
	m.Code = b[1]
	m.Checksum = binary.BigEndian.Uint16(b[2:4])
	m.ChecksumOK = Checksum(m.Src, m.Dst, b) == 0
	fixed := 4 + fixedLen[m.Type-TypeRouterSolicitation]
	if len(b) < fixed {
		return ErrShort
	}
	m.Target, m.Destination = netip.Addr{}, netip.Addr{}
	m.Router, m.Solicited, m.Override = false, false, false
	m.CurHopLimit, m.Managed, m.Other, m.RouterLifetime, m.ReachableTime, m.RetransTimer = 0, false, false, 0, 0, 0
	switch m.Type {
	case TypeRouterAdvertisement:
		m.CurHopLimit = b[4]
		m.Managed, m.Other = b[5]&0x80 != 0, b[5]&0x40 != 0
		m.RouterLifetime = binary.BigEndian.Uint16(b[6:8])
		m.ReachableTime = binary.BigEndian.Uint32(b[8:12])
		m.RetransTimer = binary.BigEndian.Uint32(b[12:16])
	case TypeNeighborSolicitation:
		m.Target = netip.AddrFrom16([16]byte(b[8:24]))
	case TypeNeighborAdvertisement:
		m.Router, m.Solicited, m.Override = b[4]&0x80 != 0, b[4]&0x40 != 0, b[4]&0x20 != 0
		m.Target = netip.AddrFrom16([16]byte(b[8:24]))
	case TypeRedirect:
		m.Target = netip.AddrFrom16([16]byte(b[8:24]))
		m.Destination = netip.AddrFrom16([16]byte(b[24:40]))
	}
	return m.unmarshalOptions(b[fixed:])
}

// unmarshalOptions walks the TLV options (RFC 4861 §4.6): any option of
// length 0 or running past the end makes the whole message invalid, as in
// the kernel's option parser (spec §4.1).
func (m *Message) unmarshalOptions(b []byte) error {
	m.HasSourceLL, m.HasTargetLL, m.HasNonce = false, false, false
	m.SourceLL, m.TargetLL, m.Nonce = arp.MAC{}, arp.MAC{}, [6]byte{}
	m.Unknown, m.Duplicates = 0, 0
	for len(b) > 0 {
		if len(b) < 2 || b[1] == 0 || int(b[1])*8 > len(b) {
			return ErrBadOption
		}
		n := int(b[1]) * 8
		o := b[:n]
		switch o[0] {
		case OptSourceLL, OptTargetLL:
			if n != 8 {
				return ErrLLOptionSize
			}
			has, mac := &m.HasSourceLL, &m.SourceLL
			if o[0] == OptTargetLL {
				has, mac = &m.HasTargetLL, &m.TargetLL
			}
			if *has {
				m.Duplicates++
			} else {
				*has, *mac = true, arp.MAC(o[2:8])
			}
		case OptNonce:
			if m.HasNonce {
				m.Duplicates++
			} else {
				m.HasNonce, m.Nonce = true, [6]byte(o[2:8])
			}
		default:
			m.Unknown++
		}
		b = b[n:]
	}
	return nil
}

// Checksum computes the ICMPv6 checksum of msg (RFC 4443 §2.3) over the
// IPv6 pseudo-header (RFC 8200 §8.1) for src and dst. Over a message with
// its checksum field filled in it returns 0 when that checksum is right;
// over one with the field zeroed it returns the value to put there.
func Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	s, d := src.As16(), dst.As16()
	for i := 0; i < 16; i += 2 {
		sum += uint32(s[i])<<8 | uint32(s[i+1])
		sum += uint32(d[i])<<8 | uint32(d[i+1])
	}
	n := uint32(len(msg))
	sum += n>>16 + n&0xffff
	sum += uint32(ProtoICMPv6)
	for len(msg) >= 2 {
		sum += uint32(msg[0])<<8 | uint32(msg[1])
		msg = msg[2:]
	}
	if len(msg) == 1 {
		sum += uint32(msg[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// ICMPLen is the length of m's ICMPv6 message as Append encodes it.
func (m *Message) ICMPLen() int {
	n := 4
	if m.Type.IsND() {
		n += fixedLen[m.Type-TypeRouterSolicitation]
	}
	if m.HasSourceLL {
		n += 8
	}
	if m.HasTargetLL {
		n += 8
	}
	if m.HasNonce {
		n += 8
	}
	return n
}

// Append appends the IPv6 packet for m to b: the IPv6 header (payload
// length and next header filled in), then the ND message with its options
// in a fixed order (source LL, target LL, nonce) and the checksum computed.
// Unknown, Duplicates, Checksum and ChecksumOK are not encoded. Type must
// be an ND type and the addresses IPv6; anything else is a programming
// error and panics.
func (m *Message) Append(b []byte) []byte {
	if !m.Type.IsND() {
		panic(fmt.Sprintf("ndisc: Append of ICMPv6 type %d, which is not ND", uint8(m.Type)))
	}
	if !m.Src.Is6() || !m.Dst.Is6() {
		panic(fmt.Sprintf("ndisc: Append with source %v, destination %v: want IPv6 addresses", m.Src, m.Dst))
	}
	n := m.ICMPLen()
	b = binary.BigEndian.AppendUint32(b, 6<<28|uint32(m.TrafficClass)<<20|m.FlowLabel&0xfffff)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, ProtoICMPv6, m.HopLimit)
	s, d := m.Src.As16(), m.Dst.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	start := len(b)
	b = append(b, uint8(m.Type), m.Code, 0, 0)
	switch m.Type {
	case TypeRouterSolicitation:
		b = append(b, 0, 0, 0, 0)
	case TypeRouterAdvertisement:
		var f uint8
		if m.Managed {
			f |= 0x80
		}
		if m.Other {
			f |= 0x40
		}
		b = append(b, m.CurHopLimit, f)
		b = binary.BigEndian.AppendUint16(b, m.RouterLifetime)
		b = binary.BigEndian.AppendUint32(b, m.ReachableTime)
		b = binary.BigEndian.AppendUint32(b, m.RetransTimer)
	case TypeNeighborSolicitation, TypeNeighborAdvertisement:
		var f uint8
		if m.Type == TypeNeighborAdvertisement {
			if m.Router {
				f |= 0x80
			}
			if m.Solicited {
				f |= 0x40
			}
			if m.Override {
				f |= 0x20
			}
		}
		b = append(b, f, 0, 0, 0)
		b = appendAddr(b, m.Target)
	case TypeRedirect:
		b = append(b, 0, 0, 0, 0)
		b = appendAddr(b, m.Target)
		b = appendAddr(b, m.Destination)
	}
	if m.HasSourceLL {
		b = append(b, OptSourceLL, 1)
		b = append(b, m.SourceLL[:]...)
	}
	if m.HasTargetLL {
		b = append(b, OptTargetLL, 1)
		b = append(b, m.TargetLL[:]...)
	}
	if m.HasNonce {
		b = append(b, OptNonce, 1)
		b = append(b, m.Nonce[:]...)
	}
	binary.BigEndian.PutUint16(b[start+2:start+4], Checksum(m.Src, m.Dst, b[start:]))
	return b
}

// appendAddr appends a 16-byte address; the zero Addr encodes as ::.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, make([]byte, 16)...)
	}
	x := a.As16()
	return append(b, x[:]...)
}

// AppendFrame appends a whole Ethernet frame carrying m to b: h with its
// EtherType set to IPv6 (h's VLAN tags, if any, are kept), then m's IPv6
// packet. No padding is added: an ND frame is always longer than Ethernet's
// 60-byte minimum.
func AppendFrame(b []byte, h ether.Header, m *Message) []byte {
	h.EtherType = ether.EtherTypeIPv6
	b = h.Append(b)
	return m.Append(b)
}

// UnmarshalFrame decodes an Ethernet frame (VLAN tags included) carrying an
// ND message, filling h and m. It is ErrNotEthernet when the type after the
// tags is not IPv6.
func UnmarshalFrame(b []byte, h *ether.Header, m *Message) error {
	off, err := h.Unmarshal(b)
	if err != nil {
		return err
	}
	if h.EtherType != ether.EtherTypeIPv6 {
		return ErrNotEthernet
	}
	return m.Unmarshal(b[off:])
}

// IsND is a cheap test for the capture reader's hot path: does the IPv6
// packet b carry ICMPv6 ND directly after its header (the only shape Linux
// sends)? A packet with extension headers answers false here but may still
// decode with Unmarshal.
func IsND(b []byte) bool {
	return len(b) > ipv6.HeaderLen && b[0]>>4 == 6 && b[6] == ProtoICMPv6 && Type(b[ipv6.HeaderLen]).IsND()
}

// String describes m on one line, the way the dry-run and the tests print
// it, e.g. "NA 2001:db8::10 > ff02::1 hlim 255 target 2001:db8::10 [O]
// tll 02:00:00:00:00:0a".
func (m *Message) String() string {
	b := fmt.Appendf(nil, "%v %v > %v hlim %d", m.Type, m.Src, m.Dst, m.HopLimit)
	if m.Code != 0 {
		b = fmt.Appendf(b, " code %d", m.Code)
	}
	if m.Target.IsValid() {
		b = fmt.Appendf(b, " target %v", m.Target)
	}
	if m.Destination.IsValid() {
		b = fmt.Appendf(b, " dst %v", m.Destination)
	}
	if m.Type == TypeNeighborAdvertisement {
		b = append(b, " ["...)
		for _, f := range [...]struct {
			on bool
			c  byte
		}{{m.Router, 'R'}, {m.Solicited, 'S'}, {m.Override, 'O'}} {
			if f.on {
				b = append(b, f.c)
			}
		}
		b = append(b, ']')
	}
	if m.Type == TypeRouterAdvertisement {
		b = fmt.Appendf(b, " cur-hlim %d lifetime %ds reachable %dms retrans %dms", m.CurHopLimit, m.RouterLifetime, m.ReachableTime, m.RetransTimer)
		if m.Managed {
			b = append(b, " M"...)
		}
		if m.Other {
			b = append(b, " O"...)
		}
	}
	if m.HasSourceLL {
		b = fmt.Appendf(b, " sll %v", m.SourceLL)
	}
	if m.HasTargetLL {
		b = fmt.Appendf(b, " tll %v", m.TargetLL)
	}
	if m.HasNonce {
		b = fmt.Appendf(b, " nonce %x", m.Nonce[:])
	}
	if m.Unknown > 0 {
		b = fmt.Appendf(b, " +%d other options", m.Unknown)
	}
	if m.Duplicates > 0 {
		b = fmt.Appendf(b, " +%d duplicate options ignored", m.Duplicates)
	}
	if !m.ChecksumOK && m.Checksum != 0 {
		b = fmt.Appendf(b, " bad checksum 0x%04x", m.Checksum)
	}
	return string(b)
}
