// Package cli is arplab's command line: one file per subcommand, each a
// thin layer that parses flags, calls the package that does the work and
// renders its result as text, JSON or HTML.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"arplab/internal/report"
	"arplab/internal/scenario"
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

// Exit codes of a command stopped by a signal: 128 + the signal's number.
const (
	ExitSIGINT  = 130
	ExitSIGTERM = 143
)

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct {
	name string
	code int
}

func (i interrupted) Error() string { return "interrupted by " + i.name }

// Interrupted is the cancel cause main gives the context when sig arrives
// (context.WithCancelCause): Run then stops the command and returns
// 128 + the signal's number.
func Interrupted(sig os.Signal) error {
	switch sig {
	case syscall.SIGTERM:
		return interrupted{"SIGTERM", ExitSIGTERM}
	case os.Interrupt:
		return interrupted{"SIGINT", ExitSIGINT}
	}
	if n, ok := sig.(syscall.Signal); ok {
		return interrupted{sig.String(), 128 + int(n)}
	}
	return interrupted{sig.String(), ExitSIGINT}
}

// exitCode prints err (if any) and says how the process ends: signals
// first (a command stopped by Ctrl-C says so and exits 130 even when it
// printed a partial result), then the error's kind.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if ctx.Err() != nil {
		in := interrupted{"a cancelled context", ExitSIGINT}
		errors.As(context.Cause(ctx), &in)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(stderr, "arplab:", err)
		}
		fmt.Fprintln(stderr, "arplab:", in.Error())
		return in.code
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "arplab:", err)
	var u usageError
	var x expectError
	switch {
	case errors.As(err, &u) || errors.Is(err, scenario.ErrInvalid) ||
		strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "accepts "):
		return ExitUsage
	case errors.As(err, &x):
		return ExitExpected
	}
	return ExitError
}

var flagValueRE = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?--([\w-]+)" flag: (.*)$`)

// flagError rewrites pflag's value errors ("invalid argument "-1" for
// "--seed" flag: strconv.ParseUint: parsing "-1": invalid syntax") in the
// user's words, naming the flag and what it takes.
func flagError(cmd *cobra.Command, err error) error {
	m := flagValueRE.FindStringSubmatch(err.Error())
	if m == nil {
		return usageError{err}
	}
	want := "another kind of value"
	if f := cmd.Flags().Lookup(m[2]); f != nil {
		switch t := f.Value.Type(); {
		case strings.HasPrefix(t, "uint"):
			want = "a whole number, 0 or more"
		case strings.HasPrefix(t, "int"):
			want = "a whole number"
		case strings.HasPrefix(t, "float"):
			want = "a number"
		case t == "bool":
			want = "true or false"
		case t == "duration":
			want = "a duration (e.g. 1.5s, 200ms)"
		}
	}
	why := ""
	if strings.HasSuffix(m[3], "value out of range") {
		why = " (too large)"
	}
	return usagef("--%s %q: want %s%s", m[2], m[1], want, why)
}

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
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(runCmd(e), matrixCmd(e), scenariosCmd(e), profilesCmd(e), renderCmd(e),
		replayCmd(e), garpCmd(e), watchCmd(e), doctorCmd(e), labCmd(e), verifyCmd(e))
	root.AddCommand(adviseCmd(e))
	root.Version = version()
	root.SetVersionTemplate("arplab {{.Version}}\n")
	registerCompletions(root)
	return exitCode(ctx, root.ExecuteContext(ctx), stderr)
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

// ExitCodeOf is the exit code for a cause made by Interrupted.
func ExitCodeOf(cause error) int {
	in := interrupted{code: ExitSIGINT}
	errors.As(cause, &in)
	return in.code
}
