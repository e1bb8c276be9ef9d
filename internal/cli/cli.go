// Package cli is arplab's command line: one file per subcommand, each a
// thin layer that parses flags, calls the package that does the work and
// renders its result as text, JSON or HTML.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"arplab/internal/report"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitError    = 1 // the command could not do its job
	ExitUsage    = 2 // bad flags or arguments
	ExitExpected = 3 // a scenario check or a verification failed
)

// usageError marks errors the user can fix by changing the command line.
type usageError struct{ error }

// expectError marks a run that worked but whose expectations failed.
type expectError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// env carries the streams every subcommand writes to.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
}

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "arplab",
		Short: "predict, explain and verify what Linux ARP caches do with gratuitous ARP",
		Long: `arplab models the Linux IPv4 neighbour table kernel by kernel, simulates
failovers of floating IPs and VIPs, replays captures through the model,
checks the model against the running kernel, and sends and watches GARP
on real interfaces.

With no command it runs the built-in "failure" scenario: the OpenStack
gate failure where a RHEL 7.3 host ignored three GARP replies and kept a
floating IP's old MAC.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRun(e, &runArgs{}, nil)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(runCmd(e), matrixCmd(e), scenariosCmd(e), profilesCmd(e), renderCmd(e),
		replayCmd(e), garpCmd(e), watchCmd(e), doctorCmd(e), labCmd(e), verifyCmd(e))
	root.AddCommand(adviseCmd(e))
	root.Version = version()
	root.SetVersionTemplate("arplab {{.Version}}\n")
	registerCompletions(root)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "arplab:", err)
	var u usageError
	var x expectError
	switch {
	case errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "accepts "):
		return ExitUsage
	case errors.As(err, &x):
		return ExitExpected
	}
	return ExitError
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && f.Name() != os.DevNull
}

// colorFor reports whether text for w may use ANSI colour: a terminal and
// NO_COLOR unset (report.ColorWanted).
func colorFor(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && report.ColorWanted(f)
}

// writeFile creates path and calls fn with it, reporting errors with the path.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %v", path, err)
	}
	return f.Close()
}
