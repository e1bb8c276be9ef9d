package watch

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

var (
	t0     = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	vip    = netip.MustParseAddr("10.99.0.100")
	me     = netip.MustParseAddr("10.99.0.1")
	macOld = arp.MAC{2, 0, 0, 0, 0, 0xaa}
	macNew = arp.MAC{2, 0, 0, 0, 0, 0xbb}
	macMe  = arp.MAC{2, 0, 0, 0, 0, 0x01}
)

const (
	old = "02:00:00:00:00:aa"
	new = "02:00:00:00:00:bb"
)

func ms(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Millisecond))) }

func frame(at time.Time, pktType ether.PktType, ethDst arp.MAC, p arp.Packet) *obs {
	return &obs{at: at, frame: &frameObs{dev: "o0", pktType: pktType, ethDst: ethDst, pkt: p}}
}

func change(at time.Time, lladdr, state string) *obs {
	return &obs{at: at, neigh: &neighObs{dev: "o0", ip: vip, lladdr: lladdr, state: state}}
}

var (
	garpRequest = arp.NewPacket(arp.OpRequest, macNew, vip, arp.Broadcast, vip)
	metallbRep  = arp.NewPacket(arp.OpReply, macNew, vip, arp.Broadcast, vip)
)

// ev is the part of an event the tests compare.
type ev struct {
	Time      string
	Kind      trace.Kind
	IP        string
	Cause     string
	Verdict   string
	Old, New  string
	Frame     int
	Explained string // a substring of Explanation
}

func run(t *testing.T, seed []neighObs, in ...*obs) []trace.Event {
	t.Helper()
	var got []trace.Event
	c := newCorrelator(t0, 0, "observer", func(e trace.Event) {
		if err := e.Validate(); err != nil {
			t.Errorf("invalid event %+v: %v", e, err)
		}
		got = append(got, e)
	})
	c.seed(seed)
	for _, o := range in {
		c.add(o)
		c.flush(o.at, false) // as the real loop does, interleaved
	}
	c.flush(t0.Add(time.Hour), true)
	return got
}

