package sim

import (
	"arplab/internal/scenario"
	"arplab/internal/vtime"
)

// StaleSpansUntilHealed runs s as Run does, without a trace, and returns
// only the stale spans; it stops as soon as every move of the script has
// happened and every observed host's entry for each moved address points at
// the new owner. Searches that run a scenario thousands of times
// (internal/advise) need only the spans, and most runs heal long before the
// end.
//
// Stopping early changes no span: a healed span ends when it healed, and
// events run in the same order as in one uninterrupted run (the scheduler
// is advanced in steps of step, which only adds look-ups between events).
// The per-entry counters of a healed span stop counting at the stop.
func StaleSpansUntilHealed(s *scenario.Scenario, opt Options, step vtime.Duration) ([]StaleSpan, error) {
	if opt.Seed == 0 {
		opt.Seed = s.Seed
	}
	opt.Sink, opt.Capture = nil, nil
	if step <= 0 {
		step = 100 * vtime.Millisecond
	}
	w, err := build(s, opt)
	if err != nil {
		return nil, err
	}
	if err := w.schedule(); err != nil {
		return nil, err
	}
	moves := 0
	for _, e := range s.Script {
		if e.Move != nil {
			moves++
		}
	}
	end := vtime.Time(s.Duration.D)
	for t := vtime.Time(step); ; t += vtime.Time(step) {
		t = min(t, end)
		if err := w.sch.run(opt.Ctx, t, opt.budget()); err != nil {
			return nil, err
		}
		if t == end || (moves > 0 && len(w.moves) == moves && w.allHealed()) {
			break
		}
	}
	return w.staleSpans(), nil
}

// allHealed reports whether every observed host's entry for every address
// moved so far has switched to the new owner.
func (w *world) allHealed() bool {
	for _, m := range w.moves {
		for _, h := range w.hosts {
			if !h.observe {
				continue
			}
			if _, ok := w.healed[healKey{h.name, m.ip}]; !ok {
				return false
			}
		}
	}
	return true
}
