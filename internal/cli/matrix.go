package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"arplab/internal/report"
	"arplab/internal/scenario"
	"arplab/internal/sim"
	"arplab/internal/trace"
)

const matrixLong = `Run a scenario across kernel profiles, single patches, sysctls and GARP
sender presets, and print the outcome table: which configurations pass,
how long the entry stayed stale, and the verdict of each.

Rows marked with an expectation (the scenario's own "matrix:" rows) are
checked: the command exits 3 when one disagrees. Each row has two
answers, the verdict (did every flow survive) and the expectation (did
the scenario's checks hold); a row without "expect:" does not set the
exit status, so "PASS … not met" (a kernel that heals the entry where
the checks describe the failure) exits 0.

A row's "expect:" was written for the scenario as its file has it (its
kernel, patches and settings). When --profile, --patch or --set change
that, the rows run on the changed scenario and their expectation is shown
as "not judged" (the JSON row's "expect_not_judged" says why): it does not
set the exit status. --seed keeps the rows judged.

Examples:
  arplab matrix failure
  arplab matrix failure --runs 200     # add a Monte Carlo failure rate per row
  arplab matrix metallb-announce --html matrix.html`

func matrixCmd(e *env) *cobra.Command {
	var (
		profile       string
		patches, sets []string
		seed          uint64
		asJSON        bool
		html          string
		runs          int
		onlyScenario  bool
		budget        int
	)
	c := &cobra.Command{
		Use:   "matrix SCENARIO|FILE",
		Short: "what-if table across kernels, patches, sysctls and senders",
		Long:  matrixLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("runs") {
				if err := checkRuns(runs); err != nil {
					return err
				}
			}
			if err := checkBudget(budget); err != nil {
				return err
			}
			s, err := loadScenario(args, profile, patches, sets)
			if err != nil {
				return err
			}
			profileNote(e.stderr, "--profile", profile)
			setProfileNotes(e.stderr, sets)
			if seed == 0 {
				seed = s.Seed
			}
			vs := sim.DefaultMatrix(s)
			if onlyScenario {
				vs = append([]scenario.Variation{{Label: "baseline"}}, s.Matrix...)
			}
			type row struct {
				Kind trace.Kind `json:"kind"`
				sim.Row
				NotJudged  string          `json:"expect_not_judged,omitempty"`
				MonteCarlo *sim.MonteCarlo `json:"montecarlo,omitempty"`
			}
			// the rows' expectations describe the file's scenario: not
			// judged when the command line changed it
			notJudged := ""
			if changed := scenarioFlags(profile, patches, sets); changed != "" {
				written := "the scenario as its file has it"
				if orig, err := loadScenario(args, "", nil, nil); err == nil {
					if k := strings.Join(slices.Compact(sim.ProfileNames(orig)), ", "); k != "" {
						written += " (" + k + ")"
					}
				}
				notJudged = "written for " + written + "; " + changed + " changed it"
			}
			var rows []row
			var hrows []report.MatrixRow
			mismatch := 0
			opt := sim.Options{Seed: seed, Ctx: e.ctx, MaxEvents: budget}
			for _, v := range vs {
				// Ctrl-C: print the rows that finished, marked partial
				if e.ctx.Err() != nil {
					break
				}
				r := row{Kind: trace.OutputMatrixRow, Row: sim.RunVariation(s, v, opt, html != "")}
				if kernelChanged(profile, patches, sets) && slices.ContainsFunc(s.Matrix, func(m scenario.Variation) bool { return m.Label == v.Label }) {
					labelWithKernel(s, &r.Row) // the file's own row, labelled for the file's kernel
				}
				if notJudged != "" && r.Expect != "" {
					// shown from the variation, not compared (docs/scenarios.md)
					r.Expect, r.Match, r.NotJudged = "", true, notJudged
				}
				if e.ctx.Err() != nil {
					break
				}
				if r.Budget != nil && len(rows) == 0 {
					// the scenario as written is past the budget: every
					// row would spend it again
					return fmt.Errorf("%s: %w", v.Label, r.Budget)
				}
				if runs > 0 && r.Err == "" {
					if c, err := s.Apply(v); err == nil {
						mc, err := sim.RunMonteCarlo(c, runs, opt, nil)
						if err == nil {
							r.MonteCarlo = &mc
						} else if e.ctx.Err() != nil {
							break
						}
					}
				}
				if !r.Match {
					mismatch++
				}
				rows = append(rows, r)
				hrows = append(hrows, matrixRowHTML(r.Row, r.Events))
			}
			if html != "" {
				if err := writeFile(html, func(w io.Writer) error {
					return report.Matrix(w, hrows, report.HTMLOptions{Title: "arplab matrix " + s.Name})
				}); err != nil {
					return err
				}
			}
			rows2sim := func(rs []row) []sim.Row {
				out := make([]sim.Row, len(rs))
				for i, r := range rs {
					out[i] = r.Row
				}
				return out
			}
			mcs := func(rs []row) []*sim.MonteCarlo {
				if runs == 0 {
					return nil
				}
				out := make([]*sim.MonteCarlo, len(rs))
				for i, r := range rs {
					out[i] = r.MonteCarlo
				}
				return out
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				for _, r := range rows {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
			} else {
				fmt.Fprintf(e.stdout, "arplab matrix %s  seed=%d\n\n", s.Name, seed)
				writeMatrixText(e.stdout, rows2sim(rows), mcs(rows))
				if notJudged != "" && slices.ContainsFunc(rows, func(r row) bool { return r.NotJudged != "" }) {
					fmt.Fprintf(e.stdout, "\nnot judged: the \"expect:\" of the scenario's own rows was %s.\n", notJudged)
				}
			}
			if len(rows) < len(vs) {
				// marked partial; with --json on stderr, so that stdout
				// stays one matrix_row line per row
				w := e.stdout
				if asJSON {
					w = e.stderr
				}
				fmt.Fprintf(w, "partial: interrupted after %d of %d rows\n", len(rows), len(vs))
				return e.ctx.Err()
			}
			if mismatch > 0 {
				return expectError{fmt.Errorf("%d row(s) disagree with the scenario's expectations", mismatch)}
			}
			return nil
		},
	}
	addScenarioFlags(c, &profile, &patches, &sets, &seed)
	addBudgetFlag(c, &budget)
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per row")
	c.Flags().StringVar(&html, "html", "", "also write an HTML page with a lane set per row")
	c.Flags().IntVar(&runs, "runs", 0, "also run N Monte Carlo runs per row")
	c.Flags().BoolVar(&onlyScenario, "scenario-rows", false, "only the baseline and the scenario's own rows")
	return c
}

