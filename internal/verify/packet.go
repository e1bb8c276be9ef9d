package verify

import (
	"encoding/binary"
	"net/netip"

	"arplab/internal/neigh"
)

// ipv4 is what the verifier needs from an IPv4 frame: addresses, protocol,
// ports and, for TCP, the sequence space the segment covers.
type ipv4 struct {
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16
	// TCP only.
	seq, ack      uint32
	syn, fin, rst bool
	hasACK        bool
	window        uint16
	payload       int
}

// parseIPv4 decodes an Ethernet frame carrying IPv4 (possibly cut after
// the transport header; the lengths come from the headers).
func parseIPv4(b []byte) (ipv4, bool) {
	var p ipv4
	if len(b) < 14+20 || binary.BigEndian.Uint16(b[12:]) != 0x0800 {
		return p, false
	}
	ip := b[14:]
	if ip[0]>>4 != 4 {
		return p, false
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || len(ip) < ihl || total < ihl {
		return p, false
	}
	p.proto = ip[9]
	p.src = netip.AddrFrom4([4]byte(ip[12:16]))
	p.dst = netip.AddrFrom4([4]byte(ip[16:20]))
	l4 := ip[ihl:]
	switch p.proto {
	case 6: // TCP
		if len(l4) < 20 {
			return p, true
		}
		p.sport = binary.BigEndian.Uint16(l4[0:])
		p.dport = binary.BigEndian.Uint16(l4[2:])
		p.seq = binary.BigEndian.Uint32(l4[4:])
		p.ack = binary.BigEndian.Uint32(l4[8:])
		doff := int(l4[12]>>4) * 4
		fl := l4[13]
		p.fin, p.syn, p.rst, p.hasACK = fl&0x01 != 0, fl&0x02 != 0, fl&0x04 != 0, fl&0x10 != 0
		p.window = binary.BigEndian.Uint16(l4[14:])
		p.payload = max(total-ihl-doff, 0)
	case 17: // UDP
		if len(l4) >= 4 {
			p.sport = binary.BigEndian.Uint16(l4[0:])
			p.dport = binary.BigEndian.Uint16(l4[2:])
		}
	}
	return p, true
}

// seqAfter is TCP's after(a, b): a is later than b in sequence space.
func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// sockKey names a socket of the observed host by its 4-tuple.
type sockKey struct {
	proto uint8
	lport uint16
	raddr netip.Addr
	rport uint16
}

// tcpSock follows one TCP connection from the host's side closely enough to
// tell when the kernel's tcp_ack calls sk_dst_confirm (spec §6.3): an ACK
// that newly acknowledges data, SYN or FIN while something was in flight
// (FLAG_FORWARD_PROGRESS), or a pure duplicate ACK while something was in
// flight (!FLAG_NOT_DUP).
type tcpSock struct {
	sock     *neigh.Socket
	started  bool
	una, nxt uint32
	win      uint16
	haveWin  bool
}

// sent records a segment the host transmitted.
func (c *tcpSock) sent(p ipv4) {
	end := p.seq + uint32(p.payload)
	if p.syn {
		end++
	}
	if p.fin {
		end++
	}
	if !c.started {
		if !p.syn && p.payload == 0 && !p.fin {
			return // a pure ACK tells nothing about what is in flight
		}
		c.started, c.una, c.nxt = true, p.seq, end
		return
	}
	if seqAfter(end, c.nxt) {
		c.nxt = end
	}
}

// received records a segment from the peer and reports whether the
// kernel's tcp_ack would confirm the neighbour.
func (c *tcpSock) received(p ipv4) bool {
	if !p.hasACK || p.rst || !c.started {
		return false
	}
	inflight := c.nxt != c.una
	confirm := false
	switch {
	case seqAfter(p.ack, c.una) && !seqAfter(p.ack, c.nxt):
		c.una = p.ack
		confirm = inflight
	case inflight && p.ack == c.una && p.payload == 0 && !p.syn && !p.fin && c.haveWin && p.window == c.win:
		confirm = true
	}
	c.win, c.haveWin = p.window, true
	return confirm
}
