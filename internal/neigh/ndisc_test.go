package neigh

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// The cases follow the lab measurements of ndisc §12 (6.18.44) and the
// outcome table of ndisc §4.3: A = 2001:db8::a is the modelled host, B =
// 2001:db8::b its neighbour, :0b / :0c / :99 the MACs the spec names.
var (
	ip6Self = netip.MustParseAddr("2001:db8::a")
	ip6B    = netip.MustParseAddr("2001:db8::b")
	ll6Self = netip.MustParseAddr("fe80::a")
	ll6B    = netip.MustParseAddr("fe80::b")
	mac0b   = arp.MAC{2, 0, 0, 0, 0, 0x0b}
	mac0c   = arp.MAC{2, 0, 0, 0, 0, 0x0c}
	mac99   = arp.MAC{2, 0, 0, 0, 0, 0x99}
)

func newHarness6(t *testing.T, profile string) *harness {
	t.Helper()
	p, err := kernel.Lookup(profile)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := NewTable(Config{Profile: p, HZ: 1000, Rand: rand.New(rand.NewPCG(1, 2)), Now: base, Family: IPv6})
	if err != nil {
		t.Fatal(err)
	}
	d := tb.AddDevice("eth0", macSelf, []netip.Prefix{netip.MustParsePrefix("2001:db8::a/64"), netip.MustParsePrefix("fe80::a/64")})
	d.ReachableTime = 30 * 1000
	return &harness{t: t, tb: tb, dev: d, now: base}
}

// na is an NA for target from B: flags "S", "O", "R" in any order.
func na(target netip.Addr, flags string, tllao *arp.MAC) *ND {
	m := &ND{Type: NDNeighAdvert, Src: ip6B, Dst: ip6Self, HopLimit: 255, Target: target,
		Solicited: strings.Contains(flags, "S"), Override: strings.Contains(flags, "O"), Router: strings.Contains(flags, "R")}
	if !m.Solicited {
		m.Dst = ndisc.AllNodes
	}
	if tllao != nil {
		m.TargetLL, m.HasTargetLL = *tllao, true
	}
	return m
}

func (h *harness) out6(ip netip.Addr, id uint64) {
	_, _, r := h.tb.Output(h.now, h.dev, ip, nil, id, 100)
	h.record(r)
}

func (h *harness) nd(m *ND, pt PktType) Decision {
	h.t.Helper()
	r := h.tb.ReceiveND(h.now, h.dev, m, pt)
	h.record(r)
	if len(r.Decisions) == 0 {
		h.t.Fatal("no decision")
	}
	return r.Decisions[0]
}

func (h *harness) want6(ip netip.Addr, st State, mac arp.MAC) Snapshot {
	h.t.Helper()
	s, ok := h.tb.Lookup(h.dev, ip)
	if !ok {
		h.t.Fatalf("%v: no entry, want %v %v", ip, st, mac)
	}
	if s.State != st || (st.Valid() && s.LLAddr != mac) {
		h.t.Fatalf("%v: %v %v, want %v %v", ip, s.State, s.LLAddr, st, mac)
	}
	return s
}

// §12 row 1 and §10.3: an O=1 unsolicited NA moves a REACHABLE entry at
// once, STALE, confirmed = now − 60 s.
func TestNAOverrideMovesReachable(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Reachable)
	h.at(h.now + 500)
	d := h.nd(na(ip6B, "O", &mac0c), PktMulticast)
	s := h.want6(ip6B, Stale, mac0c)
	if s.Confirmed != h.now-60000 || s.Updated != h.now {
		t.Errorf("confirmed=%d updated=%d, want %d and %d", s.Confirmed, s.Updated, h.now-60000, h.now)
	}
	if d.Verdict != VerdictHonoured || !strings.Contains(d.Explain(), "O=1 overrides") {
		t.Errorf("%s: %s", d.Verdict, d.Explain())
	}
}

