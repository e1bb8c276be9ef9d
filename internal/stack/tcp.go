package stack

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"arplab/internal/neigh"
	"arplab/internal/wire/ipv4"
)

// FlowKey names one of the host's sockets from its side: protocol, local
// and remote address, and for TCP and UDP the ports.
type FlowKey struct {
	Proto         uint8
	Local, Remote [4]byte
	LPort, RPort  uint16
}

func (k FlowKey) String() string {
	l, r := netip.AddrFrom4(k.Local), netip.AddrFrom4(k.Remote)
	switch k.Proto {
	case ipv4.ProtoTCP:
		return fmt.Sprintf("tcp %v:%d>%v:%d", l, k.LPort, r, k.RPort)
	case ipv4.ProtoUDP:
		return fmt.Sprintf("udp %v:%d>%v:%d", l, k.LPort, r, k.RPort)
	}
	return fmt.Sprintf("proto%d %v>%v", k.Proto, l, r)
}

// Flow is one socket of the host, seen from the datagrams it sends and
// receives, and for TCP the send sequence state tcp_ack consults.
type Flow struct {
	Sock neigh.Socket
	tcp  TCPSend
	// key is the flow's; next the flow with the same slot (flowSlot) and
	// another protocol or local address.
	key  FlowKey
	next *Flow
	used uint64 // Host.used's stamp
}

// TCPSend is the sender's view of a TCP connection: what has been sent
// (snd_nxt), what the peer has acknowledged (snd_una) and the window it
// last advertised; Received is the TCP-ACK confirmation rule (spec §6.3),
// the one copy of it: the host's sockets use it for the packets replay and
// verify feed, and the simulator's TCP connections for their segments.
type TCPSend struct {
	started  bool
	una, nxt uint32
	wnd      uint16
	haveWnd  bool
}

// Sent records a segment the host transmitted. A SYN starts the
// connection's tracking afresh (a new socket on the same 4-tuple); data or
// FIN start it when the capture began mid-connection; a pure ACK says
// nothing about what is in flight, so it starts nothing.
//
// Sent and Received read the segment's fields, not its methods: a method
// call copies the segment, and copying an argument just spilled field by
// field stalls the processor on store forwarding, on the path every
// segment of a replay or a simulation takes (a sixth of a simulation's
// time). TestTCPSendFieldsAsMethods checks seqLen against TCP.SeqLen.
func (c *TCPSend) Sent(s ipv4.TCP) {
	flags, seq := s.Flags, s.Seq
	if flags&ipv4.FlagRST != 0 {
		return
	}
	n := seqLen(flags, s.DataLen)
	end := seq + n
	switch {
	case flags&ipv4.FlagSYN != 0:
		*c = TCPSend{started: true, una: seq, nxt: end}
	case !c.started:
		if n == 0 {
			return
		}
		c.started, c.una, c.nxt = true, seq, end
	case ipv4.SeqAfter(end, c.nxt):
		c.nxt = end
	}
}

// seqLen is ipv4.TCP.SeqLen of a segment with these flags and data.
func seqLen(flags uint8, data int) uint32 {
	n := uint32(data)
	if flags&ipv4.FlagSYN != 0 {
		n++
	}
	if flags&ipv4.FlagFIN != 0 {
		n++
	}
	return n
}

// Received records a segment from the peer and reports whether the
// kernel's tcp_ack confirms the neighbour: only with something in flight
// (tcp_ack returns before sk_dst_confirm when nothing was), when the ACK
// newly acknowledges data, SYN or FIN (FLAG_FORWARD_PROGRESS) or is a
// pure duplicate — no data, no SYN/FIN, same window (!FLAG_NOT_DUP)
// (spec §6.3). tcp_ack ignores an ACK for data never sent (beyond
// snd_nxt) or older than snd_una before it looks at the window, so
// neither updates the window it remembers.
func (c *TCPSend) Received(s ipv4.TCP) bool {
	flags, ack, win := s.Flags, s.Ack, s.Window
	if flags&ipv4.FlagACK == 0 || flags&ipv4.FlagRST != 0 || !c.started {
		return false
	}
	if ipv4.SeqAfter(ack, c.nxt) || ipv4.SeqAfter(c.una, ack) {
		return false
	}
	inflight := c.nxt != c.una
	forward := ipv4.SeqAfter(ack, c.una)
	dup := !forward && s.DataLen == 0 && flags&(ipv4.FlagSYN|ipv4.FlagFIN) == 0 && c.haveWnd && win == c.wnd
	c.wnd, c.haveWnd = win, true
	if forward {
		c.una = ack
	}
	return inflight && (forward || dup)
}

// flowSlot is the one-word map key of a flow: its remote address and
// ports. The runtime hashes a uint64 on its fast path, where FlowKey (13
// bytes and a padding byte) takes the generic hash, and replay looks a
// flow up for every TCP segment the host sends or receives. Flows that
// differ only in protocol or local address share a slot (Flow.next).
func flowSlot(k FlowKey) uint64 {
	return uint64(binary.BigEndian.Uint32(k.Remote[:]))<<32 | uint64(k.LPort)<<16 | uint64(k.RPort)
}

// lookupFlow is the flow for key, nil when there is none.
func (h *Host) lookupFlow(k FlowKey) *Flow {
	for f := h.socks[flowSlot(k)]; f != nil; f = f.next {
		if f.key == k {
			return f
		}
	}
	return nil
}

// flow returns the socket for key, made with the given route.
func (h *Host) flow(k FlowKey, route *neigh.Route) *Flow {
	f := h.lookupFlow(k)
	if f == nil {
		h.added()
		slot := flowSlot(k)
		f = &Flow{Sock: neigh.Socket{Name: k.String(), Route: route}, key: k, next: h.socks[slot]}
		h.socks[slot] = f
	}
	h.used(f)
	return f
}

// SentIPv4 records a datagram the host sent from one of its own
// addresses (TCP send state) and returns its socket. route is the cached
// route the socket was connected through.
func (h *Host) SentIPv4(hd ipv4.Header, payload []byte, route *neigh.Route) *neigh.Socket {
	k := FlowKey{Proto: hd.Proto, Local: hd.Src, Remote: hd.Dst}
	k.LPort, k.RPort = ipv4.Ports(hd, payload)
	f := h.flow(k, route)
	if s, ok := ipv4.ParseTCP(hd, payload); ok {
		f.tcp.Sent(s)
	}
	return &f.Sock
}

// ReceiveIPv4 feeds a datagram the host received for one of its own
// addresses. A TCP segment whose acknowledgement tcp_ack would act on
// confirms the socket's neighbour (spec §6.3); it reports whether it did.
// frame is the driver's number for the frame.
func (h *Host) ReceiveIPv4(hd ipv4.Header, payload []byte, frame int) bool {
	s, ok := ipv4.ParseTCP(hd, payload)
	if !ok {
		return false
	}
	f := h.lookupFlow(FlowKey{Proto: ipv4.ProtoTCP, Local: hd.Dst, Remote: hd.Src, LPort: s.DstPort, RPort: s.SrcPort})
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

// Socket returns the socket of a flow the driver names itself (UDP
// datagrams sent with MSG_CONFIRM), made with route if new.
func (h *Host) Socket(k FlowKey, route *neigh.Route) *neigh.Socket { return &h.flow(k, route).Sock }
