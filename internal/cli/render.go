package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"arplab/internal/advise"
	"arplab/internal/kernel"
	"arplab/internal/live/doctor"
	"arplab/internal/report"
	"arplab/internal/sim"
	"arplab/internal/trace"
)

func renderCmd(e *env) *cobra.Command {
	var html string
	var from, to float64
	var width, pick int
	c := &cobra.Command{
		Use:   "render FILE.jsonl",
		Short: "draw any saved --json output (run, replay, matrix, lab, verify, watch, doctor, advise, profiles)",
		Long: `Read what an arplab command wrote with --json and draw it: as text on
stdout, or with --html as one self-contained HTML file.

A trace (run, replay, lab, verify, watch) is drawn as a timeline; the
summary line of run --json adds its "what would have fixed it" list. The
rows of matrix --json are drawn as the matrix table, run --runs N as its
sentence. doctor, advise and profiles --json print as those commands
print them (advise also as its HTML page). Lines are told apart by their
"kind" (docs/trace.md); a line that is neither an event nor an arplab
output line is an error naming the line.

Times on the axis count from the start of the trace; a capture's absolute
start is printed in the header. --from and --to are in those seconds.

Examples:
  arplab run failure --json > failure.jsonl
  arplab render failure.jsonl --html failure.html --from 9 --to 20
  arplab matrix failure --json > matrix.jsonl && arplab render matrix.jsonl
  arplab doctor --json > host.json && arplab render host.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTimeline(width, from, to, cmd.Flags().Changed("from"), cmd.Flags().Changed("to")); err != nil {
				return err
			}
			if doc, ok, err := readDocument(args[0]); err != nil {
				return err
			} else if ok {
				return renderDocuments(e, args[0], []trace.OutputLine{doc}, html)
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
			if len(evs) == 0 && len(saved.docs) > 0 {
				return renderDocuments(e, args[0], saved.docs, html)
			}
			if len(evs) == 0 {
				return fmt.Errorf("%s: no trace events and no matrix rows to draw", args[0])
			}
			if len(saved.docs) > 0 {
				// a trace with a report pasted in: draw the trace, say what was left
				fmt.Fprintf(e.stderr, "arplab: %s: %d %s line(s) beside the trace not drawn (render them from their own file)\n",
					args[0], len(saved.docs), saved.docs[0].Kind)
			}
			traces := splitTraces(evs)
			if pick > len(traces) || pick < 0 {
				return usagef("--trace %d: %s holds %d trace(s)", pick, args[0], len(traces))
			}
			verified := saved.verify
			perTrace := len(verified) == len(traces) // verify writes its result after each scenario's trace
			if pick > 0 {
				traces = traces[pick-1 : pick]
				if perTrace {
					verified = verified[pick-1 : pick]
				}
			}
			if html != "" {
				if len(traces) > 1 {
					return usagef("%s holds %d traces (%s); --html draws one: pick it with --trace N", args[0], len(traces), traceNames(traces))
				}
				return writeFile(html, func(w io.Writer) error {
					return report.HTML(w, traces[0], report.HTMLOptions{Title: args[0], From: fp, To: tp, Fixes: reportFixes(saved.fixes)})
				})
			}
			color := colorFor(e.stdout)
			for i, tr := range traces {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				if err := report.Timeline(e.stdout, tr, report.TextOptions{Width: width, Color: color, From: fp, To: tp}); err != nil {
					return usagef("%v", err)
				}
				if perTrace {
					writeVerifyResults(e.stdout, verified[i:i+1])
				}
			}
			writeFixesText(e.stdout, saved.fixes)
			if !perTrace {
				writeVerifyResults(e.stdout, verified)
			}
			return nil
		},
	}
	c.Flags().StringVar(&html, "html", "", "write an HTML page to this file instead of text")
	c.Flags().Float64Var(&from, "from", 0, "start at this second (counted from the start of the trace)")
	c.Flags().Float64Var(&to, "to", 0, "end at this second")
	c.Flags().IntVar(&width, "width", 100, "text width in columns")
	c.Flags().IntVar(&pick, "trace", 0, "draw only the Nth trace of a file that holds several (verify of many scenarios); 0: every one as text")
	return c
}

// savedOutput is what render takes from the output lines of a --json file.
type savedOutput struct {
	fixes      []sim.Row
	matrix     []sim.Row
	montecarlo []monteCarloLine
	// verify are the verify_result lines, one per scenario.
	verify []verifyLine
	// docs are whole outputs with nothing to draw on a timeline: doctor,
	// advise and profiles --json, printed as their commands print them.
	docs []trace.OutputLine
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
		case trace.OutputVerifyResult:
			var v verifyLine
			if err := json.Unmarshal(l.Raw, &v); err != nil {
				return out, fmt.Errorf("%s:%d: verify result: %v", name, l.Line, err)
			}
			out.verify = append(out.verify, v)
		case trace.OutputDoctor, trace.OutputAdvise, trace.OutputProfiles, trace.OutputProfile, trace.OutputProfileComparison:
			out.docs = append(out.docs, l)
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

// maxDocument bounds a --json output read whole (advise's indented
// document); traces are read line by line and have no such bound.
const maxDocument = 64 << 20

// readDocument reads name as one indented JSON document (advise --json)
// when its first line is not a JSON value by itself but the whole file
// is an arplab output of a known kind. ok is false for anything else,
// which the line reader then reads (and names the bad line of).
func readDocument(name string) (trace.OutputLine, bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return trace.OutputLine{}, false, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	first, err := r.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return trace.OutputLine{}, false, fmt.Errorf("%s: %v", name, err)
	}
	t := bytes.TrimSpace(first)
	if len(t) == 0 || t[0] != '{' || json.Valid(t) {
		return trace.OutputLine{}, false, nil
	}
	rest, err := io.ReadAll(io.LimitReader(r, maxDocument))
	if err != nil {
		return trace.OutputLine{}, false, fmt.Errorf("%s: %v", name, err)
	}
	whole := append(first, rest...)
	if !json.Valid(whole) {
		return trace.OutputLine{}, false, nil
	}
	var k struct {
		Kind trace.Kind `json:"kind"`
	}
	if json.Unmarshal(whole, &k) != nil || !trace.IsOutputKind(k.Kind) {
		return trace.OutputLine{}, false, nil
	}
	return trace.OutputLine{Kind: k.Kind, Line: 1, Raw: whole}, true, nil
}

// renderDocuments prints saved doctor, advise and profiles outputs as
// their commands print them (advise also as its HTML page).
func renderDocuments(e *env, name string, docs []trace.OutputLine, html string) error {
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		if html != "" && d.Kind != trace.OutputAdvise {
			return usagef("%s: a %s output has no HTML page (render --html draws traces, matrix rows and advise results); render it as text", name, d.Kind)
		}
		var err error
		switch d.Kind {
		case trace.OutputDoctor:
			err = decodeThen(d, func(v struct {
				Report doctor.Report   `json:"report"`
				Advice []doctor.Advice `json:"advice"`
			}) error {
				writeDoctorText(e.stdout, v.Report, v.Advice)
				return nil
			})
		case trace.OutputAdvise:
			err = decodeThen(d, func(r advise.Result) error {
				if r.Fleet == nil || r.Announcer == nil {
					return fmt.Errorf("not a whole advise result (no fleet or no announcer)")
				}
				if html != "" {
					return writeFile(html, r.HTML)
				}
				return r.Text(e.stdout)
			})
		case trace.OutputProfiles:
			err = decodeThen(d, func(v struct {
				Profiles []kernel.Profile `json:"profiles"`
				Patches  []kernel.Patch   `json:"patches"`
			}) error {
				return writeCatalogText(e.stdout, v.Profiles, v.Patches)
			})
		case trace.OutputProfile:
			err = decodeThen(d, func(v profileJSON) error { return writeProfileText(e.stdout, v) })
		case trace.OutputProfileComparison:
			err = decodeThen(d, func(v comparisonJSON) error { return writeComparisonText(e.stdout, v) })
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %w", name, d.Line, d.Kind, err)
		}
	}
	return nil
}

// decodeThen decodes a saved output into a T and hands it to f.
func decodeThen[T any](d trace.OutputLine, f func(T) error) error {
	var v T
	if err := json.Unmarshal(d.Raw, &v); err != nil {
		return err
	}
	return f(v)
}

// splitTraces cuts a file's events at each header: verify of several
// scenarios (the whole suite by default) writes one trace per scenario,
// and drawn as one they would mix entries, checks and times.
func splitTraces(evs []trace.Event) [][]trace.Event {
	var out [][]trace.Event
	start := 0
	for i, ev := range evs {
		if ev.Kind == trace.KindHeader && i > start {
			out = append(out, evs[start:i])
			start = i
		}
	}
	return append(out, evs[start:])
}

// traceNames lists the traces of a file by scenario (or source), numbered
// as --trace counts them.
func traceNames(traces [][]trace.Event) string {
	var names []string
	for i, tr := range traces {
		n := tr[0].Attrs["scenario"]
		if n == "" {
			n = tr[0].Source
		}
		names = append(names, fmt.Sprintf("%d %s", i+1, n))
	}
	if len(names) > 6 {
		names = append(names[:6], fmt.Sprintf("… %d more", len(names)-6))
	}
	return strings.Join(names, ", ")
}

// verifyLine is what render shows of a verify_result line.
type verifyLine struct {
	Scenario string            `json:"scenario"`
	Agree    bool              `json:"agree"`
	Diffs    []json.RawMessage `json:"diffs"`
}

// writeVerifyResults prints each verified scenario's agreement, as verify
// ends each scenario.
func writeVerifyResults(w io.Writer, vs []verifyLine) {
	if len(vs) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, v := range vs {
		if v.Agree {
			fmt.Fprintf(w, "verify %s: the model and the kernel agree\n", v.Scenario)
		} else {
			fmt.Fprintf(w, "verify %s: DISAGREE (%d difference(s); verify prints them)\n", v.Scenario, len(v.Diffs))
		}
	}
}
