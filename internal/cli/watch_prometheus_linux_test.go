//go:build linux

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"arplab/internal/live/livetest"
	"arplab/internal/testkit"
)

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// promQuery runs an instant query against Prometheus' HTTP API and returns
// the samples as "labels value" keyed by their label set.
func promQuery(base, q string) (map[string]float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
		out[fmt.Sprint(s.Metric)] = v
	}
	return out, nil
}

// TestWatchMetricsScrapedByPrometheus is issue 17's "tested with the real
// thing": `arplab watch --metrics` on the observer of a namespace pair,
// GARPs sent with `arplab garp` (three the kernel honours, then one it
// ignores), and Debian's Prometheus scraping the exporter and evaluating
// deploy/prometheus/alerts.yml. Prometheus and the exporter listen on
// loopback in the root namespace; the lab's ARP stays on the veth between
// the two namespaces.
func TestWatchMetricsScrapedByPrometheus(t *testing.T) {
	livetest.Need(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			// the "passes in CI" must not pass on a skip
			t.Fatal("prometheus missing in CI: .ci/run installs Debian's prometheus package")
		}
		t.Skip("needs Prometheus on PATH (Debian's prometheus package; .ci/run installs it)")
	}
	p := livetest.NewPair(t)
	vip := livetest.VIP.String()
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exporter := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var wout, werr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"watch", "--netns", p.Observer, p.ObserverDev, "--metrics", exporter, "--quiet"}, &wout, &werr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK && code != ExitSIGINT { // stopped by its context, as by Ctrl-C
				t.Errorf("watch exited %d: %s", code, werr.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("watch did not stop within 10 s of cancel")
		}
	})
	waitFor(t, 10*time.Second, "the exporter's seeded state gauge", func() error {
		body, err := get("http://" + exporter + "/metrics")
		if err == nil && !strings.Contains(body, `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`) {
			err = fmt.Errorf("no seeded STALE entry yet")
		}
		return err
	})
	if wout.String() != "" {
		t.Errorf("--quiet printed %q", wout.String())
	}

	// Prometheus: loopback only, scraping every second, evaluating the
	// repository's rules every second.
	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: arplab
    static_configs:
      - targets: [%q]
