package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"arplab/internal/garp"
	"arplab/internal/kernel"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// Row is one configuration of a what-if run (a matrix row, a fix). It keeps
// the run's two answers apart (Result): FlowsOK is the verdict, OK whether
// the scenario's expectations held.
type Row struct {
	Label     string             `json:"label"`
	Variation scenario.Variation `json:"variation"`
	FlowsOK   bool               `json:"flows_ok"`
	OK        bool               `json:"ok"`
	// Stale is the longest time an observed entry kept a dead MAC.
	Stale  float64 `json:"stale_seconds"`
	Healed bool    `json:"healed"`
	// Verdict is the run's sentence (sim.Verdict), Expectation the
	// sentence about its checks (sim.Expectation).
	Verdict     string `json:"verdict"`
	Expectation string `json:"expectation"`
	// Expect is the outcome the scenario expects for this row ("" none):
	// "ok" or "failed", compared with OK; Match tells whether the run
	// agreed.
	Expect string        `json:"expect,omitempty"`
	Match  bool          `json:"match"`
	Events []trace.Event `json:"-"`
	Err    string        `json:"error,omitempty"`
	// Fixed is set by Fixes on a candidate that made every flow survive
	// (its verdict is PASS; on a lossy segment it must also beat the
	// baseline over many seeds); Why says why one that passed with this
	// seed is not credited.
	Fixed bool   `json:"fixed,omitempty"`
	Why   string `json:"why,omitempty"`
	// Budget is set when the run stopped at its event budget (Err says
	// so): a study can then stop rather than spend the budget on every row.
	Budget *BudgetError `json:"-"`
}

