package sim

import (
	"bytes"
	"encoding/json"
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// runTrips runs s with opt, trips on or off, and returns its JSON trace
// (when traced), its result as JSON and how many round trips ran in one
// step.
func runTrips(t *testing.T, s *scenario.Scenario, opt Options, traced, trips bool) (tr, res []byte, stats [3]int) {
	t.Helper()
	opt.noTrips = !trips
	tr, res, r := runTraced(t, s, opt, traced)
	return tr, res, r.tripStats
}

// runTraced runs s with opt and returns its JSON trace (when traced), its
// result as JSON and the result.
func runTraced(t *testing.T, s *scenario.Scenario, opt Options, traced bool) (tr, res []byte, r *Result) {
	t.Helper()
	var buf bytes.Buffer
	if traced {
		opt.Sink = jsonSink{trace.NewEncoder(&buf)}
	}
	r, err := Run(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	res, _ = json.Marshal(r)
	return buf.Bytes(), res, r
}

// TestTripsChangeNothing: running a session's round trip in one step
// (trip.go) gives every built-in the same trace, byte for byte, and the
// same result (events and frames counted alike) as running each of its
// events through the queue, traced or verdict-only, with and without
// Monte Carlo variation; and in failure most round trips do run in one
// step.
func TestTripsChangeNothing(t *testing.T) {
	seeds := []uint64{42, 7, 1_000_004}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, name := range scenario.Builtins() {
		s, err := scenario.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, seed := range seeds {
			for _, vary := range []bool{false, true} {
				for _, traced := range []bool{true, false} {
					opt := Options{Seed: seed, Vary: vary, verdictOnly: !traced}
					at, ar, _ := runTrips(t, s, opt, traced, false)
					bt, br, st := runTrips(t, s, opt, traced, true)
					if !bytes.Equal(at, bt) {
						t.Fatalf("%s seed %d vary=%v: the trace with trips differs (%d vs %d bytes)", name, seed, vary, len(bt), len(at))
					}
					if !bytes.Equal(ar, br) {
						t.Fatalf("%s seed %d vary=%v traced=%v: the result with trips differs:\n  with    %s\n  without %s", name, seed, vary, traced, br, ar)
					}
					if name == "failure" && st[0] < 8000 {
						t.Fatalf("failure seed %d: %d round trips ran in one step, want nearly all of its ~8,400", seed, st[0])
					}
				}
			}
		}
	}
}

// crowded is failure with a busy, jittery, lossy segment and sessions ten
// times as frequent: round trips overlap other events often, so both
// places where the rule can refuse a trip are taken.
const crowded = `
name: crowded
duration: 40s
seed: 1
segments:
  - {name: external, latency: 150us, jitter: 3ms, loss: 0.02}
hosts:
  - name: tempest
    profile: rhel7.3
    hz: 1000
    cpus: 1
    interfaces:
      - {name: eth2, segment: external, mac: "52:54:00:7e:57:01", addrs: [172.24.4.1/24]}
    neighbours:
      - {dev: eth2, ip: 172.24.4.10, lladdr: "52:54:00:ac:fb:f4", state: STALE, age: 40s}
stations:
  - {name: router-new, segment: external, mac: "fa:16:3e:10:00:10"}
  - {name: router-21, segment: external, mac: "fa:16:3e:21:00:21", ips: [172.24.4.21]}
  - {name: router-22, segment: external, mac: "fa:16:3e:22:00:22", ips: [172.24.4.22]}
  - {name: router-23, segment: external, mac: "fa:16:3e:23:00:23", ips: [172.24.4.23], think: 2ms}
script:
  - {at: 0s, flow: {name: test-21, kind: tcp, from: tempest, to: 172.24.4.21, interval: 13ms, ack_delay: 200ms}}
  - {at: 0.031s, flow: {name: test-22, kind: tcp, from: tempest, to: 172.24.4.22, interval: 17ms, ack_delay: 200ms}}
  - {at: 0.057s, flow: {name: test-23, kind: tcp, from: tempest, to: 172.24.4.23, interval: 250ms, ack_delay: 200ms}}
  - {at: 10s, move: {ip: 172.24.4.10, to: router-new}}
  - {at: 10s, vary: 200ms, flow: {name: ssh-fip, kind: ssh, from: tempest, to: 172.24.4.10, timeout: 20s}}
  - {at: 10.2s, vary: 100ms, garp: {from: router-new, ip: 172.24.4.10, preset: neutron-legacy}}
  - {at: 20s, move: {ip: 172.24.4.22, to: router-new}}
`

// TestTripsRefused: where other events crowd the round trips, the rule
// refuses some of them at either place, and the runs still give the
// same traces and results as without trips.
func TestTripsRefused(t *testing.T) {
	s, err := scenario.Parse([]byte(crowded), "crowded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var stats [3]int
	for seed := uint64(1); seed <= 4; seed++ {
		for _, traced := range []bool{true, false} {
			opt := Options{Seed: seed, Vary: true, verdictOnly: !traced}
			at, ar, _ := runTrips(t, s, opt, traced, false)
			bt, br, st := runTrips(t, s, opt, traced, true)
			if !bytes.Equal(at, bt) || !bytes.Equal(ar, br) {
				t.Fatalf("seed %d traced=%v: trips change the run:\n  with    %s\n  without %s", seed, traced, br, ar)
			}
			for i := range stats {
				stats[i] += st[i]
			}
		}
	}
	if stats[0] < 1000 || stats[1] < 100 || stats[2] < 100 {
		t.Fatalf("%d round trips ran in one step, %d were refused before the answer and %d before its arrival; want each often",
			stats[0], stats[1], stats[2])
	}
	t.Logf("%d round trips ran in one step, %d were refused before the answer, %d before its arrival", stats[0], stats[1], stats[2])
}
