package advise

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"arplab/internal/scenario"
	"arplab/internal/vtime"
)

// Options are the target and the search's resources.
type Options struct {
	// MaxFailure is the largest acceptable failure probability per group
	// (default 0.01).
	MaxFailure float64
	// MaxStale is how long an entry may keep the old MAC after the move
	// before the run counts as a failure (default 10 s).
	MaxStale vtime.Duration
	// MaxFrames bounds the frames a candidate sends within MaxStale
	// (0: no bound).
	MaxFrames int
	// Seed is the master seed (default 1).
	Seed uint64
	// Workers is how many simulations run at once (default: every core).
	// It changes nothing in the result.
	Workers int
	// IPv6 makes the VIP an IPv6 address: the clients run nd_tbl and the
	// announcers send unsolicited Neighbour Advertisements
	// (../shared/spec/linux-ndisc.md §10).
	IPv6 bool
}

// Defaults of Options.
const (
	DefaultMaxFailure = 0.01
	DefaultMaxStale   = 10 * vtime.Second
	DefaultSeed       = 1
)

// screenRuns is how many runs per group a candidate gets before the search
// decides whether it can still be on the frontier.
const screenRuns = 2 * batch

// refineRounds bounds the refinement around the frontier.
const refineRounds = 3

// CheckOptions validates o as Advise would, so a caller can report a bad
// flag before any work starts.
func CheckOptions(o Options) error { return o.fill() }

