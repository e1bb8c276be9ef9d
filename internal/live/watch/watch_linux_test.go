//go:build linux

package watch

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sched "arplab/internal/garp"
	livegarp "arplab/internal/live/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/nsexec"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
)

// watcher runs Watch in the background and collects its events.
type watcher struct {
	mu     sync.Mutex
	events []trace.Event
	cancel context.CancelFunc
	done   chan error
}

func startWatch(t *testing.T, opt WatchOptions) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, done: make(chan error, 1)}
	go func() {
		w.done <- Watch(ctx, opt, func(e trace.Event) {
			w.mu.Lock()
			w.events = append(w.events, e)
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() { w.stop(t) })
	w.wait(t, "the header", func(e trace.Event) bool { return e.Kind == trace.KindHeader })
	return w
}

// stop cancels Watch and checks that it returns nil promptly.
func (w *watcher) stop(t *testing.T) {
	t.Helper()
	if w.cancel == nil {
		return
	}
	w.cancel()
	w.cancel = nil
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("Watch returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return within 5 s of cancel")
	}
}

// wait returns the first event matching ok, failing after 5 s.
func (w *watcher) wait(t *testing.T, what string, ok func(trace.Event) bool) trace.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		for _, e := range w.events {
			if ok(e) {
				w.mu.Unlock()
				return e
			}
		}
		n := len(w.events)
		w.mu.Unlock()
		if time.Now().After(deadline) {
			w.mu.Lock()
			defer w.mu.Unlock()
			var b strings.Builder
			trace.WriteAll(&b, w.events)
			t.Fatalf("no event for %s within 5 s; %d events:\n%s", what, n, b.String())
		}
		select {
		case err := <-w.done:
			t.Fatalf("Watch returned early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func sendPreset(t *testing.T, p *livetest.Pair, preset string, o sched.Options) {
	t.Helper()
	fs, err := sched.Schedule(preset, livetest.SenderMAC, livetest.VIP, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := livegarp.Send(context.Background(), p.SenderDev, fs, livegarp.SendOptions{Netns: p.Sender}); err != nil {
		t.Fatal(err)
	}
}

// freshEntry recreates the observer's entry for the VIP with the old MAC,
// which stamps `updated` now and opens a locktime window (field notes §G).
func freshEntry(t *testing.T, p *livetest.Pair, state string) {
	t.Helper()
	livetest.TryIP(p.Observer, "neigh", "del", livetest.VIP.String(), "dev", p.ObserverDev)
	livetest.IP(t, p.Observer, "neigh", "replace", livetest.VIP.String(), "lladdr", livetest.OldMAC.String(),
		"nud", state, "dev", p.ObserverDev)
}

// TestWatchAttributesGARP: a GARP request changes the entry and the change
// is attributed to it (field notes §G case A).
func TestWatchAttributesGARP(t *testing.T) {
	p := livetest.NewPair(t)
	freshEntry(t, p, "stale")
	w := startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}})
	sendPreset(t, p, "arping-U", sched.Options{Count: 1})

	vip, bb := livetest.VIP.String(), livetest.SenderMAC.String()
	st := w.wait(t, "the state change to bb", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.LLAddr == bb
	})
	if st.Cause != "garp-request" || st.OldLLAddr != livetest.OldMAC.String() || st.State != "STALE" || st.Frame == 0 ||
		st.Source != "watch" || st.Dev != p.ObserverDev || st.Host != p.Observer {
		t.Errorf("state event = %+v, want STALE bb from aa caused by the garp-request frame", st)
	}
	fr := w.wait(t, "the GARP frame", func(e trace.Event) bool { return e.Kind == trace.KindARP && e.Frame == st.Frame })
	if fr.Verdict != trace.Honoured || fr.ARP.PktType != "broadcast" || fr.ARP.Op != "request" || !fr.ARP.GARP {
		t.Errorf("frame event = %+v (arp %+v), want an honoured broadcast GARP request", fr, fr.ARP)
	}
	if fr.Time > st.Time {
		t.Errorf("frame at %v after the change it caused at %v", fr.Time, st.Time)
	}
}

