package replay_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/replay"
	"arplab/internal/scenario"
	"arplab/internal/sim"
	"arplab/internal/trace"
	"arplab/internal/vtime"
)

// captureEpoch is where the simulator's pcap puts t=0 (as `arplab run --pcap`).
const captureEpoch = int64(1_700_000_000) * 1e9

// TestSimulatorPcapRoundTrip: `arplab run --pcap` writes what the observed
// host saw; replaying that capture through the model must give back the
// simulator's timeline for the host — the same verdict on every ARP frame
// (every ND message, for the IPv6 built-ins)
// and the same sequence of state and address changes at the same times —
// for every built-in scenario.
func TestSimulatorPcapRoundTrip(t *testing.T) {
	for _, name := range scenario.Builtins() {
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			h := s.Hosts[s.Observed()[0]]
			var pcap bytes.Buffer
			pw, err := capture.NewWriter(&pcap, capture.Ethernet, true)
			if err != nil {
				t.Fatal(err)
			}
			var first int64 = -1
			var rec trace.Recorder
			_, err = sim.Run(s, sim.Options{Sink: &rec, CaptureHost: h.Name, Capture: func(at vtime.Time, b []byte) {
				if first < 0 {
					first = int64(at)
				}
				if err := pw.WritePacket(captureEpoch+int64(at), b); err != nil {
					t.Fatal(err)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if first < 0 {
				t.Skip("the observed host saw no frame")
			}
			hdr := rec.Events[0].Attrs
			var hz int
			var j0 uint64
			var phase int64
			fmt.Sscanf(hdr["clock."+h.Name], "%d,%d,%d", &hz, &j0, &phase)
			clock := vtime.Clock{HZ: hz, Base: vtime.Jiffies(j0), Phase: vtime.Duration(phase)}
			jf := clock.Jiffies(vtime.Time(first))
			into := vtime.Time(first).Sub(clock.TimeOf(jf))

			prof, _ := kernel.Lookup(h.Profile)
			prof, _ = prof.WithPatches(h.Patches)
			ifc := h.Interfaces[0]
			o := replay.Options{Host: ifc.Addrs[0].String(), Profile: prof, HZ: hz, Seed: 1, NoInferEntries: true,
				Jiffies: uint64(jf), Phase: time.Duration(into)}
			for k, v := range h.Sysctls {
				if strings.HasPrefix(k, "net.ipv6.") {
					o.Sysctls = append(o.Sysctls, k+"="+v)
					continue
				}
				o.Sysctls = append(o.Sysctls, "net.ipv4."+strings.TrimPrefix(k, "net.ipv4.")+"="+v)
			}
			if rt, ok := hdr["reachable_time_ms."+h.Name+"."+ifc.Name]; ok {
				o.Sysctls = append(o.Sysctls, "reachable_time_ms="+rt)
			}
			for _, n := range h.Neighbours {
				// the simulator set the entry n.Age before t=0; the
				// replay counts from the capture's first frame
				age := time.Duration(n.Age.D) + time.Duration(first)
				o.Initial = append(o.Initial, fmt.Sprintf("%v=%v,%s,%v", n.IP, n.LLAddr, n.State, age))
			}
			var got trace.Recorder
			if _, err := replay.ReplayReader(bytes.NewReader(pcap.Bytes()), name+".pcap", o, &got); err != nil {
				if errors.Is(err, replay.ErrHostNotFound) {
					t.Skipf("the capture shows no frame from or to %s itself: %v", h.Name, err)
				}
				t.Fatal(err)
			}
			want := timeline(rec.Events, h.Name, 0)
			have := timeline(got.Events, "", float64(captureEpoch)/1e9)
			if len(want) == 0 {
				t.Fatal("the simulator recorded no state change for the host")
			}
			if d := diff(want, have); d != "" {
				t.Fatalf("replay of the simulator's capture differs (sim vs replay):\n%s", d)
			}
		})
	}
}

// timeline is the host's entry history as comparable lines: state and
// address changes, and the verdict on each received ARP frame.
func timeline(evs []trace.Event, host string, epoch float64) []string {
	var out []string
	for _, e := range evs {
		if host != "" && e.Host != host {
			continue
		}
		tm := strconv.FormatFloat(e.Time-epoch, 'f', 3, 64)
		switch {
		case e.Kind == trace.KindState && e.Cause != "initial":
			if e.Cause == "gc-periodic" || e.Cause == "gc-forced" {
				continue // GC also sees entries the capture cannot show
			}
			out = append(out, fmt.Sprintf("%s %s %s→%s %s", tm, e.IP, e.OldState, e.State, e.LLAddr))
		case e.Kind == trace.KindARP && e.Verdict != trace.Dropped:
			out = append(out, fmt.Sprintf("%s %s arp %s %s", tm, e.IP, e.Verdict, e.LLAddr))
		case e.Kind == trace.KindND && e.Verdict != trace.Dropped:
			out = append(out, fmt.Sprintf("%s %s nd %s %s", tm, e.IP, e.Verdict, e.LLAddr))
		}
	}
	return out
}

func diff(a, b []string) string {
	var d strings.Builder
	n := max(len(a), len(b))
	bad := 0
	for i := 0; i < n && bad < 8; i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			fmt.Fprintf(&d, "  #%d sim:    %s\n     replay: %s\n", i, x, y)
			bad++
		}
	}
	return d.String()
}
