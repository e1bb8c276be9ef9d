package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"arplab/internal/trace"
)

func run(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestRunDefaultExplainsTheFailure: `arplab run` with no argument runs the
// seed's Failure and prints the verdict, the ignored GARPs with their rule
// and numbers, and the fixes that would have worked. The failure is not
// one the scenario expects (no check says ssh-fip fails), so it exits 3.
func TestRunDefaultExplainsTheFailure(t *testing.T) {
	out, errs, code := run(t, "run")
	if code != ExitExpected || !strings.Contains(errs, "expectation not met: flow ssh-fip failed and no check expects it to") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"arplab run failure  seed=1",
		"FAIL: ssh-fip to 172.24.4.10 failed",
		"expectation not met: flow ssh-fip failed",
		"all 3 GARPs were ignored",
		"GARP reply not recognised as gratuitous on rhel7.3 (replies never are)",
		"locktime needs > 1000 (HZ=1000)",
		"DELAY→REACHABLE without a probe",
		"✓ kernel 4.12",
		"✓ rhel7.3 + replace-dst-confirm (4.11 series) — stale 15.0 s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour escape in output to a non-terminal")
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "seconds") && len([]rune(l)) > 100 {
			t.Errorf("timeline axis wider than 100 columns: %q", l)
		}
	}
}

// TestRunJSONIsTheTrace: --json writes the trace vocabulary, one event per
// line, then a summary line; the same seed gives the same bytes.
func TestRunJSONIsTheTrace(t *testing.T) {
	a, _, code := run(t, "run", "failure", "--json", "--no-fixes")
	b, _, _ := run(t, "run", "failure", "--json", "--no-fixes")
	if code != ExitExpected || a != b {
		t.Fatalf("exit %d; identical=%v", code, a == b)
	}
	evs, other, err := trace.ReadOutput(strings.NewReader(a), "run.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Kind != trace.KindHeader || len(other) != 1 || other[0].Kind != trace.OutputSummary {
		t.Fatalf("first %s, %d output lines", evs[0].Kind, len(other))
	}
}

func TestRunWithFixPasses(t *testing.T) {
	out, _, code := run(t, "run", "failure", "--profile", "4.12")
	if code != 0 || !strings.Contains(out, "PASS") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--patch", "+nosuch"},
		{"run", "--set", "bogus=1"},
		{"run", "--bogus-flag"},
		{"nosuchcommand"},
		{"profiles", "2.6"},
	} {
		_, errs, code := run(t, args...)
		if code != ExitUsage || errs == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errs)
		}
	}
	_, errs, code := run(t, "run", "/nonexistent.yaml")
	if code != ExitError || !strings.Contains(errs, "no such built-in scenario") {
		t.Errorf("missing file: exit %d %q", code, errs)
	}
}

// TestFailedCheckExits3: a scenario whose check fails exits 3 and names the line.
func TestFailedCheckExits3(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x.yaml")
	os.WriteFile(f, []byte(`name: x
duration: 5s
segments: [{name: s}]
hosts:
  - name: h
    interfaces: [{name: eth0, segment: s, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
checks:
  - {at: 1s, host: h, ip: 10.0.0.9, state: REACHABLE}
`), 0o644)
	_, errs, code := run(t, "run", f)
	if code != ExitExpected || !strings.Contains(errs, "x.yaml: expectation not met: check at line 8") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestProfilesAndScenarios(t *testing.T) {
	out, _, _ := run(t, "profiles")
	for _, want := range []string{"rhel7.3", "6.18", "timestamps-on-change", "77d7123342dc"} {
		if !strings.Contains(out, want) {
			t.Errorf("profiles lacks %q", want)
		}
	}
	out, _, _ = run(t, "profiles", "rhel7.8")
	if !strings.Contains(out, "F7   -") || !strings.Contains(out, "F4   Y") || !strings.Contains(out, "locktime                 100") {
		t.Errorf("profiles rhel7.8:\n%s", out)
	}
	out, _, _ = run(t, "scenarios")
	for _, want := range []string{"failure", "vip-failover", "metallb-announce", "moving-window"} {
		if !strings.Contains(out, want) {
			t.Errorf("scenarios lacks %q", want)
		}
	}
}

func TestMatrixScenarioRows(t *testing.T) {
	out, errs, code := run(t, "matrix", "failure", "--scenario-rows")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	if !strings.Contains(out, "baseline") || strings.Contains(out, "✗ MISMATCH") {
		t.Fatalf("%s", out)
	}
}

func TestRenderSavedTrace(t *testing.T) {
	dir := t.TempDir()
	js, _, _ := run(t, "run", "moving-window", "--json", "--no-fixes")
	lines := strings.Split(strings.TrimSpace(js), "\n")
	p := filepath.Join(dir, "t.jsonl")
	os.WriteFile(p, []byte(strings.Join(lines[:len(lines)-1], "\n")), 0o644)
	out, errs, code := run(t, "render", p)
	if code != 0 || !strings.Contains(out, "10.0.0.10") {
		t.Fatalf("exit %d %s", code, errs)
	}
	h := filepath.Join(dir, "t.html")
	if _, errs, code := run(t, "render", p, "--html", h); code != 0 {
		t.Fatal(errs)
	}
	b, _ := os.ReadFile(h)
	if !bytes.Contains(b, []byte("<svg")) {
		t.Fatal("no svg in the html")
	}
}

// TestPcapRoundTrip is exercised by the replay package; here: the file is written.
func TestRunWritesPcap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.pcap")
	if _, errs, code := run(t, "run", "moving-window", "--pcap", p, "--no-fixes"); code != 0 {
		t.Fatal(errs)
	}
	st, err := os.Stat(p)
	if err != nil || st.Size() < 100 {
		t.Fatalf("pcap: %v %v", st, err)
	}
}