func check(t *testing.T, got []trace.Event, want []ev) {
	t.Helper()
	var g []ev
	for i, e := range got {
		x := ev{Time: fmt.Sprintf("%.4f", e.Time), Kind: e.Kind, IP: e.IP, Cause: e.Cause, Verdict: e.Verdict, Frame: e.Frame}
		switch e.Kind {
		case trace.KindState:
			x.Old, x.New = e.OldState+" "+e.OldLLAddr, e.State+" "+e.LLAddr
		case trace.KindARP:
			x.New = e.State + " " + e.LLAddr
		}
		if i < len(want) {
			if !strings.Contains(e.Explanation, want[i].Explained) {
				t.Errorf("event %d explanation %q does not contain %q", i, e.Explanation, want[i].Explained)
			}
			x.Explained = want[i].Explained
		}
		g = append(g, x)
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

var reachableOld = []neighObs{{dev: "o0", ip: vip, lladdr: old, state: "REACHABLE"}}

func TestGARPRequestHonoured(t *testing.T) {
	got := run(t, reachableOld,
		frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest),
		change(ms(1.5), new, "STALE"),
	)
	check(t, got, []ev{
		{"0.0000", trace.KindARP, "10.99.0.100", "garp-request", trace.Honoured, "", "STALE " + new, 1,
			"REACHABLE 02:00:00:00:00:aa → STALE 02:00:00:00:00:bb; netlink reported the change 1.5 ms later"},
		{"0.0015", trace.KindState, "10.99.0.100", "garp-request", "", "REACHABLE " + old, "STALE " + new, 1,
			"1.5 ms after a garp-request from 02:00:00:00:00:bb (frame 1)"},
	})
}

// TestMetalLBReplyIgnored is field notes §G case C: a reply with THA
// broadcast right after the entry changed is ignored, and the tracepoint
// says why.
func TestMetalLBReplyIgnored(t *testing.T) {
	tp := &obs{at: ms(0.02), tp: &tracepoint{dev: "o0", ip: vip, lladdr: old, newLLAddr: new,
		state: "REACHABLE", newState: "STALE", flags: 0, updated: 4295000, confirmed: 4295000}}
	got := run(t, reachableOld, frame(ms(0), ether.PktBroadcast, arp.Broadcast, metallbRep), tp)
	check(t, got, []ev{
		{"0.0000", trace.KindARP, "10.99.0.100", "unsolicited-reply", trace.Ignored, "", "REACHABLE " + old, 1,
			"ignored: the entry is REACHABLE with lladdr 02:00:00:00:00:aa and the update brings 02:00:00:00:00:bb without OVERRIDE"},
	})
	if got[0].Updated == nil || *got[0].Updated != 4295000 {
		t.Errorf("ignored frame's Updated = %v, want the tracepoint's 4295000", got[0].Updated)
	}
	if got[0].ARP == nil || got[0].ARP.PktType != "broadcast" || !got[0].ARP.GARP || got[0].ARP.THA != "ff:ff:ff:ff:ff:ff" {
		t.Errorf("ARP = %+v, want the broadcast sip == tip frame with THA ff:ff:ff:ff:ff:ff", got[0].ARP)
	}
}

func TestVerdictsWithoutTrace(t *testing.T) {
	stale := []neighObs{{dev: "o0", ip: vip, lladdr: new, state: "STALE"}}
	t.Run("different lladdr kept", func(t *testing.T) {
		check(t, run(t, reachableOld, frame(ms(0), ether.PktBroadcast, arp.Broadcast, metallbRep)), []ev{
			{"0.0000", trace.KindARP, "10.99.0.100", "unsolicited-reply", trace.Ignored, "", "REACHABLE " + old, 1,
				"the entry kept lladdr 02:00:00:00:00:aa (REACHABLE)"},
		})
	})
	t.Run("same lladdr", func(t *testing.T) {
		check(t, run(t, stale, frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest)), []ev{
			{"0.0000", trace.KindARP, "10.99.0.100", "garp-request", trace.Honoured, "", "STALE " + new, 1,
				"already had lladdr"},
		})
	})
	t.Run("no entry", func(t *testing.T) {
		check(t, run(t, nil, frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest)), []ev{
			{"0.0000", trace.KindARP, "10.99.0.100", "garp-request", trace.Dropped, "", " ", 1, "no entry for 10.99.0.100"},
		})
	})
	t.Run("created", func(t *testing.T) {
		check(t, run(t, nil, frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest), change(ms(0.4), new, "STALE")), []ev{
			{"0.0000", trace.KindARP, "10.99.0.100", "garp-request", trace.Created, "", "STALE " + new, 1, "no entry → STALE"},
			{"0.0004", trace.KindState, "10.99.0.100", "garp-request", "", "NONE ", "STALE " + new, 1, "after a garp-request"},
		})
	})
	t.Run("otherhost", func(t *testing.T) {
		check(t, run(t, reachableOld, frame(ms(0), ether.PktOtherHost, macOld, garpRequest)), []ev{
			{"0.0000", trace.KindARP, "10.99.0.100", "garp-request", trace.Dropped, "", " ", 1, "PACKET_OTHERHOST"},
		})
	})
}

