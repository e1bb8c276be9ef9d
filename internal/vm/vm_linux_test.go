//go:build linux

package vm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"arplab/internal/verify"
)

// TestSuiteInGuests runs the whole verify suite on each packaged kernel
// under ARPLAB_VM_KERNELS, through the CLI exactly as a user would
// (`arplab verify --vm VMLINUZ --replay` with a static build of arplab),
// and requires every scenario to agree, and every scenario's replay mode
// (each host's capture replayed with only what a user knows) to agree with
// the guest kernel's table at every read, known gaps aside. It logs how long each guest took:
// under software emulation the suite takes minutes, so it wants
// `go test -timeout 60m` (.ci/run passes it).
func TestSuiteInGuests(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the guest's lab runs as root; KVM needs /dev/kvm): run as root, as CI does")
	}
	kernels := testKernels(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	if dl, ok := t.Deadline(); ok && time.Until(dl) < time.Duration(len(kernels))*15*time.Minute {
		t.Skipf("needs about 15 minutes per kernel and the test deadline is %v away: run with -timeout 60m", time.Until(dl).Round(time.Second))
	}
	bin := filepath.Join(t.TempDir(), "arplab")
	build := exec.Command("go", "build", "-o", bin, "arplab/cmd/arplab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a static arplab: %v\n%s", err, out)
	}
	summary := regexp.MustCompile(`(\d+) of (\d+) scenarios: kernel and model agree`)
	for _, k := range kernels {
		rel, err := KernelRelease(k)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(rel, func(t *testing.T) {
			n := len(verify.Suite())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			var out, errb bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, "verify", "--vm", k, "--replay")
			cmd.Stdout, cmd.Stderr = &out, &errb
			start := time.Now()
			err := cmd.Run()
			t.Logf("%s: the suite took %v in the guest; %s", rel, time.Since(start).Round(time.Second),
				strings.TrimSpace(strings.Join(regexp.MustCompile(`vm: (TCG|KVM)[^\n]*|vm: guest \S+ is up[^\n]*`).FindAllString(errb.String(), -1), "; ")))
			for attempt := 2; ; attempt++ {
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 3 {
					break
				}
				// Under software emulation a timer can fire tens of
				// jiffies late (docs/divergences.md, L-VM): a scenario
				// that disagreed runs again, in a fresh guest, up to
				// twice, and must agree there. Every run is logged.
				bad := regexp.MustCompile(`(?m)^(\S+)\s+(DISAGREE \(\d+\)|CHECK FAILED)`).FindAllStringSubmatch(out.String(), -1)
				var names []string
				for _, b := range bad {
					names = append(names, b[1])
					t.Logf("%s: %s %s on run %d; running it again", rel, b[1], b[2], attempt-1)
				}
				for _, r := range replayDisagreements(out.String()) {
					if !slices.Contains(names, r) {
						names = append(names, r)
					}
					t.Logf("%s: %s: the replay mode disagreed on run %d; running it again", rel, r, attempt-1)
				}
				if attempt > 3 {
					t.Fatalf("arplab verify --vm %s %s (run %d): %v\nstderr:\n%s\nstdout:\n%s", k, strings.Join(names, " "), attempt-1, err, errb.String(), out.String())
				}
				t.Logf("run %d:\n%s", attempt-1, out.String())
				var out2, errb2 bytes.Buffer
				cmd := exec.CommandContext(ctx, bin, append([]string{"verify", "--vm", k, "--replay"}, names...)...)
				cmd.Stdout, cmd.Stderr = &out2, &errb2
				err = cmd.Run()
				n, out, errb = len(names), out2, errb2
			}
			if err != nil {
				t.Fatalf("arplab verify --vm %s: %v\nstderr:\n%s\nstdout:\n%s", k, err, errb.String(), out.String())
			}
			m := summary.FindStringSubmatch(out.String())
			if m == nil || m[1] != m[2] || m[2] != strconv.Itoa(n) {
				t.Fatalf("summary %q, want %d of %d:\n%s", m, n, n, out.String())
			}
			if r := replayDisagreements(out.String()); len(r) > 0 {
				t.Fatalf("the replay mode disagrees with %s on %v:\n%s", rel, r, out.String())
			}
			if got := len(replayLine.FindAllString(out.String(), -1)); got != n {
				t.Fatalf("%d replay-mode results, want %d:\n%s", got, n, out.String())
			}
			t.Logf("%s: %s", rel, regexp.MustCompile(`replay mode: [^\n]*`).FindString(out.String()))
			if !strings.Contains(errb.String(), "vm: guest "+rel+" is up") {
				t.Errorf("no hello from %s:\n%s", rel, errb.String())
			}
			if !strings.Contains(out.String(), "kernel "+rel+" (") {
				t.Errorf("the reports do not name the guest kernel %s", rel)
			}
		})
	}
}

// replayLine is one scenario's replay-mode result in verify's text output.
var replayLine = regexp.MustCompile(`(?m)^replay ([^\s:]+)\s+(\d+) of (\d+) reads agree[^\n]*$`)

// replayDisagreements lists the scenarios whose replay mode disagreed
// with the kernel, known gaps (verify.ReplayGaps) aside.
func replayDisagreements(out string) []string {
	var bad []string
	for _, m := range replayLine.FindAllStringSubmatch(out, -1) {
		if _, gap := verify.ReplayGaps[m[1]]; m[2] != m[3] && !gap {
			bad = append(bad, m[1])
		}
	}
	return bad
}

// TestReplayDisagreements: the guest suite reads verify's replay lines:
// a scenario whose reads do not all agree is a disagreement unless it is
// a known gap.
func TestReplayDisagreements(t *testing.T) {
	out := `replay arp-accept-silent-hosts        262 of 262 reads agree (0 at a timer boundary)
replay probe-reply-locktime-1s        3 of 4 reads agree (1 at a timer boundary); 2 reads left out (before the first frame)
  3.5007s obs 10.0.0.100 at check 2: kernel FAILED, replay REACHABLE 02:00:00:00:00:bb
replay udp-msg-confirm                1 of 3 reads agree (0 at a timer boundary) — a known gap: MSG_CONFIRM is a flag
replay reachable-to-stale             0 of 0 reads agree (0 at a timer boundary); 4 reads left out
replay mode: 266 of 269 reads agree (1 at a timer boundary) over 4 scenarios
`
	if got := replayDisagreements(out); !slices.Equal(got, []string{"probe-reply-locktime-1s"}) {
		t.Errorf("replayDisagreements = %v, want [probe-reply-locktime-1s]", got)
	}
	if n := len(replayLine.FindAllString(out, -1)); n != 4 {
		t.Errorf("%d replay lines, want 4", n)
	}
}