func TestMonteCarloCLI(t *testing.T) {
	out, _, code := run(t, "run", "moving-window", "--runs", "20")
	if code != 0 || !strings.Contains(out, "P(failure)") || !strings.Contains(out, "95% interval") {
		t.Fatalf("%d %s", code, out)
	}
}

// TestGarpDryRunPrintsFrames: --dry-run prints each frame of a preset,
// hex and decoded, and sends nothing.
func TestGarpDryRunPrintsFrames(t *testing.T) {
	out, errs, code := run(t, "garp", "lo", "192.0.2.10", "--preset", "neutron", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out, "\n  hex "); n != 6 {
		t.Errorf("%d frames printed, want 6 (3 rounds of -U and -A)", n)
	}
	if !strings.Contains(out, "request") || !strings.Contains(out, "reply") {
		t.Errorf("missing the request or the reply:\n%s", out)
	}
	if _, _, code := run(t, "garp", "lo", "not-an-ip", "--dry-run"); code != ExitUsage {
		t.Errorf("bad IP: exit %d, want 2", code)
	}
	if _, _, code := run(t, "garp", "lo", "192.0.2.10", "--preset", "arping-U", "--mode", "reply", "--dry-run"); code != ExitUsage {
		t.Errorf("--mode with --preset: exit %d, want 2", code)
	}
}

// TestDoctorJSON: doctor reads this host and returns a report with advice.
func TestDoctorJSON(t *testing.T) {
	out, errs, code := run(t, "doctor", "--json")
	if code != 0 {
		t.Skipf("doctor cannot read this host: %s", errs)
	}
	if !strings.Contains(out, `"release"`) || !strings.Contains(out, `"advice"`) {
		t.Fatalf("%s", out)
	}
}

// TestVIPFailoverIgnoresNoGARP: keepalived's repeated GARPs for the MAC
// the client already switched to are no-ops, not ignored updates; the run
// says 0 ignored, like replay of the same traffic, and the summary counts
// them apart.
func TestVIPFailoverIgnoresNoGARP(t *testing.T) {
	out, errs, code := run(t, "run", "vip-failover")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "GARPs 0 ignored, 1 honoured (9 more repeated the MAC it already had)") {
		t.Errorf("vip-failover does not report 0 ignored GARPs:\n%s", out)
	}
	js, _, _ := run(t, "run", "vip-failover", "--json")
	lines := strings.Split(strings.TrimSpace(js), "\n")
	var sum struct {
		Summary struct {
			Stale []struct {
				GARPIgnored int `json:"garp_ignored"`
				GARPNoop    int `json:"garp_noop"`
			} `json:"stale"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Summary.Stale) != 1 || sum.Summary.Stale[0].GARPIgnored != 0 || sum.Summary.Stale[0].GARPNoop != 9 {
		t.Errorf("summary stale spans %+v, want 0 ignored and 9 no-ops", sum.Summary.Stale)
	}
	pcap := filepath.Join(t.TempDir(), "vip.pcap")
	run(t, "run", "vip-failover", "--pcap", pcap, "--no-fixes")
	rep, errs, code := run(t, "replay", pcap, "--host", "192.168.50.10")
	if code != ExitOK || !strings.Contains(rep, "GARPs 10, 0 ignored") {
		t.Errorf("replay of the same traffic: exit %d %s\n%s", code, errs, rep)
	}
}

// TestProbesCountFromOne: the first probe of a resolution reads "probe 1"
// in the simulator's trace and in replay's prediction, although the
// kernel's counter starts broadcast probes after ucast_solicit.
func TestProbesCountFromOne(t *testing.T) {
	js, _, _ := run(t, "run", "failure", "--json", "--no-fixes")
	evs, err := trace.Read(strings.NewReader(js), "run.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first := ""
	for _, ev := range evs {
		if ev.Kind == trace.KindProbe {
			first = ev.Explanation
			break
		}
	}
	if !strings.HasPrefix(first, "probe 1: ") {
		t.Errorf("first probe reads %q, want probe 1", first)
	}
	pcap := filepath.Join(t.TempDir(), "vip.pcap")
	run(t, "run", "vip-failover", "--pcap", pcap, "--no-fixes")
	rep, _, _ := run(t, "replay", pcap, "--host", "192.168.50.10", "--json")
	if !strings.Contains(rep, `"explanation":"probe 1: who-has 192.168.50.100`) {
		t.Errorf("replay's first predicted probe is not probe 1")
	}
	// the text report too, on times relative to the capture's start,
	// which its header gives once as a date and in Unix seconds
	txt, errs, code := run(t, "replay", pcap, "--host", "192.168.50.10")
	if code != ExitOK {
		t.Fatalf("replay: exit %d: %s", code, errs)
	}
	if !strings.Contains(txt, "probe 1: who-has") || strings.Contains(txt, "probe 4") {
		t.Errorf("replay's text does not count probes from 1:\n%s", txt)
	}
	if !strings.Contains(txt, "start=2023-11-14T22:13:20") || strings.Count(txt, "1700000") != 1 || !strings.Contains(txt, "\n     0s 192.168.50.10 ") {
		t.Errorf("replay's text is not on times relative to the capture's start, given once in the header:\n%s", txt)
	}
}

// wantAll fails t for every one of wants that out does not contain, naming
// what out is.
func wantAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}
