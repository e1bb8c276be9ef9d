package stack

import (
	"net/netip"
	"strconv"

	"arplab/internal/neigh"
	"arplab/internal/wire/ipv4"
	"arplab/internal/wire/ipv6"
)

// flowKey6 names an IPv6 socket from the host's side.
type flowKey6 struct {
	proto         uint8
	local, remote netip.Addr
	lport, rport  uint16
}

// SentIPv6 is SentIPv4 for IPv6: it records a packet the host sent from
// one of its own addresses and returns its socket, made with route.
func (h *Host) SentIPv6(hd ipv6.Header, payload []byte, route *neigh.Route) *neigh.Socket {
	k := flowKey6{proto: hd.NextHeader, local: hd.Src, remote: hd.Dst}
	k.lport, k.rport = hd.Ports(payload)
	if h.socks6 == nil {
		h.socks6 = map[flowKey6]*Flow{}
	}
	f := h.socks6[k]
	if f == nil {
		h.added()
		f = &Flow{Sock: neigh.Socket{Name: k.String(), Route: route}}
		h.socks6[k] = f
	}
	h.used(f)
	if s, ok := hd.TCP(payload); ok {
		f.tcp.Sent(s)
	}
	return &f.Sock
}

// ReceiveIPv6 is ReceiveIPv4 for IPv6: a TCP segment whose
// acknowledgement tcp_ack acts on confirms the socket's neighbour (ndisc
// §6.3: IPv6 TCP shares tcp_input.c, so the rule is spec §6.3's, in
// TCPSend.Received for both families).
func (h *Host) ReceiveIPv6(hd ipv6.Header, payload []byte, frame int) bool {
	s, ok := hd.TCP(payload)
	if !ok {
		return false
	}
	f := h.socks6[flowKey6{proto: ipv4.ProtoTCP, local: hd.Dst, remote: hd.Src, lport: s.DstPort, rport: s.SrcPort}]
	if f == nil {
		return false
	}
	h.used(f)
	if !f.tcp.Received(s) {
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
