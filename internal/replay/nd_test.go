package replay

import (
	"bytes"
	"net/netip"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/wire/ndisc"
)

// pktMulticastND is PACKET_MULTICAST.
const pktMulticastND = 2

// TestNDFramesCounted: ICMPv6 neighbour discovery frames in a capture,
// received and sent, in Ethernet and cooked records, are recognised and
// counted under their own skip reason (never silently dropped) while the
// ARP replay goes on; IPv6 frames that are not ND are not counted, and a
// malformed ND frame is counted by its decoding error.
func TestNDFramesCounted(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::10")
	na := ndisc.Message{HopLimit: 255, Src: v6, Dst: ndisc.AllNodes, Type: ndisc.TypeNeighborAdvertisement,
		Target: v6, Override: true, TargetLL: macG, HasTargetLL: true}
	naPkt := na.Append(nil)
	echo := bytes.Clone(naPkt)
	echo[40] = 128
	bad := bytes.Clone(naPkt)
	bad[len(bad)-7] = 0 // option length 0
	for _, link := range []capture.LinkType{capture.Ethernet, capture.LinuxSLL2} {
		t.Run(link.String(), func(t *testing.T) {
			c := newCap(t, link)
			add := func(ts int64, pkt uint16, src [6]byte, payload []byte) {
				if link == capture.Ethernet {
					dst := ndisc.AllNodesMAC
					if pkt == pktOutgoing {
						src = macHost
					}
					c.eth(ts, dst, src, ndisc.EtherTypeIPv6, payload)
				} else {
					c.sll2(ts, 2, uint8(pkt), src, ndisc.EtherTypeIPv6, payload)
				}
			}
			add(t0, pktMulticastND, macG, naPkt)
			add(t0+ms, pktOutgoing, macHost, naPkt)
			add(t0+2*ms, pktMulticastND, macG, echo)
			add(t0+3*ms, pktMulticastND, macG, bad)
			add(t0+4*ms, pktHost, macG, naPkt)
			sum, _ := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1@" + macHost.String(), Profile: profile(t, "6.18")})
			if got := sum.Skipped[skipND]; got != 3 {
				t.Errorf("%d ND frames counted, want 3 (skipped: %v)", got, sum.Skipped)
			}
			if got := sum.Skipped[ndisc.ErrBadOption.Error()]; got != 1 {
				t.Errorf("malformed ND frame counted %d times under its error, want 1 (skipped: %v)", got, sum.Skipped)
			}
		})
	}
}
