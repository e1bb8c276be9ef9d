package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdviseNeutronJSON: the Neutron case through the CLI: one JSON
// document with snake_case keys, the legacy pattern's failure on rhel7.3
// explained, send_arp_for_ha for the fixed pattern, and an HTML chart.
func TestAdviseNeutronJSON(t *testing.T) {
	html := filepath.Join(t.TempDir(), "advise.html")
	out, errs, code := run(t, "advise", "--fleet", "rhel7.3,6.18", "--announcer", "neutron", "--max-failure", "0.01", "--json", "--html", html)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON document: %v", err)
	}
	for _, k := range []string{"fleet", "announcer", "target", "recommendation", "frontier", "defaults", "config", "search"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	rec := doc["recommendation"].(map[string]any)
	if _, ok := rec["settings"].(map[string]any)["send_arp_for_ha"]; !ok {
		t.Errorf("recommendation settings: %v", rec["settings"])
	}
	for _, g := range rec["groups"].([]any) {
		gm := g.(map[string]any)
		if gm["ci95_high"].(float64) > 0.01 {
			t.Errorf("group %v: interval upper bound %v above 0.01", gm["group"], gm["ci95_high"])
		}
	}
	if !strings.Contains(out, `"why": "kept the old MAC`) || !strings.Contains(out, "not recognised as gratuitous on rhel7.3") {
		t.Error("the legacy pattern's failure on rhel7.3 is not explained")
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "worst-group p99 convergence") {
		t.Error("the HTML report has no frontier chart")
	}
}

func TestAdviseUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"advise"}, "needs --fleet and --announcer", ExitUsage},
		{[]string{"advise", "--fleet", "rhel7.3,linux-next", "--announcer", "keepalived"}, `unknown kernel profile "linux-next"`, ExitUsage},
		{[]string{"advise", "--fleet", "6.18", "--announcer", "vrrpd"}, `unknown announcer "vrrpd"`, ExitUsage},
		{[]string{"advise", "--fleet", "6.18", "--announcer", "keepalived", "--max-failure", "2"}, "--max-failure 2", ExitUsage},
		{[]string{"advise", "--fleet", "6.18", "--announcer", "keepalived", "--max-stale", "soon"}, "--max-stale", ExitUsage},
		{[]string{"advise", "--fleet", "6.18", "--announcer", "keepalived", "--max-stale", "0s"}, "--max-stale 0s: want 100ms..300s", ExitUsage},
		{[]string{"advise", "--fleet", "6.18", "--announcer", "keepalived", "--workers", "-1"}, "--workers -1", ExitUsage},
		{[]string{"advise", "--fleet", "rhel7.3", "--announcer", "cilium", "--max-failure", "0.05"}, "no setting of cilium", ExitExpected},
	} {
		_, errs, code := run(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestAdviseFleetFileTypeError: a fleet file with a value of the wrong
// kind, or a sysctl its group's kernel does not have (which failed the run
// with exit 1 and no file or line before), is a usage error (exit 2) told
// in one line that names the file, the line, the group and the key, as a
// bad scenario is.
func TestAdviseFleetFileTypeError(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"groups:\n  - {name: web, profile: '6.18'}\n  - name: tempest\n    profile: rhel7.3\n    entries: many\n",
			`:5: group 2 (tempest): entries: "many" is not a whole number`},
		{"groups:\n  - name: old\n    profile: '4.4'\n    sysctls: {arp_evict_nocarrier: '1'}\n",
			`:4: group 1 (old): sysctls: arp_evict_nocarrier: conf/all/arp_evict_nocarrier does not exist on 4.4`},
	} {
		file := filepath.Join(t.TempDir(), "fleet.yaml")
		if err := os.WriteFile(file, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs, code := run(t, "advise", "--fleet", file, "--announcer", "keepalived")
		if want := file + c.want; code != ExitUsage || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("exit %d, stderr %q; want exit %d and one line with %q", code, errs, ExitUsage, want)
		}
	}
}