func (o *Options) fill() error {
	if o.MaxFailure == 0 {
		o.MaxFailure = DefaultMaxFailure
	}
	if !(o.MaxFailure > 0 && o.MaxFailure < 1) {
		return fmt.Errorf("--max-failure %v: want a probability in (0, 1), e.g. 0.01", o.MaxFailure)
	}
	if o.MaxFailure < 0.0001 {
		return fmt.Errorf("--max-failure %v: below 0.0001 a decided interval needs more than 38000 runs per group; use 0.0001 or more", o.MaxFailure)
	}
	if o.MaxStale == 0 {
		o.MaxStale = DefaultMaxStale
	}
	if o.MaxStale < 100*vtime.Millisecond || o.MaxStale > 300*vtime.Second {
		return fmt.Errorf("--max-stale %v: want 100ms..300s", o.MaxStale)
	}
	if o.MaxFrames < 0 {
		return fmt.Errorf("--max-frames %d: want a positive count (0: no bound)", o.MaxFrames)
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// candidate is one setting of the announcer under evaluation.
type candidate struct {
	a       *Announcer
	setting Setting
	key     string
	sig     string
	frames  int
	groups  []*groupMC // by fleet group index; nil until run
	extra   []sender   // supplementary announcements
	only    int        // run only this group (a host-side trial); -1: all
	full    bool       // run to a decided interval on every group it reached
	dead    bool       // decided above the target on some group
}

// engine is one advise run.
type engine struct {
	fleet *Fleet
	a     *Announcer
	opt   Options
	t     target
	base  []*scenario.Scenario
	order []int // groups, hardest first
	p     *pool
	seen  map[string]*candidate // by schedule signature
	runs  int
	mu    sync.Mutex
}

// Advise searches the announcer's knobs for the fleet.
func Advise(ctx context.Context, fleet *Fleet, announcer string, opt Options) (*Result, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	a, err := LookupAnnouncer(announcer, opt.MaxStale, opt.IPv6)
	if err != nil {
		return nil, err
	}
	if len(fleet.Groups) == 0 {
		return nil, errors.New("advise: the fleet has no groups")
	}
	for _, g := range fleet.Groups {
		if g.ipv6() && !opt.IPv6 {
			return nil, fmt.Errorf("group %s sets IPv6 settings: advise an IPv6 failover with --ipv6", g.Name)
		}
	}
	e := &engine{fleet: fleet, a: a, opt: opt, seen: map[string]*candidate{},
		t: target{maxFailure: opt.MaxFailure, horizon: opt.MaxStale.Seconds(), capRuns: capFor(opt.MaxFailure), seed: opt.Seed}}
	for _, g := range fleet.Groups {
		s, err := groupScenario(g, opt.MaxStale, opt.IPv6)
		if err != nil {
			return nil, fmt.Errorf("group %s: %v", g.Name, err)
		}
		e.base = append(e.base, s)
		e.order = append(e.order, len(e.order))
	}
	p, stop := newPool(opt.Workers)
	defer stop()
	e.p = p
	return e.run(ctx)
}

func (e *engine) newCandidate(a *Announcer, s Setting, extra ...sender) (*candidate, error) {
	sig, frames, err := a.signature(s, e.opt.MaxStale)
	if err != nil {
		return nil, err
	}
	for _, x := range extra {
		sig += fmt.Sprintf("|%d+%d", x.at, x.vary)
		frames += x.frames
	}
	return &candidate{a: a, setting: slices.Clone(s), key: a.Key(s) + extraKey(extra), sig: sig, frames: frames,
		groups: make([]*groupMC, len(e.fleet.Groups)), extra: extra, only: -1}, nil
}

func extraKey(extra []sender) string {
	k := ""
	for _, x := range extra {
		k += " + " + x.label
	}
	return k
}

// evaluate runs c on the groups, hardest first, up to limit runs each; with
// all unset it stops at the first group decided above the target.
func (e *engine) evaluate(ctx context.Context, c *candidate, limit int, all bool) error {
	for _, gi := range e.order {
		if c.only >= 0 && gi != c.only {
			continue
		}
		g := c.groups[gi]
		if g == nil {
			s, err := withSender(e.base[gi], c.a, c.setting, e.opt.MaxStale, c.extra...)
			if err != nil {
				return fmt.Errorf("%s on group %s: %v", c.key, e.fleet.Groups[gi].Name, err)
			}
			g = &groupMC{scn: s, key: c.key + " | " + e.fleet.Groups[gi].Name}
			c.groups[gi] = g
		}
		before := len(g.conv)
		if err := e.p.advance(ctx, g, e.t, limit); err != nil {
			return err
		}
		e.mu.Lock()
		e.runs += len(g.conv) - before
		e.mu.Unlock()
		if g.decision == failed {
			c.dead = true
			if !all {
				return nil
			}
		}
	}
	if limit >= e.t.capRuns {
		c.full = true
	}
	return nil
}

// evaluateAll evaluates the candidates concurrently (the pool bounds the
// simulations); results do not depend on the interleaving.
func (e *engine) evaluateAll(ctx context.Context, cs []*candidate, limit int, all bool) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.evaluate(ctx, c, limit, all)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// worstP99 is the candidate's worst group p99 convergence over the groups
// it ran (+Inf when a group is decided above the target).
func (c *candidate) worstP99() float64 {
	if c.dead {
		return math.Inf(1)
	}
	w := 0.0
	for _, g := range c.groups {
		if g != nil {
			w = max(w, g.p99())
		}
	}
	return w
}

// better orders candidates by frames, then worst p99, then key.
func better(a, b *candidate) int {
	return cmp.Or(cmp.Compare(a.frames, b.frames), cmp.Compare(a.worstP99(), b.worstP99()), cmp.Compare(a.key, b.key))
}

// minGain is the least improvement in worst p99 that puts a candidate
// sending more frames on the frontier: differences below it are the
// sender's jitter, not a better schedule.
const minGain = 0.01

// nonDominated returns the candidates no other one beats on both frames
// and worst p99, in frames order.
func nonDominated(cs []*candidate) []*candidate {
	s := slices.Clone(cs)
	slices.SortFunc(s, better)
	var out []*candidate
	best := math.Inf(1)
	for _, c := range s {
		if p := c.worstP99(); p < best-minGain || (math.IsInf(best, 1) && !math.IsInf(p, 1)) {
			out = append(out, c)
			best = p
		}
	}
	return out
}

// grid returns the coarse grid of settings, in knob order.
func coarseGrid(a *Announcer) []Setting {
	out := []Setting{{}}
	for _, k := range a.Knobs {
		var next []Setting
		for _, s := range out {
			for _, v := range k.coarse {
				next = append(next, append(slices.Clone(s), v))
			}
		}
		out = next
	}
	return out
}

// neighbours are the settings one fine-grid step away on one knob.
func neighbours(a *Announcer, s Setting) []Setting {
	var out []Setting
	for i, k := range a.Knobs {
		j := slices.Index(k.Values, s[i])
		if j < 0 {
			continue
		}
		for _, d := range []int{-1, 1} {
			if j+d >= 0 && j+d < len(k.Values) {
				n := slices.Clone(s)
				n[i] = k.Values[j+d]
				out = append(out, n)
			}
		}
	}
	return out
}

// admit turns settings into new candidates: those with a schedule not
// seen before and within --max-frames.
func (e *engine) admit(settings []Setting) ([]*candidate, error) {
	var out []*candidate
	for _, s := range settings {
		c, err := e.newCandidate(e.a, s)
		if err != nil {
			return nil, err
		}
		if _, dup := e.seen[c.sig]; dup {
			continue
		}
		e.seen[c.sig] = c
		if c.frames == 0 || (e.opt.MaxFrames > 0 && c.frames > e.opt.MaxFrames) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// search screens the candidates, then runs to a decided interval those that
// can still be on the frontier, until the frontier is made of decided
// candidates only; it returns that frontier.
func (e *engine) search(ctx context.Context, alive []*candidate) ([]*candidate, error) {
	if err := e.evaluateAll(ctx, alive, screenRuns, false); err != nil {
		return nil, err
	}
	for {
		alive = slices.DeleteFunc(alive, func(c *candidate) bool { return c.dead })
		nd := nonDominated(alive)
		var todo []*candidate
		for _, c := range nd {
			if !c.full {
				todo = append(todo, c)
			}
		}
		if len(todo) == 0 {
			return nd, nil
		}
		if err := e.evaluateAll(ctx, todo, e.t.capRuns, false); err != nil {
			return nil, err
		}
	}
}

func (e *engine) run(ctx context.Context) (*Result, error) {
	res := &Result{Fleet: e.fleet, Announcer: e.a, Target: Target{MaxFailure: e.opt.MaxFailure,
		MaxStaleSeconds: e.opt.MaxStale.Seconds(), MaxFrames: e.opt.MaxFrames, Seed: e.opt.Seed, Confidence: 0.95}}

	// The default first, on every group: it says which groups are hard,
	// and the search then tries those first.
	def, err := e.newCandidate(e.a, e.a.Default())
	if err != nil {
		return nil, err
	}
	defs := []*candidate{def}
	labels := []string{e.a.Name + " default"}
	for _, b := range e.a.baselines {
		ba, err := LookupAnnouncer(b.announcer, e.opt.MaxStale, e.opt.IPv6)
		if err != nil {
			return nil, err
		}
		c, err := e.newCandidate(ba, ba.Default())
		if err != nil {
			return nil, err
		}
		defs = append(defs, c)
		labels = append(labels, b.label)
	}
	if err := e.evaluateAll(ctx, defs, e.t.capRuns, true); err != nil {
		return nil, err
	}
	e.hardestFirst(def)
	for i, c := range defs {
		res.Defaults = append(res.Defaults, e.evaluated(c, labels[i]))
	}

	var frontier []*candidate
	if len(e.a.Knobs) == 0 {
		if !def.dead {
			frontier = []*candidate{def}
		}
	} else {
		e.seen[def.sig] = def
		alive, err := e.admit(coarseGrid(e.a))
		if err != nil {
			return nil, err
		}
		if e.opt.MaxFrames == 0 || def.frames <= e.opt.MaxFrames {
			alive = append(alive, def)
		}
		res.Search.Candidates = len(alive)
		if frontier, err = e.search(ctx, alive); err != nil {
			return nil, err
		}
		for range refineRounds {
			var near []Setting
			for _, c := range frontier {
				near = append(near, neighbours(e.a, c.setting)...)
			}
			fresh, err := e.admit(near)
			if err != nil {
				return nil, err
			}
			if len(fresh) == 0 {
				break
			}
			res.Search.Refined += len(fresh)
			res.Search.Rounds++
			alive = append(frontier, fresh...)
			if frontier, err = e.search(ctx, alive); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range frontier {
		ev := e.evaluated(c, "")
		res.Frontier = append(res.Frontier, ev)
	}
	if len(frontier) > 0 {
		rec := e.evaluated(frontier[0], "recommended")
		res.Recommendation = &rec
		res.Frontier[0].Recommended = true
		res.Config = e.a.Config(frontier[0].setting)
	}
	if len(frontier) == 0 {
		alt, err := e.alternatives(ctx, def)
		if err != nil {
			return nil, err
		}
		res.Alternatives = alt
	}
	res.Search.Runs = e.runs
	res.Search.Evaluated = len(e.seen)
	return res, nil
}

// hardestFirst orders the groups by the default's failure rate, highest
// first (fleet order among equals): a candidate that fails, fails there.
func (e *engine) hardestFirst(def *candidate) {
	rate := func(i int) float64 {
		g := def.groups[i]
		return float64(g.failures) / float64(len(g.conv))
	}
	slices.SortStableFunc(e.order, func(a, b int) int { return cmp.Compare(rate(b), rate(a)) })
}
