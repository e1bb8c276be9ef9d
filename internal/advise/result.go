package advise

import (
	"fmt"
	"math"
	"strings"

	"arplab/internal/sim"
)

// Result is the answer of Advise; its JSON form is `arplab advise --json`.
type Result struct {
	Fleet          *Fleet        `json:"fleet"`
	Announcer      *Announcer    `json:"announcer"`
	Target         Target        `json:"target"`
	Recommendation *Evaluated    `json:"recommendation"`
	Frontier       []Evaluated   `json:"frontier"`
	Defaults       []Evaluated   `json:"defaults"`
	Alternatives   *Alternatives `json:"alternatives,omitempty"`
	Config         []Snippet     `json:"config"`
	Search         Search        `json:"search"`
}

// Target is what every group must meet.
type Target struct {
	MaxFailure      float64 `json:"max_failure"`
	MaxStaleSeconds float64 `json:"max_stale_s"`
	MaxFrames       int     `json:"max_frames,omitempty"`
	Confidence      float64 `json:"confidence"`
	Seed            uint64  `json:"seed"`
}

// Search counts the work done.
type Search struct {
	Candidates int `json:"candidates"`
	Refined    int `json:"refined"`
	Rounds     int `json:"refine_rounds"`
	Evaluated  int `json:"distinct_schedules"`
	Runs       int `json:"runs"`
}

// Evaluated is one setting with its results on every group.
type Evaluated struct {
	Label       string         `json:"label,omitempty"`
	Announcer   string         `json:"announcer"`
	Settings    map[string]any `json:"settings"`
	Description string         `json:"description"`
	Frames      int            `json:"frames"`
	MeetsTarget bool           `json:"meets_target"`
	Recommended bool           `json:"recommended,omitempty"`
	// WorstP99 is the largest group p99 convergence in seconds (nil:
	// some group does not converge within the horizon 99% of the time).
	WorstP99 *float64 `json:"worst_p99_convergence_s"`
	// FleetPFailure weighs the groups' failure rates by their shares.
	FleetPFailure float64       `json:"fleet_p_failure"`
	Groups        []GroupResult `json:"groups"`
}