`, rules, exporter)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var plog testkit.SyncBuffer
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	prom.Stdout, prom.Stderr = &plog, &plog
	if err := prom.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		prom.Process.Kill()
		prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", plog.String())
		}
	})
	base := "http://" + promAddr
	waitFor(t, 30*time.Second, "Prometheus to be ready", func() error {
		_, err := get(base + "/-/ready")
		return err
	})

	// Three GARP requests with `arplab garp`: the first moves the entry
	// to the sender's MAC, the next two find it there already.
	p.WaitReady(t)
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, vip, "--mode", "request", "--count", "3", "--interval", "200ms"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	var byVerdict map[string]float64
	waitFor(t, 20*time.Second, "the three GARP requests in Prometheus", func() error {
		byVerdict, err = promQuery(base, `sum by (verdict) (arplab_garp_received_total{dev="o0",shape="garp-request"})`)
		if err != nil {
			return err
		}
		total := 0.0
		for _, v := range byVerdict {
			total += v
		}
		if total != 3 {
			return fmt.Errorf("GARP requests by verdict = %v, want 3 in all", byVerdict)
		}
		return nil
	})
	if byVerdict["map[verdict:honoured]"] != 1 || byVerdict["map[verdict:no-op]"] != 2 {
		t.Errorf("GARP requests by verdict = %v, want 1 honoured (aa → bb) and 2 no-op (already bb)", byVerdict)
	}
	waitFor(t, 10*time.Second, "the state gauge", func() error {
		s, err := promQuery(base, `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"}`)
		if err == nil && s[`map[__name__:arplab_neighbour_entries dev:o0 family:ipv4 instance:`+exporter+` job:arplab state:STALE]`] != 1 {
			err = fmt.Errorf("state gauge = %v, want the one STALE entry", s)
		}
		return err
	})

	// Now one the kernel ignores: the administrator puts the old MAC back
	// (a fresh `updated`, so locktime runs), and a MetalLB-shaped reply
	// (tha = broadcast, not a GARP to Linux) arrives inside locktime.
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "reachable", "dev", p.ObserverDev)
	// Netlink notifications carry no kernel timestamp: give the watcher a
	// moment to read this one before the frame, still well inside the
	// 1 s locktime.
	time.Sleep(300 * time.Millisecond)
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, vip, "--mode", "reply", "--count", "1", "--tha", "ff:ff:ff:ff:ff:ff"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	if line := livetest.Neigh(t, p.Observer, p.ObserverDev, livetest.VIP); !strings.Contains(line, livetest.OldMAC.String()) {
		t.Fatalf("observer entry %q: the kernel took the reply; this test needs one it ignores", line)
	}
	waitFor(t, 20*time.Second, "the ignored GARP in Prometheus", func() error {
		s, err := promQuery(base, `arplab_garp_received_total{dev="o0",verdict="ignored"}`)
		if err == nil && s[`map[__name__:arplab_garp_received_total dev:o0 instance:`+exporter+` job:arplab rule:not-gratuitous shape:unsolicited-reply verdict:ignored]`] != 1 {
			err = fmt.Errorf("ignored GARPs = %v, want one unsolicited-reply ignored as not-gratuitous", s)
		}
		return err
	})
	// The entry keeps the old MAC: after 10 s the alert fires.
	waitFor(t, 40*time.Second, "ARPEntryKeptOldMAC firing", func() error {
		s, err := promQuery(base, `ALERTS{alertname="ARPEntryKeptOldMAC",alertstate="firing"}`)
		if err == nil && len(s) != 1 {
			err = fmt.Errorf("firing alerts = %v, want ARPEntryKeptOldMAC for o0", s)
		}
		return err
	})

	s, err := promQuery(base, `arplab_watch_tracepoint_available`)
	if err != nil || len(s) != 1 {
		t.Errorf("tracepoint health = %v, %v; want one series", s, err)
	}
	tracepoint := s[`map[__name__:arplab_watch_tracepoint_available instance:`+exporter+` job:arplab]`] == 1

	// Every query of the Grafana dashboard, as Grafana would send it for
	// this instance, is valid PromQL to this Prometheus and has data now
	// (the ignored-updates panel only with the tracepoint).
	dash, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "arplab-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	exprs := dashboardExprs(t, dash)
	if len(exprs) < 10 {
		t.Fatalf("only %d queries in the dashboard: %q", len(exprs), exprs)
	}
	grafana := strings.NewReplacer("$instance", exporter, "$__rate_interval", "10s", "${datasource}", "")
	for _, x := range exprs {
		q := grafana.Replace(x)
		s, err := promQuery(base, q)
		switch {
		case err != nil:
			t.Errorf("dashboard query %q: %v", q, err)
		case len(s) == 0 && (tracepoint || !strings.Contains(q, "arplab_tracepoint_ignored_updates_total")):
			t.Errorf("dashboard query %q: no data", q)
		}
	}
	// The interface goes and comes back while Prometheus scrapes: the
	// exporter keeps answering (up stays 1 through scrapes after the
	// deletion), and a GARP on the new veth is counted with the old ones.
	livetest.IP(t, p.Observer, "link", "del", p.ObserverDev)
	deleted := time.Now()
	waitFor(t, 10*time.Second, "the deletion in Prometheus", func() error {
		s, err := promQuery(base, `arplab_neighbour_entries{dev="o0",family="ipv4",state="REACHABLE"}`)
		if err == nil && len(s) != 1 {
			err = fmt.Errorf("entries = %v, want the REACHABLE series", s)
		}
		for _, v := range s {
			if err == nil && v != 0 {
				err = fmt.Errorf("REACHABLE entries on the deleted o0 = %v, want 0", v)
			}
		}
		return err
	})
	p.Link(t)
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	time.Sleep(300 * time.Millisecond) // as above: the watcher reads the entry before the frame
	if out, errs, code := run(t, "garp", "--netns", p.Sender, p.SenderDev, vip, "--mode", "request", "--count", "1"); code != ExitOK {
		t.Fatalf("arplab garp exited %d: %s %s", code, out, errs)
	}
	waitFor(t, 20*time.Second, "the re-added interface's GARP in Prometheus", func() error {
		s, err := promQuery(base, `arplab_garp_received_total{dev="o0",shape="garp-request",verdict="honoured"}`)
		if err == nil && s[`map[__name__:arplab_garp_received_total dev:o0 instance:`+exporter+` job:arplab rule:none shape:garp-request verdict:honoured]`] != 2 {
			err = fmt.Errorf("honoured GARP requests = %v, want 2 (one before the interface went, one after)", s)
		}
		return err
	})
	since := fmt.Sprintf("%ds", int(time.Since(deleted).Seconds())+1)
	up, err := promQuery(base, `min_over_time(up{job="arplab"}[`+since+`])`)
	if err != nil || len(up) != 1 {
		t.Errorf("up since the deletion = %v, %v; want one series", up, err)
	}
	for _, v := range up {
		if v != 1 {
			t.Errorf("up since the deletion fell to %v; want 1 throughout", v)
		}
	}
}

// dashboardExprs returns every "expr" string in a Grafana dashboard, at
// any depth (panels, rows' panels, annotations).
func dashboardExprs(t *testing.T, dash []byte) []string {
	t.Helper()
	var d any
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("the dashboard: %v", err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(d)
	return out
}

func get(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(b), err
}

// waitFor polls check every 250 ms until it returns nil, failing t with
// the last error after limit.
func waitFor(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %v", limit, what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
