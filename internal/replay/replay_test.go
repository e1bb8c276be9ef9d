package replay

import (
	"strings"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"

	"github.com/google/go-cmp/cmp"
)

// failureCapture is the Failure (spec §10.2) as a capture: H has F at
// macOld in STALE, sends a SYN to it (STALE→DELAY), and 0.1 s later the
// three `arping -A` GARPs for F's new MAC arrive exactly 1 s apart.
func failureCapture(t testing.TB) []byte {
	c := newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))
	for i := int64(0); i < 3; i++ {
		c.arp(t0+100*ms+i*1000*ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
	}
	return c.bytes()
}

func TestFailureGARPVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		profile  string
		hz       int
		verdicts []string
		mac      arp.MAC // F's lladdr after the last GARP
		explain  string  // in the first GARP's explanation
		ignored  int
	}{
		{name: "rhel7.3 HZ=1000: all three inside a sliding locktime window", profile: "rhel7.3", hz: 1000,
			verdicts: []string{"ignored", "ignored", "ignored"}, mac: macOld, explain: "locktime", ignored: 3},
		{name: "6.18: the first GARP overrides", profile: "6.18",
			verdicts: []string{"honoured", "ignored", "ignored"}, mac: macNew, explain: "recognised as gratuitous", ignored: 0},
		{name: "rhel7.8 back-ports: the first GARP overrides", profile: "rhel7.8",
			verdicts: []string{"honoured", "ignored", "ignored"}, mac: macNew, explain: "overrides locktime", ignored: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, evs := replayBytes(t, failureCapture(t), Options{Host: "10.0.0.1", Profile: profile(t, tt.profile),
				HZ: tt.hz, Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}})
			arps := kinds(evs, trace.KindARP)
			var got []string
			for _, e := range arps {
				got = append(got, e.Verdict)
			}
			if diff := cmp.Diff(tt.verdicts, got); diff != "" {
				t.Fatalf("verdicts (-want +got):\n%s", diff)
			}
			if !strings.Contains(arps[0].Explanation, tt.explain) {
				t.Errorf("first GARP explained as %q, want it to mention %q", arps[0].Explanation, tt.explain)
			}
			if last := arps[len(arps)-1]; last.LLAddr != tt.mac.String() {
				t.Errorf("F's lladdr after the GARPs = %s, want %s", last.LLAddr, tt.mac)
			}
			if sum.GARPs != 3 || sum.GARPsIgnored != tt.ignored {
				t.Errorf("GARPs = %d, ignored %d; want 3, %d", sum.GARPs, sum.GARPsIgnored, tt.ignored)
			}
			// STALE→DELAY on the SYN, with its locktime window (spec §10.3).
			st := kinds(evs, trace.KindState)
			var delay *trace.Event
			for i := range st {
				if st[i].Cause == "stale-to-delay" {
					delay = &st[i]
				}
			}
			if delay == nil || delay.Frame != 1 || delay.LocktimeUntil == nil {
				t.Fatalf("no STALE→DELAY state event for frame 1 with locktime_until: %+v", st)
			}
		})
	}
}

// TestFailureRHELExplanation pins the numbers of the 3.10 explanation: the
// window slides with every ignored GARP (spec §10.4).
func TestFailureRHELExplanation(t *testing.T) {
	_, evs := replayBytes(t, failureCapture(t), Options{Host: "10.0.0.1", Profile: profile(t, "rhel7.3"), HZ: 1000,
		Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4"}})
	arps := kinds(evs, trace.KindARP)
	want := []string{
		"ignored: 100 ticks since updated=1000000, locktime needs > 1000 (HZ=1000); updated moved to 1000100",
		"ignored: 1000 ticks since updated=1000100, locktime needs > 1000 (HZ=1000); updated moved to 1001100",
		"ignored: 1000 ticks since updated=1001100, locktime needs > 1000 (HZ=1000); updated moved to 1002100",
	}
	for i, e := range arps {
		if !strings.Contains(e.Explanation, want[i]) {
			t.Errorf("GARP %d: explanation %q, want it to contain %q", i+1, e.Explanation, want[i])
		}
		if e.Rule != "§4.4(a)" || e.Cause != "arp-update" || e.Frame != i+2 {
			t.Errorf("GARP %d: rule %q cause %q frame %d, want §4.4(a) arp-update %d", i+1, e.Rule, e.Cause, e.Frame, i+2)
		}
		if e.LocktimeUntil == nil {
			t.Errorf("GARP %d moved updated but has no locktime_until", i+1)
		} else if got, want := *e.LocktimeUntil-e.Time, 1.0; got < want-1e-6 || got > want+1e-6 {
			// updated + locktime: the last tick at which another MAC is refused.
			t.Errorf("GARP %d: locktime ends %.6f s after it, want %.3f", i+1, got, want)
		}
	}
}

// TestSLLPacketType: with `tcpdump -i any` the packet type comes from the
// kernel: a reply to our MAC asserts reachability, a broadcast one does not
// (spec §4.4).
func TestSLLPacketType(t *testing.T) {
	tests := []struct {
		name    string
		sll2    bool
		pktType uint16
		want    string
	}{
		{"SLL unicast reply", false, pktHost, "REACHABLE"},
		{"SLL broadcast reply", false, pktBroadcast, "STALE"},
		{"SLL2 unicast reply", true, pktHost, "REACHABLE"},
		{"SLL2 broadcast reply", true, pktBroadcast, "STALE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			link := capture.LinuxSLL
			if tt.sll2 {
				link = capture.LinuxSLL2
			}
			c := newCap(t, link)
			add := func(ts int64, pkt uint16, src arp.MAC, p arp.Packet) {
				if tt.sll2 {
					c.sll2(ts, 2, uint8(pkt), src, ether.EtherTypeARP, p.Append(nil))
				} else {
					c.sll(ts, pkt, src, ether.EtherTypeARP, p.Append(nil))
				}
			}
			// The host asks for G (no entry yet: the packet behind it is
			// inferred), and G answers.
			add(t0, pktOutgoing, macHost, request(macHost, ipHost, ipG))
			add(t0+2*ms, tt.pktType, macG, reply(macG, ipG, macHost, ipHost))
			sum, evs := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1", Profile: profile(t, "6.18")})
			arps := kinds(evs, trace.KindARP)
			if len(arps) != 1 {
				t.Fatalf("%d arp events, want 1: %+v", len(arps), arps)
			}
			if e := arps[0]; e.State != tt.want || e.LLAddr != macG.String() || e.Verdict != "honoured" {
				t.Errorf("reply: %s %s %s, want honoured %s %s", e.Verdict, e.State, e.LLAddr, tt.want, macG)
			}
			if sum.InferredOutputs != 1 || sum.MatchedProbes != 1 || sum.UnexpectedProbes != 0 {
				t.Errorf("inferred %d outputs, matched %d probes, %d unexpected; want 1, 1, 0",
					sum.InferredOutputs, sum.MatchedProbes, sum.UnexpectedProbes)
			}
		})
	}
}
