package labnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"arplab/internal/ktrace"
	"arplab/internal/labsys"
)

// runKilledChild is the body of the child process: build a lab with a
// tracer, say "ready", and wait to be killed (or, with onSignal, to be
// cleaned up by CloseOnSignal).
func runKilledChild(onSignal bool) int {
	l, err := New(DefaultPrefix() + "-child")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	h, err := l.AddHost("a")
	if err == nil {
		var s *Segment
		if s, err = l.AddSegment("lan"); err == nil {
			err = l.Attach(h, l.IfName("k"), s, macObs, []netip.Prefix{ipObs})
		}
	}
	if err == nil {
		_, err = l.StartTracer(ktrace.TracerOptions{PrivateMount: true}) // leave a mount behind too
	}
	if err != nil {
		fmt.Println("error", err)
		l.Close()
		return 1
	}
	if onSignal {
		l.CloseOnSignal(context.Background())
	}
	fmt.Println("ready", l.Prefix())
	select {}
}

// startChild runs the test binary as a lab child and returns its prefix
// once the lab is built.
func startChild(t *testing.T, mode string) (*exec.Cmd, string) {
	t.Helper()
	needRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	prefix, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		if strings.Contains(line, "lab needs root") {
			t.Skipf("%s (%s)", skipMsg, line)
		}
		t.Fatalf("child said %q", line)
	}
	if got := labNamespaces(t, prefix); len(got) != 2 {
		t.Errorf("child made namespaces %v, want 2", got)
	}
	return cmd, prefix
}

func TestCleanStaleRemovesKilledRun(t *testing.T) {
	cmd, prefix := startChild(t, "killed")
	cmd.Process.Kill()
	cmd.Wait()
	if got := labNamespaces(t, prefix); len(got) != 2 {
		t.Fatalf("after kill: %v, want the 2 leftovers", got)
	}

	removed, err := CleanStale(labsys.StalePrefix)
	if err != nil {
		t.Errorf("CleanStale: %v", err)
	}
	t.Logf("removed: %q", removed)
	want := map[string]bool{
		"netns " + prefix + "-a":                                          false,
		"netns " + prefix + "-sw-lan":                                     false,
		"trace-instance " + prefix + "-t0":                                false,
		"tracefs-mount " + labsys.StateDir + "/" + prefix + "-t0-tracefs": false,
	}
	for _, r := range removed {
		if _, ok := want[r]; ok {
			want[r] = true
		}
	}
	for w, found := range want {
		if !found {
			t.Errorf("CleanStale did not report %q", w)
		}
	}
	if got := labNamespaces(t, prefix); len(got) != 0 {
		t.Errorf("namespaces left: %v", got)
	}
	pid, _ := labsys.PrefixPID(prefix, labsys.StalePrefix)
	if _, err := os.Stat(lockPath(pid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left: %v", err)
	}
	for _, m := range ktrace.PrivateMounts() {
		if strings.HasPrefix(filepath.Base(m), prefix) {
			t.Errorf("tracefs mount left: %s", m)
		}
	}

	// A live lab is never touched.
	l := newTestLab(t)
	addHost(t, l, "live")
	if removed, _ := CleanStale(labsys.StalePrefix); len(labNamespaces(t, l.Prefix())) != 1 {
		t.Errorf("CleanStale removed a live lab's namespace (removed %q)", removed)
	}
}

func TestCloseOnSignal(t *testing.T) {
	cmd, prefix := startChild(t, "signal")
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Errorf("child exit = %v, want status 143", err)
	}
	if got := labNamespaces(t, prefix); len(got) != 0 {
		t.Errorf("namespaces left after SIGTERM: %v", got)
	}
	for _, m := range ktrace.PrivateMounts() {
		if strings.HasPrefix(filepath.Base(m), prefix) {
			t.Errorf("tracefs mount left: %s", m)
		}
	}
}

// TestNotPermitted runs New as an unprivileged user (nobody) in a child.
func TestNotPermitted(t *testing.T) {
	needRoot(t)
	// The test binary's directory is private to root; copy it.
	dir, err := os.MkdirTemp("", "arplab-lab-test")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "lab.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=noperm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot run a child as nobody: %v", err)
	}
	is, msg, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	t.Logf("as nobody: %s", msg)
	if is != "true" || !strings.HasPrefix(msg, "lab needs root (CAP_NET_ADMIN and CAP_NET_RAW): ") {
		t.Errorf("New as nobody: labsys.ErrNotPermitted %s, %q", is, msg)
	}
}

// TestConcurrentCloseWaits: a Close that finds another in progress (the
// runner's beside CloseOnSignal's, on Ctrl-C) returns only when the
// namespaces are gone, so a process that exits after it leaves nothing.
func TestConcurrentCloseWaits(t *testing.T) {
	l := newTestLab(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		addHost(t, l, n)
	}
	first := make(chan error)
	go func() { first <- l.Close() }()
	for len(labNamespaces(t, l.Prefix())) == 4 {
		// wait until the first Close has begun removing
		time.Sleep(100 * time.Microsecond)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := labNamespaces(t, l.Prefix()); len(got) != 0 {
		t.Errorf("the second Close returned with %v still there", got)
	}
	if err := <-first; err != nil {
		t.Errorf("first Close: %v", err)
	}
}
