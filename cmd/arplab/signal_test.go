package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"arplab/internal/testkit"
)

// The test binary is arplab itself when this variable is set: the tests
// below run it as a user does and send it real signals, so that main's
// signal handling (and the lab's own) is what is tested, not a context
// cancelled in-process.
const asArplab = "ARPLAB_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asArplab) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// hangAfter is how long a signalled command may take to end before the
// test calls it hung: a hang detector far above the second the issue asks
// for, not a speed claim.
const hangAfter = 20 * time.Second

// child is arplab run as a child process.
type child struct {
	cmd      *exec.Cmd
	out, err testkit.SyncBuffer
}

func start(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...)}
	c.cmd.Env = append(os.Environ(), asArplab+"=1")
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.err
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cmd.Process.Kill() })
	return c
}

// stop sends sig and returns the exit code once the child has ended.
func (c *child) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v (stdout %q, stderr %q)", err, c.out.String(), c.err.String())
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(hangAfter):
		c.cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after %v: stdout %q, stderr %q", sig, hangAfter, c.out.String(), c.err.String())
	}
	return c.cmd.ProcessState.ExitCode()
}

// namespaces lists the named network namespaces of the child's lab
// (labnet names them arplab-<pid>-…).
func (c *child) namespaces(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	prefix := fmt.Sprintf("arplab-%d-", c.cmd.Process.Pid)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitFor polls cond until it holds or the child ends early.
func (c *child) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never saw %s: stdout %q, stderr %q", what, c.out.String(), c.err.String())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, raw sockets): run as root to test the lab, verify, garp and watch")
	}
}

// TestSignalsStopStudies: SIGINT stops a long Monte Carlo study with the
// runs so far marked partial and exit 130; SIGTERM stops a week of
// simulated time with 143.
func TestSignalsStopStudies(t *testing.T) {
	c := start(t, "run", "failure", "--runs", "1000000")
	time.Sleep(500 * time.Millisecond)
	if code := c.stop(t, syscall.SIGINT); code != 130 {
		t.Errorf("--runs: exit %d, want 130: %s", code, c.err.String())
	}
	if !strings.Contains(c.out.String(), "partial: interrupted after") || !strings.Contains(c.err.String(), "interrupted by SIGINT") {
		t.Errorf("--runs: not marked partial: stdout %q, stderr %q", c.out.String(), c.err.String())
	}

	week := filepath.Join(t.TempDir(), "week.yaml")
	if err := os.WriteFile(week, []byte(weekScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	c = start(t, "run", week, "--no-fixes")
	time.Sleep(300 * time.Millisecond)
	if code := c.stop(t, syscall.SIGTERM); code != 143 || !strings.Contains(c.err.String(), "interrupted by SIGTERM") {
		t.Errorf("a week: exit %d, want 143: %s", code, c.err.String())
	}

	c = start(t, "matrix", week)
	time.Sleep(300 * time.Millisecond)
	if code := c.stop(t, syscall.SIGINT); code != 130 || !strings.Contains(c.out.String(), "partial: interrupted after") {
		t.Errorf("matrix: exit %d, want 130 and a partial table: stdout %q, stderr %q", code, c.out.String(), c.err.String())
	}
}

// TestSignalStopsAdvise: the fleet advisor's search ends at SIGTERM with
// 143 and one line saying so.
func TestSignalStopsAdvise(t *testing.T) {
	c := start(t, "advise", "--fleet", filepath.Join("..", "..", "internal", "advise", "testdata", "fleet10.yaml"), "--announcer", "keepalived")
	time.Sleep(300 * time.Millisecond)
	if code := c.stop(t, syscall.SIGTERM); code != 143 || c.err.String() != "arplab: interrupted by SIGTERM\n" {
		t.Errorf("exit %d, want 143 and one line: %q", code, c.err.String())
	}
}

// weekScenario is a TCP flow for a week of simulated time: seconds of
// work, far more than the tests wait.
const weekScenario = `name: week
duration: 168h
segments:
  - {name: lan}
hosts:
  - name: client
    interfaces:
      - {name: eth0, segment: lan, mac: "52:54:00:00:00:01", addrs: [192.168.50.10/24]}
stations:
  - {name: server, segment: lan, mac: "00:00:5e:00:01:01", ips: [192.168.50.100]}
script:
  - {at: 0s, flow: {name: app, kind: tcp, from: client, to: 192.168.50.100, interval: 100ms}}
`

// TestSignalsStopTheLab: SIGINT or SIGTERM in the middle of a lab run or a
// verify suite ends it with 130/143, verify prints the scenarios so far
// marked partial, and none of the child's namespaces is left behind.
func TestSignalsStopTheLab(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		args []string
		sig  syscall.Signal
		code int
		out  string
	}{
		{[]string{"lab", "vip-failover"}, syscall.SIGINT, 130, ""},
		{[]string{"verify", "admin-timer-states", "admin-neigh-commands"}, syscall.SIGTERM, 143, "partial: interrupted after"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			c := start(t, tc.args...)
			c.waitFor(t, "the lab's namespaces", func() bool { return len(c.namespaces(t)) > 0 })
			code := c.stop(t, tc.sig)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, c.err.String())
			}
			if !strings.Contains(c.out.String(), tc.out) {
				t.Errorf("stdout lacks %q: %q", tc.out, c.out.String())
			}
			if left := c.namespaces(t); len(left) > 0 {
				t.Errorf("namespaces left after the process ended: %v", left)
			}
		})
	}
}

// TestSignalsStopGARPAndWatch: a long GARP schedule and a watch end at
// SIGINT/SIGTERM with 130/143, on a veth pair in a namespace of the test.
func TestSignalsStopGARPAndWatch(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	ns := fmt.Sprintf("arplabsig-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ip("-n", ns, "link", "set", "v0", "up")
	ip("-n", ns, "link", "set", "v1", "up")
	ip("-n", ns, "addr", "add", "192.0.2.10/24", "dev", "v0")

	c := start(t, "garp", "v0", "192.0.2.10", "--netns", ns, "--count", "10000", "--interval", "100ms")
	c.waitFor(t, "the first frame", func() bool { return strings.Contains(c.out.String(), "sent 1/") })
	if code := c.stop(t, syscall.SIGINT); code != 130 {
		t.Errorf("garp: exit %d, want 130: %s", code, c.err.String())
	}
	if strings.Contains(c.out.String(), "sent 10000/") {
		t.Errorf("garp sent every frame despite SIGINT")
	}

	c = start(t, "watch", "v0", "--netns", ns)
	c.waitFor(t, "the header", func() bool { return c.out.String() != "" })
	if code := c.stop(t, syscall.SIGTERM); code != 143 {
		t.Errorf("watch: exit %d, want 143: %s", code, c.err.String())
	}
}
