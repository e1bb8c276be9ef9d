package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	out, errs, code := run(t, "--version")
	if code != ExitOK || !strings.HasPrefix(out, "arplab ") || !strings.Contains(out, "go1.") {
		t.Fatalf("--version: exit %d %q %q", code, out, errs)
	}
}

// TestCompletionOffersNames: shell completion (cobra's __complete, which
// the scripts from `arplab completion bash` call) offers scenario, profile,
// patch and preset names where the command takes them.
func TestCompletionOffersNames(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "run", "vip"}, []string{"vip-failover"}},
		{[]string{"__complete", "matrix", ""}, []string{"failure", "moving-window"}},
		{[]string{"__complete", "run", "failure", "--profile", "rhel"}, []string{"rhel7.3", "rhel7.8"}},
		{[]string{"__complete", "run", "--patch", "+times"}, []string{"+timestamps-on-change"}},
		{[]string{"__complete", "run", "--set", "preset=ne"}, []string{"preset=neutron"}},
		{[]string{"__complete", "garp", "eth0", "192.0.2.1", "--preset", "keep"}, []string{"keepalived"}},
		{[]string{"__complete", "profiles", "6."}, []string{"6.18"}},
		{[]string{"__complete", "profiles", "rhel7.3", "4.1"}, []string{"4.12"}},
		{[]string{"__complete", "scenarios", "--show", "gc"}, []string{"gc-thresh1"}},
		{[]string{"__complete", "verify", "admin"}, []string{"admin-neigh-commands"}},
		{[]string{"__complete", "verify", "arp-accept-1-creates", "vip"}, []string{"vip-failover"}},
		{[]string{"__complete", "lab", "arp-accept-"}, []string{"arp-accept-1-creates"}},
		{[]string{"__complete", "advise", "--announcer", "k"}, []string{"keepalived", "kube-vip"}},
		{[]string{"__complete", "advise", "--fleet", "rhel7.3,6.1"}, []string{"rhel7.3,6.18"}},
	} {
		out, errs, code := run(t, c.args...)
		if code != ExitOK {
			t.Errorf("%v: exit %d %s", c.args, code, errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: completion lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	if out, _, code := run(t, "completion", "bash"); code != ExitOK || !strings.Contains(out, "__arplab") {
		t.Errorf("completion bash: exit %d", code)
	}
}

// TestProfilesCompare: `profiles A B` lists the two kernels patch by
// patch and names what differs.
func TestProfilesCompare(t *testing.T) {
	out, errs, code := run(t, "profiles", "rhel7.3", "rhel7.8")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"rhel7.3 (", "vs rhel7.8", "PATCH", "timestamps-on-change", "←", "flags that differ"} {
		if !strings.Contains(out, w) {
			t.Errorf("comparison lacks %q:\n%s", w, out)
		}
	}
	if _, errs, code := run(t, "profiles", "rhel7.3", "rhle7.3"); code != ExitUsage || !strings.Contains(errs, `did you mean "rhel7.3"?`) {
		t.Errorf("unknown profile: exit %d %q", code, errs)
	}
	out, _, _ = run(t, "profiles", "rhel7.3", "4.12", "--json")
	if !strings.Contains(out, `"patches":[`) || !strings.Contains(out, `"a":"rhel7.3"`) {
		t.Errorf("--json comparison: %s", out)
	}
}

func TestScenariosHelp(t *testing.T) {
	out, _, _ := run(t, "scenarios", "--help")
	for _, w := range []string{"--show NAME prints its YAML", "docs/scenarios.md", "arplab scenarios --show vip-failover"} {
		if !strings.Contains(out, w) {
			t.Errorf("scenarios --help lacks %q", w)
		}
	}
}

// TestExitStatusAsDocumented: the exit status is what run --help, matrix
// --help and docs/scenarios.md say: the expectation, not the verdict, sets
// it; a study exits 0; a matrix row without expect: never exits 3.
func TestExitStatusAsDocumented(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"run", "failure", "--no-fixes"}, ExitExpected},                // FAIL, no check expects it
		{[]string{"run", "vip-failover", "--no-fixes"}, ExitOK},                 // PASS, checks held
		{[]string{"run", "failure", "--profile", "4.12", "--no-fixes"}, ExitOK}, // PASS on a fixed kernel
		{[]string{"run", "failure", "--runs", "5"}, ExitOK},                     // a study
		{[]string{"matrix", "moving-window", "--scenario-rows"}, ExitOK},
		{[]string{"run", "failure", "--profile", "nosuch"}, ExitUsage},
	} {
		if _, errs, code := run(t, c.args...); code != c.want {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.want, errs)
		}
	}
	for _, cmd := range []string{"run", "matrix"} {
		out, _, _ := run(t, cmd, "--help")
		if !strings.Contains(out, "exit") {
			t.Errorf("%s --help does not say what sets the exit status", cmd)
		}
	}
}

