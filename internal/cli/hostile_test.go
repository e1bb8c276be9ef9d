package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Values within and past the limits of scenario/limits.go and of the flags:
// each knob has values a run accepts and values it must refuse.
type knob struct{ ok, bad []string }

var (
	hostileDurations = knob{[]string{"5s", "30s", "2m"}, []string{"0", "-1s", "1ns", "876000h", "1e400", "nan", "abc", "1e9"}}
	hostileIntervals = knob{[]string{"1ms", "50ms", "300ms", "1s"}, []string{"0", "1ns", "-1s", "2h", "inf"}}
	hostileSmallDurs = knob{[]string{"0", "100us", "40ms", "1s"}, []string{"-1ms", "20s", "1e9", "x"}}
	hostileUptimes   = knob{[]string{"0", "1h", "87600h"}, []string{"-1s", "876000h", "nan"}}
	hostileCounts    = knob{[]string{"0", "1", "3", "20"}, []string{"-5", "1e9", "abc", "99999999999999999999"}}
	hostileEntries   = knob{[]string{"0", "20", "1000"}, []string{"-5", "2000", "1e9", "abc"}}
	hostileHZ        = knob{[]string{"100", "250", "1000"}, []string{"0", "7", "-1"}}
	hostileCPUs      = knob{[]string{"1", "4"}, []string{"0", "-1", "300"}}
	hostileFlowCPU   = knob{[]string{"0"}, []string{"4", "-1", "256"}}
	hostileLoss      = knob{[]string{"0", "0.3"}, []string{"-0.1", "1", "1.5", "nan"}}
	hostileAccept    = knob{[]string{"0", "1", "2"}, []string{"-1", "3", "7"}}
	hostileLocktime  = knob{[]string{"0", "100", "5000"}, []string{"-1", "x"}}
	hostilePresets   = knob{[]string{"keepalived", "arping-U", "custom", "neutron"}, []string{"nosuch"}}
	hostileKinds     = knob{[]string{"tcp", "udp", "ssh"}, []string{"sctp"}}
	hostileSets      = knob{[]string{"arp_accept=1", "locktime=100", "hz=250", "garp.count=3", "segment.jitter=1ms",
		"preset=neutron", "neigh.default.gc_thresh3=2048", "base_reachable_time_ms=1"},
		[]string{"arp_accept=7", "locktime=-1", "hz=0", "cpus=300", "garp.count=1000000000", "garp.interval=1ns",
			"segment.loss=1.5", "bogus=1", "gc_thresh3=-1", "=", "profile=9.99"}}
)

// drawer draws knob values: each within its limits, except that one in
// twenty (or, in a wholly hostile draw, any) may be past them.
type drawer struct {
	t       *rapid.T
	hostile bool
}

func (d drawer) pick(name string, k knob) string {
	if d.hostile || rapid.IntRange(0, 19).Draw(d.t, name+"-bad") == 0 {
		return rapid.SampledFrom(append(slices.Clone(k.ok), k.bad...)).Draw(d.t, name)
	}
	return rapid.SampledFrom(k.ok).Draw(d.t, name)
}

