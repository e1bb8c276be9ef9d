package sim

import (
	"bytes"
	"encoding/json"
	"runtime"
	"testing"

	"arplab/internal/scenario"
)

// TestMonteCarloSameForAnyWorkerCount: a study's result is byte for byte
// the same whether its runs share one worker or many (each run's seed is
// its index's; the sums are taken in index order), and whatever
// GOMAXPROCS is.
func TestMonteCarloSameForAnyWorkerCount(t *testing.T) {
	for _, name := range []string{"failure", "moving-window", "gateway-failover"} {
		s, err := scenario.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		runs := 60
		if testing.Short() {
			runs = 12
		}
		var want []byte
		for _, workers := range []int{1, 2, 3, 8} {
			mc, err := runMonteCarlo(s, runs, Options{Seed: 11}, nil, workers)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(mc)
			if want == nil {
				want = got
				if mc.Runs != runs {
					t.Fatalf("%s: %d runs finished, want %d", name, mc.Runs, runs)
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %d workers give %s, 1 worker %s", name, workers, got, want)
			}
		}
		// and through the public entry point, with one core and with all
		prev := runtime.GOMAXPROCS(1)
		one, err1 := RunMonteCarlo(s, runs, Options{Seed: 11}, nil)
		runtime.GOMAXPROCS(max(prev, 4))
		all, err2 := RunMonteCarlo(s, runs, Options{Seed: 11}, nil)
		runtime.GOMAXPROCS(prev)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		a, _ := json.Marshal(one)
		b, _ := json.Marshal(all)
		if !bytes.Equal(a, b) || !bytes.Equal(a, want) {
			t.Fatalf("%s: GOMAXPROCS=1 gives %s, more %s, workers %s", name, a, b, want)
		}
	}
}

// BenchmarkMonteCarlo is the path `arplab run failure --runs N` takes
// (RunMonteCarlo on the loaded scenario, every core), in runs of 200.
func BenchmarkMonteCarlo(b *testing.B) {
	s, _ := scenario.Load("failure")
	const runs = 200
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := RunMonteCarlo(s, runs, Options{Seed: uint64(i + 1)}, nil); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*runs)*s.Duration.D.Seconds()/sec, "sim-s/s")
	b.ReportMetric(float64(b.N*runs)/sec, "runs/s")
}
