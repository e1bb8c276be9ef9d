package replay

import (
	"arplab/internal/testkit"
	"bytes"
	"net/netip"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// The actors of the GARP story (spec §10.1): the observed host H, the
// floating IP F that moved from macOld to macNew, another peer G.
var (
	macHost, macOld, macNew, macG = testkit.MACHost, testkit.MACOld, testkit.MACNew, testkit.MACG

	ipHost = netip.MustParseAddr("10.0.0.1")
	ipF    = netip.MustParseAddr("10.0.0.10")
	ipG    = netip.MustParseAddr("10.0.0.20")
)

// t0 is when test captures start (2023-11-14), in ns.
const t0 int64 = 1_700_000_000 * 1e9

// ms is a millisecond in ns, for readable frame times.
const ms int64 = 1e6

// capBuilder writes a classic pcap in memory.
type capBuilder struct {
	t    testing.TB
	buf  bytes.Buffer
	w    *capture.Writer
	link capture.LinkType
	n    int
}

func newCap(t testing.TB, link capture.LinkType) *capBuilder {
	c := &capBuilder{t: t, link: link}
	w, err := capture.NewWriter(&c.buf, link, true)
	if err != nil {
		t.Fatal(err)
	}
	c.w = w
	return c
}

// raw appends one record and returns its 1-based index.
func (c *capBuilder) raw(ts int64, data []byte) int {
	c.t.Helper()
	if err := c.w.WritePacket(ts, data); err != nil {
		c.t.Fatal(err)
	}
	c.n++
	return c.n
}

// eth appends an Ethernet frame, padded to 60 bytes as a NIC sends it.
func (c *capBuilder) eth(ts int64, dst, src arp.MAC, etherType uint16, payload []byte) int {
	return c.raw(ts, testkit.Ether(dst, src, etherType, nil, payload))
}

// arp appends an Ethernet ARP frame.
func (c *capBuilder) arp(ts int64, dst, src arp.MAC, p arp.Packet) int {
	return c.eth(ts, dst, src, ether.EtherTypeARP, p.Append(nil))
}

// sll appends a LINUX_SLL record (pcap-linktype(7)); src is the link-layer
// source address the kernel recorded, pktType a PACKET_* value.
func (c *capBuilder) sll(ts int64, pktType uint16, src arp.MAC, etherType uint16, payload []byte) int {
	return c.raw(ts, append(testkit.SLL(pktType, 1, src[:], etherType), payload...)) // ARPHRD_ETHER
}

// sll2 appends a LINUX_SLL2 record.
func (c *capBuilder) sll2(ts int64, ifindex uint32, pktType uint8, src arp.MAC, etherType uint16, payload []byte) int {
	return c.raw(ts, append(testkit.SLL2(etherType, ifindex, 1, pktType, src[:]), payload...))
}

func (c *capBuilder) bytes() []byte { return bytes.Clone(c.buf.Bytes()) }

// PACKET_* values of SLL headers.
const (
	pktHost      = 0
	pktBroadcast = 1
	pktOutgoing  = 4
)

// The frame builders of the shared test kit, under short names.
var (
	garpReply = testkit.GARPReply
	request   = testkit.Request
	reply     = testkit.Reply
	tcp       = testkit.TCP
)

// tcpEth appends a TCP segment in an Ethernet frame.
func (c *capBuilder) tcp(ts int64, dst, src arp.MAC, ip []byte) int {
	return c.eth(ts, dst, src, ether.EtherTypeIPv4, ip)
}

func profile(t testing.TB, name string) kernel.Profile {
	t.Helper()
	p, err := kernel.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// replayBytes replays data with a Recorder and checks what every trace
// must satisfy: a header first, a verdict last, and valid events between.
func replayBytes(t *testing.T, data []byte, opt Options) (Summary, []trace.Event) {
	t.Helper()
	var rec trace.Recorder
	sum, err := ReplayReader(bytes.NewReader(data), "test.pcap", opt, &rec)
	if err != nil {
		t.Fatalf("ReplayReader: %v", err)
	}
	checkTrace(t, rec.Events)
	return sum, rec.Events
}

func checkTrace(t *testing.T, evs []trace.Event) {
	t.Helper()
	if len(evs) < 2 {
		t.Fatalf("trace has %d events, want at least a header and a verdict", len(evs))
	}
	if evs[0].Kind != trace.KindHeader || evs[len(evs)-1].Kind != trace.KindVerdict {
		t.Fatalf("trace runs from %s to %s, want header … verdict", evs[0].Kind, evs[len(evs)-1].Kind)
	}
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			t.Fatalf("event %d %+v: %v", i, evs[i], err)
		}
		if evs[i].Source != "replay" {
			t.Fatalf("event %d has source %q, want replay", i, evs[i].Source)
		}
	}
}

// kinds returns the events of kind k.
func kinds(evs []trace.Event, k trace.Kind) []trace.Event {
	var out []trace.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
