package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// TestRenderRoundTripsEveryProducer: what run, run --runs, matrix and
// replay write with --json, render reads back whole (the summary and row
// lines are told apart by kind) and draws: the trace as a timeline with the
// fixes of the summary line, the matrix rows as the matrix table, the Monte
// Carlo line as its sentence, and an HTML page for each trace.
func TestRenderRoundTripsEveryProducer(t *testing.T) {
	dir := t.TempDir()
	save := func(name string, args ...string) string {
		t.Helper()
		out, errs, code := run(t, args...)
		if code != ExitOK && code != ExitExpected {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pcap := filepath.Join(dir, "vip.pcap")
	save("vip.jsonl", "run", "vip-failover", "--json", "--pcap", pcap)
	for _, c := range []struct {
		file string
		args []string
		want []string
		html bool
	}{
		{"failure.jsonl", []string{"run", "failure", "--json"},
			[]string{"ssh-fip to 172.24.4.10 failed", "expectation not met", "What would have fixed it", "✓ kernel 4.12"}, true},
		{"vip.jsonl", nil, []string{"192.168.50.100", "o no-op"}, true},
		{"replay.jsonl", []string{"replay", pcap, "--host", "192.168.50.10", "--json"},
			[]string{"start=2023-11-14T22:13:20", "10 GARPs received, 0"}, true},
		{"matrix.jsonl", []string{"matrix", "failure", "--scenario-rows", "--json"},
			[]string{"configuration", "Neutron workaround on RHEL 7.3", "failed ✓"}, true},
		{"mc.jsonl", []string{"run", "moving-window", "--runs", "3", "--json"},
			[]string{"arplab run moving-window --runs 3", "P(failure)"}, false},
	} {
		p := filepath.Join(dir, c.file)
		if c.args != nil {
			p = save(c.file, c.args...)
		}
		out, errs, code := run(t, "render", p)
		if code != ExitOK {
			t.Errorf("render %s: exit %d: %s", c.file, code, errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("render %s lacks %q:\n%s", c.file, w, out)
			}
		}
		// the absolute start is in the header, once; every time is relative
		if strings.Count(out, "1700000") > 1 {
			t.Errorf("render %s prints absolute capture seconds", c.file)
		}
		if !c.html {
			continue
		}
		h := filepath.Join(dir, c.file+".html")
		if _, errs, code := run(t, "render", p, "--html", h); code != ExitOK {
			t.Errorf("render %s --html: exit %d: %s", c.file, code, errs)
			continue
		}
		b, _ := os.ReadFile(h)
		if len(b) == 0 || len(b) >= 1<<20 {
			t.Errorf("render %s --html: %d bytes", c.file, len(b))
		}
		if c.file == "failure.jsonl" && !strings.Contains(string(b), "What would have fixed it") {
			t.Errorf("the HTML of a saved run lacks its fixes")
		}
	}
	// a line that is neither an event nor an output line is named
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"time":0,"kind":"header"}`+"\n"+`{"Scenario":"x"}`+"\n"), 0o644)
	if _, errs, code := run(t, "render", bad); code == ExitOK || !strings.Contains(errs, "bad.jsonl:2:") {
		t.Errorf("render of a foreign line: exit %d %q", code, errs)
	}
}

// TestBuiltinPagesUnderOneMegabyte: the run page (with its fixes) and the
// full matrix page of every built-in scenario stay under 1 MB.
func TestBuiltinPagesUnderOneMegabyte(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: every built-in's full matrix takes a while")
	}
	dir := t.TempDir()
	for _, name := range scenario.Builtins() {
		for _, cmd := range []string{"run", "matrix"} {
			p := filepath.Join(dir, cmd+"-"+name+".html")
			if _, errs, code := run(t, cmd, name, "--html", p); code != ExitOK && code != ExitExpected {
				t.Fatalf("%s %s: exit %d: %s", cmd, name, code, errs)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() >= 1<<20 {
				t.Errorf("%s %s --html: %d bytes, want under 1 MB", cmd, name, st.Size())
			}
		}
	}
}

// TestRenderRoundTripsLabAndVerify: what lab and verify write with --json
// on the running kernel renders too (root: they build namespaces).
func TestRenderRoundTripsLabAndVerify(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("lab and verify need root (network namespaces); skipping their round trip")
	}
	if testing.Short() {
		t.Skip("-short: skipping the lab runs")
	}
	dir := t.TempDir()
	sch := schemas(t)
	for _, c := range []struct {
		name string
		args []string
		kind map[trace.Kind]string
	}{
		{"lab", []string{"lab", "arp-accept-1-creates", "--json"}, nil},
		{"verify", []string{"verify", "arp-accept-1-creates", "--json"}, map[trace.Kind]string{trace.OutputVerifyResult: "verify-result"}},
	} {
		out, errs, code := run(t, c.args...)
		if code != ExitOK && code != ExitExpected {
			t.Fatalf("%s: exit %d: %s", c.name, code, errs)
		}
		n := validateOutput(t, c.name, out, sch, c.kind)
		if n["trace-event"] == 0 || (c.kind != nil && n["verify-result"] != 1) {
			t.Errorf("%s: lines %v", c.name, n)
		}
		p := filepath.Join(dir, c.name+".jsonl")
		os.WriteFile(p, []byte(out), 0o644)
		txt, errs, code := run(t, "render", p)
		if code != ExitOK || !strings.Contains(txt, "key events") {
			t.Errorf("render %s: exit %d %s\n%s", c.name, code, errs, txt)
		}
		if _, errs, code := run(t, "render", p, "--html", filepath.Join(dir, c.name+".html")); code != ExitOK {
			t.Errorf("render %s --html: exit %d %s", c.name, code, errs)
		}
	}
}

// TestRenderRoundTripsReports: doctor, advise and profiles --json render
// back to exactly what the command prints as text (advise's indented
// document is read whole), advise also as its HTML page; an output with
// no page refuses --html by name.
func TestRenderRoundTripsReports(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"doctor"},
		{"advise", "--fleet", "rhel7.3,6.18", "--announcer", "keepalived"},
		{"advise", "--fleet", "4.19,6.18", "--announcer", "keepalived", "--ipv6"},
		{"profiles"},
		{"profiles", "rhel7.3"},
		{"profiles", "rhel7.3", "4.12"},
	} {
		name := strings.Join(args, "-")
		text, errs, code := run(t, args...)
		if code != ExitOK && code != ExitExpected {
			if args[0] == "doctor" {
				t.Logf("doctor cannot read this host: %s", errs)
				continue
			}
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		js, errs, code := run(t, append(args, "--json")...)
		if code != ExitOK && code != ExitExpected {
			t.Fatalf("%v --json: exit %d: %s", args, code, errs)
		}
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errs, code := run(t, "render", p)
		if code != ExitOK {
			t.Errorf("render %s: exit %d: %s", name, code, errs)
			continue
		}
		if args[0] == "advise" && strings.Contains(name, "ipv6") != strings.Contains(js, `"ipv6": true`) {
			t.Errorf("%s --json does not say whether the announcer sends NAs", name)
		}
		if out != text {
			t.Errorf("render %s differs from the command's text:\n--- render\n%s\n--- %s\n%s", name, out, name, text)
		}
		h := filepath.Join(dir, name+".html")
		_, errs, code = run(t, "render", p, "--html", h)
		if args[0] == "advise" {
			if b, _ := os.ReadFile(h); code != ExitOK || !strings.Contains(string(b), "<html") {
				t.Errorf("render %s --html: exit %d %s", name, code, errs)
			}
		} else if code != ExitUsage || !strings.Contains(errs, "has no HTML page") {
			t.Errorf("render %s --html: exit %d %q, want a usage error", name, code, errs)
		}
	}
}

// TestRenderSeveralTraces: a file holding several traces (verify of many
// scenarios writes one trace and one verify_result per scenario) is drawn
// trace by trace, each with its own header and result, never merged;
// --html draws the one --trace picks and says how many there are.
func TestRenderSeveralTraces(t *testing.T) {
	var all strings.Builder
	for _, name := range []string{"vip-failover", "probe-heals"} {
		out, errs, code := run(t, "run", name, "--json", "--no-fixes")
		if code != ExitOK {
			t.Fatalf("run %s: exit %d: %s", name, code, errs)
		}
		for _, l := range strings.SplitAfter(out, "\n") {
			if !strings.Contains(l, `"kind":"summary"`) { // as verify writes: a trace, then its result
				all.WriteString(l)
			}
		}
		all.WriteString(`{"kind":"verify_result","scenario":"` + name + `","agree":` + map[bool]string{true: "true", false: "false"}[name == "vip-failover"] + `,"diffs":[{}]}` + "\n")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "two.jsonl")
	if err := os.WriteFile(p, []byte(all.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "render", p)
	if code != ExitOK {
		t.Fatalf("render: exit %d: %s", code, errs)
	}
	a, b := strings.Index(out, "scenario=vip-failover"), strings.Index(out, "scenario=probe-heals")
	va, vb := strings.Index(out, "verify vip-failover: the model and the kernel agree"), strings.Index(out, "verify probe-heals: DISAGREE (1 difference(s)")
	if a < 0 || b < 0 || va < 0 || vb < 0 || !(a < va && va < b && b < vb) {
		t.Errorf("want each trace with its own header, then its result, in order:\n%s", out)
	}
	if _, errs, code := run(t, "render", p, "--html", filepath.Join(dir, "x.html")); code != ExitUsage || !strings.Contains(errs, "2 traces (1 vip-failover, 2 probe-heals)") {
		t.Errorf("render --html of two traces: exit %d %q", code, errs)
	}
	h := filepath.Join(dir, "2.html")
	if _, errs, code := run(t, "render", p, "--html", h, "--trace", "2"); code != ExitOK {
		t.Fatalf("render --trace 2 --html: exit %d %s", code, errs)
	}
	if b, _ := os.ReadFile(h); !strings.Contains(string(b), "probe-heals") || strings.Contains(string(b), "vip-failover") {
		t.Errorf("--trace 2 did not draw the second trace alone")
	}
	if out, _, _ := run(t, "render", p, "--trace", "1"); strings.Contains(out, "probe-heals") {
		t.Errorf("--trace 1 drew more than the first trace")
	}
}
