package neigh

import (
	"testing"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

func countRule(h *harness, r Rule) int {
	n := 0
	for _, d := range h.log {
		if d.Rule == r {
			n++
		}
	}
	return n
}

// TestEntryReachableToStaleWhenUnused: REACHABLE expires to STALE when the
// entry was not used in the last delay_first_probe_time (§2.2), after one
// minimum re-arm.
func TestEntryReachableToStaleWhenUnused(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	h.seed(ipF, macOld, Reachable)
	h.at(base + 30_000)
	h.want(ipF, Reachable, macOld) // now == confirmed + reachable_time: still
	h.at(base + 30_499)
	h.want(ipF, Reachable, macOld) // re-armed at now + HZ/2
	h.at(base + 30_500)
	h.want(ipF, Stale, macOld)
	if u := h.entry(ipF).Updated; u != base+30_500 {
		t.Fatalf("updated = %d, want %d", u, base+30_500)
	}
}

// TestEntryReachableToDelayToProbeToFailed walks the whole probing path
// with the default three unicast probes.
func TestEntryReachableToDelayToProbeToFailed(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	h.seed(ipF, macOld, Reachable)
	h.at(base + 28_000)
	h.send(ipF, nil) // slow path: used = now, header cached
	h.at(base + 30_500)
	h.want(ipF, Delay, macOld)
	h.at(base + 35_499)
	h.want(ipF, Delay, macOld)
	h.at(base + 35_500)
	h.want(ipF, Probe, macOld)
	h.at(base + 38_499)
	h.want(ipF, Probe, macOld)
	if u, b := h.probes(); u != 3 || b != 0 {
		t.Fatalf("probes before FAILED: %d unicast %d broadcast, want 3/0", u, b)
	}
	h.at(base + 38_500)
	h.want(ipF, Failed, macOld)
	if u, b := h.probes(); u != 3 || b != 0 {
		t.Fatalf("probes: %d unicast %d broadcast, want 3/0", u, b)
	}
	for _, a := range h.act {
		if a.Kind == ActProbe && a.DstMAC != macOld {
			t.Fatalf("unicast probe to %v, want the cached %v", a.DstMAC, macOld)
		}
	}
}

// TestEntryProbeWithMcastResolicit: 4.1+ ends PROBE with broadcasts.
func TestEntryProbeWithMcastResolicit(t *testing.T) {
	h := newHarness(t, "4.4")
	if err := h.tb.SetParam("eth2", "mcast_resolicit", "2"); err != nil {
		t.Fatal(err)
	}
	toDelay(h)
	h.at(h.now + 20_000)
	h.want(ipF, Failed, macOld)
	if u, b := h.probes(); u != 3 || b != 2 {
		t.Fatalf("probes %d unicast %d broadcast, want 3/2", u, b)
	}
}

// TestEntryNoneToIncompleteToFailed: resolution sends mcast_solicit
// broadcasts, then fails every queued packet (§2.2 step 5, §3).
func TestEntryNoneToIncompleteToFailed(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	v, _ := h.send(ipF, nil)
	if v != TxQueued {
		t.Fatalf("verdict %v, want queued", v)
	}
	h.want(ipF, Incomplete, [6]byte{})
	h.at(base + 2999)
	if _, b := h.probes(); b != 3 {
		t.Fatalf("broadcast probes %d, want 3", b)
	}
	h.at(base + 3000)
	h.want(ipF, Failed, [6]byte{})
	var unreach int
	for _, a := range h.act {
		if a.Kind == ActUnreachable {
			unreach++
		}
	}
	if unreach != 1 {
		t.Fatalf("unreachable reports %d, want 1", unreach)
	}
}

// TestMinimumRearm: HZ/2 before 5.7, HZ/100 after (F13).
func TestMinimumRearm(t *testing.T) {
	for _, c := range []struct {
		profile string
		second  vtime.Jiffies // tick of the second broadcast probe
	}{{"rhel7.3", base + 1000}, {"6.18", 1000208}} { // 6.18: HZ/100 floor, and the timer wheel rounds +100 up to a multiple of 8
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness(t, c.profile)
			h.tb.SetParam("eth2", "retrans_time_ms", "100")
			h.send(ipF, nil)
			// first timer: max(retrans, HZ/2) on both (5.7 lowered it to HZ/100)
			var at []vtime.Jiffies
			for i := vtime.Jiffies(1); i <= 1500 && len(at) < 2; i++ {
				n := len(h.act)
				h.at(base + i)
				if len(h.act) > n {
					at = append(at, base+i)
				}
			}
			if len(at) < 2 || at[1] != c.second {
				t.Fatalf("probe ticks %v, want second at %d", at, c.second)
			}
		})
	}
}

