package sim

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"arplab/internal/garp"
	"arplab/internal/kernel"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// Row is one configuration of a what-if run (a matrix row, a fix).
type Row struct {
	Label     string
	Variation scenario.Variation
	OK        bool
	// Stale is the longest time an observed entry kept a dead MAC.
	Stale   float64
	Healed  bool
	Verdict string
	// Expect is the outcome the scenario expects for this row ("" none);
	// Match tells whether the run agreed.
	Expect string
	Match  bool
	Events []trace.Event `json:"-"`
	Err    string        `json:",omitempty"`
}

// RunVariation applies v to s and runs it once.
func RunVariation(s *scenario.Scenario, v scenario.Variation, opt Options, keep bool) Row {
	row := Row{Label: v.Label, Variation: v, Expect: v.Expect}
	c, err := s.Apply(v)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	var rec trace.Recorder
	if keep {
		opt.Sink = &rec
	} else {
		opt.Sink = nil
	}
	res, err := Run(c, opt)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.OK = res.OK
	row.Verdict = Verdict(res)
	row.Healed = true
	for _, sp := range res.Stale {
		if sp.Seconds() > row.Stale {
			row.Stale = sp.Seconds()
		}
		row.Healed = row.Healed && sp.Healed
	}
	row.Events = rec.Events
	want := map[string]bool{"ok": true, "failed": false}
	if e, ok := want[v.Expect]; ok {
		row.Match = e == row.OK
	} else {
		row.Match = true
	}
	return row
}

// DefaultMatrix is the generic what-if set for a scenario: the baseline,
// every kernel profile, every single patch added to (or removed from) the
// observed host's profile, arp_accept=1, every sender preset, and the
// scenario's own rows.
func DefaultMatrix(s *scenario.Scenario) []scenario.Variation {
	rows := []scenario.Variation{{Label: "baseline"}}
	base := kernel.DefaultProfile
	if obs := s.Observed(); len(obs) > 0 {
		base = s.Hosts[obs[0]].Profile
	}
	for _, p := range kernel.Profiles {
		if p.Name != base {
			rows = append(rows, scenario.Variation{Label: "profile " + p.Name, Profile: p.Name})
		}
	}
	bp, _ := kernel.Lookup(base)
	for _, p := range kernel.Patches {
		if p.DocumentedOnly {
			continue // the model has no behaviour for it: the row could not differ
		}
		sign := "+"
		if bp.Has(p.Name) {
			sign = "-"
		}
		rows = append(rows, scenario.Variation{Label: base + " " + sign + p.Name, Patches: []string{sign + p.Name}})
	}
	rows = append(rows, scenario.Variation{Label: "arp_accept=1", Set: []string{"arp_accept=1"}})
	if hasGARP(s) {
		for _, p := range garp.Presets() {
			if p.Name == garp.Custom {
				continue
			}
			rows = append(rows, scenario.Variation{Label: "sender " + p.Name, Preset: p.Name})
		}
	}
	return append(rows, s.Matrix...)
}

func hasGARP(s *scenario.Scenario) bool {
	return slices.ContainsFunc(s.Script, func(e scenario.Event) bool { return e.GARP != nil })
}

// DefaultFixes are tried when a scenario lists none.
var DefaultFixes = []scenario.Variation{
	{Label: "kernel 4.12", Profile: "4.12"},
	{Label: "kernel 6.18", Profile: "6.18"},
	{Label: "+timestamps-on-change", Patches: []string{"+timestamps-on-change"}},
	{Label: "+replace-dst-confirm", Patches: []string{"+replace-dst-confirm"}},
	{Label: "GARP requests with arp_accept=1", Set: []string{"arp_accept=1"}, Preset: "arping-U"},
	{Label: "Neutron workaround sender", Preset: "neutron"},
}

// Fixes runs the scenario's candidate fixes (or DefaultFixes) and returns
// every row, passing ones first in the scenario's order.
func Fixes(s *scenario.Scenario, opt Options) []Row {
	cands := s.Fixes
	if len(cands) == 0 {
		cands = DefaultFixes
	}
	var ok, bad []Row
	for _, v := range cands {
		r := RunVariation(s, v, opt, false)
		if r.Err == "" && r.OK {
			ok = append(ok, r)
		} else {
			bad = append(bad, r)
		}
	}
	return append(ok, bad...)
}

// MonteCarlo is the outcome of many runs with varied timings.
type MonteCarlo struct {
	Runs, Failures int
	P, Lo, Hi      float64 // failure probability and its 95% Wilson interval
	// Stale is the mean longest stale time over the runs.
	Stale float64
}

// RunMonteCarlo runs s runs times with timings varied from seeds derived
// from seed (each run's `vary` offsets and HZ phases). progress, if set, is
// called after each run.
func RunMonteCarlo(s *scenario.Scenario, runs int, seed uint64, progress func(done, total int)) (MonteCarlo, error) {
	mc := MonteCarlo{Runs: runs}
	if runs <= 0 {
		return mc, fmt.Errorf("--runs must be positive")
	}
	// Runs are independent simulations, each single-threaded and seeded by
	// its index, so they can share the cores without changing any result.
	type out struct {
		ok    bool
		stale float64
		err   error
	}
	results := make([]out, runs)
	jobs := make(chan int)
	done := make(chan int)
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res, err := Run(s, Options{Seed: seed*1_000_003 + uint64(i) + 1, Vary: true})
				o := out{err: err}
				if err == nil {
					o.ok = res.OK
					for _, sp := range res.Stale {
						o.stale = max(o.stale, sp.Seconds())
					}
				}
				results[i] = o
				done <- i
			}
		}()
	}
	go func() {
		for i := 0; i < runs; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(done)
	}()
	n := 0
	for range done {
		n++
		if progress != nil {
			progress(n, runs)
		}
	}
	var stale float64
	for _, o := range results {
		if o.err != nil {
			return mc, o.err
		}
		if !o.ok {
			mc.Failures++
		}
		stale += o.stale
	}
	mc.P = float64(mc.Failures) / float64(runs)
	mc.Lo, mc.Hi = Wilson(mc.Failures, runs)
	mc.Stale = stale / float64(runs)
	return mc, nil
}

// Wilson is the 95% Wilson score interval for k successes in n trials.
func Wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nn := float64(n)
	d := 1 + z*z/nn
	c := (p + z*z/(2*nn)) / d
	h := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / d
	return max(0, c-h), min(1, c+h)
}
