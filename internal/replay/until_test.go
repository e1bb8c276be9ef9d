package replay

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"
)

// TestUntil: the host sends to a STALE entry and the capture ends. Without
// --until the replay stops in DELAY and says what is pending; with it the
// model's timers run on to FAILED, and the probes they send past the
// capture are unverified, not missing.
func TestUntil(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))
	data := c.bytes()
	opt := Options{Host: "10.0.0.1", Profile: profile(t, "6.18"), Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}}

	sum, _ := replayBytes(t, data, opt)
	if len(sum.Pending) != 1 || sum.Pending[0].State != "DELAY" || !strings.HasPrefix(sum.Pending[0].What, "PROBE") ||
		sum.Pending[0].In < 5 || sum.Pending[0].In > 5.3 {
		t.Fatalf("pending %+v, want DELAY → PROBE in about 5 s", sum.Pending)
	}
	if sum.RanUntil != 0 {
		t.Errorf("ran until %v without --until", sum.RanUntil)
	}

	opt.Until = "+30s"
	sum, evs := replayBytes(t, data, opt)
	last := lastState(evs, ipF.String())
	if last.State != "FAILED" || last.Time < 1_700_000_007 || last.Time > 1_700_000_010 {
		t.Errorf("F ends %s at %.3f, want FAILED about 8 s after the capture", last.State, last.Time)
	}
	if len(sum.Pending) != 0 || sum.MissingProbes != 0 || sum.UnverifiedProbes != 3 || sum.PredictedProbes != 3 {
		t.Errorf("pending %v; probes predicted %d missing %d unverified %d; want 3 unverified",
			sum.Pending, sum.PredictedProbes, sum.MissingProbes, sum.UnverifiedProbes)
	}
	if sum.RanUntil != 1_700_000_030 {
		t.Errorf("ran until %.3f", sum.RanUntil)
	}

	for _, bad := range []string{"soon", "+-3s", "-5", "+"} {
		opt.Until = bad
		if _, err := ReplayReader(bytes.NewReader(data), "t.pcap", opt, nil); err == nil {
			t.Errorf("--until %q accepted", bad)
		}
	}
}

// TestAlignTimerToHostProbe is the case alignment exists for: the host's
// DELAY→PROBE timer ran at +5.01 s (it sent its first unicast probe then),
// earlier than the model would place it, and the new owner's reply at
// +5.05 s arrives inside the locktime that transition restarted, so the
// kernel ignores it and the entry fails. Aligned to the host's probe, the
// model does the same; without alignment it is still in DELAY and takes
// the reply.
func TestAlignTimerToHostProbe(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0)) // STALE → DELAY
	c.arp(t0+5010*ms, macOld, macHost, request(macHost, ipHost, ipF))                 // the host's DELAY→PROBE
	c.arp(t0+5050*ms, macHost, macNew, reply(macNew, ipF, macHost, ipHost))           // the new owner answers
	c.arp(t0+6030*ms, macOld, macHost, request(macHost, ipHost, ipF))
	c.arp(t0+7050*ms, macOld, macHost, request(macHost, ipHost, ipF))
	data := c.bytes()
	for _, tt := range []struct {
		name    string
		noAlign bool
		state   string
		mac     string
		aligned int
	}{
		{"aligned", false, "FAILED", "", 3}, // DELAY→PROBE and both retransmissions
		{"not aligned", true, "REACHABLE", macNew.String(), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum, evs := replayBytes(t, data, Options{Host: "10.0.0.1", Profile: profile(t, "6.18"), Until: "+10s", NoAlign: tt.noAlign,
				Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}})
			last := lastState(evs, ipF.String())
			if last.State != tt.state || (tt.mac != "" && last.LLAddr != tt.mac) {
				t.Errorf("F ends %s %s, want %s %s", last.State, last.LLAddr, tt.state, tt.mac)
			}
			if sum.AlignedTimers != tt.aligned {
				t.Errorf("%d timers aligned, want %d", sum.AlignedTimers, tt.aligned)
			}
			var notes int
			for _, e := range kinds(evs, trace.KindNote) {
				if e.Cause == "aligned" {
					notes++
					if !strings.Contains(e.Explanation, "earlier than the model had placed it") {
						t.Errorf("alignment note: %s", e.Explanation)
					}
				}
			}
			if notes != tt.aligned {
				t.Errorf("%d alignment notes, want %d", notes, tt.aligned)
			}
		})
	}
}

// TestRankProfiles: a capture where the host sends nothing gives no
// evidence for any profile; a host whose STALE entry is probed after
// delay_first_probe_time, three unicast probes a second apart, ranks first
// a profile that predicts all three and none it did not send.
func TestRankProfiles(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	// a GARP for an address the host has no entry for: nothing the host
	// sends, nothing any profile predicts: no evidence either way
	c.arp(t0, arp.Broadcast, macNew, testkit.GARPRequest(ipF, macNew))
	data := c.bytes()
	fits, err := RankProfiles(func() (io.Reader, error) { return bytes.NewReader(data), nil }, "t.pcap",
		Options{Host: "10.0.0.1@02:00:00:00:00:01"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fits {
		if f.Evidence() {
			t.Errorf("%s: %+v, want no evidence", f.Profile, f)
		}
	}
	if b, _, ok := Best(fits); ok {
		t.Errorf("Best chose %s without evidence", b.Profile)
	}
	// with the host's probes at 5, 6, 7 s the profiles that predict them
	// come first, with no probe missing
	c = newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))
	for _, at := range []int64{5000, 6000, 7000} {
		c.arp(t0+at*ms, macOld, macHost, request(macHost, ipHost, ipF))
	}
	data = c.bytes()
	fits, err = RankProfiles(func() (io.Reader, error) { return bytes.NewReader(data), nil }, "t.pcap",
		Options{Host: "10.0.0.1", Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}})
	if err != nil {
		t.Fatal(err)
	}
	if best := fits[0]; best.Matched != 3 || best.Missing != 0 || !best.Evidence() {
		t.Errorf("best fit %+v, want all three probes predicted", best)
	}
	if b, ties, ok := Best(fits); !ok || b.Profile != fits[0].Profile || slices.Contains(ties, b.Profile) {
		t.Errorf("Best = %s, ties %v, ok %v; want the first fit", b.Profile, ties, ok)
	}
	if last := fits[len(fits)-1]; last.Score() > fits[0].Score() {
		t.Errorf("ranking out of order: %v first, %v last", fits[0], last)
	}
}