// §12 row 2: O=0 with a new lladdr: REACHABLE → STALE keeping :0b; again
// from STALE: ignored.
func TestNAWeakOverride(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Reachable)
	d := h.nd(na(ip6B, "", &mac0c), PktMulticast)
	h.want6(ip6B, Stale, mac0b)
	if !d.Weak || !strings.Contains(d.Explain(), "WEAK_OVERRIDE") {
		t.Errorf("first NA: weak=%v %s", d.Weak, d.Explain())
	}
	d = h.nd(na(ip6B, "", &mac0c), PktMulticast)
	h.want6(ip6B, Stale, mac0b)
	if d.Verdict != VerdictIgnored {
		t.Errorf("second NA: %s, want ignored", d.Verdict)
	}
}

// §12 row 3 and N13: a solicited O=0 NA with another lladdr for a DELAY
// entry is rejected but confirms it on 6.18 (and ≤4.11): 5 s later the
// entry is REACHABLE with the OLD MAC. On 4.12 (no F5) it goes PROBE.
func TestRejectedSolicitedNAConfirms(t *testing.T) {
	for _, c := range []struct {
		profile string
		after   State
	}{{"6.18", Reachable}, {"rhel7.3", Reachable}, {"4.12", Probe}} {
		t.Run(c.profile, func(t *testing.T) {
			h := newHarness6(t, c.profile)
			h.seed(ip6B, mac99, Stale)
			h.out6(ip6B, 1) // STALE → DELAY
			h.want6(ip6B, Delay, mac99)
			h.at(h.now + 700)
			d := h.nd(na(ip6B, "S", &mac0c), PktHost)
			h.want6(ip6B, Delay, mac99)
			h.at(h.now + 5000)
			h.want6(ip6B, c.after, mac99)
			if c.after == Reachable && !strings.Contains(d.Explain(), "N13") {
				t.Errorf("explanation misses the confirmation: %s", d.Explain())
			}
		})
	}
}

// §12 row 4 (N2): a FAILED entry ignores unsolicited and solicited NAs.
func TestNAIgnoredWhileFailed(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.out6(ip6B, 1)
	h.at(h.now + 4000)
	h.want6(ip6B, Failed, arp.MAC{})
	for _, f := range []string{"O", "SO"} {
		d := h.nd(na(ip6B, f, &mac0c), PktHost)
		h.want6(ip6B, Failed, arp.MAC{})
		if d.Rule != RuleNAFailed || d.Verdict != VerdictIgnored {
			t.Errorf("NA %s: %v %s", f, d.Rule.Name(), d.Verdict)
		}
	}
	// row 4b: an NS with SLLAO revives it; our reply makes it DELAY.
	ns := &ND{Type: NDNeighSolicit, Src: ip6B, Dst: ndisc.SolicitedNode(ip6Self), HopLimit: 255, Target: ip6Self, SourceLL: mac0c, HasSourceLL: true}
	h.nd(ns, PktMulticast)
	h.want6(ip6B, Delay, mac0c)
	var reply *Action
	for i := range h.act {
		if h.act[i].Kind == ActReply {
			reply = &h.act[i]
		}
	}
	if reply == nil || reply.DstMAC != mac0c || reply.ND != NASolicited|NAOverride|NATLLAO || reply.Src != ip6Self {
		t.Fatalf("reply %+v, want S|O|TLLAO to %v", reply, mac0c)
	}
}

