package verify

import (
	"strings"
	"testing"

	"arplab/internal/kernel"
	verifysuite "arplab/scenarios/verify"
)

// TestLacks: the kernels CI boots (6.1, 6.12) and the running one (6.18)
// have every sysctl the suite sets, so nothing is skipped there; an older
// kernel skips exactly the scenarios whose sysctls it lacks, with the patch
// and its release in the reason.
func TestLacks(t *testing.T) {
	lacking := func(profile string) map[string]string {
		p, err := kernel.Lookup(profile)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, n := range Suite() {
			s, err := verifysuite.Load(n)
			if err != nil {
				t.Fatal(err)
			}
			if why := Lacks(s, p); len(why) > 0 {
				got[n] = strings.Join(why, "; ")
			}
		}
		return got
	}
	for _, p := range []string{"6.1", "6.12", "6.18", "6.1.0-57-amd64", "6.12.118+deb12-amd64"} {
		if got := lacking(p); len(got) > 0 {
			t.Errorf("profile %s skips %v; the suite must run whole there", p, got)
		}
	}
	old := lacking("5.10")
	for name, want := range map[string]string{
		"arp-accept-2-subnet":    "conf.eth0.arp_accept=2 needs arp-accept-subnet (6.0), which profile 5.10 lacks",
		"nd-untracked-na-host":   "needs accept-untracked-na (5.19)",
		"nd-untracked-na-subnet": "needs accept-untracked-na-subnet (6.0)",
	} {
		if !strings.Contains(old[name], want) {
			t.Errorf("5.10: %s skipped for %q, want %q", name, old[name], want)
		}
	}
	for _, n := range []string{"arp-accept-1-creates", "garp-request-in-locktime", "drop-gratuitous-arp"} {
		if why, ok := old[n]; ok {
			t.Errorf("5.10 has what %s sets, but it is skipped: %s", n, why)
		}
	}
	if why := lacking("rhel7.3")["drop-gratuitous-arp"]; !strings.Contains(why, "drop-gratuitous-arp (4.6)") {
		t.Errorf("rhel7.3: drop-gratuitous-arp skipped for %q", why)
	}
}
