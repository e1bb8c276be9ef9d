package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"arplab/internal/scenario"
)

// vipWith is the vip-failover built-in with one line edited, written to a
// temporary file.
func vipWith(t *testing.T, old, new string) string {
	t.Helper()
	b, _ := scenario.BuiltinSource("vip-failover")
	src := string(b)
	if !strings.Contains(src, old) {
		t.Fatalf("vip-failover has no %q", old)
	}
	f := filepath.Join(t.TempDir(), "vip.yaml")
	if err := os.WriteFile(f, []byte(strings.Replace(src, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// leaks are words of Go, not of arplab's user: none may reach an error.
var leaks = []string{"strconv", "garp.None", "MasterRepeat", "garp: garp:", "cannot unmarshal", "into int", "scenario.", "!!", "vtime:", "arp: "}

// TestEveryMistakeOfIssue13: each mistake a new user made (issue 13) gets a
// one-line error naming the input, where it came from and the allowed
// range, with exit 2 for a usage mistake, and no Go words.
func TestEveryMistakeOfIssue13(t *testing.T) {
	const prof = `    profile: "6.18"`
	const flow = `interval: 300ms}}`
	const keep = `preset: keepalived}`
	for _, c := range []struct {
		name string
		args func(t *testing.T) []string
		want []string
	}{
		{"NegativeInterval", file(flow, `interval: -1s}}`), []string{"vip.yaml:20: flow app: interval -1s is out of range (allowed: 1ms to 1h)"}},
		{"NanosecondInterval", file(flow, `interval: 1ns}}`), []string{"vip.yaml:20:", "interval 1ns", "1ms to 1h"}},
		{"CenturyDuration", file("duration: 60s", "duration: 876000h"), []string{"vip.yaml:8: duration 876000h is out of range (allowed: 1ms to 168h)"}},
		{"HugeRepeat", file(keep, `preset: keepalived, garp_master_repeat: 1e9}`), []string{"vip.yaml:22: garp from backup: garp_master_repeat 1000000000 is out of range (allowed: 0 to 1000)"}},
		{"BillionEntries", file(prof, prof+"\n    entries: 1e9"), []string{"vip.yaml:12: host client: entries 1000000000 is out of range"}},
		{"NegativeEntries", file(prof, prof+"\n    entries: -5"), []string{"vip.yaml:12:", "entries -5", "0 to 65536"}},
		{"EntriesPastGCThresh3", file(prof, prof+"\n    entries: 2000"), []string{"vip.yaml:12:", "gc_thresh3 is 1024", "neighbour table overflow"}},
		{"NegativeVary", file("vary: 100ms", "vary: -5s"), []string{"vip.yaml:22: vary -5s is out of range"}},
		{"NegativeAckDelay", file(flow, `interval: 300ms, ack_delay: -1s}}`), []string{"vip.yaml:20:", "ack_delay -1s is out of range"}},
		{"NegativeUptime", file(prof, prof+"\n    uptime: -1s"), []string{"vip.yaml:12:", "uptime -1s is out of range"}},
		{"NotANumber", file(prof, prof+"\n    cpus: many"), []string{`vip.yaml:14: cpus: "many" is not a whole number`}},
		{"HugeGARPCountFlag", args("run", "vip-failover", "--set", "garp.count=1000000000"), []string{"--set garp.count=1000000000: count 1000000000 is out of range (allowed: 0 to 10000)"}},
		{"KnobThePresetLacks", args("run", "vip-failover", "--set", "garp.count=5"), []string{"--set garp.count=5:", "has no knob count"}},
		{"NegativeRuns", args("run", "failure", "--runs", "-5"), []string{"--runs -5 is out of range (allowed: 1 to"}},
		{"ZeroRuns", args("run", "failure", "--runs", "0"), []string{"--runs 0 is out of range"}},
		{"ArpAccept7", args("run", "failure", "--set", "arp_accept=7"), []string{"--set arp_accept=7:", "arp_accept 7 is out of the kernel's range (allowed: 0 to 2)"}},
		{"HZ0", args("run", "failure", "--set", "hz=0"), []string{"--set hz=0: hz 0 is not a kernel tick rate"}},
		{"NegativeLocktime", args("run", "failure", "--set", "locktime=-1"), []string{"--set locktime=-1:", "locktime -1"}},
		{"LossOutOfRange", args("run", "failure", "--set", "segment.loss=1.5"), []string{"--set segment.loss=1.5: loss 1.5 is out of range"}},
		{"UnknownProfileFlag", args("run", "vip-failover", "--profile", "linux-next"), []string{`--profile linux-next: unknown kernel profile "linux-next"`}},
		{"NegativeWidth", args("run", "failure", "--width", "-3"), []string{"--width -3 is out of range"}},
		{"FromAfterTo", args("run", "failure", "--from", "50", "--to", "10"), []string{"--from 50 --to 10:"}},
		{"ReplayBadHost", args("replay", "x.pcap", "--host", "999.1.1.1"), []string{`host "999.1.1.1" is neither an IPv4 or IPv6 address nor a MAC`}},
		{"NegativeSeed", args("run", "failure", "--seed", "-1"), []string{`--seed "-1": want a whole number, 0 or more`}},
		{"MatrixZeroRuns", args("matrix", "failure", "--runs", "0"), []string{"--runs 0 is out of range"}},
		{"ZeroBudget", args("run", "failure", "--max-events", "0"), []string{"--max-events 0:"}},
		{"GARPHugeCount", args("garp", "lo", "192.0.2.10", "--dry-run", "--count", "1000000000"), []string{"--count 1000000000 is out of range (allowed: 0 to 10000)"}},
		{"GARPKnobWithoutFlag", args("garp", "lo", "192.0.2.10", "--dry-run", "--preset", "keepalived", "--count", "5"), []string{`preset "keepalived" has no knob --count (its knobs with a flag here: --delay;`}},
		{"AdviseWorkers", args("advise", "--fleet", "6.18", "--announcer", "keepalived", "--workers", "100000"), []string{"--workers 100000 is out of range (allowed: 1 to 256, or 0 for every core)"}},
		{"RenderNegativeWidth", args("render", "x.jsonl", "--width", "-3"), []string{"--width -3 is out of range"}},
		{"RenderFromAfterTo", args("render", "x.jsonl", "--from", "5", "--to", "1"), []string{"--from 5 --to 1: the timeline must end after it starts"}},
		{"RenderNegativeFrom", args("render", "x.jsonl", "--from", "-5"), []string{"--from -5: want a time in seconds"}},
		{"GARPNegativeInterval", args("garp", "lo", "192.0.2.10", "--dry-run", "--interval", "-1s"), []string{"--interval -1s is out of range"}},
		{"WatchNegativeSeconds", args("watch", "--seconds", "-1"), []string{"--seconds -1:"}},
		// explicit zeros are values, not "unset": checked like any other
		{"ZeroInterval", file(flow, `interval: 0s}}`), []string{"vip.yaml:20: flow app: interval 0s is out of range (allowed: 1ms to 1h)"}},
		{"ZeroHZInFile", file(prof, prof+"\n    hz: 0"), []string{"vip.yaml:12: host client: hz 0 is not a kernel tick rate"}},
		{"ZeroCPUsInFile", file(prof, prof+"\n    cpus: 0"), []string{"vip.yaml:12: host client: cpus 0 is out of range (allowed: 1 to 256)"}},
		{"FlowCPUPastHostCPUs", file(flow, `interval: 300ms, cpu: 3}}`), []string{"vip.yaml:20: flow app: cpu 3 is out of range (allowed: 0 to 0: host client has cpus: 1)"}},
		{"NoSuchScenario", args("run", "fialure"), []string{`scenario "fialure": no such built-in scenario`}},
		{"HugeLocktime", args("run", "failure", "--set", "locktime=99999999999"), []string{"locktime 99999999999 is out of the kernel's range (allowed: 0 to 2147483647)"}},
		{"ReplayBadHZ", args("replay", "x.pcap", "--host", "10.0.0.1", "--hz", "7"), []string{"--hz 7 is not a kernel tick rate (allowed: 100, 250, 300 or 1000)"}},
		{"ReplayArpAccept9", args("replay", "x.pcap", "--host", "10.0.0.1", "--set", "arp_accept=9"), []string{`sysctl "arp_accept=9": arp_accept 9 is out of the kernel's range (allowed: 0 to 2)`}},
		{"ReplayBadProfile", args("replay", "x.pcap", "--host", "10.0.0.1", "--profile", "linux-next"), []string{`--profile linux-next: unknown kernel profile "linux-next"`}},
		{"VerifyBadProfile", args("verify", "--profile", "linux-next"), []string{`--profile linux-next: unknown kernel profile "linux-next"`}},
		{"VerifyNoSuchScenario", args("verify", "admin-timer-states", "nosuch"), []string{`scenario "nosuch": no such built-in scenario`}},
		{"ReplayBadInitialMAC", args("replay", "x.pcap", "--host", "10.0.0.1", "--initial", "10.0.0.5=zz"), []string{`"zz" is not a MAC address`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs, code := run(t, c.args(t)...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d: %s", code, ExitUsage, errs)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "arplab: ") {
				t.Errorf("want one line, got %q", errs)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("error %q lacks %q", errs, w)
				}
			}
			if strings.Contains(errs, "builtin:") && !strings.Contains(c.name, "Knob") {
				t.Errorf("a flag's mistake blamed on the file: %q", errs)
			}
			for _, l := range leaks {
				if strings.Contains(errs, l) {
					t.Errorf("error %q shows Go's %q", errs, l)
				}
			}
		})
	}
}

func args(a ...string) func(*testing.T) []string { return func(*testing.T) []string { return a } }

func file(old, new string) func(*testing.T) []string {
	return func(t *testing.T) []string { return []string{"run", vipWith(t, old, new)} }
}

// TestEventBudgetIsARunTimeError: a run past its event budget stops with
// exit 1 and says how to raise the budget.
func TestEventBudgetIsARunTimeError(t *testing.T) {
	_, errs, code := run(t, "run", "failure", "--max-events", "1000")
	if code != ExitError || !strings.Contains(errs, "--max-events") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("exit %d: %q", code, errs)
	}
}

// runInterrupted runs the command line in-process and cancels its context
// with sig as the cause after a while, as main does on a signal.
func runInterrupted(t *testing.T, sig os.Signal, after time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	timer := time.AfterFunc(after, func() { cancel(Interrupted(sig)) })
	defer timer.Stop()
	var out, errb bytes.Buffer
	code := Run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestInterruptedStudyIsPartial: Ctrl-C during a long Monte Carlo study
// prints the runs so far marked partial and exits 130; SIGTERM on a week
// of simulated time exits 143.
func TestInterruptedStudyIsPartial(t *testing.T) {
	out, errs, code := runInterrupted(t, os.Interrupt, 300*time.Millisecond, "run", "failure", "--runs", "1000000")
	if code != ExitSIGINT || !strings.Contains(errs, "interrupted by SIGINT") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	if out != "" && !strings.Contains(out, "partial: interrupted after") {
		t.Errorf("output not marked partial:\n%s", out)
	}
	week := vipWith(t, "duration: 60s", "duration: 168h")
	_, errs, code = runInterrupted(t, syscall.SIGTERM, 300*time.Millisecond, "run", week, "--no-fixes")
	if code != ExitSIGTERM || !strings.Contains(errs, "interrupted by SIGTERM") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	_, errs, code = runInterrupted(t, os.Interrupt, 300*time.Millisecond, "matrix", "failure", "--runs", "100000")
	if code != ExitSIGINT {
		t.Fatalf("matrix: exit %d: %q", code, errs)
	}
}

// TestDayLongRunKeepsLittle: a day of a TCP flow (288,000 confirmations)
// keeps a bounded trace: the live heap stays far below what keeping every
// event took (over 300 MB), and the output says what it left out.
func TestDayLongRunKeepsLittle(t *testing.T) {
	day := vipWith(t, "duration: 60s", "duration: 24h")
	var peak atomic.Uint64
	stop := make(chan struct{})
	go peakHeap(stop, &peak)
	out, errs, code := run(t, "run", day, "--no-fixes")
	close(stop)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "are not shown:") || !strings.Contains(out, "--json writes every event") {
		t.Error("the output does not say that events were left out")
	}
	t.Logf("peak live heap %d MB", peak.Load()>>20)
	if p := peak.Load(); p > 150<<20 {
		t.Errorf("peak live heap %d MB", p>>20)
	}
}

// runCancelled runs the command line in-process with a context already
// cancelled by sig, as main leaves it when the signal arrived.
func runCancelled(sig os.Signal, args ...string) (string, string, int) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(Interrupted(sig))
	var out, errb bytes.Buffer
	code := Run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestInterruptedReplayIsPartial: a replay stopped by a signal reports the
// frames it replayed (the replay checks the context every 1,024 frames),
// marked partial: in the text report, or on stderr beside --json's summary.
func TestInterruptedReplayIsPartial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.pcap")
	writeBusy(t, path, 5000)
	out, errs, code := runCancelled(os.Interrupt, "replay", path, "--host", "10.0.0.1/16", "--profile", "6.18")
	if code != ExitSIGINT || !strings.Contains(errs, "interrupted by SIGINT") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	if !strings.HasPrefix(out, "arplab replay ") || !strings.HasSuffix(out, "partial: interrupted after 1023 frames\n") {
		t.Errorf("text report not partial:\n%s", out)
	}
	out, errs, code = runCancelled(syscall.SIGTERM, "replay", path, "--host", "10.0.0.1/16", "--profile", "6.18", "--json")
	if code != ExitSIGTERM || !strings.Contains(errs, "partial: interrupted after 1023 frames") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, `{"kind":"summary"`) || !strings.Contains(last, `"frames":1023`) {
		t.Errorf("--json does not end with the summary of the frames replayed: %.200s", last)
	}
}