func TestCauses(t *testing.T) {
	probe := arp.NewPacket(arp.OpRequest, macMe, me, arp.Zero, vip)
	reply := arp.NewPacket(arp.OpReply, macNew, vip, macMe, me)
	delay := []neighObs{{dev: "o0", ip: vip, lladdr: old, state: "DELAY"}}
	got := run(t, delay,
		change(ms(0), old, "PROBE"),
		frame(ms(0.2), ether.PktOutgoing, macOld, probe), // sent in the same tick, seen just after
		frame(ms(3), ether.PktHost, macMe, reply),
		change(ms(3.4), new, "REACHABLE"),
		change(ms(40000), new, "STALE"),
		change(ms(41000), new, "DELAY"),
		&obs{at: ms(41100), neigh: &neighObs{dev: "o0", ip: vip, lladdr: new, state: "NONE", deleted: true}},
	)
	check(t, got, []ev{
		{"0.0000", trace.KindState, "10.99.0.100", "probe", "", "DELAY " + old, "PROBE " + old, 0, "this host probed 10.99.0.100 (frame 1)"},
		{"0.0002", trace.KindProbe, "10.99.0.100", "probe", "", "", "", 1, "this host asked who has 10.99.0.100"},
		{"0.0030", trace.KindARP, "10.99.0.100", "probe-reply", trace.Honoured, "", "REACHABLE " + new, 2, "PROBE 02:00:00:00:00:aa → REACHABLE"},
		{"0.0034", trace.KindState, "10.99.0.100", "probe-reply", "", "PROBE " + old, "REACHABLE " + new, 2, "after a probe-reply"},
		{"40.0000", trace.KindState, "10.99.0.100", "timer", "", "REACHABLE " + new, "STALE " + new, 0, "reachable_time expired"},
		{"41.0000", trace.KindState, "10.99.0.100", "output", "", "STALE " + new, "DELAY " + new, 0, "a packet was sent"},
		{"41.1000", trace.KindState, "10.99.0.100", "timer/unknown", "", "DELAY " + new, "NONE " + new, 0, "→ deleted"},
	})
}

// TestFrameOutsideWindow: a frame 80 ms before a change does not explain it.
func TestFrameOutsideWindow(t *testing.T) {
	got := run(t, reachableOld,
		frame(ms(0), ether.PktBroadcast, arp.Broadcast, garpRequest),
		change(ms(80), new, "STALE"),
	)
	if got[1].Cause != "timer/unknown" || got[1].Frame != 0 {
		t.Errorf("change 80 ms after the frame: cause %q frame %d, want timer/unknown and no frame", got[1].Cause, got[1].Frame)
	}
	if got[0].Verdict != trace.Ignored {
		t.Errorf("frame verdict = %q, want ignored (no change within the window)", got[0].Verdict)
	}
}

func TestResync(t *testing.T) {
	other := netip.MustParseAddr("10.99.0.7")
	seed := append([]neighObs{{dev: "o0", ip: other, lladdr: old, state: "STALE"}}, reachableOld...)
	got := run(t, seed, &obs{at: ms(10), note: "netlink buffer overrun: table re-read", table: []neighObs{
		{dev: "o0", ip: vip, lladdr: new, state: "STALE"},
	}})
	check(t, got, []ev{
		{"0.0100", trace.KindNote, "", "", "", "", "", 0, "netlink buffer overrun: table re-read"},
		{"0.0100", trace.KindState, "10.99.0.100", "resync", "", "REACHABLE " + old, "STALE " + new, 0, "re-read after a netlink overrun"},
		{"0.0100", trace.KindState, "10.99.0.7", "resync", "", "STALE " + old, "NONE " + old, 0, "→ deleted"},
	})
}

// TestOrderAndLateArrivals: observations added out of order come out in
// time order; one older than what was already emitted still comes out.
func TestOrderAndLateArrivals(t *testing.T) {
	var got []trace.Event
	c := newCorrelator(t0, 0, "", func(e trace.Event) { got = append(got, e) })
	c.seed(reachableOld)
	c.add(change(ms(5), new, "STALE"))
	c.add(frame(ms(1), ether.PktBroadcast, arp.Broadcast, garpRequest))
	c.flush(ms(100), false)
	if len(got) != 0 {
		t.Fatalf("flushed %d events before the hold time passed", len(got))
	}
	c.flush(ms(300), false)
	if len(got) != 2 || got[0].Kind != trace.KindARP || got[1].Kind != trace.KindState {
		t.Fatalf("got %+v, want the frame then the change", got)
	}
	c.add(&obs{at: ms(2), note: "late"})
	c.flush(ms(600), false)
	if len(got) != 3 || got[2].Explanation != "late" {
		t.Errorf("late observation not emitted: %+v", got)
	}
	c.flush(ms(10000), false)
	if len(c.history) != 0 || len(c.changes) != 0 {
		t.Errorf("history not pruned: %d observations, %d changes", len(c.history), len(c.changes))
	}
}

