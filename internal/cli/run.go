package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
			return runRun(e, a, args)
		},
	}
	addScenarioFlags(c, &a.profile, &a.patches, &a.sets, &a.seed)
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
		return nil, usageError{err}
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
	seed := a.seed
	if seed == 0 {
		seed = s.Seed
	}
	if a.runs > 0 {
		return runMonteCarlo(e, s, a, seed)
	}
	var rec trace.Recorder
	sinks := tee{&rec}
	var js *jsonSink
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	if a.json {
		js = &jsonSink{enc: trace.NewEncoder(out)}
		sinks = append(sinks, js)
	}
	opt := sim.Options{Seed: seed, Sink: sinks}
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
	if err != nil {
		return fmt.Errorf("%s: %v", a.pcap, err)
	}
	var fixes []sim.Row
	if !res.OK && !a.noFixes {
		fixes = sim.Fixes(s, sim.Options{Seed: seed})
	}
	if a.html != "" {
		if err := writeFile(a.html, func(w io.Writer) error {
			return report.HTML(w, rec.Events, report.HTMLOptions{Title: "arplab run " + s.Name, From: a.fromPtr(), To: a.toPtr()})
		}); err != nil {
			return err
		}
	}
	if a.json {
		if js.err != nil {
			return js.err
		}
		b, _ := json.Marshal(map[string]any{"summary": res, "fixes": fixes})
		out.Write(append(b, '\n'))
	} else {
		if err := writeRunText(out, s, res, rec.Events, fixes, a, colorFor(e.stdout)); err != nil {
			return err
		}
	}
	for _, c := range res.Checks {
		if !c.OK {
			return expectError{fmt.Errorf("%s: check at line %d failed: %s: want %s, got %s", s.File, c.Line, c.What, c.Want, c.Got)}
		}
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

// mattered keeps the events of the entries a reader needs: IPs that moved
// or that failed flows talked to, plus flows, sends, moves and the verdict.
func mattered(evs []trace.Event, res *sim.Result) []trace.Event {
	ips := map[string]bool{}
	for _, sp := range res.Stale {
		ips[sp.IP] = true
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
		fmt.Fprintf(w, "  entry %s %s: pointed at %s for %.1f s after the move (%s); GARPs %d ignored, %d honoured; %d false confirmations; %d probes\n",
			sp.Host, sp.IP, orNone(sp.OldMAC), sp.Seconds(), h, sp.GARPIgnored, sp.GARPHonoured, sp.FalseConfirms, sp.Probes)
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
	if len(fixes) > 0 {
		fmt.Fprintln(w, "\nWhat would have fixed it (each tried in the simulator with the same seed):")
		for _, r := range fixes {
			switch {
			case r.Err != "":
				fmt.Fprintf(w, "  ? %s: %s\n", r.Label, r.Err)
			case r.OK:
				fmt.Fprintf(w, "  ✓ %s — stale %.1f s\n", r.Label, r.Stale)
			default:
				fmt.Fprintf(w, "  ✗ %s — still fails\n", r.Label)
			}
		}
	}
	return nil
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
	mc, err := sim.RunMonteCarlo(s, a.runs, seed, progress)
	if err != nil {
		return usageError{err}
	}
	if a.json {
		b, _ := json.Marshal(map[string]any{"scenario": s.Name, "seed": seed, "profiles": sim.ProfileNames(s), "montecarlo": mc})
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	fmt.Fprintf(e.stdout, "arplab run %s --runs %d --seed %d%s  (%s)\n", scenarioArg(s), a.runs, seed, flagsEcho(a), strings.Join(sim.ProfileNames(s), ", "))
	fmt.Fprintf(e.stdout, "failed %d of %d runs: P(failure) = %.3f, 95%% interval [%.3f, %.3f]; mean longest stale entry %.1f s\n",
		mc.Failures, mc.Runs, mc.P, mc.Lo, mc.Hi, mc.Stale)
	fmt.Fprintln(e.stdout, "varied per run: each script event's `vary` offset and every host's HZ phase")
	return nil
}
