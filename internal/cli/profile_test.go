package cli

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"arplab/internal/kernel"
)

// A `uname -r` string picks the profile and the run says which and why.
func TestRunProfileFromUname(t *testing.T) {
	out, errs, code := run(t, "run", "failure", "--profile", "5.14.0-427.13.1.el9_4.x86_64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "tempest: rhel9") {
		t.Errorf("header does not name rhel9:\n%s", out)
	}
	if !strings.Contains(errs, "→ profile rhel9: 5.14.0-427.13.1.el9_4.x86_64 is a RHEL 9 kernel") {
		t.Errorf("no note on stderr: %q", errs)
	}
	_, errs, code = run(t, "run", "failure", "--profile", "rhle9")
	if code != ExitUsage || !strings.Contains(errs, `did you mean "rhel9"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestProfilesShowsEvidence(t *testing.T) {
	out, _, code := run(t, "profiles", "rhel8")
	for _, want := range []string{"confirm-on-arp           absent", "[V-src] every RHEL 8 kernel scanned", "gc-list                  present since 4.18.0-477.10.1", "unknown:", "8.2 (193)"} {
		if !strings.Contains(out, want) {
			t.Errorf("profiles rhel8 lacks %q (exit %d)", want, code)
		}
	}
	out, _, _ = run(t, "profiles", "4.18")
	if !strings.Contains(out, "confirm-on-arp: unknown (modelled as absent)") {
		t.Errorf("profiles 4.18 does not say confirm-on-arp is unknown:\n%s", out)
	}
	out, _, _ = run(t, "profiles")
	if !strings.Contains(out, "Debian 12 bookworm") || !strings.Contains(out, "(documented only: not modelled)") {
		t.Errorf("profiles list lacks the covers table or documented-only marks")
	}
	// the list gives every distribution and LTS profile's evidence, by tag
	for _, name := range []string{"4.18", "rhel8", "5.10", "5.14", "rhel9", "5.15", "6.1", "6.6", "6.8", "6.12"} {
		p, err := kernel.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +(\d+) rows: (.*V-src \d+|.*D \d+).*  ` + regexp.QuoteMeta(p.Source) + `$`).FindStringSubmatch(out)
		if row == nil || row[1] != strconv.Itoa(len(p.Evidence)) {
			t.Errorf("profiles list: no evidence row for %s with %d rows read from %q:\n%s", name, len(p.Evidence), p.Source, out)
		}
	}
	if !strings.Contains(out, "4.18 ") || !regexp.MustCompile(`(?m)^4\.18 .*; 1 unknown`).MatchString(out) {
		t.Error("profiles list does not count 4.18's unknown confirm-on-arp")
	}
}
