package replay

import (
	"strings"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"
)

// confirmCapture is fault (e) of the story (spec §6.1, §10.2 step 5): H's
// SYN to F (dead macOld) puts F in DELAY while H talks to G, whose ACKs
// confirm reachability. Before 4.11 the confirmation marks the subnet's
// shared route and the next packet through it — the SYN retransmission to
// F — confirms F; from 4.11 it stays on G's socket.
func confirmCapture(t testing.TB) []byte {
	c := newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))            // F: STALE→DELAY
	c.tcp(t0+100*ms, macG, macHost, tcp(ipHost, ipG, 40001, 80, 5000, 7000, ipv4.FlagACK, 100))  // 100 bytes to G
	c.tcp(t0+150*ms, macHost, macG, tcp(ipG, ipHost, 80, 40001, 7000, 5100, ipv4.FlagACK, 0))    // G acks them: confirm
	c.tcp(t0+1000*ms, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))    // SYN retransmission to F
	c.tcp(t0+1100*ms, macG, macHost, tcp(ipHost, ipG, 40001, 80, 5100, 7000, ipv4.FlagACK, 100)) // more to G
	c.tcp(t0+1200*ms, macHost, macG, tcp(ipG, ipHost, 80, 40001, 7000, 5100, ipv4.FlagACK, 0))   // duplicate ACK: confirms too
	c.tcp(t0+1300*ms, macHost, macG, tcp(ipG, ipHost, 80, 40001, 7000, 9999, ipv4.FlagACK, 0))   // acks unsent data: ignored
	c.arp(t0+6000*ms, arp.Broadcast, macNew, request(macNew, ipF.Next().Next(), ipG.Next()))     // lets the clock run
	return c.bytes()
}

func TestConfirmation(t *testing.T) {
	tests := []struct {
		name      string
		profile   string
		hz        int
		confirmed string // the entry the confirmation landed on
		cause     string
		fState    string // F's last transition
		fProbes   bool
	}{
		{name: "rhel7.3: G's ACK confirms F through the shared route, no probe", profile: "rhel7.3", hz: 1000,
			confirmed: ipF.String(), cause: "confirm-route-shared", fState: "delay-to-reachable"},
		{name: "6.18: the confirmation stays with G's socket, F is probed", profile: "6.18",
			confirmed: ipG.String(), cause: "confirm-per-socket", fState: "delay-to-probe", fProbes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, evs := replayBytes(t, confirmCapture(t), Options{Host: "10.0.0.1", Profile: profile(t, tt.profile), HZ: tt.hz,
				Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE", "10.0.0.20=02:00:00:00:00:20,REACHABLE"}})
			if sum.Confirmations != 2 {
				t.Errorf("%d TCP confirmations, want 2 (one forward progress, one duplicate ACK)", sum.Confirmations)
			}
			confirms := kinds(evs, trace.KindConfirm)
			if len(confirms) != 1 || sum.ConfirmationsLanded != 1 {
				t.Fatalf("%d confirm events, %d landed; want 1: %+v", len(confirms), sum.ConfirmationsLanded, confirms)
			}
			if c := confirms[0]; c.IP != tt.confirmed || c.Cause != tt.cause || !strings.Contains(c.Flow, ":40001>") {
				t.Errorf("confirmation on %s by %q (%s), want on %s by G's flow (%s)", c.IP, c.Flow, c.Cause, tt.confirmed, tt.cause)
			}
			var last string
			for _, e := range kinds(evs, trace.KindState) {
				if e.IP == ipF.String() {
					last = e.Cause
				}
			}
			if last != tt.fState {
				t.Errorf("F's last transition %q, want %q", last, tt.fState)
			}
			if got := sum.PredictedProbes > 0; got != tt.fProbes {
				t.Errorf("%d probes predicted, want probes: %v", sum.PredictedProbes, tt.fProbes)
			}
		})
	}
}
