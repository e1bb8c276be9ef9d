package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"arplab/internal/report"
	"arplab/internal/scenario"
	"arplab/internal/sim"
)

const matrixLong = `Run a scenario across kernel profiles, single patches, sysctls and GARP
sender presets, and print the outcome table: which configurations pass,
how long the entry stayed stale, and the verdict of each.

Rows marked with an expectation (the scenario's own "matrix:" rows) are
checked: the command exits 3 when one disagrees.

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
	)
	c := &cobra.Command{
		Use:   "matrix SCENARIO|FILE",
		Short: "what-if table across kernels, patches, sysctls and senders",
		Long:  matrixLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadScenario(args, profile, patches, sets)
			if err != nil {
				return err
			}
			profileNote(e.stderr, "--profile", profile)
			if seed == 0 {
				seed = s.Seed
			}
			vs := sim.DefaultMatrix(s)
			if onlyScenario {
				vs = append([]scenario.Variation{{Label: "baseline"}}, s.Matrix...)
			}
			type row struct {
				sim.Row
				MonteCarlo *sim.MonteCarlo `json:",omitempty"`
			}
			var rows []row
			var hrows []report.MatrixRow
			mismatch := 0
			for _, v := range vs {
				r := row{Row: sim.RunVariation(s, v, sim.Options{Seed: seed}, html != "")}
				if runs > 0 && r.Err == "" {
					if c, err := s.Apply(v); err == nil {
						mc, err := sim.RunMonteCarlo(c, runs, seed, nil)
						if err == nil {
							r.MonteCarlo = &mc
						}
					}
				}
				if !r.Match {
					mismatch++
				}
				rows = append(rows, r)
				hrows = append(hrows, report.MatrixRow{Label: r.Label, OK: r.OK, Summary: r.Verdict, Events: r.Events})
			}
			if html != "" {
				if err := writeFile(html, func(w io.Writer) error {
					return report.Matrix(w, hrows, report.HTMLOptions{Title: "arplab matrix " + s.Name})
				}); err != nil {
					return err
				}
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
				tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
				head := "configuration\toutcome\tstale s\texpected"
				if runs > 0 {
					head += "\tP(failure) [95%]"
				}
				fmt.Fprintln(tw, head)
				for _, r := range rows {
					out := "pass"
					if r.Err != "" {
						out = "error: " + r.Err
					} else if !r.OK {
						out = "FAIL"
					}
					exp := r.Expect
					if exp != "" && !r.Match {
						exp += " ✗ MISMATCH"
					}
					line := fmt.Sprintf("%s\t%s\t%.1f\t%s", r.Label, out, r.Stale, exp)
					if runs > 0 && r.MonteCarlo != nil {
						line += fmt.Sprintf("\t%.3f [%.3f, %.3f]", r.MonteCarlo.P, r.MonteCarlo.Lo, r.MonteCarlo.Hi)
					}
					fmt.Fprintln(tw, line)
				}
				tw.Flush()
			}
			if mismatch > 0 {
				return expectError{fmt.Errorf("%d row(s) disagree with the scenario's expectations", mismatch)}
			}
			return nil
		},
	}
	addScenarioFlags(c, &profile, &patches, &sets, &seed)
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per row")
	c.Flags().StringVar(&html, "html", "", "also write an HTML page with a lane set per row")
	c.Flags().IntVar(&runs, "runs", 0, "also run N Monte Carlo runs per row")
	c.Flags().BoolVar(&onlyScenario, "scenario-rows", false, "only the baseline and the scenario's own rows")
	return c
}
