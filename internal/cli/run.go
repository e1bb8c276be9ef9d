package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"arplab/internal/capture"
	"arplab/internal/report"
	"arplab/internal/scenario"
	"arplab/internal/sim"
	"arplab/internal/trace"
	"arplab/internal/vtime"
)

type runArgs struct {
	profile  string
	patches  []string
	sets     []string
	seed     uint64
	json     bool
	html     string
	runs     int
	pcap     string
	pcapHost string
	noFixes  bool
	from, to float64
	fromSet  bool
	toSet    bool
	width    int
	budget   int
}

const runLong = `Run a failover scenario in the simulator and say what happened and why.

SCENARIO is a built-in name (see "arplab scenarios") or a YAML file
(docs/scenarios.md). With no SCENARIO, the built-in "failure" runs: the
seed story, on its default kernel (RHEL 7.3).

The text output gives the verdict, a timeline of the entries that
mattered (every state change, every GARP with honoured/ignored and the
rule with its numbers, every confirmation and where it came from) and the
fixes that would have worked. --json writes the trace as JSON lines
(docs/trace.md) and the summary as the last line.

Two answers, on two lines: the verdict (PASS: every flow survived; FAIL
names the flow) and the expectation (the scenario's checks held, and
every flow no check expects to fail succeeded). The expectation sets the
exit status: 0 met, 3 not met, whatever the verdict (a scenario that
demonstrates a failure expects it with a check). --runs N is a study: it
prints the failure probability and exits 0. Errors exit 1, usage errors
2, Ctrl-C 130 (docs/scenarios.md, "Verdict, expectation and exit code").

Examples:
  arplab run
  arplab run failure --profile 4.12
  arplab run failure --patch +timestamps-on-change
  arplab run failure --set arp_accept=1 --patch +garp-request-override --set preset=arping-U
  arplab run failure --runs 1000            # Monte Carlo failure rate
  arplab run vip-failover --html vip.html
  arplab run failure --pcap tempest.pcap --pcap-host tempest`

func runCmd(e *env) *cobra.Command {
	a := &runArgs{}
	c := &cobra.Command{
		Use:   "run [SCENARIO|FILE]",
		Short: "simulate a scenario (default: the seed's Failure) and explain it",
		Long:  runLong,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.fromSet, a.toSet = cmd.Flags().Changed("from"), cmd.Flags().Changed("to")
			if err := a.check(cmd); err != nil {
				return err
			}
			return runRun(e, a, args)
		},
	}
	addScenarioFlags(c, &a.profile, &a.patches, &a.sets, &a.seed)
	addBudgetFlag(c, &a.budget)
	f := c.Flags()
	f.BoolVar(&a.json, "json", false, "write the trace as JSON lines")
	f.StringVar(&a.html, "html", "", "also write an HTML timeline to this file")
	f.IntVar(&a.runs, "runs", 0, "Monte Carlo: run N times with varied timings and report the failure probability")
	f.StringVar(&a.pcap, "pcap", "", "write the traffic seen by --pcap-host as a pcap file")
	f.StringVar(&a.pcapHost, "pcap-host", "", "the host whose traffic --pcap records (default: the first observed host)")
	f.BoolVar(&a.noFixes, "no-fixes", false, "do not try the candidate fixes")
	f.Float64Var(&a.from, "from", 0, "timeline: start at this second")
	f.Float64Var(&a.to, "to", 0, "timeline: end at this second")
	f.IntVar(&a.width, "width", 100, "timeline width in columns")
	return c
}

func addScenarioFlags(c *cobra.Command, profile *string, patches, sets *[]string, seed *uint64) {
	f := c.Flags()
	f.StringVar(profile, "profile", "", "kernel profile of the observed hosts (see \"arplab profiles\")")
	f.StringArrayVar(patches, "patch", nil, "add (+name) or remove (-name) a kernel patch; repeatable")
	f.StringArrayVar(sets, "set", nil, "key=value: a sysctl (arp_accept=1, locktime=50), hz, cpus, preset, …; repeatable")
	f.Uint64Var(seed, "seed", 0, "master seed (default: the scenario's)")
}

