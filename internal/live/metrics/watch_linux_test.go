//go:build linux

package metrics

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	sched "arplab/internal/garp"
	livegarp "arplab/internal/live/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/live/watch"
	"arplab/internal/trace"
)

// startWatch runs watch.Watch with e as its observer until the test ends.
func startWatch(t *testing.T, e *Exporter, opt watch.WatchOptions) {
	t.Helper()
	opt.Observer = e
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watch.Watch(ctx, opt, func(trace.Event) {}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Watch did not stop within 10 s")
		}
	})
	// Watch is ready once the tracepoint's fate is known (after the seed).
	waitScrape(t, e, "arplab_watch_tracepoint_available")
}

// waitScrape polls the exposition until it has every line, or fails.
func waitScrape(t *testing.T, e *Exporter, lines ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := scrape(t, e)
		missing := ""
		for _, l := range lines {
			if !strings.Contains(body, l) {
				missing = l
				break
			}
		}
		if missing == "" {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("exposition lacks %q after 10 s:\n%s", missing, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sendGARP(t *testing.T, p *livetest.Pair, o sched.Options) {
	t.Helper()
	p.WaitReady(t)
	fs, err := sched.Schedule(sched.Custom, livetest.SenderMAC, livetest.VIP, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := livegarp.Send(context.Background(), p.SenderDev, fs, livegarp.SendOptions{Netns: p.Sender}); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsSurviveInterfaceChurnAndOverruns: the watched interface is
// deleted (its entries leave the gauge) and created again (a new ifindex,
// still watched), and a burst overruns a tiny netlink buffer (counted as a
// resync); GARPs keep being counted throughout.
func TestMetricsSurviveInterfaceChurnAndOverruns(t *testing.T) {
	p := livetest.NewPair(t)
	vip := livetest.VIP.String()
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	e := New(Options{PerIP: true})
	startWatch(t, e, watch.WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}, NetlinkBuffer: 1, TraceBestEffort: true, Trace: true})
	waitScrape(t, e, `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`)

	sendGARP(t, p, sched.Options{Mode: sched.ModeRequest, Count: 1})
	waitScrape(t, e,
		`arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 1`,
		`arplab_garp_received_by_ip_total{dev="o0",ip="10.99.0.100",verdict="honoured"} 1`,
		`arplab_neighbour_transitions_total{family="ipv4",from="STALE",to="STALE"} 1`) // lladdr aa → bb, state kept

	// The interface goes: the kernel flushes its entries.
	livetest.IP(t, p.Observer, "link", "del", p.ObserverDev)
	waitScrape(t, e, `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 0`, `arplab_neighbour_transitions_total{family="ipv4",from="STALE",to="NONE"} 1`)
	// …and comes back with a new index.
	p.Link(t)
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	// netlink notifications carry no kernel timestamp: let the watcher
	// see the new entry before the GARP that changes it
	waitScrape(t, e, `arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`)
	sendGARP(t, p, sched.Options{Mode: sched.ModeRequest, Count: 1})
	waitScrape(t, e, `arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 2`)

	// A burst of 600 changes overruns the 1-byte netlink buffer.
	livetest.AddPermanentBurst(t, p.Observer, p.ObserverDev, 600)
	body := waitScrape(t, e, `arplab_neighbour_entries{dev="o0",family="ipv4",state="PERMANENT"} 600`)
	if !regexp.MustCompile(`\narplab_watch_netlink_resyncs_total\{cause="enobufs"\} [1-9]`).MatchString(body) {
		t.Errorf("600 changes through a 1-byte buffer and no ENOBUFS resync counted:\n%s", body)
	}
	// Still counting after the overrun.
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	time.Sleep(300 * time.Millisecond) // as above; the gauge cannot tell (STALE aa and STALE bb count the same)
	sendGARP(t, p, sched.Options{Mode: sched.ModeRequest, Count: 1})
	waitScrape(t, e, `arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 3`)
}

// TestMetricsDropGratuitousARP: with drop_gratuitous_arp on, a GARP for an
// entry with another MAC is dropped by that rule and the entry counts as
// pointing at a superseded MAC.
func TestMetricsDropGratuitousARP(t *testing.T) {
	p := livetest.NewPair(t)
	livetest.Sysctl(t, p.Observer, "net/ipv4/conf/"+p.ObserverDev+"/drop_gratuitous_arp", "1")
	livetest.IP(t, p.Observer, "neigh", "replace", livetest.VIP.String(), "lladdr", livetest.OldMAC.String(), "nud", "stale", "dev", p.ObserverDev)
	e := New(Options{})
	startWatch(t, e, watch.WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}})
	sendGARP(t, p, sched.Options{Mode: sched.ModeRequest, Count: 1})
	waitScrape(t, e,
		`arplab_garp_received_total{dev="o0",rule="drop_gratuitous_arp",shape="garp-request",verdict="dropped"} 1`,
		`arplab_dead_mac_entries{dev="o0",reason="superseded"} 1`,
		`arplab_watch_tracepoint_available 0`) // not asked for
	if line := livetest.Neigh(t, p.Observer, p.ObserverDev, livetest.VIP); !strings.Contains(line, livetest.OldMAC.String()) {
		t.Errorf("observer entry %q, want the old MAC kept (drop_gratuitous_arp)", line)
	}
}
