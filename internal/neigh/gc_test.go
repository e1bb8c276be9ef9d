package neigh

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

func fill(h *harness, n int, st State) []netip.Addr {
	var ips []netip.Addr
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		mac := arp.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}
		h.dev.Addrs = append(h.dev.Addrs[:1], netip.MustParsePrefix("10.1.0.1/16"))
		h.seed(ip, mac, st)
		ips = append(ips, ip)
	}
	return ips
}

// TestPeriodicGCSkippedBelowThresh1: with fewer than gc_thresh1 entries a
// STALE entry is never collected (spec §7.1, field-notes crowbar thread).
func TestPeriodicGCSkippedBelowThresh1(t *testing.T) {
	h := newHarness(t, "6.18")
	fill(h, 100, Stale)
	h.at(base + 600_000)
	if n := h.tb.Len(); n != 100 {
		t.Fatalf("entries %d, want 100", n)
	}
}

// TestPeriodicGCRemovesStaleAboveThresh1 collects entries unused for more
// than gc_stale_time once the table holds gc_thresh1 entries.
func TestPeriodicGCRemovesStaleAboveThresh1(t *testing.T) {
	for _, p := range []string{"rhel7.3", "6.18"} {
		t.Run(p, func(t *testing.T) {
			h := newHarness(t, p)
			fill(h, 130, Stale)
			h.at(base + 200_000)
			if n := h.tb.Len(); n != 0 {
				t.Fatalf("entries %d, want 0", n)
			}
			if countRule(h, RuleGCPeriodic) != 130 {
				t.Fatalf("gc decisions %d", countRule(h, RuleGCPeriodic))
			}
		})
	}
}

// TestForcedGC: above gc_thresh3 the old algorithm removes every entry not
// held by a timer; the 5.0+ gc_list keeps entries updated in the last 5 s
// and so refuses the new one (spec §7.2).
func TestForcedGC(t *testing.T) {
	for _, c := range []struct {
		profile string
		created bool
		left    int
	}{{"rhel7.3", true, 1}, {"5.4", false, 4}} {
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness(t, c.profile)
			h.tb.SetParam("default", "gc_thresh2", "2")
			h.tb.SetParam("default", "gc_thresh3", "4")
			fill(h, 4, Stale)
			h.at(base + 100)
			_, _, r := h.tb.Output(h.now, h.dev, ipF, nil, 1, 100)
			h.record(r)
			_, ok := h.tb.Lookup(h.dev, ipF)
			if ok != c.created || h.tb.Len() != c.left {
				t.Fatalf("created=%v entries=%d, want %v/%d", ok, h.tb.Len(), c.created, c.left)
			}
			// Has answers as Lookup does, for entries GC removed too
			for _, ip := range append(fill(newHarness(t, c.profile), 6, Stale), ipF, netip.MustParseAddr("fe80::1")) {
				if _, ok := h.tb.Lookup(h.dev, ip); h.tb.Has(h.dev, ip) != ok {
					t.Errorf("Has(%v) = %v; Lookup found it: %v", ip, h.tb.Has(h.dev, ip), ok)
				}
			}
		})
	}
}

// TestReachableTimeRerandomisation: RHEL 7.3 keeps the value drawn at
// device creation below gc_thresh1; 3.14+ redraws every 300 s (§2.4).
func TestReachableTimeRerandomisation(t *testing.T) {
	for _, c := range []struct {
		profile string
		changes bool
	}{{"rhel7.3", false}, {"3.14", true}} {
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness(t, c.profile)
			before := h.dev.ReachableTime
			h.at(base + 2_000_000) // past 20×reachable_time + 300 s
			if changed := h.dev.ReachableTime != before; changed != c.changes {
				t.Fatalf("reachable_time changed=%v, want %v", changed, c.changes)
			}
			rt := h.dev.ReachableTime
			if rt < 15_000 || rt >= 45_000 {
				t.Fatalf("reachable_time %d outside [base/2, 3base/2)", rt)
			}
		})
	}
}

