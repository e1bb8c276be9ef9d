package replay

import (
	"strings"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/trace"
	"arplab/internal/wire/ipv4"
)

// TestUnalignedAnswerAtLocktimeEdge replays the frame timings of the lab
// run of scenarios/verify/probe-reply-locktime-1s.yaml that failed in CI
// (the host's capture, HZ=250, locktime 1 s, delay_first_probe_time 1 s,
// retrans_time 300 ms): the host uses its STALE entry, its DELAY→PROBE
// timer runs at +1002.4 ms, the earliest the timer wheel allows (spec
// §12.2), and the new owner answers each probe 1.3–2.5 ms later with its
// own MAC.
//
// Aligned to the host's probe the model does what the kernel did: the
// transition restarts locktime (spec §2.2 step 3), every answer is inside
// it and ignored, the probes run out, FAILED. Without alignment the model's
// DELAY timer is still pending when the first answer comes, and what the
// model does with it is the locktime test of spec §4.4 on the replay's
// clock (the first frame at the start of its tick, Options.Phase 0): at
// +1003.764 ms the answer is 250 ticks after the STALE→DELAY `updated`,
// not strictly more than locktime, so it is ignored, yet as a unicast
// reply it still sets `confirmed` (spec §5 step 6, 4.19+; §12.3 "Rejected
// replies still confirm"), and the DELAY timer then finds the entry
// confirmed and goes REACHABLE on the OLD MAC without a probe (§2.2 step
// 3). The same answer 0.4 ms later is 251 ticks after: honoured, REACHABLE
// on the new MAC. Both are the model's rules, not a replay fault: which
// one a run without alignment shows depends on where the host's jiffies
// stood, which the capture does not say. On rhel8, which keeps the
// 4.12–4.18 rule (an ignored reply confirms nothing, spec §1.2), the same
// replay goes DELAY→PROBE at its own tick and, every answer inside the
// locktime its transitions restart, ends FAILED.
func TestUnalignedAnswerAtLocktimeEdge(t *testing.T) {
	for _, tt := range []struct {
		name    string
		profile string
		answer  int64 // µs after the host's use of the entry
		noAlign bool
		state   string
		mac     string
		verdict string // on the first answer
	}{
		{"aligned", "6.18", 1003764, false, "FAILED", "", trace.Ignored},
		{"not aligned, answer 250 ticks after updated", "6.18", 1003764, true, "REACHABLE", macOld.String(), trace.Ignored},
		{"not aligned, answer 251 ticks after updated", "6.18", 1004100, true, "REACHABLE", macNew.String(), trace.Honoured},
		{"not aligned, 250 ticks, no confirm-on-arp", "rhel8", 1003764, true, "FAILED", "", trace.Ignored},
	} {
		t.Run(tt.name, func(t *testing.T) {
			us := ms / 1000
			c := newCap(t, capture.Ethernet)
			c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0)) // STALE → DELAY
			c.arp(t0+1002436*us, macOld, macHost, request(macHost, ipHost, ipF))              // DELAY → PROBE
			c.arp(t0+tt.answer*us, macHost, macNew, reply(macNew, ipF, macHost, ipHost))
			c.arp(t0+1322451*us, macOld, macHost, request(macHost, ipHost, ipF))
			c.arp(t0+1323831*us, macHost, macNew, reply(macNew, ipF, macHost, ipHost))
			c.arp(t0+1642446*us, macOld, macHost, request(macHost, ipHost, ipF))
			c.arp(t0+1644972*us, macHost, macNew, reply(macNew, ipF, macHost, ipHost))
			_, evs := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1", Profile: profile(t, tt.profile), HZ: 250,
				Until: "+3s", NoAlign: tt.noAlign, Initial: []string{"10.0.0.10=" + macOld.String() + ",STALE"},
				Sysctls: []string{"delay_first_probe_time=1", "retrans_time_ms=300", "locktime=100"}})
			last := lastState(evs, ipF.String())
			if last.State != tt.state || (tt.mac != "" && last.LLAddr != tt.mac) {
				t.Errorf("F ends %s %s, want %s %s", last.State, last.LLAddr, tt.state, tt.mac)
			}
			answers := kinds(evs, trace.KindARP)
			if len(answers) != 3 {
				t.Fatalf("%d ARP frames received in the trace, want the 3 answers", len(answers))
			}
			first := answers[0]
			if first.Verdict != tt.verdict {
				t.Errorf("first answer %s (%s), want %s", first.Verdict, first.Explanation, tt.verdict)
			}
			// an ignored unicast answer confirms the MAC the entry kept
			// (4.19+ and 4.14.y)
			if confirms := strings.Contains(first.Explanation, "confirmed moved"); tt.verdict == trace.Ignored && confirms != (tt.profile != "rhel8") {
				t.Errorf("first answer on %s: %s", tt.profile, first.Explanation)
			}
			if tt.noAlign && tt.mac == macOld.String() {
				var viaConfirm bool
				for _, e := range kinds(evs, trace.KindState) {
					viaConfirm = viaConfirm || e.IP == ipF.String() && e.OldState == "DELAY" && e.State == "REACHABLE" && e.LLAddr == macOld.String()
				}
				if !viaConfirm {
					t.Errorf("no DELAY→REACHABLE on the old MAC in the trace")
				}
			}
		})
	}
}

// lastState is the last state event of ip's entry in a trace (the zero
// Event if it has none).
func lastState(evs []trace.Event, ip string) trace.Event {
	var last trace.Event
	for _, e := range kinds(evs, trace.KindState) {
		if e.IP == ip {
			last = e
		}
	}
	return last
}
