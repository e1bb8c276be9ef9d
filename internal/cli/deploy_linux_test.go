//go:build linux

package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"arplab/internal/live/livetest"
	"arplab/internal/nsexec"
	"arplab/internal/testkit"
)

// TestServiceCapabilitiesSuffice holds deploy/systemd/arplab-watch.service
// to its word: `arplab watch --metrics` with only the unit's
// CapabilityBoundingSet (applied with setpriv, as systemd would) watches a
// namespace, counts a GARP and serves it. The watcher runs inside the
// observer namespace (a service watches its own host: no setns), serving
// on that namespace's loopback.
func TestServiceCapabilitiesSuffice(t *testing.T) {
	livetest.Need(t, "setpriv")
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "arplab-watch.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CapabilityBoundingSet=(.+)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit has no CapabilityBoundingSet")
	}
	caps := "-all"
	for _, c := range strings.Fields(string(m[1])) {
		caps += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	if caps != "-all,+net_admin,+net_raw" {
		t.Errorf("unit grants %s; the docs promise CAP_NET_ADMIN and CAP_NET_RAW only", m[1])
	}

	bin := filepath.Join(t.TempDir(), "arplab")
	if out, err := exec.Command("go", "build", "-o", bin, "arplab/cmd/arplab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	verifyUnit(t, unit, bin)
	p := livetest.NewPair(t)
	livetest.IP(t, p.Observer, "link", "set", "lo", "up")
	// `ip netns exec` gives the command its own mount namespace with a
	// fresh /sys, so what is mounted at /sys/kernel/tracing there is the
	// test's choice: the kernel's tracefs (the unit's case where the host
	// mounts it; reading it must need no capability beyond the two), or
	// a tmpfs hiding it (the watcher cannot mount its own without
	// CAP_SYS_ADMIN, so it degrades and must say so).
	for _, tracefs := range []bool{true, false} {
		t.Run(fmt.Sprintf("tracefs=%v", tracefs), func(t *testing.T) { serviceRun(t, p, bin, caps, tracefs) })
	}
}

// serviceRun runs the watcher as the unit would and checks that it counts
// a GARP and reports the tracepoint as tracefs allows; with tracefs, an
// update the kernel ignores must show on the tracepoint's counter.
func serviceRun(t *testing.T, p *livetest.Pair, bin, caps string, tracefs bool) {
	vip := livetest.VIP.String()
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	mount := "mount -t tmpfs none /sys/kernel/tracing"
	if tracefs {
		mount = "mount -t tracefs nodev /sys/kernel/tracing"
	}
	addr := "127.0.0.1:9717"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", p.Observer, "sh", "-ec", mount+`; exec "$@"`, "sh",
		"setpriv", "--bounding-set="+caps, "--inh-caps=-all", "--", bin, "watch", "--metrics", addr, "--quiet")
	var errb testkit.SyncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()

	// the observer namespace's loopback, from a thread inside it
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (c net.Conn, err error) {
		err = nsexec.Do(p.Observer, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, a)
			return err
		})
		return c, err
	}}}
	scrape := func() (string, error) {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	want := func(what string, lines ...string) {
		t.Helper()
		waitFor(t, 10*time.Second, what, func() error {
			body, err := scrape()
			for _, l := range lines {
				if err == nil && !strings.Contains(body, "\n"+l+"\n") {
					err = fmt.Errorf("no %s; stderr: %s", l, errb.String())
				}
			}
			return err
		})
	}
	available := "0"
	if tracefs {
		available = "1"
	}
	want("the service's exporter", `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`,
		"arplab_watch_tracepoint_available "+available)
	p.WaitReady(t)
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, vip, "--count", "1"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	want("the GARP counted under the unit's capabilities",
		`arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 1`)
	if !tracefs {
		if !strings.Contains(errb.String(), "arplab watch: running without the neigh:neigh_update tracepoint (arplab_watch_tracepoint_available 0): ") {
			t.Errorf("stderr %q does not say the tracepoint is unavailable", errb.String())
		}
		return
	}
	// an update the kernel ignores: the old MAC put back (locktime runs
	// from now), then a reply that is no GARP to Linux inside locktime
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "reachable", "dev", p.ObserverDev)
	time.Sleep(300 * time.Millisecond) // netlink has no kernel timestamp: let the watcher read it first
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, vip, "--mode", "reply", "--count", "1", "--tha", "ff:ff:ff:ff:ff:ff"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	want("the ignored update read from tracefs", `arplab_tracepoint_ignored_updates_total{dev="o0",rule="locktime"} 1`)
}

// verifyUnit has systemd-analyze check the unit (pointed at the test's
// binary): any complaint, an unknown key included, fails. Hosts without
// systemd skip it.
func verifyUnit(t *testing.T, unit []byte, bin string) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the unit file's syntax is not checked")
		return
	}
	f := filepath.Join(t.TempDir(), "arplab-watch.service")
	if err := os.WriteFile(f, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/arplab", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", "--man=no", f).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify on the unit: %v\n%s", err, out)
	}
}
