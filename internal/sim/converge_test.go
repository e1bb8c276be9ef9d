package sim

import (
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/vtime"
)

// TestStaleSpansUntilHealedMatchesRun: stopping at convergence changes no
// span's times or outcome, for runs that heal (4.12, vip-failover) and runs
// that never do (the Failure on rhel7.3).
func TestStaleSpansUntilHealedMatchesRun(t *testing.T) {
	for _, c := range []struct {
		name string
		v    scenario.Variation
	}{
		{"failure", scenario.Variation{}},
		{"failure", scenario.Variation{Profile: "4.12"}},
		{"failure", scenario.Variation{Preset: "neutron"}},
		{"vip-failover", scenario.Variation{}},
		{"vip-failover", scenario.Variation{Profile: "rhel7.3"}},
	} {
		s0, err := scenario.Load(c.name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := s0.Apply(c.v)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 5; seed++ {
			res, err := Run(s, Options{Seed: seed, Vary: true})
			if err != nil {
				t.Fatal(err)
			}
			spans, err := StaleSpansUntilHealed(s, Options{Seed: seed, Vary: true}, 250*vtime.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(spans) != len(res.Stale) {
				t.Fatalf("%s %+v seed=%d: %d spans, Run has %d", c.name, c.v, seed, len(spans), len(res.Stale))
			}
			for i, sp := range spans {
				want := res.Stale[i]
				// counters of a healed span stop at the stop; an unhealed
				// one ran to the end and must match in full
				if sp.From != want.From || sp.To != want.To || sp.Healed != want.Healed ||
					(!sp.Healed && (sp.FirstIgnored != want.FirstIgnored || sp.GARPIgnored != want.GARPIgnored)) {
					t.Errorf("%s %+v seed=%d span %d: got %v→%v healed=%v, Run %v→%v healed=%v",
						c.name, c.v, seed, i, sp.From, sp.To, sp.Healed, want.From, want.To, want.Healed)
				}
			}
		}
	}
}
