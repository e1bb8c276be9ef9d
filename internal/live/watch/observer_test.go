package watch

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// recorder is an Observer writing one line per call.
type recorder struct{ lines []string }

func (r *recorder) Frame(f FrameVerdict) {
	r.lines = append(r.lines, fmt.Sprintf("frame %s %v %s %s %s", f.Dev, f.IP, f.Shape, f.Verdict, f.Rule))
}
func (r *recorder) Entry(c EntryChange) {
	r.lines = append(r.lines, fmt.Sprintf("entry %s %v %s→%s seed=%v resync=%v", c.Dev, c.IP, c.From, c.To, c.Seed, c.Resync))
}
func (r *recorder) Probe(dev string, unicast bool) {
	r.lines = append(r.lines, fmt.Sprintf("probe %s unicast=%v", dev, unicast))
}
func (r *recorder) IgnoredUpdate(dev string, rule Rule) {
	r.lines = append(r.lines, fmt.Sprintf("ignored-update %s %s", dev, rule))
}
func (r *recorder) Dead(d DeadChange) {
	r.lines = append(r.lines, fmt.Sprintf("dead=%v %s %v %s %s %.3f", d.Dead, d.Dev, d.IP, d.MAC, d.Reason, d.At.Sub(d.Since).Seconds()))
}
func (r *recorder) Health(h Health) { r.lines = append(r.lines, fmt.Sprintf("health %+v", h)) }

// observe runs the correlator as run does, with a recorder and the given
// drop_gratuitous_arp setting, and returns what the observer saw.
func observe(t *testing.T, seed []neighObs, dropGARP bool, in ...*obs) []string {
	t.Helper()
	r := &recorder{}
	c := newCorrelator(t0, 0, "observer", func(trace.Event) {})
	c.ob = r
	c.dropGARP = map[string]bool{"o0": dropGARP}
	c.seed(seed)
	for _, o := range in {
		c.add(o)
		c.flush(o.at, false)
	}
	c.flush(t0.Add(time.Hour), true)
	return r.lines
}