// TestRerandomiseOnWrite: F9 redraws reachable_time when the base changes.
func TestRerandomiseOnWrite(t *testing.T) {
	for _, c := range []struct {
		profile string
		redraw  bool
	}{{"rhel7.3", false}, {"6.18", true}} {
		h := newHarness(t, c.profile)
		h.tb.SetParam("eth2", "base_reachable_time_ms", "2000")
		rt := h.dev.ReachableTime
		if redrawn := rt >= 1000 && rt < 3000; redrawn != c.redraw {
			t.Errorf("%s: reachable_time %d after base 2 s, redraw=%v want %v", c.profile, rt, redrawn, c.redraw)
		}
	}
}

// TestAdminOperations covers add/change/replace/del/flush.
func TestAdminOperations(t *testing.T) {
	h := newHarness(t, "6.18")
	m := macOld
	if _, err := h.tb.Admin(h.now, h.dev, AdminChange, ipF, &m, Stale); err == nil {
		t.Fatal("change on a missing entry succeeded")
	}
	if _, err := h.tb.Admin(h.now, h.dev, AdminAdd, ipF, &m, Reachable); err != nil {
		t.Fatal(err)
	}
	if _, err := h.tb.Admin(h.now, h.dev, AdminAdd, ipF, &m, Reachable); err == nil {
		t.Fatal("add on an existing entry succeeded")
	}
	n := macNew
	h.tb.Admin(h.now, h.dev, AdminChange, ipF, &n, Stale)
	h.want(ipF, Stale, macNew)
	h.tb.Admin(h.now, h.dev, AdminDel, ipF, nil, 0)
	if _, ok := h.tb.Lookup(h.dev, ipF); ok {
		t.Fatal("6.18: del left the entry")
	}
	old := newHarness(t, "rhel7.3")
	old.seed(ipF, macOld, Stale)
	old.tb.Admin(old.now, old.dev, AdminDel, ipF, nil, 0)
	old.want(ipF, Failed, macOld)
	fill(h, 3, Stale)
	h.seed(ipOther, macOld, Permanent)
	h.tb.Admin(h.now, h.dev, AdminFlush, netip.Addr{}, nil, 0)
	if h.tb.Len() != 1 {
		t.Fatalf("flush left %d entries, want the permanent one", h.tb.Len())
	}
}

// TestSysctlUnits: /proc units convert as the kernel converts (spec §8.1).
func TestSysctlUnits(t *testing.T) {
	for _, c := range []struct {
		hz         int
		name, val  string
		wantTicks  vtime.Ticks
		wantReread string
	}{
		{250, "locktime", "100", 250, "100"},
		{1000, "locktime", "100", 1000, "100"},
		{250, "locktime", "33", 82, "32"},
		{300, "locktime", "100", 300, "100"},
		{250, "base_reachable_time_ms", "30001", 7501, "30004"},
		{300, "retrans_time_ms", "1", 1, "3"},
		{250, "delay_first_probe_time", "5", 1250, "5"},
		{100, "retrans_time", "100", 100, "100"},
	} {
		t.Run(fmt.Sprintf("HZ%d/%s=%s", c.hz, c.name, c.val), func(t *testing.T) {
			p := DefaultParams(c.hz, 65536)
			if err := p.Set(c.name, c.val); err != nil {
				t.Fatal(err)
			}
			f, _ := findParam(c.name)
			if got := *f.ticks(&p); got != c.wantTicks {
				t.Fatalf("ticks %d, want %d", got, c.wantTicks)
			}
			if got, _ := p.Get(c.name); got != c.wantReread {
				t.Fatalf("reads back %s, want %s", got, c.wantReread)
			}
		})
	}
	p := DefaultParams(250, 1)
	if err := p.Set("locktime", "-1"); err == nil {
		t.Fatal("negative accepted")
	}
	if err := p.Set("nosuch", "1"); err == nil {
		t.Fatal("unknown name accepted")
	}
}

