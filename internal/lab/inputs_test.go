package lab

import (
	"arplab/internal/testkit"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
	"net/netip"
	"testing"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/wire/arp"
)

const ms = int64(1e6)

var (
	macH = arp.MAC{2, 0, 0, 0, 0, 1}
	macP = arp.MAC{2, 0, 0, 0, 0, 2}
	ipH  = netip.MustParseAddr("10.0.0.1")
)

// ipv4Frame is a TCP SYN from h to dst, as h sends it to its peer P.
func ipv4Frame(dst netip.Addr) []byte {
	return testkit.Ether(macP, macH, ether.EtherTypeIPv4, nil, testkit.TCP(ipH, dst, 40000, 80, 1, 0, ipv4.FlagSYN, 0))
}

// probeFrame is h's broadcast who-has for target.
func probeFrame(target netip.Addr) []byte {
	return testkit.ARPFrame(arp.Broadcast, macH, testkit.Request(macH, ipH, target))
}

// inputsRun is one observed host "h" (eth0 is ifname "h0i0x") with one of
// each kind of input, and a host "o" whose frames must be left out.
func inputsRun(t *testing.T) *LabRun {
	t.Helper()
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	cmd, err := scenario.ParseNeighCmd("replace 10.0.0.6 lladdr 02:00:00:00:00:06 nud stale dev eth0")
	if err != nil {
		t.Fatal(err)
	}
	dev := "h0i0x"
	return &LabRun{
		HZ:    250,
		Clock: kclock.Clock{HZ: 250, RefJ: 1000, RefNs: 0},
		Hosts: []RunHost{{Name: "h", Observed: true, Devs: []RunDev{{Name: "eth0", IfName: dev}}},
			{Name: "o", Observed: true, Devs: []RunDev{{Name: "eth0", IfName: "o0i0x"}}}},
		Frames: []RunFrame{
			{Host: "h", Dev: "eth0", AtNs: 10 * ms, Type: ether.PktOutgoing, Data: ipv4Frame(ip("10.0.0.2"))},
			{Host: "o", Dev: "eth0", AtNs: 11 * ms, Type: ether.PktOutgoing, Data: ipv4Frame(ip("10.0.0.2"))},
			{Host: "h", Dev: "eth0", AtNs: 20 * ms, Type: ether.PktOutgoing, Data: ipv4Frame(ip("10.0.0.2"))},
			{Host: "h", Dev: "eth0", AtNs: 29 * ms, Type: ether.PktOutgoing, Data: probeFrame(ip("10.0.0.3"))},
			{Host: "h", Dev: "eth0", AtNs: 35 * ms, Type: ether.PktHost, Data: []byte{1, 2, 3}}, // neither ARP nor IPv4
		},
		Trace: []ktrace.Event{
			{Event: "neigh_update", Dev: dev, IP: ip("10.0.0.2"), State: neigh.Stale, TimestampNs: 9 * ms},
			{Event: "neigh_event_send_done", Dev: dev, IP: ip("10.0.0.2"), State: neigh.Delay, Updated: 1234, TimestampNs: 9*ms + ms/2},
			{Event: "neigh_event_send_done", Dev: dev, IP: ip("10.0.0.3"), State: neigh.Incomplete, Err: 1, TimestampNs: 30 * ms},
			{Event: "neigh_create", Dev: dev, IP: ip("10.0.0.4"), Created: true, TimestampNs: 40 * ms},
			{Event: "neigh_create", Dev: dev, IP: ip("10.0.0.5"), Created: true, TimestampNs: 50 * ms},
			{Event: "neigh_update", Dev: dev, IP: ip("10.0.0.5"), TimestampNs: 51 * ms},
			{Event: "neigh_update", Dev: dev, IP: ip("10.0.0.6"), NewState: neigh.Stale, UpdateFlags: ktrace.UpdateAdmin | ktrace.UpdateOverride, TimestampNs: 60*ms + 300e3},
			{Event: "neigh_update_done", Dev: dev, IP: ip("10.0.0.6"), State: neigh.Stale, Updated: 2000, TimestampNs: 60*ms + 400e3},
			{Event: "neigh_create", Dev: "o0i0x", IP: ip("10.0.0.9"), Created: true, TimestampNs: 65 * ms},
		},
		Admin:     []RunAdmin{{Host: "h", Cmd: cmd.String(), Command: cmd, Parsed: true, BeforeNs: 60 * ms, AfterNs: 61 * ms}},
		Snapshots: []RunSnapshot{{Host: "h", BeforeNs: 70 * ms, AfterNs: 71 * ms}, {Host: "o", BeforeNs: 72 * ms, AfterNs: 73 * ms}},
	}
}

