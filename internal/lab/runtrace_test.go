package lab

import (
	"net/netip"
	"testing"

	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// garpFrom is a broadcast GARP request from sha for ip (sip == tip).
func garpFrom(sha arp.MAC, ip netip.Addr) []byte {
	return testkit.ARPFrame(arp.Broadcast, sha, testkit.GARPRequest(ip, sha))
}

// TestVerdicts matches received frames with the tracepoints they caused:
// an update that changed the entry (honoured), one that did not
// (ignored), one that created the entry, a frame with no update (dropped),
// a frame for another host (dropped without looking), and an update that
// belongs to the next frame from the same sender, not to an earlier one.
func TestVerdicts(t *testing.T) {
	dev := "h0i0x"
	a, b, c := netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	m1, m2 := arp.MAC{2, 0, 0, 0, 0, 0xa1}, arp.MAC{2, 0, 0, 0, 0, 0xa2}
	frame := func(at int64, typ ether.PktType, data []byte) RunFrame {
		return RunFrame{Host: "h", Dev: "eth0", AtNs: at, Type: typ, Data: data}
	}
	r := &LabRun{
		TraceOK: true,
		Hosts:   []RunHost{{Name: "h", Observed: true, Devs: []RunDev{{Name: "eth0", IfName: dev}}}},
		Frames: []RunFrame{
			frame(10*ms, ether.PktBroadcast, garpFrom(m1, a)), // 0: honoured
			frame(20*ms, ether.PktBroadcast, garpFrom(m2, a)), // 1: ignored
			frame(30*ms, ether.PktBroadcast, garpFrom(m1, b)), // 2: created
			frame(40*ms, ether.PktBroadcast, garpFrom(m1, c)), // 3: dropped: its update comes after frame 4
			frame(50*ms, ether.PktBroadcast, garpFrom(m1, c)), // 4: honoured
			frame(60*ms, ether.PktOtherHost, garpFrom(m2, c)), // 5: not for us
			frame(70*ms, ether.PktOutgoing, garpFrom(m2, c)),  // sent: no verdict
		},
		Trace: []ktrace.Event{
			{Event: "neigh_update", Dev: dev, IP: a, State: neigh.Stale, NewLLAddr: m1, TimestampNs: 10*ms + 10e3},
			{Event: "neigh_update_done", Dev: dev, IP: a, State: neigh.Stale, LLAddr: m1, Updated: 77, TimestampNs: 10*ms + 20e3},
			{Event: "neigh_update", Dev: dev, IP: a, State: neigh.Stale, LLAddr: m1, NewLLAddr: m2, TimestampNs: 20*ms + 10e3},
			{Event: "neigh_update_done", Dev: dev, IP: a, State: neigh.Stale, LLAddr: m1, TimestampNs: 20*ms + 20e3},
			{Event: "neigh_create", Dev: dev, IP: b, Created: true, TimestampNs: 30*ms + 5e3},
			{Event: "neigh_update", Dev: dev, IP: b, State: neigh.None, NewLLAddr: m1, TimestampNs: 30*ms + 10e3},
			{Event: "neigh_update_done", Dev: dev, IP: b, State: neigh.Stale, LLAddr: m1, Updated: 88, TimestampNs: 30*ms + 20e3},
			{Event: "neigh_update", Dev: dev, IP: c, State: neigh.Reachable, LLAddr: m2, NewLLAddr: m1, UpdateFlags: ktrace.UpdateOverride, TimestampNs: 50*ms + 10e3},
			{Event: "neigh_update_done", Dev: dev, IP: c, State: neigh.Stale, LLAddr: m1, Updated: 99, TimestampNs: 50*ms + 20e3},
		},
	}
	vs := r.Verdicts()
	want := []struct {
		verdict string
		update  int // index into r.Trace, -1 for none
		j       uint64
	}{
		{trace.Honoured, 0, 77}, // the address changed: the frame carries the stamp
		{trace.Ignored, 2, 0},
		{trace.Created, 5, 88},
		{trace.Dropped, -1, 0},
		{trace.Honoured, 7, 99},
		{trace.Dropped, -1, 0},
	}
	if len(vs) != len(want) {
		t.Fatalf("%d verdicts, want %d: %+v", len(vs), len(want), vs)
	}
	for i, w := range want {
		v := vs[i]
		var upd *ktrace.Event
		if w.update >= 0 {
			upd = &r.Trace[w.update]
		}
		if v.Frame != i || v.Verdict != w.verdict || v.Update != upd || v.J != w.j {
			t.Errorf("frame %d: verdict %q update %v J %d; want %q update #%d J %d", i, v.Verdict, v.Update, v.J, w.verdict, w.update, w.j)
		}
	}
	if vs[0].Done != &r.Trace[1] || vs[2].Done != &r.Trace[6] {
		t.Error("verdicts do not carry the neigh_update_done that followed their update")
	}
	r.TraceOK = false
	for _, v := range r.Verdicts() {
		if v.Verdict != "" || v.Update != nil {
			t.Errorf("without tracepoints frame %d got %+v", v.Frame, v)
		}
	}
}
