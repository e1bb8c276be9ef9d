package cli

import (
	"arplab/internal/kernel"
	"arplab/internal/vm"

	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"arplab/internal/lab"
	"arplab/internal/labnet"
	"arplab/internal/labsys"
	"arplab/internal/report"
	"arplab/internal/trace"
	"arplab/internal/verify"
)

func labCmd(e *env) *cobra.Command {
	var (
		asJSON, noTrace bool
		html            string
	)
	c := &cobra.Command{
		Use:   "lab SCENARIO|FILE",
		Short: "run a scenario on the running kernel, in network namespaces (root)",
		Long: `Run a scenario on the running kernel: a network namespace per host and
station, a bridge per segment, the scenario's sysctls, GARPs injected
from raw sockets at the scripted times, real TCP/UDP flows, the observed
hosts' neighbour tables read over netlink, and (where tracefs can be
mounted) the kernel's neigh_update tracepoint, which shows ignored
updates. Writes the same trace vocabulary as the simulator. Everything the
lab creates is removed on success, on error and on Ctrl-C; namespaces left
by a killed run are found and removed first. Needs root.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := verify.LoadScenario(args[0])
			if err != nil {
				return err
			}
			if _, err := labnet.CleanStale("arplab-"); err != nil && !errors.Is(err, labsys.ErrNotPermitted) {
				fmt.Fprintln(e.stderr, "arplab: cleaning up an earlier run:", err)
			}
			var rec trace.Recorder
			var sink trace.Sink = &rec
			var js *jsonSink
			if asJSON {
				js = &jsonSink{enc: trace.NewEncoder(e.stdout)}
				sink = tee{&rec, js}
			}
			run, err := lab.RunScenario(e.ctx, s, lab.RunOptions{NoTrace: noTrace}, sink)
			if err != nil {
				return err
			}
			if html != "" {
				if err := writeFile(html, func(w io.Writer) error {
					return report.HTML(w, rec.Events, report.HTMLOptions{Title: "arplab lab " + s.Name})
				}); err != nil {
					return err
				}
			}
			checks := lab.EvalChecks(run, s.Checks)
			var failed *lab.RunCheck
			for i := range checks {
				if !checks[i].OK && failed == nil {
					failed = &checks[i]
				}
			}
			if asJSON {
				if js.err != nil {
					return js.err
				}
			} else {
				fmt.Fprintf(e.stdout, "arplab lab %s on %s (HZ=%d, %s)\n\n", s.Name, run.Release, run.HZ, run.HZMethod)
				color := colorFor(e.stdout)
				if err := report.Timeline(e.stdout, rec.Events, report.TextOptions{Width: 100, Color: color}); err != nil {
					return err
				}
			}
			if failed != nil {
				// the scenario's expectations may be those of another kernel
				// (a built-in's profile): the kernel's answer is the news
				return expectError{fmt.Errorf("%s: check at line %d does not hold on the running kernel: want %s, kernel has %s%s", s.File, failed.Line, failed.Desc, failed.Got, lab.LateNote(failed.Late))}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "write the trace as JSON lines")
	c.Flags().BoolVar(&noTrace, "no-trace", false, "do not use the neigh_update tracepoint")
	c.Flags().StringVar(&html, "html", "", "also write an HTML timeline to this file")
	return c
}

func verifyCmd(e *env) *cobra.Command {
	var (
		profile string
		patches []string
		asJSON  bool
		noTrace bool
		html    string
		replays bool

		vmKernel, vmModules, vmAccel string
	)
	c := &cobra.Command{
		Use:   "verify [SCENARIO…]",
		Short: "hold the model against the running kernel, frame by frame (root)",
		Long: `Run each scenario in the lab and in the model (the profile closest to
the running kernel, the sysctls actually in force, the kernel's own
reachable_time, the recorded send times) and compare at every ARP and
IPv6 ND frame and every checkpoint: entry state, lladdr, and the verdict
on each frame.
Disagreements are printed as a diff with the model's explanation; the
output says how close any comparison came to a jiffy or locktime
boundary. With no SCENARIO, the whole verify suite (scenarios/verify)
runs. A scenario that sets a sysctl (or value) the kernel's own profile
lacks, such as arp_accept=2 before 6.0, is skipped with the patch it
needs. Exits 0 only when everything that ran agrees (3 otherwise).

--replay also runs the suite's replay mode: each observed host's frames
are written as the capture a user would have and replayed with only what
a user knows (the capture, the host's IP@MAC, the profile and HZ, the
sysctls and entries the scenario set up), and the replay's table is held
against the kernel's at every table read: "N of M reads agree (K at a
timer boundary)", a read within the timer wheel's reach of a transition
counting as a boundary. Scenarios whose replay is known not to follow the
kernel everywhere say why and do not fail the run. With --vm the guest
runs the replay mode too.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if profile != "" {
				// a flag's mistake, before any lab is built
				if _, err := kernel.Lookup(profile); err != nil {
					return usagef("--profile %s: %v", profile, err)
				}
				if _, err := lookupWithPatches(profile, patches); err != nil {
					return usagef("--patch: %v", err)
				}
			}
			names := args
			if len(names) == 0 {
				names = verify.Suite()
			}
			if vmKernel != "" {
				ga := append([]string{"verify"}, args...)
				if profile != "" {
					ga = append(ga, "--profile", profile)
				}
				for _, p := range patches {
					ga = append(ga, "--patch", p)
				}
				if asJSON {
					ga = append(ga, "--json")
				}
				if noTrace {
					ga = append(ga, "--no-trace")
				}
				if replays {
					ga = append(ga, "--replay")
				}
				return verifyInVM(e, vm.Options{Kernel: vmKernel, Modules: vmModules, Accel: vmAccel, Args: ga}, html)
			}
			profileNote(e.stderr, "--profile", profile)
			for _, n := range names {
				// every name checked before the first lab is built
				if _, err := verify.LoadScenario(n); err != nil {
					return err
				}
			}
			start := time.Now()
			var results []*verify.Result
			if _, err := labnet.CleanStale("arplab-"); err != nil && !errors.Is(err, labsys.ErrNotPermitted) {
				fmt.Fprintln(e.stderr, "arplab: cleaning up an earlier run:", err)
			}
			var all []trace.Event
			var replayTotal replayCount
			var replayResults []*verify.ReplayResult
			failed := 0
			// The kernel's own profile (not --profile/--patch): a scenario
			// setting a sysctl this kernel lacks is skipped with the reason.
			release, _ := kernelRelease()
			here := kernel.Closest(release)
			var skipped []string
			for _, n := range names {
				s, err := verify.LoadScenario(n)
				if err != nil {
					return err
				}
				if why := verify.Lacks(s, here); len(why) > 0 {
					skipped = append(skipped, n)
					w := e.stdout
					if asJSON {
						w = e.stderr
					}
					fmt.Fprintf(w, "verify %s: SKIPPED: kernel %s (profile %s): %s\n", n, release, here.Name, strings.Join(why, "; "))
					continue
				}
				r, err := verify.Verify(e.ctx, s, verify.Options{Profile: profile, Patches: patches, Lab: lab.RunOptions{NoTrace: noTrace}})
				if err != nil && e.ctx.Err() != nil {
					break // Ctrl-C: the lab cleaned up; summarise what finished
				}
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				results = append(results, r)
				if !r.Passed() {
					failed++
				}
				if replays && r.Run != nil {
					prof, err := kernel.Lookup(r.Profile)
					if err != nil {
						return err
					}
					rr, err := verify.ReplayCheck(r.Run, s, prof)
					if err != nil {
						return fmt.Errorf("%s: %w", n, err)
					}
					replayTotal.add(rr)
					if rr.Failed() {
						failed++
					}
					replayResults = append(replayResults, rr)
				}
				all = append(all, r.Events...)
				if asJSON {
					// the scenario's trace, then its result (one style:
					// snake_case keys, a kind; docs/trace.md)
					if err := trace.WriteAll(e.stdout, r.Events); err != nil {
						return err
					}
					rr := *r
					rr.Events = nil
					m, err := snakeJSON(&rr)
					if err != nil {
						return err
					}
					delete(m, "events")
					if err := writeOutputLine(e.stdout, trace.OutputVerifyResult, m); err != nil {
						return err
					}
					continue
				}
				if err := r.WriteText(e.stdout); err != nil {
					return err
				}
			}
			if html != "" {
				if err := writeFile(html, func(w io.Writer) error {
					return report.HTML(w, all, report.HTMLOptions{Title: "arplab verify"})
				}); err != nil {
					return err
				}
			}
			if !asJSON {
				fmt.Fprintln(e.stdout)
				if err := verify.WriteSummary(e.stdout, results, time.Since(start)); err != nil {
					return err
				}
				if replays {
					fmt.Fprintln(e.stdout)
					for _, rr := range replayResults {
						rr.WriteText(e.stdout)
					}
					fmt.Fprintf(e.stdout, "replay mode: %d of %d reads agree (%d at a timer boundary) over %d scenarios\n",
						replayTotal.agree+replayTotal.boundary, replayTotal.reads, replayTotal.boundary, replayTotal.n)
				}
			}
			if len(skipped) > 0 {
				w := e.stdout
				if asJSON {
					w = e.stderr
				}
				fmt.Fprintf(w, "skipped %d scenario(s) that set what kernel %s lacks: %s\n", len(skipped), release, strings.Join(skipped, ", "))
			}
			if len(results)+len(skipped) < len(names) {
				if !asJSON {
					fmt.Fprintf(e.stdout, "partial: interrupted after %d of %d scenarios\n", len(results)+len(skipped), len(names))
				}
				return e.ctx.Err()
			}
			if failed > 0 {
				return expectError{fmt.Errorf("%d scenario(s) disagree with the model", failed)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "model profile (default: the closest to the running kernel)")
	c.Flags().StringArrayVar(&patches, "patch", nil, "edit the model's profile (+name/-name), e.g. to see a wrong model fail")
	c.Flags().BoolVar(&asJSON, "json", false, "per scenario: its trace (kernel and model events), then a verify_result line")
	c.Flags().BoolVar(&noTrace, "no-trace", false, "do not use the neigh_update tracepoint (states only, no frame verdicts)")
	c.Flags().StringVar(&html, "html", "", "write kernel and model lanes, disagreements highlighted, to this file")
	c.Flags().BoolVar(&replays, "replay", false, "also replay each host's capture with only what a user knows and compare with the kernel's table reads")
	addVMFlags(c, &vmKernel, &vmModules, &vmAccel)
	return c
}

// replayCount sums the replay mode over scenarios.
type replayCount struct{ n, reads, agree, boundary int }

func (c *replayCount) add(r *verify.ReplayResult) {
	c.n++
	c.reads += r.Reads
	c.agree += r.Agree
	c.boundary += r.Boundary
}

// kernelRelease is `uname -r` of the kernel verify runs on (a variable so
// that a test can stand in an older kernel for the skip).
var kernelRelease = labsys.KernelRelease
