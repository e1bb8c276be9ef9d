package lab

import (
	"net/netip"
	"testing"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// ndFrame builds an ND frame with the codec.
func ndFrame(dst arp.MAC, m ndisc.Message) []byte {
	m.HopLimit = 255
	return ndisc.AppendFrame(nil, ether.Header{Dst: dst, Src: arp.MAC{2, 0, 0, 0, 0, 0xbb}}, &m)
}

// TestNDVerdicts matches received NAs and NSs with the tracepoints they
// caused: an NA by its target and TLLAO, an NS by its source and SLLAO,
// an NA without TLLAO by its target alone; a DAD NS and an NA whose
// target's entry is FAILED (no neigh_update, ndisc §4.2 step 7) read as
// dropped; a sent NS is an InNDTx input, a received one InND, and an IPv6
// datagram to a group (an MLD report) is no input at all.
func TestNDVerdicts(t *testing.T) {
	dev := "h0i0x"
	self, a, b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::64"), netip.MustParseAddr("2001:db8::65")
	m1, m2 := arp.MAC{2, 0, 0, 0, 0, 0xa1}, arp.MAC{2, 0, 0, 0, 0, 0xa2}
	na := func(target netip.Addr, ll *arp.MAC, o bool) []byte {
		m := ndisc.Message{Type: ndisc.TypeNeighborAdvertisement, Src: target, Dst: ndisc.AllNodes, Target: target, Override: o}
		if ll != nil {
			m.TargetLL, m.HasTargetLL = *ll, true
		}
		return ndFrame(ndisc.AllNodesMAC, m)
	}
	ns := func(src netip.Addr, ll *arp.MAC) []byte {
		m := ndisc.Message{Type: ndisc.TypeNeighborSolicitation, Src: src, Dst: ndisc.SolicitedNode(self), Target: self}
		if ll != nil {
			m.SourceLL, m.HasSourceLL = *ll, true
		}
		return ndFrame(ndisc.MulticastMAC(m.Dst), m)
	}
	probe := ndFrame(m1, ndisc.Message{Type: ndisc.TypeNeighborSolicitation, Src: self, Dst: a, Target: a, SourceLL: m2, HasSourceLL: true})
	mld := ndFrame(arp.MAC{0x33, 0x33, 0, 0, 0, 0x16}, ndisc.Message{Type: ndisc.TypeNeighborSolicitation, Src: self, Dst: netip.MustParseAddr("ff02::16"), Target: self})
	mld[14+6] = 0 // next header: hop-by-hop, as an MLD report's
	frame := func(at int64, typ ether.PktType, data []byte) RunFrame {
		return RunFrame{Host: "h", Dev: "eth0", AtNs: at, Type: typ, Data: data}
	}
	r := &LabRun{
		TraceOK: true,
		HZ:      250, Clock: kclock.Clock{HZ: 250, RefJ: 1000},
		Hosts: []RunHost{{Name: "h", Observed: true, Devs: []RunDev{{Name: "eth0", IfName: dev}}}},
		Frames: []RunFrame{
			frame(10*ms, ether.PktMulticast, na(a, &m1, true)),                 // 0: honoured
			frame(20*ms, ether.PktMulticast, ns(b, &m2)),                       // 1: created, by the NS's source
			frame(30*ms, ether.PktMulticast, ns(netip.IPv6Unspecified(), nil)), // 2: DAD: dropped
			frame(40*ms, ether.PktMulticast, na(a, nil, false)),                // 3: ignored, matched by target alone
			frame(50*ms, ether.PktMulticast, na(b, &m1, true)),                 // 4: FAILED entry: no update, dropped
			frame(60*ms, ether.PktOutgoing, probe),                             // sent NS: InNDTx
			frame(70*ms, ether.PktOutgoing, mld),                               // to a group: no input
		},
		Trace: []ktrace.Event{
			{Event: "neigh_update", Family: 10, Dev: dev, IP: a, State: neigh.Reachable, LLAddr: m2, NewLLAddr: m1, TimestampNs: 10*ms + 10e3},
			{Event: "neigh_update_done", Family: 10, Dev: dev, IP: a, State: neigh.Stale, LLAddr: m1, Updated: 77, TimestampNs: 10*ms + 20e3},
			{Event: "neigh_create", Family: 10, Dev: dev, IP: b, Created: true, TimestampNs: 20*ms + 5e3},
			{Event: "neigh_update", Family: 10, Dev: dev, IP: b, State: neigh.None, NewLLAddr: m2, TimestampNs: 20*ms + 10e3},
			{Event: "neigh_update_done", Family: 10, Dev: dev, IP: b, State: neigh.Stale, LLAddr: m2, Updated: 88, TimestampNs: 20*ms + 20e3},
			{Event: "neigh_update", Family: 10, Dev: dev, IP: a, State: neigh.Stale, LLAddr: m1, NewLLAddr: arp.MAC{0, 0, 0x6f, 0x30}, TimestampNs: 40*ms + 10e3},
			{Event: "neigh_update_done", Family: 10, Dev: dev, IP: a, State: neigh.Stale, LLAddr: m1, TimestampNs: 40*ms + 20e3},
		},
	}
	vs := r.Verdicts()
	want := []struct {
		verdict string
		update  int
	}{{trace.Honoured, 0}, {trace.Created, 3}, {trace.Dropped, -1}, {trace.Ignored, 5}, {trace.Dropped, -1}}
	if len(vs) != len(want) {
		t.Fatalf("%d verdicts, want %d: %+v", len(vs), len(want), vs)
	}
	for i, w := range want {
		var upd *ktrace.Event
		if w.update >= 0 {
			upd = &r.Trace[w.update]
		}
		if v := vs[i]; v.Frame != i || v.Verdict != w.verdict || v.Update != upd {
			t.Errorf("frame %d: verdict %q update %v; want %q update #%d", i, v.Verdict, v.Update, w.verdict, w.update)
		}
	}
	verdicts := map[int]*FrameVerdict{}
	for i := range vs {
		verdicts[vs[i].Frame] = &vs[i]
	}
	kinds := map[int]InputKind{}
	for _, in := range r.Inputs("h", verdicts, r.Stamps()) {
		if in.Kind == InND || in.Kind == InNDTx || in.Kind == InIPTx {
			kinds[in.Frame] = in.Kind
		}
	}
	for i := 0; i < 5; i++ {
		if kinds[i] != InND {
			t.Errorf("frame %d: input kind %v, want InND", i, kinds[i])
		}
	}
	if kinds[5] != InNDTx {
		t.Errorf("the sent NS: input kind %v, want InNDTx", kinds[5])
	}
	if k, ok := kinds[6]; ok {
		t.Errorf("a datagram to ff02::16 became input %v", k)
	}
	// The kernel's trace: a KindND event per received message, the NS
	// probe with its destination.
	nd, probes := 0, 0
	for _, ev := range r.Events() {
		switch {
		case ev.Kind == trace.KindND && ev.ND != nil:
			nd++
		case ev.Kind == trace.KindProbe && ev.ND != nil && ev.Attrs["to"] == m1.String() && ev.Cause == "unicast":
			probes++
		}
	}
	if nd != 5 || probes != 1 {
		t.Errorf("trace: %d nd events (want 5), %d unicast NS probes to %v (want 1)", nd, probes, m1)
	}
}

// FuzzFrames feeds arbitrary bytes to the recorded-frame decoders the
// verifier reads captures with: they must never panic, and a frame one
// of them accepts has the fields it claims.
func FuzzFrames(f *testing.F) {
	f.Add(garpFrom(arp.MAC{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("10.0.0.1")))
	f.Add(ndFrame(ndisc.AllNodesMAC, ndisc.Message{Type: ndisc.TypeNeighborAdvertisement, Src: netip.MustParseAddr("2001:db8::1"),
		Dst: ndisc.AllNodes, Target: netip.MustParseAddr("2001:db8::1"), Override: true}))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		FrameARP(b)
		if m, _, ok := FrameND(b); ok && !m.Type.IsND() {
			t.Errorf("FrameND accepted type %v", m.Type)
		}
		if dst, ok := FrameIPDst(b); ok && !dst.IsValid() {
			t.Error("FrameIPDst accepted a frame without an address")
		}
	})
}
