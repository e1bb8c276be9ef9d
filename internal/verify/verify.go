// Package verify checks the model against the running kernel: it runs a
// scenario in the lab (internal/lab), feeds the model of every observed host
// exactly the inputs that host's kernel received — ARP, IPv4, IPv6 and ND
// frames at their kernel timestamps, `ip neigh` commands, sysctl writes,
// runs of the periodic work — on the kernel's own jiffies, and compares the
// two at every ARP and ND frame (the verdict and the entry afterwards) and
// at every table read (state, lladdr, probes sent; nd.go for IPv6). The model uses the profile matching
// the running kernel and the parameters the kernel had in force, including
// its randomised reachable_time.
//
// Timing is part of the result: every comparison whose outcome depends on
// a time boundary (locktime, a timer's limit, a timer firing near a table
// read, an input near a jiffy edge) reports how far it was from flipping,
// and Result.WriteText prints the closest of each kind.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/kernel"
	"arplab/internal/lab"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// Options configures Verify.
type Options struct {
	// Profile overrides the model's kernel profile; "" means the profile
	// closest to the running kernel (kernel.Closest).
	Profile string
	// Patches edits the profile ("+name", "-name"), e.g. to check that a
	// wrong model is caught.
	Patches []string
	// Seed seeds the model's random stream (reachable_time is overwritten
	// with the kernel's anyway).
	Seed uint64
	// Lab configures the lab run.
	Lab lab.RunOptions
}

// Result is one scenario's comparison.
type Result struct {
	Scenario string
	File     string
	Release  string // the running kernel
	Profile  string // the model's profile, with edits
	HZ       int
	HZMethod string

	// Agree is true when the kernel and the model agreed at every frame
	// and every checkpoint.
	Agree bool
	// Diffs lists the disagreements; a disagreement about an entry that
	// lasts over several checkpoints is listed when it appears and when
	// it changes. Disagreements counts every one.
	Diffs         []Diff
	Disagreements int
	// Checks are the scenario's own expectations, checked on the kernel.
	Checks []CheckResult
	// Margins holds, per kind, the comparison closest to a boundary.
	Margins []Margin
	// NearEdge counts inputs placed with the fitted clock that were
	// within its uncertainty of a jiffy edge.
	NearEdge int
	// Ties counts table reads where the kernel and the model stood on
	// either side of the same timer-driven change, within two jiffies of
	// the read: timing, not logic (see MarginTie).
	Ties int
	// TimerFires compares when the kernel's timers changed entries with
	// the model's timer wheel.
	TimerFires TimerFires
	Stats      Stats
	Clock      kclock.Clock
	// Events is the kernel's trace (Source "kernel") and the model's
	// (Source "model"), in time order; events that disagree carry
	// Attrs["disagree"] = "1".
	Events []trace.Event
	Notes  []string
	Run    *lab.LabRun `json:"-"`
}

// Stats counts what was compared.
type Stats struct {
	Frames, Verdicts, VerdictsAgree int
	Checkpoints, Entries            int
	EntriesAgree                    int
	Outputs, Confirms, Admin        int
	Sysctls                         int
	ExactJ, FittedJ                 int
}

// TimerFires summarises kernel timer runs against the model's prediction.
type TimerFires struct {
	Matched int    // kernel timer transitions paired with the model's
	Off     int    // of those, how many ran at another jiffy
	Max     int64  // the largest difference, kernel minus model, in ticks
	Where   string // which entry and transition
}

// Diff is one disagreement between the kernel and the model.
type Diff struct {
	Time       float64 // seconds since the scenario's t = 0
	Host, Dev  string
	IP         netip.Addr
	What       string // "frame", "entry", "probes", "ip neigh …"
	Frame      int    // 1-based frame number for "frame"
	FrameDesc  string
	Checkpoint string // the table read, for "entry" and "probes"
	Kernel     string // what the kernel did or showed
	Model      string // what the model says
	// Explanation is the model's reasoning (the decision's Explain).
	Explanation string
}

// CheckResult is a scenario check evaluated on the kernel.
type CheckResult struct {
	Index int
	Line  int
	Desc  string
	OK    bool
	Got   string
	// Late is how long after its moment the check's table read ran.
	Late time.Duration
}

