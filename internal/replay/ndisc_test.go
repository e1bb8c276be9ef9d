package replay

import (
	"net/netip"
	"strings"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// The IPv6 actors: the observed host H6, the VIP V6 that moves from
// macOld to macNew.
var (
	ip6Host = netip.MustParseAddr("2001:db8::1")
	ip6V    = netip.MustParseAddr("2001:db8::10")
)

// ipv6Capture is the IPv6 failover as one host saw it: it resolves the
// VIP (multicast NS, solicited NA), then the VIP moves and an unsolicited
// O=1 NA arrives; tag puts every frame in that VLAN (0: untagged).
func ipv6Capture(t testing.TB, link capture.LinkType, tag uint16) []byte {
	c := newCap(t, link)
	var tags []ether.Tag
	if tag != 0 {
		tags = []ether.Tag{{TPID: ether.EtherTypeVLAN, ID: tag}}
	}
	frame := func(ts int64, dst, src arp.MAC, out bool, payload []byte) {
		switch link {
		case capture.LinuxSLL2:
			pt := uint8(pktHost)
			switch {
			case out:
				pt = pktOutgoing
			case dst.IsMulticast():
				pt = 2 // PACKET_MULTICAST
			}
			c.sll2(ts, 2, pt, src, ether.EtherTypeIPv6, payload)
		default:
			c.raw(ts, testkit.Ether(dst, src, ether.EtherTypeIPv6, tags, payload))
		}
	}
	sn := ndisc.SolicitedNode(ip6V)
	frame(t0, ndisc.MulticastMAC(sn), macHost, true, testkit.NS(ip6Host, ip6V, sn, macHost))
	frame(t0+ms, macHost, macOld, false, testkit.NA(ip6V, ip6Host, true, true, macOld))
	frame(t0+5000*ms, ndisc.AllNodesMAC, macNew, false, testkit.NA(ip6V, ndisc.AllNodes, false, true, macNew))
	// a non-override NA for the same VIP, back to the old MAC: ignored
	frame(t0+5100*ms, ndisc.AllNodesMAC, macOld, false, testkit.NA(ip6V, ndisc.AllNodes, false, false, macOld))
	return c.bytes()
}

// TestReplayIPv6: ND frames in Ethernet, VLAN-tagged and cooked (SLL2)
// captures reach nd_tbl as seen by the host named by its IPv6 address.
func TestReplayIPv6(t *testing.T) {
	for _, c := range []struct {
		name string
		link capture.LinkType
		tag  uint16
	}{{"ethernet", capture.Ethernet, 0}, {"vlan", capture.Ethernet, 42}, {"sll2", capture.LinuxSLL2, 0}} {
		t.Run(c.name, func(t *testing.T) {
			data := ipv6Capture(t, c.link, c.tag)
			opt := Options{Host: ip6Host.String() + "@" + macHost.String(), Profile: profile(t, "6.18"), NoInferEntries: true}
			if c.link == capture.Ethernet {
				opt.Host = ip6Host.String()
			}
			sum, evs := replayBytes(t, data, opt)
			var nd []trace.Event
			for _, e := range evs {
				if e.Kind == trace.KindND {
					nd = append(nd, e)
				}
			}
			if len(nd) != 3 {
				t.Fatalf("%d nd events, want 3 (summary %+v)", len(nd), sum)
			}
			want := []struct{ verdict, ll, expl string }{
				{trace.Honoured, macOld.String(), "INCOMPLETE had no lladdr"},
				{trace.Honoured, macNew.String(), "O=1 overrides"},
				{trace.Ignored, macNew.String(), "without O"},
			}
			for i, w := range want {
				if nd[i].Verdict != w.verdict || nd[i].LLAddr != w.ll || !strings.Contains(nd[i].Explanation, w.expl) {
					t.Errorf("nd %d: %s %s %q, want %s %s %q", i, nd[i].Verdict, nd[i].LLAddr, nd[i].Explanation, w.verdict, w.ll, w.expl)
				}
			}
			if sum.MatchedProbes != 1 {
				t.Errorf("the host's NS was not matched to the model's probe: %+v", sum)
			}
		})
	}
}
