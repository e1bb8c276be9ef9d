package sim

import (
	"strings"
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// TestReplyAction: a reply action reaches the host as an unsolicited
// unicast reply; arp_accept=1 lets it create a REACHABLE entry (spec §4.4),
// arp_accept=0 does not, and the station's send is in the trace.
func TestReplyAction(t *testing.T) {
	for _, c := range []struct{ accept, state string }{{"1", "REACHABLE"}, {"0", "NONE"}} {
		s, err := scenario.Parse([]byte(`name: reply
duration: 1s
segments: [{name: lan}]
hosts:
  - name: h
    profile: "6.18"
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
    sysctls: {conf.eth0.arp_accept: "`+c.accept+`"}
stations:
  - {name: r, segment: lan, mac: "02:00:00:00:00:09"}
script:
  - {at: 0.2s, reply: {from: r, ip: 10.0.0.50, to: h}}
checks:
  - {at: 0.5s, host: h, ip: 10.0.0.50, state: `+c.state+`}
`), "reply.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var rec trace.Recorder
		res, err := Run(s, Options{Sink: &rec})
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range res.Checks {
			if !ch.OK {
				t.Errorf("arp_accept=%s: check failed: %+v", c.accept, ch)
			}
		}
		sent := false
		for _, e := range rec.Events {
			if e.Kind == trace.KindSend && e.Cause == "reply" {
				sent = e.ARP != nil && e.ARP.TIP == "10.0.0.1" && e.ARP.THA == "02:00:00:00:00:01" && !e.ARP.GARP &&
					strings.Contains(e.Explanation, "10.0.0.50 is-at 02:00:00:00:00:09")
			}
		}
		if !sent {
			t.Errorf("arp_accept=%s: no send event for the reply in the trace", c.accept)
		}
	}
}
