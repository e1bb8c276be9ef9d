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
	p := livetest.NewPair(t)
	livetest.IP(t, p.Observer, "link", "set", "lo", "up")
	livetest.IP(t, p.Observer, "neigh", "replace", livetest.VIP.String(), "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	addr := "127.0.0.1:9717"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", p.Observer, "setpriv", "--bounding-set="+caps, "--inh-caps=-all", "--",
		bin, "watch", "--metrics", addr, "--quiet")
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })

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
	waitFor(t, 10*time.Second, "the service's exporter", func() error {
		body, err := scrape()
		if err == nil && !strings.Contains(body, `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`) {
			err = fmt.Errorf("no seeded entry yet; stderr: %s", errb.String())
		}
		return err
	})
	p.WaitReady(t)
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, livetest.VIP.String(), "--count", "1"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	waitFor(t, 10*time.Second, "the GARP counted under the unit's capabilities", func() error {
		body, err := scrape()
		if err == nil && !strings.Contains(body, `arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 1`) {
			err = fmt.Errorf("GARP not counted; stderr: %s", errb.String())
		}
		return err
	})
}
