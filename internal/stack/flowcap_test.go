package stack

import (
	"testing"

	"arplab/internal/testkit"
	"arplab/internal/wire/ipv4"
)

// TestFlowsBounded: a host opening ever new connections follows at most
// its bound of sockets: the longer idle half goes, counted; a socket in
// use stays and its ACKs still confirm; a forgotten one starts afresh.
func TestFlowsBounded(t *testing.T) {
	h, d, _ := newHost(t, "latest")
	h.flows.max = 8
	send := func(port uint16, seq uint32) {
		syn := testkit.TCP(ipHost, ipG, port, 80, seq, 0, ipv4.FlagSYN, 0)
		hd, _ := ipv4.Parse(syn)
		h.SentIPv4(&hd, hd.Payload(syn), d.Routes[0])
	}
	ackOf := func(port uint16, seq uint32) bool {
		synack := testkit.TCP(ipG, ipHost, 80, port, 900, seq+1, ipv4.FlagSYN|ipv4.FlagACK, 0)
		hd, _ := ipv4.Parse(synack)
		return h.ReceiveIPv4(&hd, hd.Payload(synack), 1)
	}
	count := func() int {
		n := 0
		h.socks.each(func(*Flow) { n++ })
		return n
	}
	const conns = 100
	send(40000, 100) // the long-lived connection, used between every new one
	for i := range conns {
		send(41000+uint16(i), 100)
		send(40000, 101+uint32(i))
		if n := count(); n > 8 || n != h.flows.n {
			t.Fatalf("after %d connections: %d sockets (counted %d), bound 8", i+1, n, h.flows.n)
		}
	}
	if got := h.FlowsForgotten() + count(); got != conns+1 {
		t.Errorf("%d forgotten + %d kept = %d, want the %d sockets opened", h.FlowsForgotten(), count(), got, conns+1)
	}
	if !ackOf(40000, 100+conns) {
		t.Error("the socket in use was forgotten: its ACK did not confirm")
	}
	if ackOf(41000, 100) {
		t.Error("the first connection's socket, long idle, was kept: its ACK confirmed")
	}
	send(41000, 500) // seen again: tracked afresh
	if !ackOf(41000, 500) {
		t.Error("a forgotten socket used again does not confirm")
	}
}
