package cli

import (
	"context"
	"io"
	"testing"
)

// BenchmarkRunMonteCarloCLI times `arplab run failure --runs 200` through
// the command itself (flag parsing, scenario load, the study, the text
// output), and reports simulated seconds per wall second (the failure
// scenario is 330 s long).
func BenchmarkRunMonteCarloCLI(b *testing.B) {
	const runs = 200
	for i := 0; i < b.N; i++ {
		if code := Run(context.Background(), []string{"run", "failure", "--runs", "200"}, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(b.N*runs)*330/b.Elapsed().Seconds(), "sim-s/s")
}
