package stack

import (
	"net/netip"
	"strconv"

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

// String names the socket (neigh.Socket.Name) as "tcp 10.0.0.1:40000>10.0.0.2:22",
// "udp …" or "proto1 10.0.0.1>10.0.0.2". It is built by appending into
// one stack buffer, not with fmt: a host makes a socket per connection,
// and a busy replay (a thousand neighbours) spent more on fmt.Sprintf
// naming them than on looking them up (TestFlowKeyString checks the
// spelling against fmt's).
func (k FlowKey) String() string {
	var buf [64]byte // "tcp 255.255.255.255:65535>255.255.255.255:65535" is 47
	b := buf[:0]
	ports := k.Proto == ipv4.ProtoTCP || k.Proto == ipv4.ProtoUDP
	switch k.Proto {
	case ipv4.ProtoTCP:
		b = append(b, "tcp "...)
	case ipv4.ProtoUDP:
		b = append(b, "udp "...)
	default:
		b = append(b, "proto"...)
		b = strconv.AppendUint(b, uint64(k.Proto), 10)
		b = append(b, ' ')
	}
	b = netip.AddrFrom4(k.Local).AppendTo(b)
	if ports {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(k.LPort), 10)
	}
	b = append(b, '>')
	b = netip.AddrFrom4(k.Remote).AppendTo(b)
	if ports {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(k.RPort), 10)
	}
	return string(b)
}

// Flow is one socket of the host, seen from the datagrams it sends and
// receives, and for TCP the send sequence state tcp_ack consults.
type Flow struct {
	Sock neigh.Socket
	tcp  TCPSend
	used uint64 // Host.used's stamp
	// forgotten marks the flow forgetFlows drops.
	forgotten bool
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

// words is the key in the flow table's two words (flowWords).
func (k FlowKey) words() (hi, lo uint64) {
	return flowWords(k.Proto, k.Local, k.Remote, k.LPort, k.RPort)
}

// lookupFlow is the flow for key, nil when there is none.
func (h *Host) lookupFlow(k FlowKey) *Flow { return h.socks.get(k.words()) }

// flow returns the socket for key, made with the given route.
func (h *Host) flow(k FlowKey, route *neigh.Route) *Flow {
	hi, lo := k.words()
	f := h.socks.get(hi, lo)
	if f == nil {
		f = h.newFlow(k, hi, lo, route)
	}
	h.used(f)
	return f
}

// newFlow makes the socket for key k (words hi, lo), with route.
func (h *Host) newFlow(k FlowKey, hi, lo uint64, route *neigh.Route) *Flow {
	h.added()
	f := &Flow{Sock: neigh.Socket{Name: k.String(), Route: route}}
	h.socks.put(hi, lo, f)
	return f
}

// SentIPv4 records a datagram the host sent from one of its own
// addresses (TCP send state) and returns its socket. route is the cached
// route the socket was connected through.
// A TCP segment's header is decoded once, its ports taken from it (what
// ipv4.Ports would read, ParseTCP having checked as much), and the flow
// is looked up by its words directly: a FlowKey is built only for a new
// socket's name (passing one to flow costs a copy through memory per
// segment).
func (h *Host) SentIPv4(hd *ipv4.Header, payload []byte, route *neigh.Route) *neigh.Socket {
	s, tcp := ipv4.ParseTCP(hd, payload)
	lport, rport := s.SrcPort, s.DstPort
	if !tcp {
		lport, rport = ipv4.Ports(hd, payload)
	}
	hi, lo := flowWords(hd.Proto, hd.Src, hd.Dst, lport, rport)
	f := h.socks.get(hi, lo)
	if f == nil {
		f = h.newFlow(FlowKey{Proto: hd.Proto, Local: hd.Src, Remote: hd.Dst, LPort: lport, RPort: rport}, hi, lo, route)
	}
	h.used(f)
	if tcp {
		f.tcp.Sent(s)
	}
	return &f.Sock
}

// ReceiveIPv4 feeds a datagram the host received for one of its own
// addresses. A TCP segment whose acknowledgement tcp_ack would act on
// confirms the socket's neighbour (spec §6.3); it reports whether it did.
// frame is the driver's number for the frame.
func (h *Host) ReceiveIPv4(hd *ipv4.Header, payload []byte, frame int) bool {
	s, ok := ipv4.ParseTCP(hd, payload)
	if !ok {
		return false
	}
	f := h.socks.get(flowWords(ipv4.ProtoTCP, hd.Dst, hd.Src, s.DstPort, s.SrcPort))
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