// TestTimerWheelFiresLate: 4.8+ kernels run timers at the wheel's
// granularity strictly after expiry (spec §12.2).
func TestTimerWheelFiresLate(t *testing.T) {
	h := newHarness(t, "6.18")
	for _, c := range []struct{ delta, want vtime.Jiffies }{
		{10, base + 11},           // level 0: the next tick
		{1000, 1001024},           // level 2: multiple of 64 after
		{5000, 1005056},           // level 3: multiple of 512 after
		{0, base + 1},             // already due: next tick
		{63, (base+63)>>3<<3 + 8}, // level 1
	} {
		if got := h.tb.fireTick(base, base+c.delta); got != c.want {
			t.Errorf("fireTick(+%d) = %d, want %d", c.delta, got, c.want)
		}
	}
	old := newHarness(t, "rhel7.3")
	if got := old.tb.fireTick(base, base+5000); got != base+5000 {
		t.Errorf("3.10 fires at %d, want exact %d", got, base+5000)
	}
}

// TestRouteSharedConfirmationKeepsWrongEntry is the seed's mechanism (e):
// on 3.10 a TCP ACK for another floating IP confirms F through the shared
// subnet route, so F goes DELAY→REACHABLE without a probe; on 4.11 the
// confirmation stays with its own socket and F is probed.
func TestRouteSharedConfirmationKeepsWrongEntry(t *testing.T) {
	for _, c := range []struct {
		profile string
		want    State
		probes  int
	}{{"rhel7.3", Reachable, 0}, {"4.11", Probe, 1}} {
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness(t, c.profile)
			route := &Route{Name: "172.24.4.0/24 cpu0"}
			sockA := &Socket{Name: "ssh→172.24.4.20", Route: route}
			sockF := &Socket{Name: "ssh→172.24.4.10", Route: route}
			h.seed(ipF, macOld, Stale)
			h.at(base + 10_000)
			h.tb.Confirm(h.now, sockA) // ACK on the other session
			h.send(ipF, sockF)         // SYN to F consumes it (3.10)
			h.want(ipF, Delay, macOld)
			h.at(base + 16_000) // 4.11 has the 4.8 timer wheel: DELAY ends at 1015296
			h.want(ipF, c.want, macOld)
			if u, _ := h.probes(); u != c.probes {
				t.Fatalf("unicast probes %d, want %d", u, c.probes)
			}
			if c.profile == "rhel7.3" && countRule(h, RuleConfirmRoute) != 1 {
				t.Fatalf("no route-shared confirmation recorded")
			}
		})
	}
}

// TestPerSocketConfirmationLandsOnOwnNeighbour: on 4.11+ a socket's own
// confirmation keeps its own peer REACHABLE (§6.2).
func TestPerSocketConfirmationLandsOnOwnNeighbour(t *testing.T) {
	h := newHarness(t, "6.18")
	sock := &Socket{Name: "tcp", Route: &Route{}}
	h.seed(ipF, macOld, Stale)
	h.at(base + 10_000)
	h.send(ipF, sock) // → DELAY
	h.at(base + 12_000)
	h.tb.Confirm(h.now, sock)
	h.send(ipF, sock)
	h.at(base + 16_000)
	h.want(ipF, Reachable, macOld)
}