// hostileScenario draws a scenario file.
func hostileScenario(d drawer) string {
	pick := d.pick
	garp := "preset: " + pick("preset", hostilePresets)
	switch {
	case strings.HasSuffix(garp, "keepalived"):
		garp += ", garp_master_repeat: " + pick("repeat", hostileCounts)
	case strings.HasSuffix(garp, "custom"):
		garp += ", mode: both, count: " + pick("count", hostileCounts) + ", interval: " + pick("ginterval", hostileIntervals)
	case strings.HasSuffix(garp, "neutron"):
		garp += ", count: " + pick("count", hostileCounts)
	}
	return fmt.Sprintf(`name: hostile
duration: %s
segments:
  - {name: lan, latency: %s, jitter: %s, loss: %s}
hosts:
  - name: client
    hz: %s
    cpus: %s
    uptime: %s
    entries: %s
    sysctls: {conf.all.arp_accept: "%s", neigh.eth0.locktime: "%s"}
    interfaces:
      - {name: eth0, segment: lan, mac: "52:54:00:00:00:01", addrs: [192.168.50.10/24]}
stations:
  - {name: master, segment: lan, mac: "00:00:5e:00:01:01", ips: [192.168.50.100], think: %s}
  - {name: backup, segment: lan, mac: "00:00:5e:00:01:02"}
script:
  - {at: 0s, flow: {name: app, kind: %s, from: client, to: 192.168.50.100, interval: %s, ack_delay: %s, cpu: %s}}
  - {at: 2s, move: {ip: 192.168.50.100, to: backup}}
  - {at: 2s, vary: %s, garp: {from: backup, ip: 192.168.50.100, %s}}
checks:
  - {flow: app, outcome: ok}
`, pick("duration", hostileDurations), pick("latency", hostileSmallDurs), pick("jitter", hostileSmallDurs), pick("loss", hostileLoss),
		pick("hz", hostileHZ), pick("cpus", hostileCPUs), pick("uptime", hostileUptimes), pick("entries", hostileEntries),
		pick("arp_accept", hostileAccept), pick("locktime", hostileLocktime), pick("think", hostileSmallDurs),
		pick("kind", hostileKinds), pick("interval", hostileIntervals), pick("ack_delay", hostileSmallDurs), pick("cpu", hostileFlowCPU),
		pick("vary", hostileSmallDurs), garp)
}

// peakHeap samples the live heap until stop is closed.
func peakHeap(stop <-chan struct{}, peak *atomic.Uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for {
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
		select {
		case <-stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestHostileInputs: scenario files and flags drawn within and past every
// limit never panic, end with an exit code arplab documents, explain a
// failure in one line of the user's words, and stay within a memory bound
// (the live heap) and a time bound (a watchdog, far above what any case
// needs: a case that reaches it is a runaway, not a slow machine).
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	codes := map[int]int{}
	defer func() { t.Logf("exit codes: %v", codes) }()
	rapid.Check(t, func(t *rapid.T) {
		f := filepath.Join(dir, "hostile.yaml")
		d := drawer{t, rapid.IntRange(0, 3).Draw(t, "hostile") == 0}
		if err := os.WriteFile(f, []byte(hostileScenario(d)), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"run", f, "--no-fixes", "--max-events", d.pick("max-events", knob{[]string{"1000", "300000"}, []string{"0", "-1", "x"}})}
		for i := range rapid.IntRange(0, 2).Draw(t, "sets") {
			args = append(args, "--set", d.pick(fmt.Sprint("set", i), hostileSets))
		}
		if rapid.Bool().Draw(t, "montecarlo") {
			args = append(args, "--runs", d.pick("runs", knob{[]string{"1", "3"}, []string{"-5", "0", "2000000"}}))
		}
		if rapid.Bool().Draw(t, "seed") {
			args = append(args, "--seed", d.pick("seed", knob{[]string{"7", "18446744073709551615"}, []string{"-1", "1e3", "18446744073709551616"}}))
		}
		if rapid.Bool().Draw(t, "window") {
			args = append(args, "--from", d.pick("from", knob{[]string{"0", "1"}, []string{"-1", "50"}}),
				"--to", d.pick("to", knob{[]string{"10", "60"}, []string{"0", "nan"}}),
				"--width", d.pick("width", knob{[]string{"60", "100"}, []string{"-3", "100000"}}))
		}

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var peak atomic.Uint64
		stop := make(chan struct{})
		go peakHeap(stop, &peak)
		var out, errb bytes.Buffer
		code := Run(ctx, args, &out, &errb)
		close(stop)
		codes[code]++
		if ctx.Err() != nil {
			t.Fatalf("%v: still running after the watchdog's 2 minutes", args)
		}
		if p := peak.Load(); p > 1<<30 {
			t.Fatalf("%v: live heap reached %d MB", args, p>>20)
		}
		msg := errb.String()
		switch code {
		case ExitOK, ExitExpected:
		case ExitError, ExitUsage:
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "arplab: ") {
				t.Fatalf("%v: exit %d without one line of explanation: %q", args, code, msg)
			}
			for _, l := range leaks {
				if strings.Contains(msg, l) {
					t.Fatalf("%v: error shows Go's %q: %s", args, l, msg)
				}
			}
		default:
			t.Fatalf("%v: exit %d", args, code)
		}
	})
}
