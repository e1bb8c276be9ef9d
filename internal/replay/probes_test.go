package replay

import (
	"strings"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"
)

// probeCapture: H has F at macOld (STALE) and sends a SYN to it at t0
// (→ DELAY). Nobody confirms, so on rhel7.3 at HZ=1000 the model goes
// DELAY→PROBE at +5 s and sends unicast probes to macOld at +5, +6 and +7 s
// (spec §2.2, §2.5). probes are the host's requests: offset from t0 in ms,
// destination MAC. A frame from G at +9 s lets the model see the end.
func probeCapture(t testing.TB, probes []sentProbe) []byte {
	c := newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))
	for _, p := range probes {
		c.arp(t0+p.atMs*ms, p.dst, macHost, request(macHost, ipHost, ipF))
	}
	c.arp(t0+9000*ms, arp.Broadcast, macG, request(macG, ipG, ipHost))
	return c.bytes()
}

type sentProbe struct {
	atMs int64
	dst  arp.MAC
}

func TestProbeComparison(t *testing.T) {
	onTime := []sentProbe{{5002, macOld}, {6001, macOld}, {7003, macOld}}
	tests := []struct {
		name                         string
		profile                      string
		probes                       []sentProbe
		matched, missing, unexpected int
		missingProbe                 int // the probe number reported missing
	}{
		{name: "all three at the predicted times", profile: "rhel7.3", probes: onTime, matched: 3},
		{name: "the second one left out", profile: "rhel7.3", probes: []sentProbe{onTime[0], onTime[2]},
			matched: 2, missing: 1, missingProbe: 2},
		{name: "an extra request in between", profile: "rhel7.3",
			probes: []sentProbe{onTime[0], {5500, macOld}, onTime[1], onTime[2]}, matched: 3, unexpected: 1},
		{name: "the second one to another MAC", profile: "rhel7.3",
			probes: []sentProbe{onTime[0], {6001, macNew}, onTime[2]}, matched: 2, missing: 1, unexpected: 1, missingProbe: 2},
		{name: "the second one broadcast", profile: "rhel7.3",
			probes: []sentProbe{onTime[0], {6001, arp.Broadcast}, onTime[2]}, matched: 2, missing: 1, unexpected: 1, missingProbe: 2},
		{name: "the third one 40 ms late: outside the 12 ms tolerance", profile: "rhel7.3",
			probes: []sentProbe{onTime[0], onTime[1], {7040, macOld}}, matched: 2, missing: 1, unexpected: 1, missingProbe: 3},
		// 6.18 at HZ=250: the wheel puts the 5 s DELAY timer in a 64-tick
		// (256 ms) bucket, so the model's first probe is at 5.12 s; the
		// host's counter may stand anywhere in that bucket.
		{name: "6.18: probes inside the timer wheel's tolerance", profile: "6.18",
			probes: []sentProbe{{5010, macOld}, {6100, macOld}, {7150, macOld}}, matched: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hz := 0
			if tt.profile == "rhel7.3" {
				hz = 1000
			}
			sum, evs := replayBytes(t, probeCapture(t, tt.probes), Options{Host: "10.0.0.1",
				Profile: profile(t, tt.profile), HZ: hz, Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}})
			if sum.PredictedProbes != 3 || sum.ObservedProbes != len(tt.probes) {
				t.Errorf("predicted %d, observed %d probes; want 3, %d", sum.PredictedProbes, sum.ObservedProbes, len(tt.probes))
			}
			if sum.MatchedProbes != tt.matched || sum.MissingProbes != tt.missing || sum.UnexpectedProbes != tt.unexpected {
				t.Errorf("matched %d, missing %d, unexpected %d; want %d, %d, %d (mismatches %+v)",
					sum.MatchedProbes, sum.MissingProbes, sum.UnexpectedProbes, tt.matched, tt.missing, tt.unexpected, sum.ProbeMismatches)
			}
			notes := 0
			for _, e := range kinds(evs, trace.KindNote) {
				if strings.HasPrefix(e.Cause, "probe-") {
					notes++
				}
			}
			if notes != tt.missing+tt.unexpected {
				t.Errorf("%d probe notes, want %d", notes, tt.missing+tt.unexpected)
			}
			for _, m := range sum.ProbeMismatches {
				if m.Kind == "missing" && m.Probe != tt.missingProbe {
					t.Errorf("missing probe %d, want %d", m.Probe, tt.missingProbe)
				}
			}
			if sum.UnverifiedProbes != 0 {
				t.Errorf("%d probes unverified, want 0", sum.UnverifiedProbes)
			}
		})
	}
}