// matrixLegend says what the columns mean, under the table.
const matrixLegend = `verdict: PASS when every flow survived the failover. expectation: met when
the scenario's checks held in that configuration and every flow no check
expects to fail succeeded. row expects: the scenario's own expectation
for the row ("ok" = met), marked MISMATCH when the run disagreed (exit 3),
"not judged" when --profile, --patch or --set changed the scenario it was
written for.`

// writeMatrixText prints the matrix table: the verdict (did the flows
// survive) and the checks (did the scenario's expectations hold) are
// separate columns, so a configuration that heals the entry reads "PASS"
// even where the scenario's checks describe the failure. mc, when not
// nil, gives the Monte Carlo column.
func writeMatrixText(w io.Writer, rows []sim.Row, mc []*sim.MonteCarlo) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	head := "configuration\tverdict\tstale s\texpectation\trow expects"
	if mc != nil {
		head += "\tP(failure) [95%]"
	}
	fmt.Fprintln(tw, head)
	var errs []string
	for i, r := range rows {
		verdict, checks := "PASS", "met"
		switch {
		case r.Err != "":
			errs = append(errs, fmt.Sprintf("  %s: %s", r.Label, r.Err))
			verdict, checks = fmt.Sprintf("error [%d]", len(errs)), "-"
		case !r.FlowsOK:
			verdict = "FAIL"
		}
		if r.Err == "" && !r.OK {
			checks = "not met"
		}
		exp := r.Expect
		switch {
		case exp != "" && !r.Match:
			exp += " ✗ MISMATCH"
		case exp != "":
			exp += " ✓"
		case notJudged(r):
			exp = r.Variation.Expect + ", not judged"
		}
		line := fmt.Sprintf("%s\t%s\t%.1f\t%s\t%s", r.Label, verdict, r.Stale, checks, exp)
		if mc != nil && mc[i] != nil {
			line += fmt.Sprintf("\t%.3f [%.3f, %.3f]", mc[i].P, mc[i].Lo, mc[i].Hi)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if len(errs) > 0 {
		fmt.Fprintf(w, "\n%d configuration(s) could not run:\n", len(errs))
		for i, e := range errs {
			fmt.Fprintf(w, "[%d]%s\n", i+1, e)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, matrixLegend)
}

// notJudged: the row carries the file's expectation (its variation's
// expect) but the command line changed the scenario it was written for,
// so matrix did not compare it (RunE clears the row's Expect), here and
// in a saved --json row that render draws.
func notJudged(r sim.Row) bool { return r.Expect == "" && r.Variation.Expect != "" }

// scenarioFlags names the flags that changed the scenario as its file has
// it ("" none): its kernel (--profile, --patch) or any setting (--set).
func scenarioFlags(profile string, patches, sets []string) string {
	var f []string
	if profile != "" {
		f = append(f, "--profile "+profile)
	}
	for _, p := range patches {
		f = append(f, "--patch "+p)
	}
	for _, v := range sets {
		f = append(f, "--set "+v)
	}
	return strings.Join(f, " ")
}

// matrixRowHTML hands a row to the HTML matrix.
func matrixRowHTML(r sim.Row, evs []trace.Event) report.MatrixRow {
	summary := r.Verdict
	if r.Err != "" {
		summary = "could not run: " + r.Err
	}
	if notJudged(r) {
		summary += fmt.Sprintf(" (the scenario's row expects %q for the scenario as its file has it: not judged under this command line)", r.Variation.Expect)
	}
	return report.MatrixRow{Label: r.Label, OK: r.FlowsOK, Stale: r.Stale, Expect: r.OK,
		Expects: r.Expectation, RowExpect: r.Expect, Mismatch: !r.Match, Summary: summary, Events: evs}
}