// TestLocktimeAcrossJiffiesWrap: the locktime test stays right when the
// counter wraps (the kernel boots 5 minutes before the wrap, spec §0.2).
func TestLocktimeAcrossJiffiesWrap(t *testing.T) {
	p, _ := kernel.Lookup("rhel7.3")
	start := ^vtime.Jiffies(0) - 500
	tb, err := NewTable(Config{Profile: p, Rand: rand.New(rand.NewPCG(1, 1)), Now: start})
	if err != nil {
		t.Fatal(err)
	}
	d := tb.AddDevice("eth0", macSelf, []netip.Prefix{netip.MustParsePrefix("172.24.4.1/24")})
	m := macOld
	tb.Admin(start, d, AdminReplace, ipF, &m, Stale)
	g := garpReply(ipF, macNew)
	if r := tb.ReceiveARP(start+900, d, &g, PktBroadcast); r.Decisions[0].Verdict != VerdictIgnored {
		t.Fatalf("inside window across the wrap: %s", r.Decisions[0].Explain())
	}
	if r := tb.ReceiveARP(start+1901, d, &g, PktBroadcast); r.Decisions[0].Verdict != VerdictHonoured {
		t.Fatalf("after the window across the wrap: %s", r.Decisions[0].Explain())
	}
}

// TestOutputToBroadcastIsNoARP: broadcast and multicast destinations
// start NOARP with the mapped address (arp_constructor, §1.1).
func TestOutputToBroadcastIsNoARP(t *testing.T) {
	h := newHarness(t, "6.18")
	v, mac := h.send(netIP("172.24.4.255"), nil)
	if v != TxSent || mac != arp.Broadcast {
		t.Fatalf("broadcast: %v %v", v, mac)
	}
	h.want(netIP("172.24.4.255"), NoARP, arp.Broadcast)
	_, mac = h.send(netIP("239.1.2.3"), nil)
	if mac != (arp.MAC{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}) {
		t.Fatalf("multicast mapped to %v", mac)
	}
	if u, b := h.probes(); u+b != 0 {
		t.Fatal("NOARP destinations were probed")
	}
}

// TestCarrierDownFlushes: F15 flushes on carrier loss; arp_evict_nocarrier=0
// keeps the entries on kernels that have the sysctl.
func TestCarrierDownFlushes(t *testing.T) {
	for _, c := range []struct {
		profile string
		evict   string
		left    int
	}{{"4.19", "", 2}, {"5.4", "", 1}, {"6.18", "1", 1}, {"6.18", "0", 2}} {
		h := newHarness(t, c.profile)
		if c.evict != "" {
			if err := h.tb.SetConf("eth2", "arp_evict_nocarrier", c.evict); err != nil {
				t.Fatal(err)
			}
		}
		h.seed(ipF, macOld, Stale)
		h.seed(ipOther, macNew, Permanent)
		h.record(h.tb.CarrierDown(h.now, h.dev))
		if h.tb.Len() != c.left {
			t.Errorf("%s evict=%q: %d entries left, want %d", c.profile, c.evict, h.tb.Len(), c.left)
		}
	}
}

// TestConfDefaultIsATemplate: conf/default applies to devices added later
// and is never combined with an existing device's value (only conf/all is).
func TestConfDefaultIsATemplate(t *testing.T) {
	h := newHarness(t, "6.18")
	h.tb.SetConf("default", "arp_accept", "1")
	if d := h.rx(garpReply(ipF, macNew), PktBroadcast); d.Verdict != VerdictDropped {
		t.Fatalf("conf/default changed an existing device: %s", d.Verdict)
	}
	d2 := h.tb.AddDevice("eth3", arp.MAC{2, 0, 0, 0, 0, 3}, []netip.Prefix{netip.MustParsePrefix("10.3.0.1/24")})
	if d2.Conf.ARPAccept != 1 {
		t.Fatalf("a new device did not take conf/default: %+v", d2.Conf)
	}
}
