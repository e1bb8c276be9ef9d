package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"arplab/internal/report"
	"arplab/internal/sim"
	"arplab/internal/trace"
)

func renderCmd(e *env) *cobra.Command {
	var html string
	var from, to float64
	var width int
	c := &cobra.Command{
		Use:   "render FILE.jsonl",
		Short: "draw any saved --json output (run, replay, matrix, lab, verify, watch)",
		Long: `Read what an arplab command wrote with --json and draw it: as text on
stdout, or with --html as one self-contained HTML file.

A trace (run, replay, lab, verify, watch) is drawn as a timeline; the
summary line of run --json adds its "what would have fixed it" list. The
rows of matrix --json are drawn as the matrix table. Lines are told apart
by their "kind" (docs/trace.md); a line that is neither an event nor an
arplab output line is an error naming the line.

Times on the axis count from the start of the trace; a capture's absolute
start is printed in the header. --from and --to are in those seconds.

Examples:
  arplab run failure --json > failure.jsonl
  arplab render failure.jsonl --html failure.html --from 9 --to 20
  arplab matrix failure --json > matrix.jsonl && arplab render matrix.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTimeline(width, from, to, cmd.Flags().Changed("from"), cmd.Flags().Changed("to")); err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			evs, other, err := trace.ReadOutput(f, args[0])
			if err != nil {
				return err
			}
			var fp, tp *float64
			if cmd.Flags().Changed("from") {
				fp = &from
			}
			if cmd.Flags().Changed("to") {
				tp = &to
			}
			saved, err := readOutputLines(args[0], other)
			if err != nil {
				return err
			}
			if len(evs) == 0 && len(saved.matrix) > 0 {
				return renderMatrix(e, saved.matrix, html, args[0], fp, tp)
			}
			if len(evs) == 0 && len(saved.montecarlo) > 0 && html == "" {
				for _, m := range saved.montecarlo {
					writeMonteCarloText(e.stdout, m.Scenario, m.Seed, m.Profiles, m.MonteCarlo)
				}
				return nil
			}
			if len(evs) == 0 {
				return fmt.Errorf("%s: no trace events and no matrix rows to draw", args[0])
			}
			if html != "" {
				return writeFile(html, func(w io.Writer) error {
					return report.HTML(w, evs, report.HTMLOptions{Title: args[0], From: fp, To: tp, Fixes: reportFixes(saved.fixes)})
				})
			}
			color := colorFor(e.stdout)
			if err := report.Timeline(e.stdout, evs, report.TextOptions{Width: width, Color: color, From: fp, To: tp}); err != nil {
				return usagef("%v", err)
			}
			writeFixesText(e.stdout, saved.fixes)
			return nil
		},
	}
	c.Flags().StringVar(&html, "html", "", "write an HTML page to this file instead of text")
	c.Flags().Float64Var(&from, "from", 0, "start at this second (counted from the start of the trace)")
	c.Flags().Float64Var(&to, "to", 0, "end at this second")
	c.Flags().IntVar(&width, "width", 100, "text width in columns")
	return c
}

// savedOutput is what render takes from the output lines of a --json file.
type savedOutput struct {
	fixes      []sim.Row
	matrix     []sim.Row
	montecarlo []monteCarloLine
}

// monteCarloLine is the one line of run --runs N --json.
type monteCarloLine struct {
	Scenario   string         `json:"scenario"`
	Seed       uint64         `json:"seed"`
	Profiles   []string       `json:"profiles"`
	MonteCarlo sim.MonteCarlo `json:"montecarlo"`
}

func readOutputLines(name string, lines []trace.OutputLine) (savedOutput, error) {
	var out savedOutput
	for _, l := range lines {
		switch l.Kind {
		case trace.OutputSummary:
			var s struct {
				Fixes []sim.Row `json:"fixes"`
			}
			if err := json.Unmarshal(l.Raw, &s); err != nil {
				return out, fmt.Errorf("%s:%d: summary line: %v", name, l.Line, err)
			}
			out.fixes = append(out.fixes, s.Fixes...)
		case trace.OutputMonteCarlo:
			var m monteCarloLine
			if err := json.Unmarshal(l.Raw, &m); err != nil {
				return out, fmt.Errorf("%s:%d: montecarlo line: %v", name, l.Line, err)
			}
			out.montecarlo = append(out.montecarlo, m)
		case trace.OutputMatrixRow:
			var r sim.Row
			if err := json.Unmarshal(l.Raw, &r); err != nil {
				return out, fmt.Errorf("%s:%d: matrix row: %v", name, l.Line, err)
			}
			out.matrix = append(out.matrix, r)
		}
	}
	return out, nil
}

// renderMatrix draws saved matrix rows: the table as matrix prints it, or
// the HTML page's summary table (a saved row has no trace to draw).
func renderMatrix(e *env, rows []sim.Row, html, title string, from, to *float64) error {
	if html != "" {
		var hrows []report.MatrixRow
		for _, r := range rows {
			hrows = append(hrows, matrixRowHTML(r, nil))
		}
		return writeFile(html, func(w io.Writer) error {
			return report.Matrix(w, hrows, report.HTMLOptions{Title: title, From: from, To: to})
		})
	}
	writeMatrixText(e.stdout, rows, nil)
	return nil
}
