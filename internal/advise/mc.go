package advise

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"arplab/internal/scenario"
	"arplab/internal/sim"
	"arplab/internal/vtime"
)

// batch is how many Monte Carlo runs are taken between two looks at the
// interval. Decisions are taken only on whole batches, in run order, so
// they do not depend on how many workers ran the batch.
const batch = 20

// decision of a group's Monte Carlo.
const (
	undecided = 0
	passed    = 1
	failed    = -1
)

// failure is what the model said about the first failing run of a group.
type failure struct {
	Run           int     `json:"run"`
	Seed          uint64  `json:"seed"`
	StaleSeconds  float64 `json:"stale_s"`
	Healed        bool    `json:"healed"`
	GARPIgnored   int     `json:"garp_ignored"`
	GARPHonoured  int     `json:"garp_honoured"`
	FalseConfirms int     `json:"false_confirms"`
	Probes        int     `json:"probes"`
	FirstIgnored  string  `json:"first_ignored,omitempty"`
}

// groupMC is the Monte Carlo state of one (candidate, group): resumable,
// so screening and the full evaluation share their first runs.
type groupMC struct {
	scn      *scenario.Scenario
	key      string // seeds derive from it
	conv     []float64
	failures int
	first    *failure
	decision int
	capped   bool // stopped at the run cap without a decided interval
}

// runSeed derives run i's seed from the master seed and the names of the
// candidate and the group (never from an index or a worker), so adding a
// candidate or a group changes no other run.
func runSeed(master uint64, key string, i int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	x := master ^ h.Sum64() ^ (uint64(i)+1)*0x9e3779b97f4a7c15
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	if x == 0 {
		x = 1
	}
	return x
}

// outcome of one run.
type outcome struct {
	conv float64 // seconds to converge; +Inf when the entry kept the old MAC
	fail *failure
	err  error
}

// uptimeSpread is how far apart the clients' boot times are drawn. Kernels
// with the 4.8 timer wheel (spec §12.2) fire a timer at a granularity
// boundary that depends on the absolute jiffies value, so when DELAY's 5 s
// ends — before or after keepalived's second burst — depends on the
// host's uptime: with one fixed uptime a 4.9 group failed 0% or 27% of
// the time depending on which. An hour covers every boundary of the
// timers that matter (the coarsest, reachable_time's, is 2 s at HZ=250).
const uptimeSpread = 3600 * vtime.Second

// withUptime returns s with its hosts booted at a time drawn from seed (a
// shallow copy: the simulator only reads the scenario).
func withUptime(s *scenario.Scenario, seed uint64) *scenario.Scenario {
	r := rand.New(rand.NewPCG(seed, 0x7570_74696d65)) // "uptime"
	up := vtime.Duration(r.Int64N(int64(uptimeSpread)))
	c := *s
	c.Hosts = slices.Clone(s.Hosts)
	for i := range c.Hosts {
		c.Hosts[i].Uptime.D += up
	}
	return &c
}

// runOnce simulates one varied run and measures convergence: the longest
// time the client's entry kept the old MAC after the move.
func runOnce(s *scenario.Scenario, seed uint64, horizon float64) outcome {
	spans, err := sim.StaleSpansUntilHealed(withUptime(s, seed), sim.Options{Seed: seed, Vary: true}, 100*vtime.Millisecond)
	if err != nil {
		return outcome{err: err}
	}
	if len(spans) == 0 && ipv6Scenario(s) {
		// The entry never took the new MAC and was not valid at the
		// horizon: an NA without O left it on the old MAC until NUD
		// probed that MAC in vain and it FAILED (ndisc §4.3, §10.3).
		// The client cannot reach the VIP: not converged.
		return outcome{conv: math.Inf(1), fail: &failure{Seed: seed, StaleSeconds: horizon}}
	}
	var worst *sim.StaleSpan
	conv := 0.0
	for i := range spans {
		sp := &spans[i]
		c := sp.Seconds()
		if !sp.Healed {
			c = math.Inf(1)
		}
		if worst == nil || c > conv {
			worst, conv = sp, c
		}
	}
	if conv <= horizon {
		return outcome{conv: conv}
	}
	return outcome{conv: math.Inf(1), fail: &failure{Seed: seed, StaleSeconds: worst.Seconds(), Healed: worst.Healed,
		GARPIgnored: worst.GARPIgnored, GARPHonoured: worst.GARPHonoured, FalseConfirms: worst.FalseConfirms,
		Probes: worst.Probes, FirstIgnored: worst.FirstIgnored}}
}