// GroupResult is one group's Monte Carlo outcome.
type GroupResult struct {
	Group    string  `json:"group"`
	Profile  string  `json:"profile"`
	Traffic  string  `json:"traffic"`
	Runs     int     `json:"runs"`
	Failures int     `json:"failures"`
	PFailure float64 `json:"p_failure"`
	CILow    float64 `json:"ci95_low"`
	CIHigh   float64 `json:"ci95_high"`
	// P99 is the 99th percentile convergence in seconds (nil: more than
	// 1% of the runs kept the old MAC past the horizon).
	P99 *float64 `json:"p99_convergence_s"`
	// Verdict: "meets", "fails", "undecided" (stopped at the run cap with
	// the interval across the target) or "not run" (the search stopped at
	// an earlier group).
	Verdict string `json:"verdict"`
	// Why is the rule that kept the old MAC in the first failing run, in
	// the model's words.
	Why          string   `json:"why,omitempty"`
	FirstFailure *failure `json:"first_failure,omitempty"`
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func seconds(v float64) *float64 {
	if math.IsInf(v, 0) {
		return nil
	}
	r := round(v, 3)
	return &r
}

// evaluated reports candidate c.
func (e *engine) evaluated(c *candidate, label string) Evaluated {
	ev := Evaluated{Label: label, Announcer: c.a.Name, Settings: c.a.Map(c.setting), Description: c.a.Describe(c.setting) + extraKey(c.extra),
		Frames: c.frames, MeetsTarget: !c.dead && c.full, WorstP99: seconds(c.worstP99())}
	for gi, g := range c.groups {
		fg := e.fleet.Groups[gi]
		gr := GroupResult{Group: fg.Name, Profile: fg.Profile, Traffic: fg.Traffic, Verdict: "not run"}
		if g != nil && len(g.conv) > 0 {
			n := len(g.conv)
			lo, hi := sim.Wilson(g.failures, n)
			gr.Runs, gr.Failures = n, g.failures
			gr.PFailure, gr.CILow, gr.CIHigh = round(float64(g.failures)/float64(n), 6), round(lo, 6), round(hi, 6)
			gr.P99 = seconds(g.p99())
			switch {
			case g.capped:
				gr.Verdict = "undecided"
			case g.decision == passed:
				gr.Verdict = "meets"
			case g.decision == failed:
				gr.Verdict = "fails"
			default:
				gr.Verdict = "screened"
			}
			ev.FleetPFailure += fg.Share * float64(g.failures) / float64(n)
			if g.first != nil {
				f := *g.first
				gr.FirstFailure = &f
				if g.decision != passed {
					gr.Why = why(f, e.opt.MaxStale.Seconds(), e.opt.IPv6)
				}
			}
		} else {
			ev.MeetsTarget = false
		}
		ev.Groups = append(ev.Groups, gr)
	}
	ev.FleetPFailure = round(ev.FleetPFailure, 6)
	return ev
}

// why says, from the model's own explanation of the first ignored GARP,
// which rule kept the old MAC (spec §4.4, §5 step 8, §6.1); for an IPv6
// VIP, of the first ignored unsolicited NA (ndisc §4.2, §4.3; no
// locktime).
func why(f failure, horizon float64, v6 bool) string {
	one, many, spec, ruleOf := "GARP", "GARPs", "§6.1", rule
	if v6 {
		one, many, spec, ruleOf = "NA", "NAs", "ndisc §6.1", rule6
	}
	var b strings.Builder
	if f.Healed {
		fmt.Fprintf(&b, "kept the old MAC for %.1f s (> %g s)", f.StaleSeconds, horizon)
	} else {
		fmt.Fprintf(&b, "kept the old MAC past the %g s horizon", horizon)
	}
	switch {
	case f.GARPIgnored == 1 && f.GARPHonoured == 0:
		fmt.Fprintf(&b, ": its one %s was ignored — %s", one, ruleOf(f.FirstIgnored))
	case f.GARPIgnored > 0 && f.GARPHonoured == 0:
		fmt.Fprintf(&b, ": all %d %s were ignored — %s", f.GARPIgnored, many, ruleOf(f.FirstIgnored))
	case f.GARPIgnored > 0:
		fmt.Fprintf(&b, ": %d %s ignored and %d honoured too late — %s", f.GARPIgnored, many, f.GARPHonoured, ruleOf(f.FirstIgnored))
	case f.GARPHonoured == 0:
		fmt.Fprintf(&b, ": no %s reached the entry's update (dropped before the table, or none sent in time)", one)
	}
	if f.FalseConfirms > 0 {
		fmt.Fprintf(&b, "; %d confirmations from other sessions through the shared route kept it out of PROBE (%s)", f.FalseConfirms, spec)
	}
	if f.FirstIgnored != "" {
		fmt.Fprintf(&b, ". First ignored %s: %s", one, f.FirstIgnored)
	}
	return b.String()
}

// rule6 names the ND rule behind an ignored NA, from the model's words.
func rule6(expl string) string {
	switch {
	case strings.Contains(expl, "FAILED"):
		return "a FAILED entry ignores every NA, whatever its flags (ndisc §4.2 step 7)"
	case strings.Contains(expl, "without O"), strings.Contains(expl, "WEAK_OVERRIDE"):
		return "an NA without the O flag never replaces a valid entry's MAC (ndisc §4.3)"
	}
	return "see the model's explanation below"
}

func rule(expl string) string {
	moving := strings.Contains(expl, "bumps it even on ignored")
	var r string
	switch {
	case strings.Contains(expl, "drop_gratuitous_arp"):
		return "drop_gratuitous_arp drops every ARP with sip == tip (§4.2)"
	case strings.Contains(expl, "replies never are"):
		r = "GARP replies are not gratuitous on this kernel, so they obey locktime (§4.4)"
	case strings.Contains(expl, "none before 3.14"):
		r = "this kernel has no GARP override, so every announcement inside locktime is ignored (§4.4)"
	case strings.Contains(expl, "only with arp_accept"):
		r = "GARP requests override locktime only with arp_accept on this kernel (§4.4(b))"
	case strings.Contains(expl, "tha ≠ sha"):
		r = "a reply with a broadcast THA is not a GARP on Linux, so it obeys locktime (§4.4(c))"
	default:
		r = "it arrived inside locktime of the entry's last change (§4.4)"
	}
	if moving {
		r += ", and every ignored update moves the window (§5 step 8), so GARPs less than locktime apart all land in it"
	}
	return r
}