// §12 rows 5–5e and ndisc §4.4: untracked NAs by version and knobs.
func TestUntrackedNA(t *testing.T) {
	for _, c := range []struct {
		name, profile string
		conf          []string // name=value on eth0
		src           netip.Addr
		tllao         bool
		created       bool
		why           string
	}{
		{"host", "6.18", nil, ip6B, true, false, "accept_untracked_na=0"},
		{"4.19 router", "4.19", []string{"forwarding=1"}, ip6B, true, false, "5.19"},
		{"knob1 host", "6.18", []string{"accept_untracked_na=1"}, ip6B, true, false, "forwarding=0"},
		{"knob1 router", "5.19", []string{"accept_untracked_na=1", "forwarding=1"}, ip6B, true, true, ""},
		{"knob2 off-link", "6.18", []string{"accept_untracked_na=2", "forwarding=1"}, netip.MustParseAddr("2001:db9::96"), true, false, "inside a prefix"},
		{"knob2 link-local", "6.18", []string{"accept_untracked_na=2", "forwarding=1"}, ll6B, true, true, ""},
		{"no TLLAO", "6.18", []string{"accept_untracked_na=1", "forwarding=1"}, ip6B, false, false, "no TLLAO"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness6(t, c.profile)
			for _, kv := range c.conf {
				k, v, _ := strings.Cut(kv, "=")
				if err := h.tb.SetConf("eth0", k, v); err != nil {
					t.Fatal(err)
				}
			}
			m := na(ip6B, "SR", nil)
			m.Src = c.src
			if c.tllao {
				m.TargetLL, m.HasTargetLL = mac0c, true
			}
			d := h.nd(m, PktHost)
			s, ok := h.tb.Lookup(h.dev, ip6B)
			if ok != c.created {
				t.Fatalf("created=%v, want %v: %s", ok, c.created, d.Explain())
			}
			if ok && (s.State != Stale || !s.Router) {
				t.Errorf("created %v router=%v, want STALE router (S ignored, R applied)", s.State, s.Router)
			}
			if !ok && !strings.Contains(d.Explain(), c.why) {
				t.Errorf("explanation %q lacks %q", d.Explain(), c.why)
			}
		})
	}
	// 5.19 takes only 0 and 1; 5.18 has no knob.
	h := newHarness6(t, "5.19")
	if err := h.tb.SetConf("eth0", "accept_untracked_na", "2"); err == nil {
		t.Error("5.19 accepted accept_untracked_na=2")
	}
	h = newHarness6(t, "5.4")
	if err := h.tb.SetConf("eth0", "accept_untracked_na", "1"); err == nil {
		t.Error("5.4 accepted accept_untracked_na")
	}
}

// §12 row 6: drop_unsolicited_na drops S=0 NAs; a solicited NA without
// TLLAO still confirms.
func TestDropUnsolicitedNA(t *testing.T) {
	h := newHarness6(t, "6.18")
	if err := h.tb.SetConf("eth0", "drop_unsolicited_na", "1"); err != nil {
		t.Fatal(err)
	}
	h.seed(ip6B, mac99, Stale)
	d := h.nd(na(ip6B, "O", &mac0c), PktMulticast)
	h.want6(ip6B, Stale, mac99)
	if d.Rule != RuleNADropUnsolicited {
		t.Errorf("rule %s", d.Rule.Name())
	}
	h.nd(na(ip6B, "S", nil), PktHost)
	h.want6(ip6B, Reachable, mac99)
	if err := newHarness6(t, "4.4").tb.SetConf("eth0", "drop_unsolicited_na", "1"); err == nil {
		t.Error("4.4 has no drop_unsolicited_na")
	}
}

// §12 row 6b: the router flag is written even when the state is kept.
func TestNARouterFlag(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Stale)
	h.out6(ip6B, 1)
	h.nd(na(ip6B, "OR", &mac0b), PktMulticast)
	if s := h.want6(ip6B, Delay, mac0b); !s.Router {
		t.Error("R=1 did not set router")
	}
	d := h.nd(na(ip6B, "", &mac0b), PktMulticast)
	if s := h.want6(ip6B, Delay, mac0b); s.Router {
		t.Error("R=0 did not clear router")
	}
	if !strings.Contains(d.Explain(), "router flag cleared") {
		t.Errorf("%s", d.Explain())
	}
	// a different lladdr without O cancels the router update
	h.nd(na(ip6B, "R", &mac0c), PktMulticast)
	if s := h.want6(ip6B, Delay, mac0b); s.Router {
		t.Error("an ignored NA wrote the router flag")
	}
}