func TestObserverVerdictsAndRules(t *testing.T) {
	stale := []neighObs{{dev: "o0", ip: vip, lladdr: new, state: "STALE"}}
	seedOld := "entry o0 10.99.0.100 NONE→REACHABLE seed=true resync=false"
	for _, tc := range []struct {
		name string
		seed []neighObs
		drop bool
		in   []*obs
		want []string
	}{
		{"GARP honoured", reachableOld, false,
			[]*obs{frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest), change(ms(1.5), new, "STALE")},
			[]string{seedOld, "frame o0 10.99.0.100 garp-request honoured none", "entry o0 10.99.0.100 REACHABLE→STALE seed=false resync=false"}},
		{"MetalLB reply ignored: not gratuitous, and the entry points at a superseded MAC", reachableOld, false,
			[]*obs{frame(ms(0), ether.PktBroadcast, arp.Broadcast, metallbRep)},
			[]string{seedOld, "frame o0 10.99.0.100 unsolicited-reply ignored not-gratuitous",
				"dead=true o0 10.99.0.100 02:00:00:00:00:aa superseded 0.000"}},
		{"plain reply ignored: locktime", reachableOld, false,
			[]*obs{frame(ms(0), ether.PktHost, macMe, arp.NewPacket(arp.OpReply, macNew, vip, macMe, me))},
			[]string{seedOld, "frame o0 10.99.0.100 reply ignored locktime"}},
		{"same MAC: no-op", stale, false,
			[]*obs{frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest)},
			[]string{"entry o0 10.99.0.100 NONE→STALE seed=true resync=false", "frame o0 10.99.0.100 garp-request no-op none"}},
		{"no entry: arp_accept", nil, false,
			[]*obs{frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest)},
			[]string{"frame o0 10.99.0.100 garp-request dropped arp_accept"}},
		{"drop_gratuitous_arp", reachableOld, true,
			[]*obs{frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest)},
			[]string{seedOld, "frame o0 10.99.0.100 garp-request dropped drop_gratuitous_arp",
				"dead=true o0 10.99.0.100 02:00:00:00:00:aa superseded 0.000"}},
		{"otherhost", nil, false,
			[]*obs{frame(ms(0), ether.PktOtherHost, arp.MAC{2, 9, 9, 9, 9, 9}, garpRequest)},
			[]string{"frame o0 10.99.0.100 garp-request dropped otherhost"}},
		{"superseded, then healed by a GARP", reachableOld, false,
			[]*obs{frame(ms(0), ether.PktBroadcast, arp.Broadcast, metallbRep),
				frame(ms(2000), ether.PktBroadcast, arp.Broadcast, garpRequest), change(ms(2001), new, "STALE")},
			[]string{seedOld, "frame o0 10.99.0.100 unsolicited-reply ignored not-gratuitous",
				"dead=true o0 10.99.0.100 02:00:00:00:00:aa superseded 0.000",
				"frame o0 10.99.0.100 garp-request honoured none",
				"entry o0 10.99.0.100 REACHABLE→STALE seed=false resync=false",
				"dead=false o0 10.99.0.100 02:00:00:00:00:aa superseded 2.001"}},
		{"ignored update on the tracepoint", reachableOld, false,
			[]*obs{{at: ms(0), tp: &tracepoint{dev: "o0", ip: vip, lladdr: old, newLLAddr: new, state: "REACHABLE", newState: "STALE"}}},
			[]string{seedOld, "ignored-update o0 locktime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, observe(t, tc.seed, tc.drop, tc.in...)); diff != "" {
				t.Errorf("observer calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestObserverUnansweredProbe: a unicast probe to the cached MAC that no
// frame answers within probeWait makes the entry dead; the MAC speaking
// again ends it.
func TestObserverUnansweredProbe(t *testing.T) {
	probe := arp.NewPacket(arp.OpRequest, macMe, me, arp.MAC{}, vip)
	reply := arp.NewPacket(arp.OpReply, macOld, vip, macMe, me)
	got := observe(t, reachableOld, false,
		frame(ms(0), ether.PktOutgoing, macOld, probe),
		frame(ms(500), ether.PktOutgoing, macOld, probe),
		frame(ms(3000), ether.PktHost, macMe, reply),
	)
	want := []string{
		"entry o0 10.99.0.100 NONE→REACHABLE seed=true resync=false",
		"probe o0 unicast=true", "probe o0 unicast=true",
		"dead=true o0 10.99.0.100 02:00:00:00:00:aa unanswered 1.000",
		"dead=false o0 10.99.0.100 02:00:00:00:00:aa unanswered 3.000",
		"frame o0 10.99.0.100 reply no-op none", // the probes left the 2 s history
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observer calls (-want +got):\n%s", diff)
	}
	// answered in time: nothing dead
	got = observe(t, reachableOld, false, frame(ms(0), ether.PktOutgoing, macOld, probe), frame(ms(3), ether.PktHost, macMe, reply))
	for _, l := range got {
		if l[:4] == "dead" {
			t.Errorf("answered probe produced %q", l)
		}
	}
}

// TestVerdictLabelsSpelledAsTraceEffects: the verdict label values of
// the metrics are the trace schema's effect names (docs/trace.md,
// "Effects"), so a dashboard and a saved trace say "no-op" alike.
func TestVerdictLabelsSpelledAsTraceEffects(t *testing.T) {
	want := map[Verdict]trace.Effect{
		VerdictHonoured: trace.EffectHonoured,
		VerdictIgnored:  trace.EffectIgnored,
		VerdictNoOp:     trace.EffectNoop,
		VerdictCreated:  trace.EffectCreated,
		VerdictDropped:  trace.EffectDropped,
	}
	if len(want) != int(NumVerdicts) {
		t.Fatalf("%d verdicts, the test knows %d: add the new one", NumVerdicts, len(want))
	}
	for v, e := range want {
		if v.String() != string(e) {
			t.Errorf("verdict %d label = %q, want the trace's effect %q", v, v.String(), e)
		}
	}
}