// TestInterruptedMatrixJSONSaysPartial: matrix --json keeps stdout to its
// rows and says on stderr that the table is partial.
func TestInterruptedMatrixJSONSaysPartial(t *testing.T) {
	out, errs, code := runCancelled(syscall.SIGTERM, "matrix", "failure", "--json")
	if code != ExitSIGTERM || !strings.Contains(errs, "partial: interrupted after 0 of ") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	if out != "" {
		t.Errorf("rows of a matrix interrupted before it began: %q", out)
	}
}

// TestSetProfileNote: a --set profile= value that is not a profile name
// says, as --profile does, which profile it resolved to.
func TestSetProfileNote(t *testing.T) {
	_, errs, code := run(t, "run", "vip-failover", "--set", "profile=9.99")
	if code != ExitOK || !strings.Contains(errs, "arplab: --set profile=9.99 → profile 6.18:") {
		t.Fatalf("exit %d: %q", code, errs)
	}
}

// TestMatrixStopsAtTheBudget: a scenario whose own run is past the event
// budget stops the matrix at its first row (exit 1) instead of spending
// the budget on every row.
func TestMatrixStopsAtTheBudget(t *testing.T) {
	out, errs, code := run(t, "matrix", "failure", "--max-events", "1000")
	if code != ExitError || !strings.HasPrefix(errs, "arplab: baseline: the simulation stopped after 1000 events") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("exit %d: %q", code, errs)
	}
	if out != "" {
		t.Errorf("rows printed: %q", out)
	}
}