// §12 rows 7–7d: NS updates the sender's entry without locktime; unicast
// NS without SLLAO creates; multicast without SLLAO does not; an NS for
// another target touches nothing.
func TestNSUpdatesSender(t *testing.T) {
	h := newHarness6(t, "6.18")
	if err := h.tb.SetParam("eth0", "locktime", "1000"); err != nil {
		t.Fatal(err)
	}
	h.seed(ip6B, mac0b, Reachable)
	ns := &ND{Type: NDNeighSolicit, Src: ip6B, Dst: ndisc.SolicitedNode(ip6Self), HopLimit: 255, Target: ip6Self, SourceLL: mac0c, HasSourceLL: true}
	d := h.nd(ns, PktMulticast)
	h.want6(ip6B, Delay, mac0c)
	if !strings.Contains(d.Explain(), "never reads locktime") {
		t.Errorf("no locktime remark: %s", d.Explain())
	}
	// 7b: unicast NS without SLLAO from an unknown source → INCOMPLETE
	other := netip.MustParseAddr("2001:db8::c")
	h.nd(&ND{Type: NDNeighSolicit, Src: other, Dst: ip6Self, HopLimit: 255, Target: ip6Self}, PktHost)
	h.want6(other, Incomplete, arp.MAC{})
	var probe *Action
	for i := range h.act {
		if h.act[i].Kind == ActProbe && h.act[i].Target == other {
			probe = &h.act[i]
		}
	}
	if probe == nil || probe.Unicast || probe.DstMAC != (arp.MAC{0x33, 0x33, 0xff, 0, 0, 0x0c}) || probe.Src != ip6Self {
		t.Errorf("resolution probe %+v, want multicast to 33:33:ff:00:00:0c from %v", probe, ip6Self)
	}
	// 7c: multicast NS without SLLAO from an unknown source → nothing
	third := netip.MustParseAddr("2001:db8::d")
	h.nd(&ND{Type: NDNeighSolicit, Src: third, Dst: ndisc.SolicitedNode(ip6Self), HopLimit: 255, Target: ip6Self}, PktMulticast)
	if _, ok := h.tb.Lookup(h.dev, third); ok {
		t.Error("7c created an entry")
	}
	// 7d: NS for another target
	ns7d := &ND{Type: NDNeighSolicit, Src: third, Dst: ndisc.SolicitedNode(other), HopLimit: 255, Target: netip.MustParseAddr("2001:db8::5"), SourceLL: mac0c, HasSourceLL: true}
	if d := h.nd(ns7d, PktMulticast); d.Rule != RuleNSNotForUs {
		t.Errorf("7d rule %s", d.Rule.Name())
	}
	if _, ok := h.tb.Lookup(h.dev, third); ok {
		t.Error("7d created an entry")
	}
}

// §12 row 8 (N1): three O=1 NAs back-to-back with locktime = 10 s: the
// last one wins.
func TestLocktimeIgnoredByND(t *testing.T) {
	h := newHarness6(t, "rhel7.3")
	if h.dev.Params.Locktime != 0 {
		t.Errorf("nd_tbl locktime default %d, want 0", h.dev.Params.Locktime)
	}
	h.tb.SetParam("eth0", "locktime", "1000")
	h.seed(ip6B, mac0b, Reachable)
	for _, m := range []arp.MAC{mac0c, {2, 0, 0, 0, 0, 0x0d}, {2, 0, 0, 0, 0, 0x0e}} {
		m := m
		h.nd(na(ip6B, "O", &m), PktMulticast)
	}
	h.want6(ip6B, Stale, arp.MAC{2, 0, 0, 0, 0, 0x0e})
}

// §12 row 9: NA O=0 for an INCOMPLETE entry resolves it (STALE, then the
// queued packet makes it DELAY); without TLLAO it stays INCOMPLETE.
func TestNAResolvesIncomplete(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.out6(ip6B, 7)
	h.nd(na(ip6B, "S", nil), PktHost)
	h.want6(ip6B, Incomplete, arp.MAC{})
	h.nd(na(ip6B, "", &mac0c), PktMulticast)
	h.want6(ip6B, Delay, mac0c)
	var sent bool
	for _, a := range h.act {
		sent = sent || (a.Kind == ActTransmit && a.Packet == 7 && a.DstMAC == mac0c)
	}
	if !sent {
		t.Error("queued packet not released")
	}
}