// TestFastPathDoesNotTouchUsed: a REACHABLE entry with a cached header is
// used without refreshing `used` (§1.2), so it goes STALE, not DELAY.
func TestFastPathDoesNotTouchUsed(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	h.seed(ipF, macOld, Reachable)
	h.send(ipF, nil) // slow path once: caches the header, used = base
	h.at(base + 29_000)
	h.send(ipF, nil) // fast path
	if u := h.entry(ipF).Used; u != base {
		t.Fatalf("used = %d, want %d (fast path must not touch it)", u, base)
	}
	h.at(base + 30_500)
	h.want(ipF, Stale, macOld)
}

// TestUnresolvedQueueLimit: unres_qlen_bytes drops the oldest packets.
func TestUnresolvedQueueLimit(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	for i := 0; i < 40; i++ {
		h.tb.Output(h.now, h.dev, ipF, nil, uint64(i), 1514)
	}
	if q := h.entry(ipF).Queued; q != 31 {
		t.Fatalf("queued %d full-size frames, want 31 (64 KiB / truesize)", q)
	}
	if h.tb.Stats.QueueDiscards != 9 {
		t.Fatalf("discards %d, want 9", h.tb.Stats.QueueDiscards)
	}
}

// TestNoProbesConfiguredFails: mcast_solicit=app_solicit=0 → FAILED at once.
func TestNoProbesConfiguredFails(t *testing.T) {
	h := newHarness(t, "6.18")
	h.tb.SetParam("eth2", "mcast_solicit", "0")
	if v, _ := h.send(ipF, nil); v != TxDropped {
		t.Fatalf("verdict %v", v)
	}
	h.want(ipF, Failed, [6]byte{})
}

// TestReplyToProbeInsideLocktime is the note of §4.4: on 3.10 a new-MAC
// reply to the first unicast probe is ignored (the PROBE transition bumped
// `updated`), and each ignored reply re-anchors the window; on 4.12+ the
// reply to probe #2 wins.
func TestReplyToProbeInsideLocktime(t *testing.T) {
	for _, c := range []struct {
		profile string
		final   State
	}{{"rhel7.3", Failed}, {"6.18", Reachable}} {
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness(t, c.profile)
			toDelay(h)
			rep := func() { h.rx(newReply(), PktHost) }
			start := h.now + 5000
			if c.profile == "6.18" {
				start = h.tb.fireTick(h.now, h.now+5000)
			}
			for i := vtime.Jiffies(0); i < 3; i++ {
				h.at(start + i*1000 + 3) // every reply 3 ticks after its probe
				if s := h.entry(ipF).State; s != Probe {
					break
				}
				rep()
			}
			h.at(h.now + 5000)
			if s := h.entry(ipF).State; s != c.final {
				t.Fatalf("final state %v, want %v", s, c.final)
			}
		})
	}
}

// TestClampRaisesUsedToConfirmed: since 6.3 arming a timer from
// neigh_update raises `used` to `confirmed` (F16), so an entry confirmed by
// a unicast reply counts as used: with a short reachable_time it expires to
// DELAY, where 3.10 lets it go STALE.
func TestClampRaisesUsedToConfirmed(t *testing.T) {
	for _, c := range []struct {
		profile string
		want    State
	}{{"rhel7.3", Stale}, {"6.18", Delay}} {
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness(t, c.profile)
			h.dev.ReachableTime = 3000
			h.seed(ipF, macOld, Stale)
			h.at(base + 10_000)
			h.rx(arp.NewPacket(arp.OpReply, macOld, ipF, macSelf, ipSelf), PktHost)
			h.want(ipF, Reachable, macOld)
			h.at(base + 14_000)
			if s := h.entry(ipF).State; s != c.want {
				t.Fatalf("after reachable_time: %v, want %v", s, c.want)
			}
		})
	}
}