func TestIgnoredTracepointWithoutFrame(t *testing.T) {
	tp := &obs{at: ms(0), tp: &tracepoint{dev: "o0", ip: vip, lladdr: old, newLLAddr: new, state: "REACHABLE", newState: "STALE"}}
	admin := &obs{at: ms(1), tp: &tracepoint{dev: "o0", ip: vip, lladdr: old, newLLAddr: new, state: "REACHABLE", newState: "STALE", flags: flagAdmin | flagOverride}}
	got := run(t, reachableOld, tp, admin)
	check(t, got, []ev{
		{"0.0000", trace.KindNote, "10.99.0.100", "ignored-update", "", "", "", 0, "no matching ARP frame seen"},
	})
}

func TestParseTracepoint(t *testing.T) {
	ignored := "          <idle>-0       [001] ..s2.  5123.456789: neigh_update: family 2 dev o0 lladdr 0200000000aa " +
		"flags 00 nud_state reachable type 01 dead 0 refcnt 2 primary_key4 10.99.0.100 primary_key6 :: " +
		"confirmed 4295012 updated 4295010 used 4295010 new_lladdr 0200000000bb new_state stale update_flags 00 pid 0"
	tp, ok, err := parseTracepoint(ignored)
	if err != nil || !ok {
		t.Fatalf("parseTracepoint: ok=%v err=%v", ok, err)
	}
	want := tracepoint{mono: 5123456789 * time.Microsecond, dev: "o0", ip: vip, lladdr: old, newLLAddr: new,
		state: "REACHABLE", newState: "STALE", confirmed: 4295012, updated: 4295010}
	if diff := cmp.Diff(want, tp, cmp.AllowUnexported(tracepoint{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("parseTracepoint (-want +got):\n%s", diff)
	}
	if ign, why := tp.ignored(); !ign || !strings.Contains(why, "without OVERRIDE") {
		t.Errorf("ignored() = %v %q, want true and the reason", ign, why)
	}

	created := strings.NewReplacer("lladdr 0200000000aa flags", "lladdr  flags", "nud_state reachable", "nud_state 0x0",
		"update_flags 00", "update_flags 80000001").Replace(ignored)
	tp, ok, err = parseTracepoint(created)
	if err != nil || !ok || tp.lladdr != "" || tp.state != "NONE" || tp.flags != 0x80000001 {
		t.Errorf("entry without lladdr: %+v ok=%v err=%v", tp, ok, err)
	}
	if ign, _ := tp.ignored(); ign {
		t.Error("an admin update was reported as ignored")
	}
	if _, ok, err := parseTracepoint(strings.Replace(ignored, "family 2", "family 10", 1)); ok || err != nil {
		t.Errorf("IPv6 tracepoint: ok=%v err=%v, want skipped", ok, err)
	}
	if _, ok, err := parseTracepoint("  bash-1 [000] ..... 1.0: neigh_create: family 2"); ok || err != nil {
		t.Errorf("other event: ok=%v err=%v, want skipped", ok, err)
	}
	if _, _, err := parseTracepoint(strings.Replace(ignored, "update_flags 00", "update_flags zz", 1)); err == nil {
		t.Error("bad update_flags accepted")
	}
}

// TestAdminBitOn516: since 5.16 ADMIN is bit 7 (`ip neigh replace` shows
// update_flags 85 on 6.18); a replace of a PERMANENT entry is not an
// ignored update.
func TestAdminBitOn516(t *testing.T) {
	line := "              ip-3708    [001] .....   211.118258: neigh_update: family 2 dev o0 lladdr 0200000000aa " +
		"flags 00 nud_state permanent type 01 dead 0 refcnt 2 primary_key4 10.99.0.100 primary_key6 :: " +
		"confirmed 4295012 updated 4295010 used 4295010 new_lladdr 0200000000bb new_state permanent update_flags 85 pid 4242"
	tp, ok, err := parseTracepoint(line)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if ign, why := tp.ignored(); ign {
		t.Fatalf("admin replace of a PERMANENT entry reported ignored: %s", why)
	}
}