// TestWatchTraceReportsIgnoredReply is field notes §G case C: a MetalLB-
// shaped reply (THA broadcast) right after the entry was recreated is
// ignored by 6.18, and only the tracepoint shows it.
func TestWatchTraceReportsIgnoredReply(t *testing.T) {
	p := livetest.NewPair(t)
	w := startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}, Trace: true})
	inst := filepath.Join(tracefsRootForTest(t), "instances", instanceName(os.Getpid()))
	if _, err := os.Stat(inst); err != nil {
		t.Fatalf("tracefs instance %s not created: %v", inst, err)
	}

	freshEntry(t, p, "reachable")
	sendPreset(t, p, "custom", sched.Options{Mode: sched.ModeReply, THA: &arp.Broadcast})
	vip := livetest.VIP.String()
	fr := w.wait(t, "the ignored reply", func(e trace.Event) bool {
		return e.Kind == trace.KindARP && e.IP == vip && e.ARP.Op == "reply"
	})
	if fr.Verdict != trace.Ignored || fr.Cause != "unsolicited-reply" || !strings.Contains(fr.Explanation, "without OVERRIDE") ||
		fr.Updated == nil {
		t.Errorf("reply event = %+v, want ignored with the tracepoint's reason and stamps", fr)
	}
	if line := livetest.Neigh(t, p.Observer, p.ObserverDev, livetest.VIP); !strings.Contains(line, livetest.OldMAC.String()) {
		t.Errorf("observer entry %q, want the old MAC kept (6.18 ignores a broadcast-THA reply inside locktime)", line)
	}

	w.stop(t)
	if _, err := os.Stat(inst); !os.IsNotExist(err) {
		t.Errorf("tracefs instance %s still there after Watch returned (err %v)", inst, err)
	}
}

func tracefsRootForTest(t *testing.T) string {
	t.Helper()
	// the lab's tracer uses the system tracefs, or mounts a private one
	// under /run/arplab when there is none
	roots := []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
		filepath.Join("/run/arplab", instanceName(os.Getpid())+"-tracefs")}
	for _, r := range roots {
		if _, err := os.Stat(filepath.Join(r, "instances", instanceName(os.Getpid()))); err == nil {
			return r
		}
	}
	t.Fatal("no tracefs instance although Watch with Trace started")
	return ""
}

// TestWatchNetlinkOverrun floods a tiny netlink buffer with neighbour
// changes: Watch must say it re-read the table and keep reporting.
func TestWatchNetlinkOverrun(t *testing.T) {
	p := livetest.NewPair(t)
	w := startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}, NetlinkBuffer: 1})

	livetest.AddPermanentBurst(t, p.Observer, p.ObserverDev, 600)
	w.wait(t, "the overrun note", func(e trace.Event) bool { return e.Kind == trace.KindNote && e.Explanation == OverrunNote })
	w.wait(t, "a change found by the re-read", func(e trace.Event) bool { return e.Kind == trace.KindState && e.Cause == "resync" })

	freshEntry(t, p, "stale")
	sendPreset(t, p, "arping-U", sched.Options{Count: 1})
	w.wait(t, "a change after the overrun", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == livetest.VIP.String() && e.Cause == "garp-request"
	})
}

// TestWatchProbe: traffic to a STALE entry drives DELAY then PROBE, the
// unicast probes this host sends are reported, and the changes blamed on
// them and on the timer.
func TestWatchProbe(t *testing.T) {
	p := livetest.NewPair(t)
	livetest.Sysctl(t, p.Observer, "net/ipv4/neigh/"+p.ObserverDev+"/delay_first_probe_time", "1")
	freshEntry(t, p, "stale")
	w := startWatch(t, WatchOptions{Netns: p.Observer})
	// One datagram to the VIP: STALE → DELAY; 1 s later PROBE sends a
	// unicast request to the old MAC, which nobody answers.
	if err := nsexec.Do(p.Observer, func() error {
		c, err := net.Dial("udp4", livetest.VIP.String()+":9")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("x"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	vip := livetest.VIP.String()
	pr := w.wait(t, "the probe", func(e trace.Event) bool { return e.Kind == trace.KindProbe && e.IP == vip })
	if pr.ARP.EthDst != livetest.OldMAC.String() || pr.ARP.PktType != "outgoing" {
		t.Errorf("probe = %+v, want the outgoing unicast probe to the cached %v", pr.ARP, livetest.OldMAC)
	}
	// The kernel does not notify STALE → DELAY, so netlink shows STALE →
	// PROBE, in the tick the probe left.
	st := w.wait(t, "→ PROBE", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.State == "PROBE"
	})
	if st.Cause != "probe" {
		t.Errorf("→ PROBE event = %+v, want cause probe", st)
	}
	// ucast_solicit (3) unanswered probes, retrans_time apart, then FAILED.
	st = w.wait(t, "→ FAILED", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.State == "FAILED"
	})
	if st.Cause != "timer" || st.OldState != "PROBE" {
		t.Errorf("→ FAILED event = %+v, want PROBE → FAILED by timer", st)
	}
}