// TestPredictedProbeTimes pins the model's probe schedule that the table
// above relies on: +5, +6, +7 s exactly on 3.10 (no timer wheel), and on
// 6.18 at HZ=250 the latest tick the 4.8+ wheel could run each timer
// (spec §12.2: one granularity after expiry, 64 ticks at 5 s, 8 at 1 s),
// since a capture does not say where the host's jiffies stood; then
// FAILED.
func TestPredictedProbeTimes(t *testing.T) {
	tests := []struct {
		profile string
		hz      int
		want    []float64 // seconds after t0
	}{
		{"rhel7.3", 1000, []float64{5, 6, 7}},
		{"6.18", 0, []float64{5.256, 6.288, 7.320}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			_, evs := replayBytes(t, probeCapture(t, nil), Options{Host: "10.0.0.1", Profile: profile(t, tt.profile),
				HZ: tt.hz, Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}})
			probes := kinds(evs, trace.KindProbe)
			if len(probes) != len(tt.want) {
				t.Fatalf("%d probes predicted, want %d", len(probes), len(tt.want))
			}
			for i, p := range probes {
				if got := p.Time - seconds(t0); got < tt.want[i]-1e-6 || got > tt.want[i]+1e-6 {
					t.Errorf("probe %d at +%.6f s, want +%.3f", i+1, got, tt.want[i])
				}
				if p.Attrs["to"] != macOld.String() || p.IP != ipF.String() {
					t.Errorf("probe %d to %s for %s, want unicast to %s for %s", i+1, p.Attrs["to"], p.IP, macOld, ipF)
				}
			}
			var failed bool
			for _, e := range kinds(evs, trace.KindState) {
				failed = failed || (e.IP == ipF.String() && e.State == "FAILED" && e.Cause == "probes-exhausted")
			}
			if !failed {
				t.Error("F never went to FAILED after its probes")
			}
		})
	}
}

// TestInferredResolution: a host that resolves a new neighbour sends its
// broadcast request before the packet that needed it can leave, so the
// capture shows the request first. Replay infers the queued packet and the
// model's INCOMPLETE resolution then matches the host's requests.
func TestInferredResolution(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	for i := int64(0); i < 3; i++ { // nobody answers: mcast_solicit = 3
		c.arp(t0+i*1000*ms, arp.Broadcast, macHost, request(macHost, ipHost, ipG))
	}
	c.arp(t0+5000*ms, arp.Broadcast, macNew, request(macNew, ipF, ipHost))
	sum, evs := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1", Profile: profile(t, "rhel7.3"), HZ: 1000})
	if sum.InferredOutputs != 1 || sum.MatchedProbes != 3 || sum.MissingProbes+sum.UnexpectedProbes != 0 {
		t.Errorf("inferred %d, matched %d, mismatched %d; want 1, 3, 0 (%+v)", sum.InferredOutputs, sum.MatchedProbes,
			sum.MissingProbes+sum.UnexpectedProbes, sum.ProbeMismatches)
	}
	var states []string
	for _, e := range kinds(evs, trace.KindState) {
		if e.IP == ipG.String() {
			states = append(states, e.OldState+"→"+e.State)
		}
	}
	if want := "NONE→INCOMPLETE INCOMPLETE→FAILED"; strings.Join(states, " ") != want {
		t.Errorf("G went %v, want %s", states, want)
	}
}
