package advise

import (
	"context"
	"strings"
	"testing"
)

// TestIPv6KeepalivedOneNASuffices: for an IPv6 VIP, keepalived's VRRPv3
// NAs carry O = 1, which replaces a valid entry's MAC at once on every
// kernel (no locktime in IPv6, ndisc §5.5): the default meets the target
// and the recommendation is a single NA, while the same fleet with an IPv4
// VIP needs more (locktime, spec §4.4).
func TestIPv6KeepalivedOneNASuffices(t *testing.T) {
	r := mustAdvise(t, "4.19,6.18", "keepalived", Options{Seed: 1, IPv6: true})
	if !r.Defaults[0].MeetsTarget {
		t.Errorf("keepalived's default (5 O=1 NAs twice) does not meet the target: %+v", r.Defaults[0])
	}
	rec := r.Recommendation
	if rec == nil || rec.Frames != 1 {
		t.Fatalf("recommendation %+v, want one NA", rec)
	}
	for k := range rec.Settings {
		if !strings.HasPrefix(k, "vrrp_garp_") && k != "vrrp_gna_interval" {
			t.Errorf("setting %q is not a keepalived VRRPv3 knob", k)
		}
	}
	var conf strings.Builder
	for _, s := range r.Config {
		conf.WriteString(s.Text)
	}
	if !strings.Contains(conf.String(), "vrrp_gna_interval") || strings.Contains(conf.String(), "vrrp_garp_interval") {
		t.Errorf("IPv6 configuration should set vrrp_gna_interval, not vrrp_garp_interval:\n%s", conf.String())
	}
}

// TestIPv6OverrideFlagDecides: a custom NA without O never moves the
// client's valid entry (ndisc §4.3): every O=0 candidate fails and the
// recommendation sets O.
func TestIPv6OverrideFlagDecides(t *testing.T) {
	r := mustAdvise(t, "6.18", "custom", Options{Seed: 1, IPv6: true})
	if r.Recommendation == nil || r.Recommendation.Settings["override"] != "O=1" {
		t.Fatalf("recommendation %+v, want override O=1", r.Recommendation)
	}
	for _, ev := range r.Frontier {
		if ev.Settings["override"] == "O=0" {
			t.Errorf("an O=0 setting is on the frontier: %+v", ev)
		}
	}
	a, err := LookupAnnouncer("custom", DefaultMaxStale, true)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{fleet: mustFleet(t, "6.18"), a: a, opt: Options{Seed: 1, IPv6: true}}
	if err := e.opt.fill(); err != nil {
		t.Fatal(err)
	}
	e.t = target{maxFailure: e.opt.MaxFailure, horizon: e.opt.MaxStale.Seconds(), capRuns: capFor(e.opt.MaxFailure), seed: 1}
	base, err := groupScenario(e.fleet.Groups[0], e.opt.MaxStale, true)
	if err != nil {
		t.Fatal(err)
	}
	e.base, e.order = append(e.base, base), []int{0}
	p, stop := newPool(1)
	defer stop()
	e.p = p
	c, err := e.newCandidate(a, Setting{0, 3, 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.evaluate(context.Background(), c, e.t.capRuns, true); err != nil {
		t.Fatal(err)
	}
	if !c.dead {
		t.Errorf("three O=0 NAs met the target on 6.18: %+v", e.evaluated(c, ""))
	}
}

// TestIPv6DropUnsolicitedNA: a group with drop_unsolicited_na=1 takes no
// announcement (ndisc §4.2 step 3), so no NA schedule converges it within
// the horizon; the alternative is the sysctl, tried in the simulator. An
// IPv6 setting without --ipv6 is refused.
func TestIPv6DropUnsolicitedNA(t *testing.T) {
	f, err := ParseFleetYAML([]byte("groups:\n  - {name: strict, profile: \"6.18\", traffic: vip, sysctls: {drop_unsolicited_na: \"1\"}}\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Groups[0].Sysctls["net.ipv6.conf."+clientDev+".drop_unsolicited_na"]; got != "1" {
		t.Fatalf("bare drop_unsolicited_na maps to %v", f.Groups[0].Sysctls)
	}
	if _, err := Advise(context.Background(), f, "keepalived", Options{Seed: 1}); err == nil || !strings.Contains(err.Error(), "--ipv6") {
		t.Errorf("IPv6 settings without --ipv6: err %v", err)
	}
	r, err := Advise(context.Background(), f, "keepalived", Options{Seed: 1, IPv6: true, MaxStale: 3e9})
	if err != nil {
		t.Fatal(err)
	}
	if r.Recommendation != nil {
		t.Fatalf("a setting converged a client that drops unsolicited NAs: %+v", r.Recommendation)
	}
	alt := r.Alternatives
	if alt == nil || len(alt.Sysctls) != 1 || alt.Sysctls[0].Mechanism != "drop_unsolicited_na" || alt.Sysctls[0].Result == nil ||
		alt.Sysctls[0].Result.Verdict != "meets" {
		t.Fatalf("alternatives %+v, want drop_unsolicited_na=0 meeting the target", alt)
	}
	if w := r.Defaults[0].Groups[0].Why; !strings.Contains(w, "no NA reached the entry's update") {
		t.Errorf("why = %q", w)
	}
}