// Margin kinds.
const (
	MarginLocktime   = "locktime"   // a frame vs the end of locktime
	MarginTimer      = "timer"      // a timer decision vs its limit (confirmed/used + delay)
	MarginCheckpoint = "checkpoint" // a table read vs the nearest timer-driven change
	MarginJiffy      = "jiffy"      // an input placed by the fitted clock vs a jiffy edge
	MarginTie        = "tie"        // a table read that caught a timer-driven change on one side only
)

// Margin is how far one comparison was from a boundary.
type Margin struct {
	Kind      string
	D         time.Duration
	Ticks     int
	Time      float64
	Host, Dev string
	IP        netip.Addr
	Detail    string
}

// Passed reports whether the kernel and the model agreed and every check
// of the scenario held on the kernel.
func (r *Result) Passed() bool {
	if !r.Agree {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Verify runs s in the lab and compares the kernel with the model.
func Verify(ctx context.Context, s *scenario.Scenario, opt Options) (*Result, error) {
	run, err := lab.RunScenario(ctx, s, opt.Lab, nil)
	if err != nil {
		return nil, err
	}
	return Compare(run, s, opt)
}

// verifier holds one comparison.
type verifier struct {
	run    *lab.LabRun
	s      *scenario.Scenario
	opt    Options
	res    *Result
	notes  map[string]bool
	best   map[string]Margin
	models map[string]*hostModel
}

func (v *verifier) notef(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !v.notes[n] {
		v.notes[n] = true
		v.res.Notes = append(v.res.Notes, n)
	}
}

// diff records a disagreement; a non-empty key suppresses repeats of the
// same (kernel, model) pair for it.
func (v *verifier) diff(d Diff, key string) {
	v.res.Disagreements++
	v.res.Agree = false
	if key != "" {
		pair := d.Kernel + "\x00" + d.Model
		if m := v.models[d.Host]; m != nil {
			if m.reported[key] == pair {
				return
			}
			m.reported[key] = pair
		}
	}
	v.res.Diffs = append(v.res.Diffs, d)
}

func (v *verifier) margin(m Margin) {
	if b, ok := v.best[m.Kind]; !ok || m.D < b.D {
		v.best[m.Kind] = m
	}
}

// confirmUDP reports whether the UDP socket of a flow on host sends with
// MSG_CONFIRM.
func (v *verifier) confirmUDP(host string, lport uint16) bool {
	for _, f := range v.run.Flows {
		if f.From == host && f.Kind == "udp" && f.Confirm && f.LocalPort == int(lport) {
			return true
		}
	}
	return false
}

// Compare feeds a recorded run to the model and compares; it needs no
// privileges, so a run can be re-checked against another model.
func Compare(run *lab.LabRun, s *scenario.Scenario, opt Options) (*Result, error) {
	if run == nil || s == nil {
		return nil, errors.New("verify: Compare needs a run and its scenario")
	}
	prof := kernel.Closest(run.Release)
	if opt.Profile != "" {
		p, err := kernel.Lookup(opt.Profile)
		if err != nil {
			return nil, err
		}
		prof = p
	}
	if len(opt.Patches) > 0 {
		p, err := prof.WithPatches(opt.Patches)
		if err != nil {
			return nil, err
		}
		prof = p
	}
	if opt.Seed == 0 {
		opt.Seed = s.Seed
	}
	res := &Result{Scenario: run.Scenario, File: run.File, Release: run.Release, Profile: prof.Name, HZ: run.HZ,
		HZMethod: run.HZMethod, Agree: true, Clock: run.Clock, Run: run}
	v := &verifier{run: run, s: s, opt: opt, res: res, notes: map[string]bool{}, best: map[string]Margin{}, models: map[string]*hostModel{}}
	for _, n := range run.Notes {
		v.notef("lab: %s", n)
	}
	if !run.TraceOK {
		v.notef("frame verdicts not compared: %s", run.TraceNote)
	}
	if run.Clock.Misfits > 0 {
		v.notef("the fitted clock disagrees with %d kernel stamps by a jiffy (spread %v); those inputs use the kernel's stamp", run.Clock.Misfits, time.Duration(run.Clock.Spread))
	}
	verdicts := map[int]*lab.FrameVerdict{}
	vs := run.Verdicts()
	for i := range vs {
		verdicts[vs[i].Frame] = &vs[i]
	}
	stamps := run.Stamps()
	for hi := range run.Hosts {
		rh := &run.Hosts[hi]
		if !rh.Observed {
			continue
		}
		ins := v.inputs(rh, verdicts, stamps)
		startNs := run.EpochNs
		if len(ins) > 0 && ins[0].Ns < startNs {
			startNs = ins[0].Ns
		}
		startJ := run.Clock.Jiffies(startNs) - 1
		if len(ins) > 0 && ins[0].J <= startJ {
			startJ = ins[0].J - 1
		}
		periodicAt := run.Clock.Jiffies(run.EndNs) + uint64(3600*run.HZ)
		for _, in := range ins {
			if in.Kind == lab.InPeriodic {
				periodicAt = in.J
				break
			}
		}
		m, err := v.newHostModel(rh, prof, startJ, periodicAt)
		if err != nil {
			return nil, err
		}
		v.models[rh.Name] = m
		m.kernelTransitions(stamps)
		m.feed(ins)
		m.judge()
		m.checkpointMargins()
		m.timerFires(stamps)
	}
	v.checks()
	kev := run.Events()
	res.Events = append(kev, res.Events...)
	v.markDisagreements()
	sort.SliceStable(res.Events, func(i, j int) bool { return res.Events[i].Time < res.Events[j].Time })
	sort.SliceStable(res.Diffs, func(i, j int) bool { return res.Diffs[i].Time < res.Diffs[j].Time })
	for _, k := range []string{MarginLocktime, MarginTimer, MarginCheckpoint, MarginJiffy, MarginTie} {
		if m, ok := v.best[k]; ok {
			res.Margins = append(res.Margins, m)
		}
	}
	return res, nil
}

// inputs takes one host's recorded inputs in time order from the lab and
// records how close the ones placed by the fitted clock came to a jiffy
// edge.
func (v *verifier) inputs(rh *lab.RunHost, verdicts map[int]*lab.FrameVerdict, stamps []lab.Stamp) []input {
	run := v.run
	recorded := run.Inputs(rh.Name, verdicts, stamps)
	ins := make([]input, len(recorded))
	for i, in := range recorded {
		ins[i] = input{Input: in, seq: i}
	}
	// Jiffy-edge margins of inputs placed by the fitted clock.
	c := run.Clock
	unc := c.Uncertainty() + 20*time.Microsecond
	for _, in := range ins {
		switch in.Kind {
		case lab.InSnapshot, lab.InPeriodic, lab.InSysctl, lab.InARPTx, lab.InNDTx:
			continue // not fed to the model at a jiffy of their own
		}
		if in.Exact {
			v.res.Stats.ExactJ++
			continue
		}
		v.res.Stats.FittedJ++
		e := c.Edge(in.Ns)
		if e < unc {
			v.res.NearEdge++
		}
		v.margin(Margin{Kind: MarginJiffy, D: e, Time: run.Seconds(in.Ns), Host: rh.Name, Detail: inputDesc(run, &in)})
	}
	return ins
}

func inputDesc(run *lab.LabRun, in *input) string {
	switch in.Kind {
	case lab.InARP:
		p, _, _ := lab.FrameARP(run.Frames[in.Frame].Data)
		return fmt.Sprintf("received ARP frame #%d (%v from %v)", in.Frame+1, p.Op, p.SIP)
	case lab.InIPRx:
		return fmt.Sprintf("received IPv4 frame #%d", in.Frame+1)
	case lab.InIPTx:
		return fmt.Sprintf("sent IPv4 frame #%d", in.Frame+1)
	case lab.InARPTx:
		return fmt.Sprintf("sent ARP frame #%d", in.Frame+1)
	case lab.InND:
		msg, _, _ := lab.FrameND(run.Frames[in.Frame].Data)
		return fmt.Sprintf("received ND frame #%d (%v)", in.Frame+1, &msg)
	case lab.InNDTx:
		return fmt.Sprintf("sent ND frame #%d", in.Frame+1)
	case lab.InQueued:
		return fmt.Sprintf("queued packet to %v", in.Event.IP)
	case lab.InAdmin:
		return "ip neigh " + in.Admin.Cmd
	}
	return "input"
}

// kernelTransitions collects the kernel's timer-driven changes: state
// changes in neigh_timer_handler, removals, and probes the timer sent.
func (m *hostModel) kernelTransitions(stamps []lab.Stamp) {
	run := m.v.run
	last := map[entryKey]string{}
	for i := range run.Trace {
		e := &run.Trace[i]
		_, d := run.DevByIfName(e.Dev)
		if d == nil || m.rh.Dev(d.Name) == nil {
			continue
		}
		k := entryKey{d.Name, e.IP}
		now := stateString(true, e.State.String(), e.State.Valid(), e.LLAddr)
		switch e.Event {
		case "neigh_update":
			if _, ok := last[k]; !ok {
				last[k] = now
			}
		case "neigh_update_done", "neigh_event_send_done", "neigh_event_send_dead":
			last[k] = now
		case "neigh_timer_handler":
			if prev, ok := last[k]; ok && prev != now {
				m.kTrans[k] = append(m.kTrans[k], transition{ns: e.TimestampNs, what: "kernel timer → " + e.State.String(), before: prev, after: now})
			}
			last[k] = now
		case "neigh_cleanup_and_release":
			if prev, ok := last[k]; ok {
				m.kTrans[k] = append(m.kTrans[k], transition{ns: e.TimestampNs, what: "kernel removed it", before: prev, after: "no entry"})
			}
			delete(last, k)
		}
	}
	// Probes the kernel's timer sent (the handler probes before its
	// tracepoint fires): probe counts are compared too.
	for i := range run.Frames {
		f := &run.Frames[i]
		if f.Host != m.name || f.Type != ether.PktOutgoing {
			continue
		}
		var target netip.Addr
		if p, _, ok := lab.FrameARP(f.Data); ok && p.Op == arp.OpRequest {
			target = p.TIP
		} else if t, ok := kernelNDProbe(f); ok {
			target = t
		} else {
			continue
		}
		d := m.rh.Dev(f.Dev)
		for _, e := range run.Trace {
			if e.Event == "neigh_timer_handler" && e.Dev == d.IfName && e.IP == target &&
				e.TimestampNs >= f.AtNs && e.TimestampNs <= f.AtNs+int64(2*time.Millisecond) {
				k := entryKey{f.Dev, target}
				m.kTrans[k] = append(m.kTrans[k], transition{ns: f.AtNs, what: "kernel probe", probe: true})
				break
			}
		}
	}
}

// checks evaluates the scenario's checks on the kernel's tables.
func (v *verifier) checks() {
	for _, c := range lab.EvalChecks(v.run, v.s.Checks) {
		v.res.Checks = append(v.res.Checks, CheckResult{Index: c.Index, Line: c.Line, Desc: c.Desc, Got: c.Got, OK: c.OK, Late: c.Late})
	}
}

// markDisagreements flags the events behind each disagreement and adds a
// pair of check events (kernel, model) for table disagreements.
func (v *verifier) markDisagreements() {
	frames := map[int]bool{}
	for _, d := range v.res.Diffs {
		if d.What == "frame" {
			frames[d.Frame] = true
			continue
		}
		for _, side := range []struct{ src, val string }{{"kernel", d.Kernel}, {"model", d.Model}} {
			v.res.Events = append(v.res.Events, trace.Event{Time: d.Time, Kind: trace.KindCheck, Source: side.src, Host: d.Host,
				Dev: d.Dev, IP: d.IP.String(), Cause: d.What, OK: trace.Bool(false),
				Explanation: fmt.Sprintf("%s says %s (%s)", side.src, side.val, d.Checkpoint),
				Attrs:       map[string]string{"disagree": "1"}})
		}
	}
	for i := range v.res.Events {
		ev := &v.res.Events[i]
		if ev.Kind == trace.KindARP && frames[ev.Frame] {
			if ev.Attrs == nil {
				ev.Attrs = map[string]string{}
			}
			ev.Attrs["disagree"] = "1"
		}
	}
}

// WriteText prints the result: a headline, the disagreements as a diff
// (time, host, entry, kernel says / model says, the model's reasoning),
// the scenario's checks, the margins and the notes.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	status := "AGREE"
	if !r.Agree {
		status = fmt.Sprintf("DISAGREE (%d)", r.Disagreements)
	}
	fmt.Fprintf(&b, "verify %s: %s\n", r.Scenario, status)
	fmt.Fprintf(&b, "  kernel %s (HZ=%d, %s) vs model profile %s\n", r.Release, r.HZ, r.HZMethod, r.Profile)
	s := r.Stats
	fmt.Fprintf(&b, "  compared: %d/%d frame verdicts, %d/%d entries at %d table reads; fed %d outputs, %d confirmations, %d ip neigh, %d sysctl writes\n",
		s.VerdictsAgree, s.Verdicts, s.EntriesAgree, s.Entries, s.Checkpoints, s.Outputs, s.Confirms, s.Admin, s.Sysctls)
	if r.Run != nil {
		c := r.Clock
		fmt.Fprintf(&b, "  clock: %d jiffies samples, grid known to ±%v; %d inputs on the kernel's own stamp, %d placed by the clock\n",
			c.Samples, c.Uncertainty().Round(time.Microsecond), s.ExactJ, s.FittedJ)
	}
	for _, d := range r.Diffs {
		where := d.IP.String()
		if d.Dev != "" {
			where = d.Dev + " " + where
		}
		fmt.Fprintf(&b, "\n  %9.4fs  %s %s  %s", d.Time, d.Host, where, d.What)
		if d.Frame > 0 {
			fmt.Fprintf(&b, " #%d: %s", d.Frame, d.FrameDesc)
		}
		if d.Checkpoint != "" {
			fmt.Fprintf(&b, " at %s", d.Checkpoint)
		}
		fmt.Fprintf(&b, "\n    - kernel says: %s\n    + model says:  %s\n", d.Kernel, d.Model)
		if d.Explanation != "" {
			fmt.Fprintf(&b, "      model: %s\n", d.Explanation)
		}
	}
	if len(r.Diffs) > 0 {
		b.WriteString("\n")
	}
	if len(r.Checks) > 0 {
		ok := 0
		for _, c := range r.Checks {
			if c.OK {
				ok++
			}
		}
		fmt.Fprintf(&b, "  checks: %d/%d hold on the kernel\n", ok, len(r.Checks))
		for _, c := range r.Checks {
			if !c.OK {
				fmt.Fprintf(&b, "    FAIL line %d: want %s, kernel has %s%s\n", c.Line, c.Desc, c.Got, lab.LateNote(c.Late))
			}
		}
	}
	if len(r.Margins) > 0 {
		b.WriteString("  closest to a boundary:\n")
		for _, m := range r.Margins {
			where := strings.Join(strings.Fields(m.Host+" "+m.Dev+" "+ipOrEmpty(m.IP)), " ")
			fmt.Fprintf(&b, "    %-10s %9v  at %.4fs %s: %s\n", m.Kind, m.D.Round(time.Microsecond), m.Time, where, m.Detail)
		}
		if tf := r.TimerFires; tf.Matched > 0 {
			fmt.Fprintf(&b, "    timer runs: %d kernel timer transitions matched the model's, %d at another jiffy", tf.Matched, tf.Off)
			if tf.Max != 0 {
				fmt.Fprintf(&b, " (largest: kernel %+d ticks, %s)", tf.Max, tf.Where)
			}
			b.WriteString("\n")
		}
		if r.NearEdge > 0 {
			fmt.Fprintf(&b, "    %d inputs were within the clock's uncertainty of a jiffy edge\n", r.NearEdge)
		}
		if r.Ties > 0 {
			fmt.Fprintf(&b, "    %d table reads caught a timer-driven change on one side only (within 2 jiffies): counted as agreeing\n", r.Ties)
		}
	}
	if r.Run != nil && len(r.Run.Periodic) > 0 {
		var ps []string
		for _, p := range r.Run.Periodic {
			ps = append(ps, fmt.Sprintf("%.2fs (%d entries machine-wide)", r.Run.Seconds(p.AfterNs+(p.BeforeNs-p.AfterNs)/2), p.Table.Entries))
		}
		fmt.Fprintf(&b, "  periodic work ran at %s\n", strings.Join(ps, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ipOrEmpty(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