// ndisc §4.1: hop limit, code, fragments (3.12+, not RHEL 7) and
// drop_unicast_in_l2_multicast.
func TestNDFrameChecks(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Stale)
	m := na(ip6B, "O", &mac0c)
	m.HopLimit = 64
	if d := h.nd(m, PktMulticast); d.Rule != RuleNDHopLimit {
		t.Errorf("hop limit: %s", d.Rule.Name())
	}
	m = na(ip6B, "O", &mac0c)
	m.Fragmented = true
	if d := h.nd(m, PktMulticast); d.Rule != RuleNDFragment {
		t.Errorf("fragment on 6.18: %s", d.Rule.Name())
	}
	h.tb.SetConf("eth0", "drop_unicast_in_l2_multicast", "1")
	m = na(ip6B, "SO", &mac0c)
	if d := h.nd(m, PktMulticast); d.Rule != RuleNDUnicastInL2Mcast {
		t.Errorf("unicast in multicast: %s", d.Rule.Name())
	}
	h7 := newHarness6(t, "rhel7.3")
	h7.seed(ip6B, mac0b, Stale)
	m = na(ip6B, "O", &mac0c)
	m.Fragmented = true
	h7.nd(m, PktMulticast)
	h7.want(ip6B, Stale, mac0c)
}

// ndisc §0.3: a host's link-local and global addresses are two entries.
func TestLinkLocalAndGlobalAreSeparate(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Reachable)
	h.seed(ll6B, mac0b, Reachable)
	h.nd(na(ip6B, "O", &mac0c), PktMulticast)
	h.want6(ip6B, Stale, mac0c)
	h.want6(ll6B, Reachable, mac0b)
	if n := len(h.tb.Entries()); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
}