// Limits of the run command's own flags.
const (
	minWidth = 40
	maxWidth = 1000
)

// check rejects run's flag values that are out of range, before any work.
func (a *runArgs) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("runs") {
		if err := checkRuns(a.runs); err != nil {
			return err
		}
	}
	if err := checkTimeline(a.width, a.from, a.to, a.fromSet, a.toSet); err != nil {
		return err
	}
	return checkBudget(a.budget)
}

// checkTimeline checks the flags of a drawn timeline (run, render):
// --width, and --from/--to where they were given.
func checkTimeline(width int, from, to float64, fromSet, toSet bool) error {
	if width < minWidth || width > maxWidth {
		return usagef("--width %d is out of range (allowed: %d to %d columns)", width, minWidth, maxWidth)
	}
	for _, f := range []struct {
		name string
		set  bool
		v    float64
	}{{"from", fromSet, from}, {"to", toSet, to}} {
		if f.set && (f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0)) {
			return usagef("--%s %v: want a time in seconds, 0 or more", f.name, f.v)
		}
	}
	if fromSet && toSet && to <= from {
		return usagef("--from %v --to %v: the timeline must end after it starts", from, to)
	}
	return nil
}

func checkRuns(n int) error {
	if n < 1 || n > sim.MaxRuns {
		return usagef("--runs %d is out of range (allowed: 1 to %d)", n, sim.MaxRuns)
	}
	return nil
}

// addBudgetFlag adds --max-events, the simulator's event budget per run.
func addBudgetFlag(c *cobra.Command, n *int) {
	c.Flags().IntVar(n, "max-events", sim.DefaultMaxEvents, "stop a simulation that needs more events than this (a runaway scenario)")
}

func checkBudget(n int) error {
	if n < 1 {
		return usagef("--max-events %d: want a whole number, 1 or more (default %d)", n, sim.DefaultMaxEvents)
	}
	return nil
}

