package watch

import (
	"net/netip"
	"testing"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// BenchmarkCorrelatorBusySegment is the correlator's share of
// bench/watch.sh: frames 100 µs apart (10,000/s), nine in ten requests
// between other hosts, one in ten a GARP for an entry that flips between
// two MACs, each flip with its netlink change; events are built and
// dropped (the text stream) or not built at all (--quiet).
func BenchmarkCorrelatorBusySegment(b *testing.B) {
	b.Run("events", func(b *testing.B) { busySegment(b, func(trace.Event) {}) })
	b.Run("quiet", func(b *testing.B) { busySegment(b, nil) })
}

func busySegment(b *testing.B, out func(trace.Event)) {
	var seed []neighObs
	for i := range 50 {
		seed = append(seed, neighObs{dev: "o0", ip: netip.AddrFrom4([4]byte{10, 98, 1, byte(1 + i)}), lladdr: "02:00:00:00:ee:01", state: "STALE"})
	}
	c := newCorrelator(t0, 0, "", out)
	c.seed(seed)
	macs := []arp.MAC{{2, 0, 0, 0, 0xee, 1}, {2, 0, 0, 0, 0xee, 2}}
	at := t0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at = at.Add(100 * time.Microsecond)
		if i%10 == 0 {
			vip := netip.AddrFrom4([4]byte{10, 98, 1, byte(1 + (i/10)%50)})
			mac := macs[(i/500)%2]
			c.add(frame(at, ether.PktBroadcast, arp.Broadcast, arp.NewPacket(arp.OpRequest, mac, vip, arp.Broadcast, vip)))
			c.add(&obs{at: at.Add(50 * time.Microsecond), neigh: &neighObs{dev: "o0", ip: vip, lladdr: mac.String(), state: "STALE"}})
		} else {
			src := arp.MAC{2, 0, 0, 0, 0xdd, byte(i % 250)}
			c.add(frame(at, ether.PktBroadcast, arp.Broadcast, arp.NewPacket(arp.OpRequest, src,
				netip.AddrFrom4([4]byte{10, 98, 2, byte(1 + i%250)}), arp.MAC{}, netip.AddrFrom4([4]byte{10, 98, 3, byte(1 + i%200)}))))
		}
		if i%200 == 0 { // the loop's 20 ms tick
			c.flush(at, false)
		}
		i++
	}
}