func TestInputs(t *testing.T) {
	r := inputsRun(t)
	verdicts := map[int]*FrameVerdict{}
	vs := r.Verdicts()
	for i := range vs {
		verdicts[vs[i].Frame] = &vs[i]
	}
	got := r.Inputs("h", verdicts, r.Stamps())
	type want struct {
		kind  InputKind
		ns    int64
		j     uint64
		exact bool
	}
	clock := func(ns int64) uint64 { return r.Clock.Jiffies(ns) }
	wants := []want{
		{InIPTx, 10 * ms, 1234, true},                  // on the output path's stamp 0.5 ms before
		{InIPTx, 20 * ms, clock(20 * ms), false},       // no stamp within 2 ms: the fitted clock
		{InQueued, 29*ms - 1, clock(29*ms - 1), false}, // the failed send, just before its probe
		{InARPTx, 29 * ms, clock(29 * ms), false},      // the probe itself
		{InQueued, 40 * ms, clock(40 * ms), false},     // a neigh_create nothing followed
		{InAdmin, 60*ms + 300e3, 2000, true},           // at the kernel's admin update, on its stamp
		{InSnapshot, 70*ms + ms/2, clock(70*ms + ms/2), false},
	}
	if len(got) != len(wants) {
		for _, in := range got {
			t.Logf("%+v", in)
		}
		t.Fatalf("%d inputs, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		g := got[i]
		if g.Kind != w.kind || g.Ns != w.ns || g.J != w.j || g.Exact != w.exact {
			t.Errorf("input %d = kind %d ns %d j %d exact %v; want kind %d ns %d j %d exact %v",
				i, g.Kind, g.Ns, g.J, g.Exact, w.kind, w.ns, w.j, w.exact)
		}
	}
	if got[5].Admin != &r.Admin[0] || got[2].Event != &r.Trace[2] || got[4].Event != &r.Trace[3] || got[6].Snapshot != &r.Snapshots[0] {
		t.Error("inputs do not point into the run's record")
	}
	if in := r.Inputs("nobody", verdicts, nil); in != nil {
		t.Errorf("Inputs of an unknown host = %v", in)
	}
}

// TestRecordedIPv4: the lab's recorded frames decode with wire/ipv4.
func TestRecordedIPv4(t *testing.T) {
	dst := netip.MustParseAddr("192.0.2.7")
	if h, _, ok := ipv4.OfEthernet(ipv4Frame(dst)); !ok || h.DstAddr() != dst {
		t.Errorf("OfEthernet = %v, %v", h.DstAddr(), ok)
	}
	bad := ipv4Frame(dst)
	bad[14] = 0x44 // IHL 16 bytes
	if _, _, ok := ipv4.OfEthernet(bad); ok {
		t.Error("a header shorter than 20 bytes was accepted")
	}
	if _, _, ok := ipv4.OfEthernet(probeFrame(dst)); ok {
		t.Error("an ARP frame was accepted")
	}
}

// BenchmarkInputs: the cost per recorded event of extracting a host's
// inputs from a long run (it grows with the record, not its square).
func BenchmarkInputs(b *testing.B) {
	r := &LabRun{HZ: 250, Clock: kclock.Clock{HZ: 250}, Hosts: []RunHost{{Name: "h", Observed: true, Devs: []RunDev{{Name: "eth0", IfName: "x"}}}}}
	for i := 0; i < 20000; i++ {
		at := int64(i) * ms
		dst := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		r.Frames = append(r.Frames, RunFrame{Host: "h", Dev: "eth0", AtNs: at, Type: ether.PktOutgoing, Data: ipv4Frame(dst)})
		r.Trace = append(r.Trace,
			ktrace.Event{Event: "neigh_update", Dev: "x", IP: dst, TimestampNs: at - 2e5},
			ktrace.Event{Event: "neigh_event_send_done", Dev: "x", IP: dst, State: neigh.Delay, Updated: uint64(i), TimestampNs: at - 1e5})
	}
	stamps := r.Stamps()
	b.ResetTimer()
	for b.Loop() {
		r.Inputs("h", nil, stamps)
	}
}
