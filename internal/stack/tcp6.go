package stack

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"arplab/internal/neigh"
	"arplab/internal/wire/ipv4"
)

// IPv6Header is the part of an IPv6 header the stack reads for its TCP
// confirmation rule (ndisc §6.3: IPv6 TCP shares tcp_input.c, so the rule
// of spec §6.3 is the same). Extension headers are not walked: Linux's TCP
// sends none, and a packet with one is not a TCP segment here.
type IPv6Header struct {
	Src, Dst   netip.Addr
	Proto      uint8 // the next header
	PayloadLen int   // from the header, not from the captured bytes
}

// ParseIPv6 decodes the fixed IPv6 header at the start of b (an Ethernet
// payload); the transport header follows at b[40:].
func ParseIPv6(b []byte) (h IPv6Header, ok bool) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return h, false
	}
	h.PayloadLen = int(binary.BigEndian.Uint16(b[4:6]))
	h.Proto = b[6]
	h.Src = netip.AddrFrom16([16]byte(b[8:24]))
	h.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	return h, true
}

// flowKey6 names an IPv6 socket from the host's side.
type flowKey6 struct {
	proto         uint8
	local, remote netip.Addr
	lport, rport  uint16
}

// tcpOf decodes the TCP header of an IPv6 packet with the IPv4 decoder,
// which needs only the lengths and the protocol.
func tcpOf(hd IPv6Header, payload []byte) (ipv4.TCP, bool) {
	return ipv4.ParseTCP(ipv4.Header{Proto: hd.Proto, TotalLen: 40 + hd.PayloadLen, HeaderLen: 40, First: true}, payload)
}

// SentIPv6 is SentIPv4 for IPv6: it records a packet the host sent from
// one of its own addresses and returns its socket, made with route.
func (h *Host) SentIPv6(hd IPv6Header, payload []byte, route *neigh.Route) *neigh.Socket {
	k := flowKey6{proto: hd.Proto, local: hd.Src, remote: hd.Dst}
	if (hd.Proto == ipv4.ProtoTCP || hd.Proto == ipv4.ProtoUDP) && len(payload) >= 4 {
		k.lport, k.rport = binary.BigEndian.Uint16(payload[0:2]), binary.BigEndian.Uint16(payload[2:4])
	}
	if h.socks6 == nil {
		h.socks6 = map[flowKey6]*Flow{}
	}
	f := h.socks6[k]
	if f == nil {
		f = &Flow{Sock: neigh.Socket{Name: k.String(), Route: route}}
		h.socks6[k] = f
	}
	if s, ok := tcpOf(hd, payload); ok {
		f.tcp.sent(s)
	}
	return &f.Sock
}

// ReceiveIPv6 is ReceiveIPv4 for IPv6: a TCP segment whose
// acknowledgement tcp_ack acts on confirms the socket's neighbour.
func (h *Host) ReceiveIPv6(hd IPv6Header, payload []byte, frame int) bool {
	s, ok := tcpOf(hd, payload)
	if !ok {
		return false
	}
	f := h.socks6[flowKey6{proto: ipv4.ProtoTCP, local: hd.Dst, remote: hd.Src, lport: s.DstPort, rport: s.SrcPort}]
	if f == nil || !f.tcp.received(s) {
		return false
	}
	h.Confirm(&f.Sock, frame)
	return true
}

func (k flowKey6) String() string {
	proto := "tcp"
	if k.proto == ipv4.ProtoUDP {
		proto = "udp"
	}
	return proto + " [" + k.local.String() + "]:" + strconv.Itoa(int(k.lport)) + ">[" + k.remote.String() + "]:" + strconv.Itoa(int(k.rport))
}