// RunVariation applies v to s and runs it once.
func RunVariation(s *scenario.Scenario, v scenario.Variation, opt Options, keep bool) Row {
	// a row that could not run has no outcome to disagree with, unless it
	// carried an expectation
	row := Row{Label: v.Label, Variation: v, Expect: v.Expect, Match: v.Expect == ""}
	c, err := s.Apply(v)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	rec := KeptTrace{Max: KeepRowEvents}
	if keep {
		opt.Sink = &rec
	} else {
		opt.Sink = nil
	}
	res, err := Run(c, opt)
	if err != nil {
		row.Err = err.Error()
		errors.As(err, &row.Budget)
		return row
	}
	rec.Note()
	row.OK, row.FlowsOK = res.OK, res.FlowsOK
	row.Verdict, row.Expectation = Verdict(res), Expectation(res)
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
	// The base is the observed host's kernel as run, with the file's and
	// the command line's patch edits: a patch row says what it changes
	// from there ("rhel7.3+small-retrans +garp-reply"), removes a patch
	// the edits added, and a plain profile row drops the edits.
	bp, _ := kernel.Lookup(kernel.DefaultProfile)
	if obs := s.Observed(); len(obs) > 0 {
		h := s.Hosts[obs[0]]
		if p, err := kernel.Lookup(h.Profile); err == nil {
			bp = p
			if q, err := p.WithPatches(h.Patches); err == nil {
				bp = q
			}
		}
	}
	base := bp.Name
	for _, p := range kernel.Profiles {
		if p.Name != base {
			rows = append(rows, scenario.Variation{Label: "profile " + p.Name, Profile: p.Name})
		}
	}
	v6 := slices.ContainsFunc(s.Script, func(e scenario.Event) bool { return e.GARP != nil && e.GARP.IP.Is6() }) || usesIPv6(s)
	for _, p := range kernel.Patches {
		if p.DocumentedOnly {
			continue // the model has no behaviour for it: the row could not differ
		}
		if p.Family == "ipv6" && !v6 {
			continue // an IPv4-only scenario never reaches nd_tbl
		}
		sign := "+"
		if bp.Has(p.Name) {
			sign = "-"
		}
		rows = append(rows, scenario.Variation{Label: base + " " + sign + p.Name, Patches: []string{sign + p.Name}})
	}
	rows = append(rows, scenario.Variation{Label: "arp_accept=1", Set: []string{"arp_accept=1"}})
	if v6 {
		rows = append(rows, scenario.Variation{Label: "accept_untracked_na=1 on a router",
			Set: []string{"forwarding=1", "accept_untracked_na=1"}})
	}
	presets := garp.Presets()
	if hasNA(s) {
		presets = garp.NAPresets() // IPv6 announcements take the NA senders
	}
	if hasGARP(s) {
		for _, p := range presets {
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

// hasNA reports whether every sender of the scenario announces IPv6.
func hasNA(s *scenario.Scenario) bool {
	return hasGARP(s) && !slices.ContainsFunc(s.Script, func(e scenario.Event) bool { return e.GARP != nil && !e.GARP.IP.Is6() })
}

// usesIPv6 reports whether a host of s has an IPv6 address.
func usesIPv6(s *scenario.Scenario) bool {
	for _, h := range s.Hosts {
		for _, ifc := range h.Interfaces {
			for _, a := range ifc.Addrs {
				if a.Addr().Is6() {
					return true
				}
			}
		}
	}
	return false
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
// every row, the ones that fixed it first in the scenario's order. A fix
// is judged by the verdict (every flow survived, Row.Fixed), not by the
// scenario's checks: a scenario that demonstrates a failure expects its
// flow to fail, and a fix is exactly what breaks that expectation. A candidate that
// changes nothing (a patch the kernel already carries, the profile it
// already runs) is left out: listing it as a fix would credit the
// baseline's own luck to it. On a lossy segment, a candidate that passes is
// credited only when it also fails clearly less often than the baseline
// over creditSeeds seeds (creditedAgainstLoss).
// Once opt.Ctx is cancelled it returns the rows it has.
func Fixes(s *scenario.Scenario, opt Options) []Row {
	cands, generic := s.Fixes, false
	if len(cands) == 0 {
		cands, generic = DefaultFixes, true
	}
	lossy := hasLoss(s)
	var baseFails = -1
	var ok, bad []Row
	for _, v := range cands {
		if opt.Ctx != nil && opt.Ctx.Err() != nil {
			break
		}
		c, err := s.Apply(v)
		if err == nil && sameSetup(s, c) {
			continue
		}
		if err != nil && generic {
			// a generic candidate that does not apply here (a sender
			// preset in a scenario without GARP): not a fix to list; the
			// scenario's own candidates are listed with their error
			continue
		}
		r := RunVariation(s, v, opt, false)
		if opt.Ctx != nil && opt.Ctx.Err() != nil {
			break // this row did not finish
		}
		r.Fixed = r.Err == "" && r.FlowsOK
		if r.Fixed && lossy {
			if baseFails < 0 {
				baseFails = failures(s, scenario.Variation{}, opt.Seed)
			}
			if f := failures(s, v, opt.Seed); !creditedAgainstLoss(f, baseFails) {
				r.Fixed = false
				r.Why = fmt.Sprintf("passes with this seed, but fails %d of %d seeds against %d of %d without it: the failure is the segment's packet loss, not something this changes",
					f, creditSeeds, baseFails, creditSeeds)
			}
		}
		if r.Fixed {
			ok = append(ok, r)
		} else {
			bad = append(bad, r)
		}
	}
	return append(ok, bad...)
}

// creditSeeds is how many seeds a fix is tried on when packet loss could
// make one seed's pass luck.
const creditSeeds = 20

// creditedAgainstLoss: a fix is credited when it fails at most half as
// often as the baseline over the same seeds.
func creditedAgainstLoss(fixFails, baseFails int) bool { return 2*fixFails <= baseFails }

// failures counts the runs of s with v applied in which a flow failed,
// over creditSeeds seeds derived from seed.
func failures(s *scenario.Scenario, v scenario.Variation, seed uint64) int {
	c, err := s.Apply(v)
	if err != nil {
		return creditSeeds
	}
	if seed == 0 {
		seed = s.Seed
	}
	n := 0
	for i := uint64(0); i < creditSeeds; i++ {
		res, err := Run(c, Options{Seed: seed*7919 + i + 1})
		if err != nil || !res.FlowsOK {
			n++
		}
	}
	return n
}

func hasLoss(s *scenario.Scenario) bool {
	return slices.ContainsFunc(s.Segments, func(g scenario.Segment) bool { return g.Loss > 0 })
}

// sameSetup reports whether c, a variation of s, simulates exactly what s
// does: every host's effective kernel (patch set, HZ, queue limit) is the
// same, and so is everything else in the scenario. Profile names are not
// compared: "4.12" and "4.11+timestamps-on-change+…" may be one kernel.
func sameSetup(s, c *scenario.Scenario) bool {
	a, b := s.Clone(), c.Clone()
	if len(a.Hosts) != len(b.Hosts) {
		return false
	}
	for i := range a.Hosts {
		pa, errA := profileOf(&a.Hosts[i])
		pb, errB := profileOf(&b.Hosts[i])
		if errA != nil || errB != nil || !slices.Equal(pa.Patches, pb.Patches) || pa.HZ != pb.HZ || pa.UnresQlenBytes != pb.UnresQlenBytes {
			return false
		}
		a.Hosts[i].Profile, a.Hosts[i].Patches = "", nil
		b.Hosts[i].Profile, b.Hosts[i].Patches = "", nil
	}
	return reflect.DeepEqual(a, b)
}

// MonteCarlo is the outcome of many runs with varied timings.
type MonteCarlo struct {
	Runs     int `json:"runs"`
	Failures int `json:"failures"`
	// P is the failure probability, Lo and Hi its 95% Wilson interval.
	P  float64 `json:"p"`
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Stale is the mean longest stale time over the runs.
	Stale float64 `json:"stale_seconds"`
	// Partial is set when the study was interrupted: Runs is then the
	// number of runs that finished, Asked the number requested.
	Partial bool `json:"partial,omitempty"`
	Asked   int  `json:"asked,omitempty"`
}

// MaxRuns bounds a Monte Carlo study.
const MaxRuns = 1_000_000

// RunMonteCarlo runs s runs times with timings varied from seeds derived
// from opt.Seed (each run's `vary` offsets and HZ phases), every run under
// opt's context and event budget. progress, if set, is called after each
// run. When opt.Ctx is cancelled it stops within a run and returns what
// the finished runs found, marked Partial, with the context's error.
func RunMonteCarlo(s *scenario.Scenario, runs int, opt Options, progress func(done, total int)) (MonteCarlo, error) {
	return runMonteCarlo(s, runs, opt, progress, runtime.GOMAXPROCS(0))
}

// runMonteCarlo is RunMonteCarlo on a given number of workers.
func runMonteCarlo(s *scenario.Scenario, runs int, opt Options, progress func(done, total int), workers int) (MonteCarlo, error) {
	mc := MonteCarlo{Runs: runs}
	if runs <= 0 || runs > MaxRuns {
		return mc, fmt.Errorf("--runs %d is out of range (allowed: 1 to %d)", runs, MaxRuns)
	}
	seed := opt.Seed
	// A run that fails (its event budget) stops the study: the others
	// would fail the same way. The workers' context says so.
	parent := opt.Ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, stopAll := context.WithCancelCause(parent)
	defer stopAll(nil)
	// Runs are independent simulations, each single-threaded and seeded by
	// its index, so they can share the cores without changing any result.
	type out struct {
		ok, done bool
		stale    float64
		err      error
	}
	results := make([]out, runs)
	jobs := make(chan int)
	done := make(chan int)
	workers = max(1, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				o := opt
				o.Seed, o.Vary, o.Sink, o.Capture, o.Ctx, o.verdictOnly = seed*1_000_003+uint64(i)+1, true, nil, nil, ctx, true
				res, err := Run(s, o)
				if err != nil && ctx.Err() == nil {
					stopAll(err)
				}
				r := out{err: err, done: err == nil}
				if err == nil {
					r.ok = res.OK
					for _, sp := range res.Stale {
						r.stale = max(r.stale, sp.Seconds())
					}
				}
				results[i] = r
				done <- i
			}
		}()
	}
	go func() {
		defer func() {
			close(jobs)
			wg.Wait()
			close(done)
		}()
		for i := 0; i < runs; i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	n := 0
	for range done {
		n++
		if progress != nil {
			progress(n, runs)
		}
	}
	if parent.Err() == nil && ctx.Err() != nil {
		return mc, context.Cause(ctx) // a run failed
	}
	var stale float64
	finished := 0
	for _, o := range results {
		if !o.done {
			continue
		}
		finished++
		if !o.ok {
			mc.Failures++
		}
		stale += o.stale
	}
	var err error
	if finished < runs {
		mc.Partial, mc.Asked, err = true, runs, parent.Err()
	}
	mc.Runs = finished
	if finished == 0 {
		return mc, err
	}
	mc.P = float64(mc.Failures) / float64(finished)
	mc.Lo, mc.Hi = Wilson(mc.Failures, finished)
	mc.Stale = stale / float64(finished)
	return mc, err
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
