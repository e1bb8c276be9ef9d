package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"arplab/internal/scenario"
)

// TestFailureMatrixReproducesTheStory holds `arplab matrix failure` to
// spec §10.5 and the seed's findings.
func TestFailureMatrixReproducesTheStory(t *testing.T) {
	s, err := scenario.Load("failure")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v    scenario.Variation
		want bool
	}{
		{scenario.Variation{Label: "baseline rhel7.3"}, false},
		{scenario.Variation{Label: "3.10", Profile: "3.10"}, false},
		{scenario.Variation{Label: "3.14 patch + arp_accept=1, replies", Patches: []string{"+garp-request-override"}, Set: []string{"arp_accept=1"}}, false},
		{scenario.Variation{Label: "3.14 patch + arp_accept=1, requests", Patches: []string{"+garp-request-override"}, Set: []string{"arp_accept=1"}, Preset: "arping-U"}, true},
		{scenario.Variation{Label: "timestamps-on-change alone", Patches: []string{"+timestamps-on-change"}}, true},
		{scenario.Variation{Label: "4.11 confirmation series alone", Patches: []string{"+replace-dst-confirm"}}, true},
		{scenario.Variation{Label: "4.11", Profile: "4.11"}, true},
		{scenario.Variation{Label: "4.12", Profile: "4.12"}, true},
		{scenario.Variation{Label: "4.19", Profile: "4.19"}, true},
		{scenario.Variation{Label: "6.18", Profile: "6.18"}, true},
		{scenario.Variation{Label: "rhel7.8", Profile: "rhel7.8"}, true},
		{scenario.Variation{Label: "Neutron workaround", Preset: "neutron"}, true},
	} {
		t.Run(c.v.Label, func(t *testing.T) {
			r := RunVariation(s, c.v, Options{}, false)
			if r.Err != "" {
				t.Fatal(r.Err)
			}
			if r.OK != c.want {
				t.Fatalf("ok=%v, want %v: %s", r.OK, c.want, r.Verdict)
			}
		})
	}
}

// TestHealingTimes are the latencies of spec §10.5: 4.12 heals with GARP
// #1, the timestamp fix by GARP #2, the confirmation series by probing
// (PROBE at +5 s, FAILED at +8 s, new resolution at the SYN at +15 s).
func TestHealingTimes(t *testing.T) {
	s, _ := scenario.Load("failure")
	for _, c := range []struct {
		v      scenario.Variation
		lo, hi float64 // stale seconds
	}{
		{scenario.Variation{Profile: "4.12"}, 0.1, 0.5},
		{scenario.Variation{Patches: []string{"+timestamps-on-change"}}, 1.1, 1.5},
		{scenario.Variation{Patches: []string{"+replace-dst-confirm"}}, 14.9, 15.2},
	} {
		r := RunVariation(s, c.v, Options{}, false)
		if r.Stale < c.lo || r.Stale > c.hi || !r.Healed {
			t.Errorf("%+v: stale %.3f s healed=%v, want in [%v, %v]", c.v, r.Stale, r.Healed, c.lo, c.hi)
		}
	}
}

// closedForm is a host whose entry's locktime window was just opened by a
// SYN, receiving three GARP replies spaced L+f ticks apart (spec §10.4).
func closedForm(hz int, gap string) string {
	return fmt.Sprintf(`name: closed-form
duration: 14s
segments: [{name: s, latency: 100us}]
hosts:
  - name: h
    profile: rhel7.3
    hz: %d
    interfaces: [{name: eth0, segment: s, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
    neighbours: [{dev: eth0, ip: 10.0.0.10, lladdr: "02:00:00:00:00:0a", state: STALE, age: 30s}]
stations:
  - {name: new, segment: s, mac: "02:00:00:00:00:0b"}
script:
  - {at: 10s, move: {ip: 10.0.0.10, to: new}}
  - {at: 10s, flow: {name: syn, kind: udp, from: h, to: 10.0.0.10, until: 10.5s}}
  - {at: 10.3s, vary: 10ms, garp: {from: new, ip: 10.0.0.10, mode: reply, count: 3, interval: %s, jitter: 1ns}}
checks:
  - {at: 13s, host: h, ip: 10.0.0.10, lladdr: "02:00:00:00:00:0b"}
`, hz, gap)
}

// TestMonteCarloMatchesClosedForm: with periodic spacing L+f ticks the
// burst fails with probability 1−2f (spec §10.4): 0.6 at HZ=1000 and 0.9
// at HZ=250 for a 1.0002 s spacing.
func TestMonteCarloMatchesClosedForm(t *testing.T) {
	for _, c := range []struct {
		hz   int
		want float64
	}{{1000, 0.6}, {250, 0.9}} {
		t.Run(fmt.Sprint("HZ", c.hz), func(t *testing.T) {
			s, err := scenario.Parse([]byte(closedForm(c.hz, "1.0002s")), "closed-form.yaml")
			if err != nil {
				t.Fatal(err)
			}
			const runs = 1500
			mc, err := RunMonteCarlo(s, runs, Options{Seed: 7}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sigma := math.Sqrt(c.want * (1 - c.want) / runs)
			if math.Abs(mc.P-c.want) > 4*sigma {
				t.Fatalf("P(fail) = %.3f [%.3f, %.3f], closed form %.3f (±%.3f)", mc.P, mc.Lo, mc.Hi, c.want, 4*sigma)
			}
			if mc.Lo > c.want || mc.Hi < c.want {
				t.Errorf("95%% interval [%.3f, %.3f] misses %.3f", mc.Lo, mc.Hi, c.want)
			}
		})
	}
}

func TestWilson(t *testing.T) {
	lo, hi := Wilson(0, 100)
	if lo != 0 || hi < 0.03 || hi > 0.04 {
		t.Fatalf("Wilson(0,100) = [%v, %v]", lo, hi)
	}
	lo, hi = Wilson(50, 100)
	if math.Abs(lo-0.404) > 0.002 || math.Abs(hi-0.596) > 0.002 {
		t.Fatalf("Wilson(50,100) = [%v, %v]", lo, hi)
	}
}

func TestFixesListWorkingFixesFirst(t *testing.T) {
	s, _ := scenario.Load("failure")
	rows := Fixes(s, Options{})
	if len(rows) == 0 || !rows[0].Fixed {
		t.Fatalf("no passing fix: %+v", rows)
	}
	for _, r := range rows {
		if strings.Contains(r.Label, "4.12") && !r.Fixed {
			t.Fatalf("4.12 does not fix it: %s", r.Verdict)
		}
	}
}

// TestBuiltinScenariosHoldTheirChecks: every built-in scenario's checks
// pass on its own configuration, and its expected matrix rows match.
func TestBuiltinScenariosHoldTheirChecks(t *testing.T) {
	for _, name := range scenario.Builtins() {
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Checks {
				if !c.OK {
					t.Errorf("line %d: %s: want %s, got %s", c.Line, c.What, c.Want, c.Got)
				}
			}
			for _, v := range s.Matrix {
				if v.Expect == "" {
					continue
				}
				if r := RunVariation(s, v, Options{}, false); !r.Match || r.Err != "" {
					t.Errorf("matrix row %q: expected %s, got ok=%v (%s%s)", v.Label, v.Expect, r.OK, r.Verdict, r.Err)
				}
			}
		})
	}
}
