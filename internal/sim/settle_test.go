package sim

import (
	"reflect"
	"testing"

	"arplab/internal/scenario"
)

// TestVerdictOnlyStopsWithTheSameAnswers: a verdict-only run (a Monte
// Carlo study's), which stops once it is settled, finds what the full run
// of the same seed finds: whether it met its expectations, every flow's
// and check's outcome, and every stale span's IP, MACs, start, end and
// healing. Some of these runs do stop early (the test says how many), so
// the test holds the stop, not only the full run.
func TestVerdictOnlyStopsWithTheSameAnswers(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	stopped := 0
	for _, name := range scenario.Builtins() {
		s, err := scenario.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			full, err := Run(s, Options{Seed: seed, Vary: true})
			if err != nil {
				t.Fatal(err)
			}
			quick, err := Run(s, Options{Seed: seed, Vary: true, verdictOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if quick.Events < full.Events {
				stopped++
			}
			for _, r := range []*Result{full, quick} {
				for i := range r.Stale {
					// the counters behind the sentence are not
					// compared: a verdict-only run does not keep them
					sp := &r.Stale[i]
					sp.GARPIgnored, sp.GARPNoop, sp.GARPHonoured, sp.FalseConfirms, sp.Probes, sp.FirstIgnored = 0, 0, 0, 0, 0, ""
				}
			}
			if full.OK != quick.OK || full.FlowsOK != quick.FlowsOK || !reflect.DeepEqual(full.Flows, quick.Flows) ||
				!reflect.DeepEqual(full.Checks, quick.Checks) || !reflect.DeepEqual(full.Stale, quick.Stale) ||
				!reflect.DeepEqual(full.ExpectedFailures, quick.ExpectedFailures) {
				t.Fatalf("%s seed %d: verdict-only run\n%+v\nfull run\n%+v", name, seed, quick, full)
			}
		}
	}
	if stopped == 0 {
		t.Fatal("no verdict-only run stopped early: the test holds nothing")
	}
	t.Logf("%d verdict-only runs stopped early", stopped)
}
