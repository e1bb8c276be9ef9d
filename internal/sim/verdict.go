package sim

import (
	"fmt"
	"strings"
)

// Verdict is the one-sentence answer of a run: which flows failed, for how
// long an entry kept a dead MAC, and the mechanisms that kept it there. It
// starts with PASS (every flow survived) or FAIL; whether the scenario
// expected that is Expectation's business, not the verdict's.
func Verdict(r *Result) string {
	var failed []FlowOutcome
	for _, f := range r.Flows {
		if !f.OK {
			failed = append(failed, f)
		}
	}
	var worst *StaleSpan
	for i := range r.Stale {
		if worst == nil || r.Stale[i].Seconds() > worst.Seconds() {
			worst = &r.Stale[i]
		}
	}
	var b strings.Builder
	if len(failed) == 0 {
		b.WriteString("PASS: every flow succeeded")
		if len(r.Flows) == 0 {
			b.WriteString(" (the scenario has none)")
		}
		if worst != nil {
			fmt.Fprintf(&b, "; %s's entry for %s was stale for %.1f s", worst.Host, worst.IP, worst.Seconds())
			if worst.Healed {
				b.WriteString(" (" + healedBy(worst) + ")")
			} else {
				b.WriteString(" (still stale at the end of the run)")
			}
		}
		return b.String()
	}
	names := make([]string, len(failed))
	for i, f := range failed {
		names[i] = f.Name
	}
	fmt.Fprintf(&b, "FAIL: %s to %s failed (%s)", strings.Join(names, ", "), failed[0].To, failed[0].Why)
	if worst != nil {
		fmt.Fprintf(&b, ": %s kept %s → %s for %.0f s", worst.Host, worst.IP, worst.OldMAC, worst.Seconds())
		if !worst.Healed {
			b.WriteString(" (never healed)")
		}
		var why []string
		if worst.GARPIgnored > 0 && worst.GARPHonoured == 0 {
			if isIPv6(worst.IP) {
				why = append(why, fmt.Sprintf("all %d unsolicited NAs were ignored (%s)", worst.GARPIgnored, naCause(worst)))
			} else {
				why = append(why, fmt.Sprintf("all %d GARPs were ignored (%s)", worst.GARPIgnored, garpCause(worst)))
			}
		}
		if worst.FalseConfirms > 0 {
			why = append(why, fmt.Sprintf("%d confirmations from other flows' TCP ACKs through the shared route kept it out of PROBE", worst.FalseConfirms))
		} else if worst.Probes > 0 && !worst.Healed {
			why = append(why, fmt.Sprintf("its %d probes went to the dead MAC", worst.Probes))
		}
		if len(why) > 0 {
			b.WriteString(": " + strings.Join(why, ", and "))
		}
	}
	return b.String()
}

// Expectation says whether the run met the scenario's expectations (the
// Result's OK, which sets the exit code): "met: …" or "not met: …" with the
// first check that did not hold or the first flow that failed without a
// check expecting it to.
func Expectation(r *Result) string {
	for _, c := range r.Checks {
		if !c.OK {
			return fmt.Sprintf("not met: check at line %d: %s: want %s, got %s", c.Line, c.What, strings.TrimSpace(c.Want), c.Got)
		}
	}
	expected := map[string]bool{}
	for _, n := range r.ExpectedFailures {
		expected[n] = true
	}
	for _, f := range r.Flows {
		if !f.OK && !expected[f.Name] {
			return fmt.Sprintf("not met: flow %s failed and no check expects it to", f.Name)
		}
	}
	switch n := len(r.Checks); n {
	case 0:
		return "met: every flow succeeded (the scenario has no checks)"
	case 1:
		return "met: the scenario's check held"
	default:
		return fmt.Sprintf("met: all %d of the scenario's checks held", n)
	}
}

func garpCause(s *StaleSpan) string {
	e := s.FirstIgnored
	switch {
	case strings.Contains(e, "replies never are"):
		return "inside the locktime window, which ignored updates keep sliding; replies are never treated as gratuitous on this kernel"
	case strings.Contains(e, "bumps it even on ignored"):
		return "inside the locktime window, which ignored updates keep sliding"
	case strings.Contains(e, "tha ≠ sha"):
		return "replies with a broadcast target MAC are not gratuitous on Linux, and they landed inside locktime"
	case strings.Contains(e, "only with arp_accept"):
		return "inside locktime, and GARP override needs arp_accept on this kernel"
	}
	return "inside locktime"
}

// isIPv6 reports whether a span's address is IPv6.
func isIPv6(ip string) bool { return strings.Contains(ip, ":") }

// naCause is garpCause for IPv6 (ndisc §10.3): there is no locktime, so
// an announcement is lost only to the entry's state or the NA's flags.
func naCause(s *StaleSpan) string {
	e := s.FirstIgnored
	switch {
	case strings.Contains(e, "is FAILED"):
		return "the entry was FAILED, and an NA never updates a FAILED entry"
	case strings.Contains(e, "WEAK_OVERRIDE"):
		return "they carried O=0: a REACHABLE entry only turned STALE and kept the old MAC"
	case strings.Contains(e, "without O"):
		return "they carried O=0, and without the override flag an NA cannot change a known entry's MAC"
	}
	return "see the first ignored NA"
}

func healedBy(s *StaleSpan) string {
	switch {
	case s.GARPHonoured > 0 && isIPv6(s.IP):
		return "healed by an unsolicited NA"
	case s.GARPHonoured > 0:
		return "healed by a GARP"
	case s.Probes > 0:
		return "healed after probing"
	}
	return "healed"
}
