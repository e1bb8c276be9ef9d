//go:build linux

package watch

import (
	"context"
	"testing"

	sched "arplab/internal/garp"
	livegarp "arplab/internal/live/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/trace"
)

func sendNA(t *testing.T, p *livetest.Pair, preset string, o sched.Options) {
	t.Helper()
	fs, err := sched.NASchedule(preset, livetest.SenderMAC, livetest.VIP6, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := livegarp.SendNA(context.Background(), p.SenderDev, fs, livegarp.SendOptions{Netns: p.Sender}); err != nil {
		t.Fatal(err)
	}
}

// freshEntry6 sets the observer's nd_tbl entry for VIP6 to the old MAC.
func freshEntry6(t *testing.T, p *livetest.Pair, state string) {
	t.Helper()
	livetest.TryIP(p.Observer, "-6", "neigh", "del", livetest.VIP6.String(), "dev", p.ObserverDev)
	livetest.IP(t, p.Observer, "-6", "neigh", "replace", livetest.VIP6.String(), "lladdr", livetest.OldMAC.String(),
		"nud", state, "dev", p.ObserverDev)
}

// TestWatchND: the watcher reads nd_tbl (spec linux-ndisc §0.3) beside
// arp_tbl: an override NA (keepalived's) moves the observer's REACHABLE
// entry for VIP6 to the new MAC and the change is attributed to it
// (§10.3); a non-override NA with a new MAC is reported as ignored, the
// entry turning STALE with the old MAC (weak override, §4.3); an NA for an
// address with no entry is dropped (§4.4).
func TestWatchND(t *testing.T) {
	p := livetest.NewPair(t)
	p.EnableIPv6(t, false)
	p.WaitReady(t)
	freshEntry6(t, p, "reachable")
	w := startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}})
	vip, bb, aa := livetest.VIP6.String(), livetest.SenderMAC.String(), livetest.OldMAC.String()

	sendNA(t, p, "keepalived", sched.Options{MasterRepeat: 1, MasterDelay: sched.None})
	st := w.wait(t, "the nd_tbl change to bb", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.LLAddr == bb
	})
	if st.Cause != "na-override" || st.OldLLAddr != aa || st.State != "STALE" || st.Frame == 0 {
		t.Errorf("state event = %+v, want STALE bb from aa caused by the na-override frame", st)
	}
	fr := w.wait(t, "the NA", func(e trace.Event) bool { return e.Kind == trace.KindND && e.Frame == st.Frame })
	if fr.Verdict != trace.Honoured || fr.ND == nil || fr.ND.Type != "NA" || !fr.ND.Override || fr.ND.LLAddr != bb || fr.ND.PktType != "multicast" {
		t.Errorf("NA event = %+v (nd %+v), want an honoured multicast override NA", fr, fr.ND)
	}

	freshEntry6(t, p, "reachable")
	// The watcher must have seen the entry back on the old MAC before the
	// NA arrives: its netlink and packet sockets are read apart.
	w.wait(t, "the entry back on aa", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.LLAddr == aa && e.State == "REACHABLE" && e.Time > st.Time
	})
	sendNA(t, p, sched.Custom, sched.Options{NAFlags: "none"})
	weak := w.wait(t, "the non-override NA", func(e trace.Event) bool {
		return e.Kind == trace.KindND && e.ND != nil && e.ND.Type == "NA" && e.ND.Target == vip && !e.ND.Override && e.Frame > st.Frame
	})
	if weak.Verdict != trace.Ignored || weak.LLAddr != aa || weak.State != "STALE" {
		t.Errorf("non-override NA event = %+v, want ignored, entry STALE with the old MAC", weak)
	}
	ws := w.wait(t, "the weak override's change", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.State == "STALE" && e.LLAddr == aa && e.OldState == "REACHABLE"
	})
	if ws.Cause != "na" || ws.Rule != "ndisc §4.3" {
		t.Errorf("weak override change = %+v, want caused by the non-override NA", ws)
	}

	livetest.IP(t, p.Observer, "-6", "neigh", "del", vip, "dev", p.ObserverDev)
	w.wait(t, "the entry's deletion", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.State == "NONE" && e.Time > ws.Time
	})
	sendNA(t, p, "keepalived", sched.Options{MasterRepeat: 1, MasterDelay: sched.None})
	none := w.wait(t, "the NA without an entry", func(e trace.Event) bool {
		return e.Kind == trace.KindND && e.Frame > weak.Frame && e.ND != nil && e.ND.Type == "NA" && e.ND.Target == vip && e.ND.Override
	})
	if none.Verdict != trace.Dropped {
		t.Errorf("NA without an entry = %+v, want dropped (hosts never create entries from NAs)", none)
	}
}
