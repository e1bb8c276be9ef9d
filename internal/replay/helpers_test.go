package replay

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

// The actors of the GARP story (spec §10.1): the observed host H, the
// floating IP F that moved from macOld to macNew, another peer G.
var (
	macHost = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macOld  = arp.MAC{0x52, 0x54, 0x00, 0xac, 0xfb, 0xf4}
	macNew  = arp.MAC{0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01}
	macG    = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x20}
	ipHost  = netip.MustParseAddr("10.0.0.1")
	ipF     = netip.MustParseAddr("10.0.0.10")
	ipG     = netip.MustParseAddr("10.0.0.20")
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
	b := ether.Header{Dst: dst, Src: src, EtherType: etherType}.Append(nil)
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return c.raw(ts, b)
}

// arp appends an Ethernet ARP frame.
func (c *capBuilder) arp(ts int64, dst, src arp.MAC, p arp.Packet) int {
	return c.eth(ts, dst, src, ether.EtherTypeARP, p.Append(nil))
}

// sll appends a LINUX_SLL record (pcap-linktype(7)); src is the link-layer
// source address the kernel recorded, pktType a PACKET_* value.
func (c *capBuilder) sll(ts int64, pktType uint16, src arp.MAC, etherType uint16, payload []byte) int {
	b := binary.BigEndian.AppendUint16(nil, pktType)
	b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
	b = binary.BigEndian.AppendUint16(b, 6)
	b = append(b, src[:]...)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, etherType)
	return c.raw(ts, append(b, payload...))
}

// sll2 appends a LINUX_SLL2 record.
func (c *capBuilder) sll2(ts int64, ifindex uint32, pktType uint8, src arp.MAC, etherType uint16, payload []byte) int {
	b := binary.BigEndian.AppendUint16(nil, etherType)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint32(b, ifindex)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, pktType, 6)
	b = append(b, src[:]...)
	b = append(b, 0, 0)
	return c.raw(ts, append(b, payload...))
}

func (c *capBuilder) bytes() []byte { return bytes.Clone(c.buf.Bytes()) }

// PACKET_* values of SLL headers.
const (
	pktHost      = 0
	pktBroadcast = 1
	pktOutgoing  = 4
)

// garpReply is what `arping -A` sends: a broadcast reply with sip = tip
// and tha = sha (spec §4.4).
func garpReply(ip netip.Addr, mac arp.MAC) arp.Packet {
	return arp.NewPacket(arp.OpReply, mac, ip, mac, ip)
}

// request is a "who has tip, tell sip" from sha.
func request(sha arp.MAC, sip, tip netip.Addr) arp.Packet {
	return arp.NewPacket(arp.OpRequest, sha, sip, arp.Zero, tip)
}

// reply is "sip is at sha", to tha/tip.
func reply(sha arp.MAC, sip netip.Addr, tha arp.MAC, tip netip.Addr) arp.Packet {
	return arp.NewPacket(arp.OpReply, sha, sip, tha, tip)
}

// tcp builds an IPv4/TCP datagram with data bytes of payload (zeros).
func tcp(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags uint8, data int) []byte {
	total := 40 + data
	b := []byte{0x45, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = append(b, 0, 0, 0x40, 0, 64, ipv4.ProtoTCP, 0, 0)
	s, d := src.As4(), dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, 5<<4, flags)
	b = binary.BigEndian.AppendUint16(b, 64240)
	b = append(b, 0, 0, 0, 0)
	return append(b, make([]byte, data)...)
}

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