// loadScenario resolves the scenario and applies --profile/--patch/--set.
func loadScenario(args []string, profile string, patches, sets []string) (*scenario.Scenario, error) {
	name := scenario.DefaultName
	if len(args) > 0 {
		name = args[0]
	}
	s, err := scenario.Load(name)
	if err != nil {
		return nil, err
	}
	v := scenario.Variation{Profile: profile, Patches: patches, Set: sets}
	if profile == "" && len(patches) == 0 && len(sets) == 0 {
		return s, nil
	}
	out, err := s.Apply(v)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// jsonSink writes events as JSON lines.
type jsonSink struct {
	enc *trace.Encoder
	err error
}

func (j *jsonSink) Emit(e trace.Event) {
	if j.err == nil {
		j.err = j.enc.Encode(e)
	}
}

// tee sends events to several sinks.
type tee []trace.Sink

func (t tee) Emit(e trace.Event) {
	for _, s := range t {
		s.Emit(e)
	}
}

func runRun(e *env, a *runArgs, args []string) error {
	s, err := loadScenario(args, a.profile, a.patches, a.sets)
	if err != nil {
		return err
	}
	profileNote(e.stderr, "--profile", a.profile)
	setProfileNotes(e.stderr, a.sets)
	seed := a.seed
	if seed == 0 {
		seed = s.Seed
	}
	if a.runs > 0 {
		return runMonteCarlo(e, s, a, seed)
	}
	rec := &sim.KeptTrace{Max: sim.KeepEvents}
	sinks := tee{rec}
	if a.json && a.html == "" {
		sinks = tee{} // the JSON lines stream; nothing needs the events kept
	}
	var js *jsonSink
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	if a.json {
		js = &jsonSink{enc: trace.NewEncoder(out)}
		sinks = append(sinks, js)
	}
	opt := sim.Options{Seed: seed, Sink: sinks, Ctx: e.ctx, MaxEvents: a.budget}
	var pw *capture.Writer
	var pf *os.File
	if a.pcap != "" {
		host := a.pcapHost
		if host == "" {
			if obs := s.Observed(); len(obs) > 0 {
				host = s.Hosts[obs[0]].Name
			}
		}
		if !hostExists(s, host) {
			return usagef("--pcap-host %q: no Linux host of that name in %s", host, s.Name)
		}
		if pf, err = os.Create(a.pcap); err != nil {
			return err
		}
		defer pf.Close()
		bw := bufio.NewWriter(pf)
		defer bw.Flush()
		if pw, err = capture.NewWriter(bw, capture.Ethernet, true); err != nil {
			return err
		}
		// captures start at a fixed, plausible date so tools print sane times
		const epoch = int64(1_700_000_000) * 1e9
		opt.CaptureHost = host
		opt.Capture = func(t vtime.Time, b []byte) {
			if err == nil {
				err = pw.WritePacket(epoch+int64(t), b)
			}
		}
	}
	res, rerr := sim.Run(s, opt)
	if rerr != nil {
		return rerr
	}
	rec.Note()
	if err != nil {
		return fmt.Errorf("%s: %v", a.pcap, err)
	}
	var fixes []sim.Row
	if !res.FlowsOK && !a.noFixes {
		fixes = sim.Fixes(s, sim.Options{Seed: seed, Ctx: e.ctx, MaxEvents: a.budget})
		if kernelChanged(a.profile, a.patches, a.sets) {
			for i := range fixes {
				labelWithKernel(s, &fixes[i])
			}
		}
	}
	if a.html != "" {
		if err := writeFile(a.html, func(w io.Writer) error {
			return report.HTML(w, rec.Events, report.HTMLOptions{Title: "arplab run " + s.Name, From: a.fromPtr(), To: a.toPtr(), Fixes: reportFixes(fixes)})
		}); err != nil {
			return err
		}
	}
	if a.json {
		if js.err != nil {
			return js.err
		}
		if fixes == nil {
			fixes = []sim.Row{}
		}
		b, _ := json.Marshal(struct {
			Kind    trace.Kind  `json:"kind"`
			Summary *sim.Result `json:"summary"`
			Fixes   []sim.Row   `json:"fixes"`
		}{trace.OutputSummary, res, fixes})
		out.Write(append(b, '\n'))
	} else {
		if err := writeRunText(out, s, res, rec.Events, fixes, a, colorFor(e.stdout)); err != nil {
			return err
		}
		if e.ctx.Err() != nil && len(fixes) > 0 {
			fmt.Fprintln(out, "partial: interrupted while trying the fixes")
		}
	}
	// the exit code follows the expectation, not the verdict: 3 when a
	// check did not hold or a flow failed that no check expects to fail
	// (docs/scenarios.md, "Verdict, expectation and exit code")
	if !res.OK {
		return expectError{fmt.Errorf("%s: expectation %s", s.File, sim.Expectation(res))}
	}
	return nil
}

func (a *runArgs) fromPtr() *float64 {
	if !a.fromSet {
		return nil
	}
	return &a.from
}

func (a *runArgs) toPtr() *float64 {
	if !a.toSet {
		return nil
	}
	return &a.to
}

func hostExists(s *scenario.Scenario, name string) bool {
	for _, h := range s.Hosts {
		if h.Name == name {
			return true
		}
	}
	return false
}

// mattered keeps the events of the entries a reader needs: IPs that moved,
// that failed flows talked to or that the scenario's checks read, plus
// flows, sends, moves and the verdict.
func mattered(evs []trace.Event, res *sim.Result) []trace.Event {
	ips := map[string]bool{}
	for _, sp := range res.Stale {
		ips[sp.IP] = true
	}
	for _, ev := range evs {
		if ev.Kind == trace.KindCheck && ev.IP != "" {
			ips[ev.IP] = true
		}
	}
	for _, f := range res.Flows {
		if !f.OK || f.Kind == "ssh" {
			ips[f.To] = true
		}
	}
	var out []trace.Event
	for _, ev := range evs {
		switch ev.Kind {
		case trace.KindHeader, trace.KindVerdict, trace.KindMove, trace.KindCheck, trace.KindNote:
			out = append(out, ev)
		case trace.KindFlow:
			// every lost segment is on the flow's lane already; the list
			// keeps the flow's milestones
			if ips[ev.IP] && ev.Cause != "lost" {
				out = append(out, ev)
			}
		default:
			if ips[ev.IP] {
				out = append(out, ev)
			}
		}
	}
	return out
}

func writeRunText(w io.Writer, s *scenario.Scenario, res *sim.Result, evs []trace.Event, fixes []sim.Row, a *runArgs, color bool) error {
	var profs []string
	for _, h := range s.Hosts {
		profs = append(profs, h.Name+": "+res.Profiles[h.Name])
	}
	fmt.Fprintf(w, "arplab run %s  seed=%d  %s\n", s.Name, res.Seed, strings.Join(profs, ", "))
	fmt.Fprintf(w, "rerun: arplab run %s --seed %d%s\n\n", scenarioArg(s), res.Seed, flagsEcho(a))
	fmt.Fprintln(w, sim.Verdict(res))
	fmt.Fprintln(w, "expectation "+sim.Expectation(res))
	fmt.Fprintln(w)
	for _, f := range res.Flows {
		if f.Kind != "ssh" && f.OK {
			continue
		}
		status := "ok"
		if !f.OK {
			status = "FAILED: " + f.Why
		} else if f.Connected > 0 {
			status = fmt.Sprintf("ok, connected after %.1f s", f.Connected)
		}
		fmt.Fprintf(w, "  flow %-10s %-4s → %-15s %s\n", f.Name, f.Kind, f.To, status)
	}
	for _, sp := range res.Stale {
		h := "never healed"
		if sp.Healed {
			h = "healed"
		}
		noop := ""
		if sp.GARPNoop > 0 {
			noop = fmt.Sprintf(" (%d more repeated the MAC it already had)", sp.GARPNoop)
		}
		ann := "GARPs"
		if strings.Contains(sp.IP, ":") {
			ann = "unsolicited NAs" // IPv6's announcements (ndisc §10)
		}
		fmt.Fprintf(w, "  entry %s %s: pointed at %s for %.1f s after the move (%s); %s %d ignored, %d honoured%s; %d false confirmations; %d probes\n",
			sp.Host, sp.IP, orNone(sp.OldMAC), sp.Seconds(), h, ann, sp.GARPIgnored, sp.GARPHonoured, noop, sp.FalseConfirms, sp.Probes)
	}
	fmt.Fprintln(w)
	opt := report.TextOptions{Width: a.width, Color: color}
	if a.fromSet {
		opt.From = &a.from
	}
	if a.toSet {
		opt.To = &a.to
	}
	if err := report.Timeline(w, mattered(evs, res), opt); err != nil {
		return err
	}
	writeFixesText(w, fixes)
	return nil
}

// writeFixesText lists the fixes tried, as run prints them and render
// prints them back from a saved summary.
// kernelChanged: the command line changed the scenario's kernel.
func kernelChanged(profile string, patches, sets []string) bool {
	return profile != "" || len(patches) > 0 || slices.ContainsFunc(sets, func(v string) bool { return strings.HasPrefix(v, "profile=") })
}

// labelWithKernel adds the kernel a row ran on to its label, for the rows
// a scenario file labels itself (its fixes and matrix rows) when the
// command line changed the scenario's kernel: such a label names the
// kernel the file was written for ("rhel7.3 + timestamps-on-change"), and
// under --profile 4.9 that row ran on 4.9+timestamps-on-change.
func labelWithKernel(s *scenario.Scenario, r *sim.Row) {
	c, err := s.Apply(r.Variation)
	if err != nil {
		return
	}
	on := strings.Join(slices.Compact(sim.ProfileNames(c)), ", ")
	squash := func(x string) string { return strings.ToLower(strings.ReplaceAll(x, " ", "")) }
	if on != "" && !strings.Contains(squash(r.Label), squash(on)) {
		r.Label += " (on " + on + ")"
	}
}

func writeFixesText(w io.Writer, fixes []sim.Row) {
	if len(fixes) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWhat would have fixed it (each tried in the simulator with the same seed):")
	for _, r := range fixes {
		switch {
		case r.Err != "":
			fmt.Fprintf(w, "  ? %s: %s\n", r.Label, r.Err)
		case r.Fixed:
			fmt.Fprintf(w, "  ✓ %s — stale %.1f s\n", r.Label, r.Stale)
		case r.Why != "":
			fmt.Fprintf(w, "  ✗ %s — not credited: %s\n", r.Label, r.Why)
		default:
			fmt.Fprintf(w, "  ✗ %s — still fails\n", r.Label)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "no MAC"
	}
	return s
}

func scenarioArg(s *scenario.Scenario) string {
	if strings.HasPrefix(s.File, "builtin:") {
		return strings.TrimPrefix(s.File, "builtin:")
	}
	return s.File
}

func flagsEcho(a *runArgs) string {
	var b strings.Builder
	if a.profile != "" {
		b.WriteString(" --profile " + a.profile)
	}
	for _, p := range a.patches {
		b.WriteString(" --patch " + p)
	}
	for _, s := range a.sets {
		b.WriteString(" --set " + s)
	}
	return b.String()
}

func runMonteCarlo(e *env, s *scenario.Scenario, a *runArgs, seed uint64) error {
	var progress func(int, int)
	if isTerminal(e.stderr) {
		progress = func(done, total int) {
			if done%max(1, total/100) != 0 && done != total {
				return
			}
			const width = 40
			n := done * width / total
			fmt.Fprintf(e.stderr, "\r[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	mc, err := sim.RunMonteCarlo(s, a.runs, sim.Options{Seed: seed, Ctx: e.ctx, MaxEvents: a.budget}, progress)
	if err != nil && !mc.Partial {
		return err
	}
	if mc.Partial {
		// what the finished runs found, said to be partial; the exit code
		// says interrupted
		if progress != nil {
			fmt.Fprintln(e.stderr)
		}
		if mc.Runs == 0 {
			return err
		}
		if !a.json {
			defer fmt.Fprintf(e.stdout, "partial: interrupted after %d of %d runs\n", mc.Runs, mc.Asked)
		}
	}
	if a.json {
		b, _ := json.Marshal(struct {
			Kind       trace.Kind     `json:"kind"`
			Scenario   string         `json:"scenario"`
			Seed       uint64         `json:"seed"`
			Profiles   []string       `json:"profiles"`
			MonteCarlo sim.MonteCarlo `json:"montecarlo"`
		}{trace.OutputMonteCarlo, s.Name, seed, sim.ProfileNames(s), mc})
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	fmt.Fprintf(e.stdout, "arplab run %s --runs %d --seed %d%s  (%s)\n", scenarioArg(s), a.runs, seed, flagsEcho(a), strings.Join(sim.ProfileNames(s), ", "))
	writeMonteCarloText(e.stdout, "", 0, nil, mc)
	return nil
}

// writeMonteCarloText prints a Monte Carlo result (with its scenario line
// when scenario is set: render of a saved --runs --json).
func writeMonteCarloText(w io.Writer, scenario string, seed uint64, profiles []string, mc sim.MonteCarlo) {
	if scenario != "" {
		fmt.Fprintf(w, "arplab run %s --runs %d --seed %d  (%s)\n", scenario, mc.Runs, seed, strings.Join(profiles, ", "))
	}
	fmt.Fprintf(w, "failed %d of %d runs: P(failure) = %.3f, 95%% interval [%.3f, %.3f]; mean longest stale entry %.1f s\n",
		mc.Failures, mc.Runs, mc.P, mc.Lo, mc.Hi, mc.Stale)
	fmt.Fprintln(w, "varied per run: each script event's `vary` offset and every host's HZ phase")
}

// reportFixes hands the fixes tried to the HTML report.
func reportFixes(rows []sim.Row) []report.Fix {
	var out []report.Fix
	for _, r := range rows {
		out = append(out, report.Fix{Label: r.Label, OK: r.Fixed, Stale: r.Stale, Err: r.Err, Why: r.Why})
	}
	return out
}