// ndisc §2.2, §2.3: INCOMPLETE sends three multicast NS to the
// solicited-node group, from the packet's source; PROBE sends unicast NS
// to the cached MAC from the link-local address.
func TestNDProbeAddressing(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.out6(ip6B, 1)
	h.at(h.now + 2500)
	n := 0
	for _, a := range h.act {
		if a.Kind == ActProbe {
			n++
			if a.Unicast || a.DstMAC != (arp.MAC{0x33, 0x33, 0xff, 0, 0, 0x0b}) || a.Src != ip6Self {
				t.Errorf("INCOMPLETE probe %+v", a)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d multicast probes, want 3", n)
	}
	h = newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Stale)
	h.out6(ip6B, 1)
	h.at(h.now + 5100)
	h.want6(ip6B, Probe, mac0b)
	a := h.act[len(h.act)-1]
	if a.Kind != ActProbe || !a.Unicast || a.DstMAC != mac0b || a.Src != ll6Self {
		t.Errorf("PROBE probe %+v, want unicast to %v from %v", a, mac0b, ll6Self)
	}
}

// ndisc §7: carrier loss flushes ND entries on 4.20+ unless
// ndisc_evict_nocarrier=0 (5.16+).
func TestNDCarrierDown(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.seed(ip6B, mac0b, Reachable)
	h.tb.SetConf("eth0", "ndisc_evict_nocarrier", "0")
	h.record(h.tb.CarrierDown(h.now, h.dev))
	h.want6(ip6B, Reachable, mac0b)
	h.tb.SetConf("eth0", "ndisc_evict_nocarrier", "1")
	h.record(h.tb.CarrierDown(h.now, h.dev))
	if _, ok := h.tb.Lookup(h.dev, ip6B); ok {
		t.Error("entry survived carrier loss")
	}
}

// The DAD NS for our address is defended with an NA to ff02::1.
func TestDADNSDefended(t *testing.T) {
	h := newHarness6(t, "6.18")
	d := h.nd(&ND{Type: NDNeighSolicit, Src: netip.IPv6Unspecified(), Dst: ndisc.SolicitedNode(ip6Self), HopLimit: 255, Target: ip6Self}, PktMulticast)
	if d.Rule != RuleNSDAD || len(h.tb.Entries()) != 0 {
		t.Fatalf("%s, %d entries", d.Rule.Name(), len(h.tb.Entries()))
	}
	a := h.act[len(h.act)-1]
	if a.Kind != ActReply || a.Target != ndisc.AllNodes || a.ND&NAOverride == 0 || a.ND&NASolicited != 0 {
		t.Errorf("DAD reply %+v", a)
	}
}

// ndisc §5.5: when the user set a locktime, the explanations of NAs that
// did not move the entry say that locktime was not the reason.
func TestLocktimeNamedWhereUsersExpectIt(t *testing.T) {
	h := newHarness6(t, "6.18")
	h.tb.SetParam("eth0", "locktime", "1000")
	h.seed(ip6B, mac0b, Reachable)
	if d := h.nd(na(ip6B, "", &mac0c), PktMulticast); !strings.Contains(d.Explain(), "locktime=10000 ticks plays no part") {
		t.Errorf("weak override: %s", d.Explain())
	}
	if d := h.nd(na(ip6B, "", &mac0c), PktMulticast); !strings.Contains(d.Explain(), "plays no part") {
		t.Errorf("ignored NA: %s", d.Explain())
	}
}

// ndisc §4.6: an RA from a link-local source creates or overrides the
// router's entry (STALE, router flag) whether or not RAs are accepted;
// an accepted one sets the device's timers (§2.4) with the version's
// RetransTimer floor. An RS counts only on a router and clears the flag.
func TestRouterDiscovery(t *testing.T) {
	h := newHarness6(t, "6.18")
	ra := &ND{Type: NDRouterAdvert, Src: ll6B, Dst: ndisc.AllNodes, HopLimit: 255, SourceLL: mac0b, HasSourceLL: true,
		RetransTimer: 2, ReachableTime: 10000}
	d := h.nd(ra, PktMulticast)
	s := h.want6(ll6B, Stale, mac0b)
	if !s.Router || d.Verdict != VerdictCreated {
		t.Errorf("RA: router=%v verdict %s: %s", s.Router, d.Verdict, d.Explain())
	}
	p := h.dev.Params
	if p.RetransTime != 10 || p.BaseReachableTime != 10000 || p.GCStaleTime != 30000 {
		t.Errorf("RA timers: retrans %d (want the HZ/100 floor, 10), base_reachable %d, gc_stale %d", p.RetransTime, p.BaseReachableTime, p.GCStaleTime)
	}
	// a new SLLAO moves the entry at once
	ra.SourceLL = mac0c
	h.nd(ra, PktMulticast)
	h.want6(ll6B, Stale, mac0c)
	// not from link-local: dropped
	ra.Src = ip6B
	if d := h.nd(ra, PktMulticast); d.Rule != RuleRANotLinkLocal {
		t.Errorf("global-source RA: %s", d.Rule.Name())
	}
	// RS on a host: ignored; on a router: clears the router flag
	rs := &ND{Type: NDRouterSolicit, Src: ll6B, Dst: netip.MustParseAddr("ff02::2"), HopLimit: 255, SourceLL: mac0c, HasSourceLL: true}
	if d := h.nd(rs, PktMulticast); d.Rule != RuleRSNotRouter {
		t.Errorf("RS on a host: %s", d.Rule.Name())
	}
	h.tb.SetConf("eth0", "forwarding", "1")
	h.nd(rs, PktMulticast)
	if s := h.want6(ll6B, Stale, mac0c); s.Router {
		t.Error("RS on a router left the router flag")
	}
	// RHEL 7.3 floors RetransTimer at HZ/10
	h7 := newHarness6(t, "rhel7.3")
	h7.nd(&ND{Type: NDRouterAdvert, Src: ll6B, Dst: ndisc.AllNodes, HopLimit: 255, RetransTimer: 2}, PktMulticast)
	if h7.dev.Params.RetransTime != 100 {
		t.Errorf("rhel7.3 RA retrans floor: %d, want HZ/10 = 100", h7.dev.Params.RetransTime)
	}
}
