package sim

import (
	"bytes"
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

type jsonSink struct{ enc *trace.Encoder }

func (j jsonSink) Emit(e trace.Event) { j.enc.Encode(e) }

func runJSON(t *testing.T, s *scenario.Scenario, seed uint64, vary bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Run(s, Options{Seed: seed, Vary: vary, Sink: jsonSink{trace.NewEncoder(&buf)}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDeterminism: the same scenario and seed give byte-identical traces,
// for every built-in scenario, with and without Monte Carlo variation.
func TestDeterminism(t *testing.T) {
	for _, name := range scenario.Builtins() {
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, vary := range []bool{false, true} {
				a, b := runJSON(t, s, 42, vary), runJSON(t, s, 42, vary)
				if !bytes.Equal(a, b) {
					t.Fatalf("vary=%v: two runs with seed 42 differ (%d vs %d bytes)", vary, len(a), len(b))
				}
				if len(a) == 0 {
					t.Fatal("empty trace")
				}
			}
		})
	}
}

// TestTraceDecodes: what the simulator writes, the trace reader accepts.
func TestTraceDecodes(t *testing.T) {
	s, _ := scenario.Load("failure")
	b := runJSON(t, s, 1, false)
	evs, err := trace.Read(bytes.NewReader(b), "failure.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Kind != trace.KindHeader || evs[len(evs)-1].Kind != trace.KindVerdict {
		t.Fatalf("trace starts with %s and ends with %s", evs[0].Kind, evs[len(evs)-1].Kind)
	}
	var ignored int
	for _, e := range evs {
		if e.Kind == trace.KindARP && e.Verdict == trace.Ignored && e.IP == "172.24.4.10" {
			ignored++
			if e.LocktimeUntil == nil || e.Frame == 0 || e.ARP == nil {
				t.Fatalf("ignored GARP without locktime_until/frame/arp: %+v", e)
			}
		}
	}
	if ignored != 3 {
		t.Fatalf("%d ignored GARPs in the trace, want 3", ignored)
	}
}

// BenchmarkFailure reports simulated seconds per wall second and events
// per second on the built-in failure scenario.
func BenchmarkFailure(b *testing.B) {
	s, _ := scenario.Load("failure")
	var events int
	var simSec float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Run(s, Options{Seed: uint64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		events += r.Events
		simSec += r.Duration
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(simSec/sec, "sim-s/s")
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(b.N)/sec, "runs/s")
}
