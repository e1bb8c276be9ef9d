// Package arp encodes and decodes ARP packets for IPv4 over Ethernet, as
// described in RFC 826, with gratuitous ARP as defined by RFC 2002 and
// RFC 5227 §3.
//
// Only the Ethernet/IPv4 shape (hardware length 6, protocol length 4) is
// decoded into a Packet; other shapes are reported as errors so that a
// caller can count them, the way the kernel drops them in arp_rcv (spec §4.1).
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package arp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Op is the ARP opcode.
type Op uint16

// Opcodes (RFC 826).
const (
	OpRequest Op = 1
	OpReply   Op = 2
)

func (o Op) String() string {
	switch o {
	case OpRequest:
		return "request"
	case OpReply:
		return "reply"
	}
	return fmt.Sprintf("op(%d)", uint16(o))
}

// Hardware and protocol types accepted on Ethernet-like devices (spec §4.2).
const (
	HardwareEthernet uint16 = 1
	HardwareIEEE802  uint16 = 6
	ProtocolIPv4     uint16 = 0x0800
)

// Len is the length of an Ethernet/IPv4 ARP packet.
const Len = 28

// MAC is an Ethernet address as a comparable value.
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Zero is 00:00:00:00:00:00.
var Zero MAC

// String prints the address the way `ip neigh` does.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, x := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return string(b)
}

// IsBroadcast reports m == ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == Broadcast }

// IsMulticast reports whether the group bit is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// ParseMAC parses "aa:bb:cc:dd:ee:ff" (also with '-' separators).
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("arp: bad MAC address %q: want 6 hex pairs separated by ':'", s)
	}
	for i := 0; i < 6; i++ {
		hi, ok1 := unhex(s[i*3])
		lo, ok2 := unhex(s[i*3+1])
		if !ok1 || !ok2 || (i < 5 && s[i*3+2] != ':' && s[i*3+2] != '-') {
			return MAC{}, fmt.Errorf("arp: bad MAC address %q: want 6 hex pairs separated by ':'", s)
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Packet is a decoded Ethernet/IPv4 ARP packet.
type Packet struct {
	HardwareType uint16
	ProtocolType uint16
	Op           Op
	SHA          MAC        // sender hardware address
	SIP          netip.Addr // sender protocol address (IPv4)
	THA          MAC        // target hardware address
	TIP          netip.Addr // target protocol address (IPv4)
}

// NewPacket returns an Ethernet/IPv4 packet with the given fields.
func NewPacket(op Op, sha MAC, sip netip.Addr, tha MAC, tip netip.Addr) Packet {
	return Packet{HardwareType: HardwareEthernet, ProtocolType: ProtocolIPv4, Op: op,
		SHA: sha, SIP: sip, THA: tha, TIP: tip}
}

// IsGratuitous reports sip == tip, the RFC 2002 definition (and the test
// behind drop_gratuitous_arp). Whether Linux treats the packet as a GARP for
// overriding is a separate, version-dependent question (spec §4.4).
func (p Packet) IsGratuitous() bool { return p.SIP == p.TIP }

// Errors returned by Unmarshal. Callers count them by reason.
var (
	ErrShort       = errors.New("arp: packet shorter than 28 bytes")
	ErrNotEthernet = errors.New("arp: hardware type is not Ethernet (1) or IEEE 802 (6)")
	ErrNotIPv4     = errors.New("arp: protocol type is not IPv4 (0x0800)")
	ErrLengths     = errors.New("arp: address lengths are not 6/4")
)

// Unmarshal decodes b into p without allocating. Bytes after the 28-byte
// packet (Ethernet padding) are ignored.
func (p *Packet) Unmarshal(b []byte) error {
	if len(b) < 8 {
		return ErrShort
	}
	hrd := binary.BigEndian.Uint16(b[0:2])
	pro := binary.BigEndian.Uint16(b[2:4])
	if b[4] != 6 || b[5] != 4 {
		return ErrLengths
	}
	if len(b) < Len {
		return ErrShort
	}
	if hrd != HardwareEthernet && hrd != HardwareIEEE802 {
		return ErrNotEthernet
	}
	if pro != ProtocolIPv4 {
		return ErrNotIPv4
	}
	p.HardwareType = hrd
	p.ProtocolType = pro
	p.Op = Op(binary.BigEndian.Uint16(b[6:8]))
	copy(p.SHA[:], b[8:14])
	p.SIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(p.THA[:], b[18:24])
	p.TIP = netip.AddrFrom4([4]byte(b[24:28]))
	return nil
}

// Append appends the 28-byte encoding of p to b.
func (p Packet) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, p.HardwareType)
	b = binary.BigEndian.AppendUint16(b, p.ProtocolType)
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Op))
	b = append(b, p.SHA[:]...)
	sip := p.SIP.As4()
	b = append(b, sip[:]...)
	b = append(b, p.THA[:]...)
	tip := p.TIP.As4()
	return append(b, tip[:]...)
}

// Marshal returns the 28-byte encoding of p. SIP and TIP must be IPv4.
func (p Packet) Marshal() ([]byte, error) {
	if !p.SIP.Is4() || !p.TIP.Is4() {
		return nil, fmt.Errorf("arp: sender %v / target %v must be IPv4 addresses", p.SIP, p.TIP)
	}
	return p.Append(make([]byte, 0, Len)), nil
}
