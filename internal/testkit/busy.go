package testkit

import (
	"net/netip"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

// BusyHost and BusyPrefix are the observed host of BusySegment.
var (
	BusyHost   = netip.MustParseAddr("10.0.0.1")
	BusyPrefix = netip.MustParsePrefix("10.0.0.1/16")
)

// BusyGap is the time between two frames of BusySegment (20 µs: a 2M-frame
// capture spans 40 s, long enough for locktime and the answer window to
// matter, short enough that reachable_time rarely runs out).
const BusyGap int64 = 20_000

// BusySegment writes n Ethernet frames of a busy segment as one host
// (BusyHost, MACHost) sees it, calling emit with each frame's capture time
// (ns) and bytes; the bytes are reused by the next call. The host has
// neighbours neighbours (10.0.k/16), visited round robin, each visit one
// frame of a ten-frame cycle: the neighbour's request for the host, the
// host's reply, a gratuitous request, TCP from the host and the
// neighbour's ACK. One GARP in 53 announces a new MAC for its IP (a
// failover): it comes within locktime of the neighbour's last request, so
// the host's kernel ignores it and keeps sending to the old MAC, which no
// longer answers; every third such move the neighbour then stays quiet
// for 150 visits (3 s with 1,000 neighbours), so that the old MAC stays
// in use past replay's one-second answer window (a dead MAC), until the
// neighbour's next request updates the entry. The first frame is the
// host's own request, so identifying the host costs one frame. The same
// n and neighbours always give the same bytes.
func BusySegment(n, neighbours int, t0 int64, emit func(ts int64, frame []byte) error) error {
	if neighbours < 1 || neighbours > 60000 {
		neighbours = 1000
	}
	type nb struct {
		ip       netip.Addr
		gen      byte    // the neighbour's current MAC is busyMAC(k, gen)
		hostMAC  arp.MAC // the MAC the host sends to
		quiet    int     // visits left without the neighbour's own requests
		seq, ack uint32
		moves    int
	}
	nbs := make([]nb, neighbours)
	for k := range nbs {
		nbs[k] = nb{ip: netip.AddrFrom4([4]byte{10, 0, byte((k + 2) >> 8), byte(k + 2)}), hostMAC: busyMAC(k, 0), seq: 1, ack: 1}
	}
	var frame, pl []byte
	put := func(ts int64, dst, src arp.MAC, et uint16, payload []byte) error {
		frame = ether.Header{Dst: dst, Src: src, EtherType: et}.Append(frame[:0])
		frame = append(frame, payload...)
		for len(frame) < 60 {
			frame = append(frame, 0)
		}
		return emit(ts, frame)
	}
	garps := 0
	step := 7 // coprime with neighbours, so every neighbour is visited
	for gcd(step, neighbours) != 1 {
		step++
	}
	for i := 0; i < n; i++ {
		ts := t0 + int64(i)*BusyGap
		visit := i / neighbours
		k := (i * step) % neighbours
		s := &nbs[k]
		mac := busyMAC(k, s.gen)
		var err error
		switch phase := (visit + k) % 10; {
		case i == 0:
			pl = Request(MACHost, BusyHost, s.ip).Append(pl[:0])
			err = put(ts, arp.Broadcast, MACHost, ether.EtherTypeARP, pl)
		case phase == 0 && s.quiet == 0:
			// The neighbour asks for the host; the host learns (or
			// relearns) its MAC from it.
			pl = Request(mac, s.ip, BusyHost).Append(pl[:0])
			err = put(ts, arp.Broadcast, mac, ether.EtherTypeARP, pl)
			s.hostMAC = mac
		case phase == 1 && s.quiet == 0:
			pl = Reply(MACHost, BusyHost, mac, s.ip).Append(pl[:0])
			err = put(ts, mac, MACHost, ether.EtherTypeARP, pl)
		case phase == 2 && s.quiet == 0:
			garps++
			if garps%53 == 0 {
				s.gen++
				s.moves++
				mac = busyMAC(k, s.gen)
				if s.moves%3 == 0 {
					s.quiet = 150
				}
			}
			pl = GARPRequest(s.ip, mac).Append(pl[:0])
			err = put(ts, arp.Broadcast, mac, ether.EtherTypeARP, pl)
		case phase%2 == 1 || s.hostMAC != mac:
			// The host sends data; a neighbour the host still thinks is
			// at an old MAC never gets it, so never answers.
			err = put(ts, s.hostMAC, MACHost, ether.EtherTypeIPv4, TCP(BusyHost, s.ip, 40000, 22, s.seq, s.ack, ipv4.FlagACK, 100))
			s.seq += 100
		default:
			err = put(ts, MACHost, mac, ether.EtherTypeIPv4, TCP(s.ip, BusyHost, 22, 40000, s.ack, s.seq, ipv4.FlagACK, 0))
		}
		if err != nil {
			return err
		}
		if i%neighbours == neighbours-1 {
			for j := range nbs {
				if nbs[j].quiet > 0 {
					nbs[j].quiet--
				}
			}
		}
	}
	return nil
}

// busyMAC is neighbour k's MAC in its generation gen.
func busyMAC(k int, gen byte) arp.MAC {
	return arp.MAC{0x02, 0x10, gen, byte(k >> 16), byte(k >> 8), byte(k)}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