// TestFixLabelsSayTheKernelTheyRanOn: when the command line changes the
// scenario's kernel, a fix labelled for the file's kernel says the kernel
// it was tried on, in the text and in the JSON; without such a flag the
// labels are the file's own.
func TestFixLabelsSayTheKernelTheyRanOn(t *testing.T) {
	out, _, _ := run(t, "run", "failure", "--profile", "4.9")
	for _, want := range []string{
		"✓ rhel7.3 + timestamps-on-change (77d7123342dc) (on 4.9+timestamps-on-change)",
		"Neutron workaround: 3 rounds of -U and -A, 2 s apart (on 4.9)",
		"✓ kernel 4.12 (GARP fixes + confirmation fix) — stale",
		"✓ RHEL 7.8 (back-ported fixes) — stale",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run failure --profile 4.9 lacks %q:\n%s", want, out)
		}
	}
	js, _, _ := run(t, "run", "failure", "--set", "profile=4.9", "--json")
	if !strings.Contains(js, `"label":"rhel7.3 + timestamps-on-change (77d7123342dc) (on 4.9+timestamps-on-change)"`) {
		t.Errorf("the JSON fixes of --set profile=4.9 do not say the kernel")
	}
	out, _, _ = run(t, "run", "failure")
	if strings.Contains(out, "(on ") {
		t.Errorf("the file's own kernel: labels changed:\n%s", out)
	}
	// the file's own matrix rows likewise; the generated rows already
	// start from the kernel as run
	out, _, _ = run(t, "matrix", "failure", "--profile", "5.4", "--scenario-rows")
	if !strings.Contains(out, "timestamps-on-change alone (on 5.4)") || !strings.Contains(out, "Neutron workaround on RHEL 7.3 (on 5.4)") {
		t.Errorf("matrix --profile 5.4: the file's rows do not say the kernel:\n%s", out)
	}
	out, _, _ = run(t, "matrix", "failure", "--scenario-rows")
	if strings.Contains(out, "(on ") {
		t.Errorf("matrix on the file's own kernel: labels changed:\n%s", out)
	}
}

// TestMatrixRowExpectationsNotJudgedOnAChangedScenario: a matrix row's
// expect: was written for the scenario as its file has it. Under
// --profile, --patch or --set the row runs on another scenario, so its
// expectation is shown "not judged" (text, JSON, render) and does not
// exit 3; without those flags (--seed included) it is still judged.
func TestMatrixRowExpectationsNotJudgedOnAChangedScenario(t *testing.T) {
	out, errs, code := run(t, "matrix", "failure", "--scenario-rows", "--profile", "4.12")
	if code != ExitOK || strings.Contains(out, "✗ MISMATCH") {
		t.Errorf("matrix failure --profile 4.12: exit %d, want 0 and no MISMATCH (the seed's first try heals on 4.12: its expect: failed is for rhel7.3): %s\n%s", code, errs, out)
	}
	for _, want := range []string{
		"(the seed's first try) (on 4.12)  PASS",
		"failed, not judged",
		`not judged: the "expect:" of the scenario's own rows was written for the scenario as its file has it (rhel7.3); --profile 4.12 changed it.`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix failure --profile 4.12 lacks %q:\n%s", want, out)
		}
	}
	js, _, code := run(t, "matrix", "failure", "--scenario-rows", "--profile", "4.12", "--json")
	if code != ExitOK || !strings.Contains(js, `"expect":"failed"},`) ||
		!strings.Contains(js, `"match":true,"expect_not_judged":"written for the scenario as its file has it (rhel7.3); --profile 4.12 changed it"`) {
		t.Errorf("matrix --json: exit %d, the row does not say its expectation was not judged:\n%s", code, js)
	}
	p := filepath.Join(t.TempDir(), "m.jsonl")
	if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := run(t, "render", p); code != ExitOK || !strings.Contains(out, "failed, not judged") || strings.Contains(out, "✗ MISMATCH") {
		t.Errorf("render of the saved rows: exit %d %s\n%s", code, errs, out)
	}

	// a file whose row expects the wrong outcome on its own kernel: judged
	// (exit 3) as written and under --seed; not judged under --set
	yaml, _, _ := run(t, "scenarios", "--show", "failure")
	wrong := strings.Replace(yaml, `{label: "timestamps-on-change alone", patches: [+timestamps-on-change], expect: ok}`,
		`{label: "timestamps-on-change alone", patches: [+timestamps-on-change], expect: failed}`, 1)
	if wrong == yaml {
		t.Fatal("the failure scenario no longer has the row this test edits")
	}
	f := filepath.Join(t.TempDir(), "wrong.yaml")
	if err := os.WriteFile(f, []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, ExitExpected},
		{[]string{"--seed", "1"}, ExitExpected},
		{[]string{"--set", "arp_accept=0"}, ExitOK},
	} {
		out, errs, code := run(t, append([]string{"matrix", f, "--scenario-rows"}, c.args...)...)
		if code != c.want || (c.want == ExitExpected) != strings.Contains(out, "failed ✗ MISMATCH") {
			t.Errorf("matrix wrong.yaml %v: exit %d, want %d: %s\n%s", c.args, code, c.want, errs, out)
		}
	}
}
