package sim

import (
	"reflect"
	"testing"

	"arplab/internal/scenario"
)

// TestVerdictOnlyStopsWithTheSameAnswers: a verdict-only run (a Monte
// Carlo study's), which stops once it is settled, finds what the full run
// of the same seed finds: whether it met its expectations, every flow's
// and check's outcome, and every stale span's IP, MACs, start, end and
// healing. Some of these runs do stop early (the test says how many), so
// the test holds the stop, not only the full run.
func TestVerdictOnlyStopsWithTheSameAnswers(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	stopped := 0
	for _, name := range scenario.Builtins() {
		s, err := scenario.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			full, err := Run(s, Options{Seed: seed, Vary: true})
			if err != nil {
				t.Fatal(err)
			}
			quick, err := Run(s, Options{Seed: seed, Vary: true, verdictOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if quick.Events < full.Events {
				stopped++
			}
			for _, r := range []*Result{full, quick} {
				for i := range r.Stale {
					// the counters behind the sentence are not
					// compared: a verdict-only run does not keep them
					sp := &r.Stale[i]
					sp.GARPIgnored, sp.GARPNoop, sp.GARPHonoured, sp.FalseConfirms, sp.Probes, sp.FirstIgnored = 0, 0, 0, 0, 0, ""
				}
			}
			if full.OK != quick.OK || full.FlowsOK != quick.FlowsOK || !reflect.DeepEqual(full.Flows, quick.Flows) ||
				!reflect.DeepEqual(full.Checks, quick.Checks) || !reflect.DeepEqual(full.Stale, quick.Stale) ||
				!reflect.DeepEqual(full.ExpectedFailures, quick.ExpectedFailures) {
				t.Fatalf("%s seed %d: verdict-only run\n%+v\nfull run\n%+v", name, seed, quick, full)
			}
		}
	}
	if stopped == 0 {
		t.Fatal("no verdict-only run stopped early: the test holds nothing")
	}
	t.Logf("%d verdict-only runs stopped early", stopped)
}

// TestVerdictOnlyHealsAtAConfirmation: an entry that holds the new
// owner's MAC already when its IP moves heals at the next decision about
// it, which here is a confirmation's (a session's own ACKs, through the
// route, on a REACHABLE entry). A verdict-only run, whose tables leave
// confirmations' decisions out, must find the same heal.
func TestVerdictOnlyHealsAtAConfirmation(t *testing.T) {
	// The entry holds b's MAC before b takes the IP (frames to a dead
	// address are unanswered); the other session's answers set the
	// shared route's bit, and f's SYN retransmission at 3 s confirms the
	// entry through it, just after the move.
	s, err := scenario.Parse([]byte(`name: early-mac
duration: 20s
segments: [{name: lan, latency: 100us}]
hosts:
  - name: h
    profile: rhel7.3
    cpus: 1
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
    neighbours:
      - {dev: eth0, ip: 10.0.0.2, lladdr: "02:00:00:00:00:03", state: STALE, age: 1s}
stations:
  - {name: a, segment: lan, mac: "02:00:00:00:00:02", ips: [10.0.0.2]}
  - {name: b, segment: lan, mac: "02:00:00:00:00:03"}
  - {name: c, segment: lan, mac: "02:00:00:00:00:04", ips: [10.0.0.4]}
script:
  - {at: 0s, flow: {name: other, kind: tcp, from: h, to: 10.0.0.4, interval: 70ms}}
  - {at: 0s, flow: {name: f, kind: tcp, from: h, to: 10.0.0.2, interval: 150ms}}
  - {at: 2.95s, move: {ip: 10.0.0.2, to: b}}
`), "early-mac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	full, err := Run(s, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	quick, err := Run(s, Options{Seed: 1, verdictOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Stale) != 1 || !full.Stale[0].Healed {
		t.Fatalf("the full run should heal once: %+v", full.Stale)
	}
	if full.Stale[0].To != quick.Stale[0].To || full.Stale[0].Healed != quick.Stale[0].Healed {
		t.Fatalf("healed at %v (%v) in the verdict-only run, at %v in the full run", quick.Stale[0].To, quick.Stale[0].Healed, full.Stale[0].To)
	}
	if got := full.Stale[0].To; got < 3 || got > 3.001 {
		t.Fatalf("the full run healed at %v, not at the confirmation at 3.0003 s: the test holds nothing", got)
	}
}
