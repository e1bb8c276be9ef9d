package cli

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"arplab/internal/report"
	"arplab/internal/trace"
)

func renderCmd(e *env) *cobra.Command {
	var html string
	var from, to float64
	var width int
	c := &cobra.Command{
		Use:   "render TRACE.jsonl",
		Short: "draw a saved trace (from run, lab, verify, replay or watch --json)",
		Long: `Read a trace saved as JSON lines and draw it: as a text timeline on
stdout, or with --html as one self-contained HTML file.

Example:
  arplab run failure --json > failure.jsonl
  arplab render failure.jsonl --html failure.html --from 9 --to 20`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			evs, err := trace.Read(f, args[0])
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
			if html != "" {
				return writeFile(html, func(w io.Writer) error {
					return report.HTML(w, evs, report.HTMLOptions{Title: args[0], From: fp, To: tp})
				})
			}
			color := colorFor(e.stdout)
			if err := report.Timeline(e.stdout, evs, report.TextOptions{Width: width, Color: color, From: fp, To: tp}); err != nil {
				return usagef("%v", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&html, "html", "", "write an HTML timeline to this file instead of text")
	c.Flags().Float64Var(&from, "from", 0, "start at this second")
	c.Flags().Float64Var(&to, "to", 0, "end at this second")
	c.Flags().IntVar(&width, "width", 100, "text width in columns")
	return c
}
