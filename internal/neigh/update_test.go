package neigh

import (
	"testing"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// The worked cases of spec §5, for the profiles where they differ. Every
// case prepares an entry, lets `at` ticks pass, delivers a frame, and
// checks state, lladdr and which stamps moved.
func TestNeighUpdateWorkedCases(t *testing.T) {
	// a non-gratuitous reply from F (tip = us) so no GARP logic applies
	other := func(mac arp.MAC) arp.Packet { return arp.NewPacket(arp.OpReply, mac, ipF, macSelf, ipSelf) }
	type want struct {
		state            State
		mac              arp.MAC
		updated, confirm bool // moved to now
		verdict          string
	}
	cases := []struct {
		name  string
		setup func(h *harness) // leaves the entry in the state under test at h.now
		after vtime.Jiffies    // ticks before the frame
		frame arp.Packet
		pt    PktType
		want  map[string]want
	}{
		{"StaleDifferentNoOverride", func(h *harness) { h.seed(ipF, macOld, Stale) }, 10, other(macNew), PktBroadcast, map[string]want{
			"rhel7.3": {Stale, macOld, true, false, VerdictIgnored},
			"4.12":    {Stale, macOld, false, false, VerdictIgnored},
			"6.18":    {Stale, macOld, false, false, VerdictIgnored},
		}},
		{"StaleDifferentOverride", func(h *harness) { h.seed(ipF, macOld, Stale) }, 1001, other(macNew), PktBroadcast, map[string]want{
			"rhel7.3": {Stale, macNew, true, false, VerdictHonoured},
			"6.18":    {Stale, macNew, true, false, VerdictHonoured},
		}},
		{"DelayDifferentOverrideToStale", toDelay, 1001, other(macNew), PktBroadcast, map[string]want{
			"rhel7.3": {Stale, macNew, true, false, VerdictHonoured},
			"6.18":    {Stale, macNew, true, false, VerdictHonoured},
		}},
		{"ReachableSameStale", func(h *harness) { h.seed(ipF, macOld, Reachable) }, 10, other(macOld), PktBroadcast, map[string]want{
			"rhel7.3": {Reachable, macOld, true, false, VerdictIgnored},
			"4.12":    {Reachable, macOld, false, false, VerdictIgnored},
		}},
		{"DelaySameStaleKnockedBack", toDelay, 10, other(macOld), PktBroadcast, map[string]want{
			"rhel7.3": {Stale, macOld, true, false, VerdictHonoured},
			"rhel7.8": {Stale, macOld, true, false, VerdictHonoured}, // 7.8 lacks d1c2b5010d07
			"4.4":     {Stale, macOld, true, false, VerdictHonoured},
			"4.9":     {Delay, macOld, true, false, VerdictIgnored}, // no 77d7123342dc yet
			"6.18":    {Delay, macOld, false, false, VerdictIgnored},
		}},
		{"DelaySameReachable", toDelay, 10, other(macOld), PktHost, map[string]want{
			"rhel7.3": {Reachable, macOld, true, true, VerdictHonoured},
			"6.18":    {Reachable, macOld, true, true, VerdictHonoured},
		}},
		{"ReachableSameReachable", func(h *harness) { h.seed(ipF, macOld, Reachable) }, 10, other(macOld), PktHost, map[string]want{
			"rhel7.3": {Reachable, macOld, true, true, VerdictIgnored},
			"4.12":    {Reachable, macOld, false, false, VerdictIgnored},
			"4.19":    {Reachable, macOld, false, true, VerdictIgnored},
		}},
		{"ReachableDifferentReachableNoOverride", func(h *harness) { h.seed(ipF, macOld, Reachable) }, 10, other(macNew), PktHost, map[string]want{
			"rhel7.3": {Reachable, macOld, true, true, VerdictIgnored},
			"4.12":    {Reachable, macOld, false, false, VerdictIgnored},
			"4.19":    {Reachable, macOld, false, true, VerdictIgnored},
			"6.18":    {Reachable, macOld, false, true, VerdictIgnored},
		}},
		// accepted into STALE, then the released queued packet goes through
		// the output path and turns it DELAY (divergences D1, seen by the lab)
		{"IncompleteAccepted", func(h *harness) { h.send(ipF, nil) }, 5, other(macNew), PktBroadcast, map[string]want{
			"rhel7.3": {Delay, macNew, true, false, VerdictHonoured},
			"6.18":    {Delay, macNew, true, false, VerdictHonoured},
		}},
	}
	for _, c := range cases {
		for prof, w := range c.want {
			t.Run(c.name+"/"+prof, func(t *testing.T) {
				h := newHarness(t, prof)
				c.setup(h)
				h.at(h.now + c.after)
				before := h.entry(ipF)
				d := h.rx(c.frame, c.pt)
				got := h.entry(ipF)
				if got.State != w.state || got.LLAddr != w.mac || d.Verdict != w.verdict {
					t.Fatalf("got %v %v %s, want %v %v %s (%s)", got.State, got.LLAddr, d.Verdict, w.state, w.mac, w.verdict, d.Explain())
				}
				if moved := got.Updated != before.Updated; moved != w.updated {
					t.Errorf("updated moved = %v, want %v (%d → %d)", moved, w.updated, before.Updated, got.Updated)
				}
				if moved := got.Confirmed == h.now && before.Confirmed != h.now; moved != w.confirm {
					t.Errorf("confirmed moved to now = %v, want %v", moved, w.confirm)
				}
				if w.mac != before.LLAddr && before.State.Valid() && w.state == Stale && got.Confirmed != h.now-2*30_000 {
					t.Errorf("new address in STALE: confirmed = %d, want now−2×base_reachable_time = %d", got.Confirmed, h.now-60_000)
				}
			})
		}
	}
}

func toDelay(h *harness) {
	h.seed(ipF, macOld, Stale)
	h.at(h.now + 2000)
	h.send(ipF, nil)
}

// TestPermanentChangesOnlyThroughAdmin is step 2 of spec §5.
func TestPermanentChangesOnlyThroughAdmin(t *testing.T) {
	h := newHarness(t, "6.18")
	h.seed(ipF, macOld, Permanent)
	h.at(base + 5000)
	if d := h.rx(garpRequest(ipF, macNew), PktBroadcast); d.Verdict != VerdictIgnored {
		t.Fatalf("%s", d.Explain())
	}
	h.want(ipF, Permanent, macOld)
	h.seed(ipF, macNew, Permanent)
	h.want(ipF, Permanent, macNew)
}
