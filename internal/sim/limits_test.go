package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// busy is a valid scenario that runs a fast flow for a long time: about
// 2 events per millisecond of simulated time.
func busy(t *testing.T, duration string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse([]byte(`name: busy
duration: `+duration+`
segments: [{name: lan}]
hosts:
  - name: h
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
stations:
  - {name: r, segment: lan, mac: "02:00:00:00:00:02", ips: [10.0.0.2]}
script:
  - {at: 0s, flow: {name: f, kind: tcp, from: h, to: 10.0.0.2, interval: 1ms}}
`), "busy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEventBudgetStopsTheRun: a run that needs more events than its
// budget stops with a BudgetError saying where it got to, and a run within
// its budget is not affected.
func TestEventBudgetStopsTheRun(t *testing.T) {
	s := busy(t, "10s")
	res, err := Run(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(s, Options{MaxEvents: res.Events / 2})
	var b *BudgetError
	if !errors.As(err, &b) || b.Max != res.Events/2 || b.At.Seconds() <= 0 || b.At.Seconds() >= 10 {
		t.Fatalf("err = %v, want a BudgetError part-way through", err)
	}
	if !strings.Contains(err.Error(), "--max-events") {
		t.Errorf("error does not say how to raise the budget: %v", err)
	}
	if _, err := Run(s, Options{MaxEvents: res.Events}); err != nil {
		t.Fatalf("a budget of exactly the events needed: %v", err)
	}
}

// TestCancelStopsTheRun: a cancelled context stops a long run at once.
func TestCancelStopsTheRun(t *testing.T) {
	s := busy(t, "168h")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := Run(s, Options{Ctx: ctx, MaxEvents: -1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a cancelled run took %v", d)
	}
}

// TestMonteCarloPartial: a cancelled study returns the runs that finished,
// marked partial, with the context's error.
func TestMonteCarloPartial(t *testing.T) {
	s := busy(t, "20s")
	ctx, cancel := context.WithCancel(context.Background())
	done := 0
	mc, err := RunMonteCarlo(s, 1000, Options{Seed: 1, Ctx: ctx}, func(n, _ int) {
		if done = n; n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || !mc.Partial || mc.Asked != 1000 {
		t.Fatalf("err %v, %+v", err, mc)
	}
	if mc.Runs < 1 || mc.Runs >= 1000 || mc.Runs > done {
		t.Fatalf("%d runs finished of %d reported, %+v", mc.Runs, done, mc)
	}
	if _, err := RunMonteCarlo(s, 0, Options{}, nil); err == nil {
		t.Error("--runs 0 accepted")
	}
}

// TestKeptTraceBoundsMemory: a day of a 1 ms flow keeps at most Max events,
// the header, the verdict and every state change among them, and a note
// before the verdict says how many were dropped.
func TestKeptTraceBoundsMemory(t *testing.T) {
	s := busy(t, "30s")
	k := &KeptTrace{Max: 2000}
	var all trace.Recorder
	if _, err := Run(s, Options{Sink: tee{k, &all}}); err != nil {
		t.Fatal(err)
	}
	if len(all.Events) < 10*k.Max {
		t.Fatalf("the run emitted only %d events", len(all.Events))
	}
	n := len(k.Events)
	if n > k.Max+2 || k.Dropped+n != len(all.Events) {
		t.Fatalf("kept %d + dropped %d of %d events, Max %d", n, k.Dropped, len(all.Events), k.Max)
	}
	k.Note()
	evs := k.Events
	if evs[0].Kind != trace.KindHeader || evs[len(evs)-1].Kind != trace.KindVerdict || evs[len(evs)-2].Kind != trace.KindNote {
		t.Fatalf("first %s, last two %s %s", evs[0].Kind, evs[len(evs)-2].Kind, evs[len(evs)-1].Kind)
	}
	states := func(evs []trace.Event) (n int) {
		for _, e := range evs {
			if e.Kind == trace.KindState {
				n++
			}
		}
		return n
	}
	if states(evs) != states(all.Events) {
		t.Errorf("kept %d of %d state changes", states(evs), states(all.Events))
	}
}

type tee []trace.Sink

func (t tee) Emit(e trace.Event) {
	for _, s := range t {
		s.Emit(e)
	}
}

// TestMonteCarloStopsAtTheFirstFailedRun: a study whose runs exceed their
// event budget fails with the budget's error, not after every run.
func TestMonteCarloStopsAtTheFirstFailedRun(t *testing.T) {
	s := busy(t, "10s")
	done := 0
	_, err := RunMonteCarlo(s, 10000, Options{MaxEvents: 1000}, func(n, _ int) { done = n })
	var b *BudgetError
	if !errors.As(err, &b) {
		t.Fatalf("err = %v, want the budget's", err)
	}
	if done > 100 {
		t.Errorf("%d runs went on after the first failed", done)
	}
}