// ipv6Scenario reports whether a group scenario is an IPv6 failover: its
// one client's one address (groupScenario) is IPv6.
func ipv6Scenario(s *scenario.Scenario) bool {
	return len(s.Hosts) > 0 && len(s.Hosts[0].Interfaces) > 0 && len(s.Hosts[0].Interfaces[0].Addrs) > 0 &&
		s.Hosts[0].Interfaces[0].Addrs[0].Addr().Is6()
}

// pool runs jobs on a fixed number of workers.
type pool struct{ jobs chan func() }

func newPool(workers int) (*pool, func()) {
	p := &pool{jobs: make(chan func())}
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range p.jobs {
				j()
			}
		}()
	}
	return p, func() { close(p.jobs); wg.Wait() }
}

// runBatch runs n runs of g from run index len(g.conv) on the pool.
func (p *pool) runBatch(ctx context.Context, g *groupMC, master uint64, n int, horizon float64) error {
	start := len(g.conv)
	outs := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		p.jobs <- func() {
			defer wg.Done()
			if ctx.Err() != nil {
				outs[i].err = ctx.Err()
				return
			}
			outs[i] = runOnce(g.scn, runSeed(master, g.key, start+i), horizon)
		}
	}
	wg.Wait()
	for i, o := range outs {
		if o.err != nil {
			return o.err
		}
		g.conv = append(g.conv, o.conv)
		if o.fail != nil {
			g.failures++
			if g.first == nil {
				f := *o.fail
				f.Run = start + i
				g.first = &f
			}
		}
	}
	return nil
}

// target is what a group must show: failure probability ≤ maxFailure with
// 95% confidence, decided within capRuns runs.
type target struct {
	maxFailure float64
	horizon    float64
	capRuns    int
	seed       uint64
}

// capFor is the run cap: four times the runs needed to show a zero-failure
// group under the target, so a group close to the target still gets a
// decided interval when it can have one.
func capFor(maxFailure float64) int {
	const z2 = 1.959963984540054 * 1.959963984540054
	need := int(math.Ceil(z2 * (1 - maxFailure) / maxFailure))
	return max(200, min(4*need, 200000))
}

// advance runs g in batches until its interval is decided against the
// target or it has limit runs.
func (p *pool) advance(ctx context.Context, g *groupMC, t target, limit int) error {
	for g.decision == undecided && len(g.conv) < limit {
		n := min(batch, limit-len(g.conv))
		if err := p.runBatch(ctx, g, t.seed, n, t.horizon); err != nil {
			return err
		}
		lo, hi := sim.Wilson(g.failures, len(g.conv))
		switch {
		case hi <= t.maxFailure:
			g.decision = passed
		case lo > t.maxFailure:
			g.decision = failed
		case len(g.conv) >= t.capRuns:
			// the interval straddles the target: not shown to meet it
			g.decision, g.capped = failed, true
		}
	}
	return nil
}

// p99 is the nearest-rank 99th percentile of the convergence times
// (+Inf when more than 1% of the runs failed).
func (g *groupMC) p99() float64 {
	if len(g.conv) == 0 {
		return math.Inf(1)
	}
	s := slices.Clone(g.conv)
	slices.Sort(s)
	k := int(math.Ceil(0.99*float64(len(s)))) - 1
	return s[max(k, 0)]
}
