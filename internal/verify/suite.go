package verify

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"arplab/internal/scenario"
	verifysuite "arplab/scenarios/verify"
)

// Suite lists the scenarios `arplab verify` runs when given none: the
// files of scenarios/verify, embedded in the binary.
func Suite() []string { return verifysuite.Names() }

// LoadScenario resolves what a user typed after `arplab verify`: a suite
// scenario's name, a built-in scenario's name, or a path to a YAML file.
func LoadScenario(nameOrFile string) (*scenario.Scenario, error) {
	if _, err := os.Stat(nameOrFile); err == nil && strings.HasSuffix(nameOrFile, ".yaml") {
		return scenario.Load(nameOrFile)
	}
	for _, n := range verifysuite.Names() {
		if n == nameOrFile {
			return verifysuite.Load(n)
		}
	}
	s, err := scenario.Load(nameOrFile)
	if err != nil {
		return nil, fmt.Errorf("%w (verify suite: %s)", err, strings.Join(verifysuite.Names(), ", "))
	}
	return s, nil
}

// WriteSummary prints one line per result and a total: what `arplab
// verify` ends with after the per-scenario reports.
func WriteSummary(w io.Writer, results []*Result, elapsed time.Duration) error {
	var b strings.Builder
	passed := 0
	for _, r := range results {
		status := "ok"
		switch {
		case !r.Agree:
			status = fmt.Sprintf("DISAGREE (%d)", r.Disagreements)
		case !r.Passed():
			status = "CHECK FAILED"
		default:
			passed++
		}
		closest := ""
		var best time.Duration = -1
		for _, m := range r.Margins {
			if (m.Kind == MarginLocktime || m.Kind == MarginCheckpoint) && (best < 0 || m.D < best) {
				best = m.D
				closest = fmt.Sprintf("closest: %s %v", m.Kind, m.D.Round(time.Millisecond))
			}
		}
		fmt.Fprintf(&b, "%-36s %-14s frames %3d/%-3d entries %4d/%-4d %s\n", r.Scenario, status,
			r.Stats.VerdictsAgree, r.Stats.Verdicts, r.Stats.EntriesAgree, r.Stats.Entries, closest)
	}
	fmt.Fprintf(&b, "%d of %d scenarios: kernel and model agree and every check holds", passed, len(results))
	if elapsed > 0 {
		fmt.Fprintf(&b, " (%v)", elapsed.Round(time.Second))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
