package replay

import (
	"cmp"
	"net/netip"
	"slices"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestStaleSpans(t *testing.T) {
	syn := func(c *capBuilder, atMs int64, dst arp.MAC) {
		c.tcp(t0+atMs*ms, dst, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))
	}
	s := func(ms float64) float64 { return seconds(t0) + ms/1000 }
	tests := []struct {
		name    string
		profile string // default rhel7.3
		build   func(c *capBuilder)
		want    []StaleSpan
	}{
		{
			name: "the GARPs were ignored: SYN retransmissions keep going to the dead MAC",
			build: func(c *capBuilder) {
				syn(c, 0, macOld)
				c.arp(t0+100*ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
				syn(c, 1000, macOld)
				syn(c, 3000, macOld)
				c.arp(t0+4000*ms, arp.Broadcast, macG, request(macG, ipG, ipHost))
			},
			want: []StaleSpan{{IP: ipF, MAC: macOld.String(), From: s(0), To: s(4000), Seconds: 4, Sends: 3,
				End: "capture ended", Open: true}},
		},
		{
			name: "the GARP was honoured within the answer window: no span",
			build: func(c *capBuilder) {
				syn(c, 0, macOld)
				c.arp(t0+100*ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
				syn(c, 1000, macNew)
				c.tcp(t0+1010*ms, macHost, macNew, tcp(ipF, ipHost, 22, 40000, 9000, 1001, ipv4.FlagSYN|ipv4.FlagACK, 0))
				c.arp(t0+4000*ms, arp.Broadcast, macG, request(macG, ipG, ipHost))
			},
		},
		{
			name: "the host moved to the new MAC after the span opened",
			build: func(c *capBuilder) {
				syn(c, 0, macOld)
				syn(c, 1000, macOld)
				syn(c, 3000, macNew)
				c.tcp(t0+3010*ms, macHost, macNew, tcp(ipF, ipHost, 22, 40000, 9000, 1001, ipv4.FlagSYN|ipv4.FlagACK, 0))
			},
			want: []StaleSpan{{IP: ipF, MAC: macOld.String(), From: s(0), To: s(3000), Seconds: 3, Sends: 2, End: "lladdr changed"}},
		},
		{
			name:    "6.18 honours the GARP: the entry no longer points at the dead MAC",
			profile: "6.18",
			build: func(c *capBuilder) {
				syn(c, 0, macOld)
				c.arp(t0+100*ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
				c.arp(t0+4000*ms, arp.Broadcast, macG, request(macG, ipG, ipHost))
			},
		},
		{
			name:    "6.18 honours the GARP, but the capture shows the host still sending to the old MAC",
			profile: "6.18",
			build: func(c *capBuilder) {
				syn(c, 0, macOld)
				c.arp(t0+100*ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
				syn(c, 1000, macOld)
				c.arp(t0+4000*ms, arp.Broadcast, macG, request(macG, ipG, ipHost))
			},
			want: []StaleSpan{{IP: ipF, MAC: macOld.String(), From: s(1000), To: s(4000), Seconds: 3, Sends: 1,
				End: "capture ended", Open: true}},
		},
		{
			name: "the old MAC spoke again",
			build: func(c *capBuilder) {
				syn(c, 0, macOld)
				syn(c, 3000, macOld)
				c.arp(t0+3500*ms, arp.Broadcast, macOld, request(macOld, ipF, ipHost))
			},
			want: []StaleSpan{{IP: ipF, MAC: macOld.String(), From: s(0), To: s(3500), Seconds: 3.5, Sends: 2, End: "heard again"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCap(t, capture.Ethernet)
			tt.build(c)
			prof := "rhel7.3"
			if tt.profile != "" {
				prof = tt.profile
			}
			sum, _ := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1", Profile: profile(t, prof),
				Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4"}})
			if diff := gocmp.Diff(tt.want, sum.Stale, cmpopts.EquateApprox(0, 1e-6), cmpopts.EquateComparable(ipF)); diff != "" {
				t.Errorf("stale spans (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStaleKeep: the tracker keeps the longest spans (of equal length the
// earlier ended) in the order they ended, and counts every span, whatever
// their number.
func TestStaleKeep(t *testing.T) {
	for _, keep := range []int{0, 1, 7, 50} {
		s := newStaleTracker()
		s.keep = keep
		var all []StaleSpan
		total, longest := 0.0, 0.0
		for i := range 300 {
			sp := StaleSpan{Sends: i, Seconds: float64((i * 7919) % 23), Open: i%50 == 0}
			all = append(all, sp)
			total += sp.Seconds
			longest = max(longest, sp.Seconds)
			s.record(sp)
		}
		// the reference: every span, the longest first (stable), cut to
		// keep, back in the order they ended
		ref := slices.Clone(all)
		slices.SortStableFunc(ref, func(a, b StaleSpan) int { return cmp.Compare(b.Seconds, a.Seconds) })
		ref = ref[:keep]
		slices.SortFunc(ref, func(a, b StaleSpan) int { return cmp.Compare(a.Sends, b.Sends) })
		got, dropped := s.spans()
		if len(ref) == 0 {
			ref = nil
		}
		if diff := gocmp.Diff(ref, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Errorf("keep %d: spans (-want +got):\n%s", keep, diff)
		}
		if dropped != len(all)-keep || s.count != len(all) || s.open != 6 || s.total != total || s.longest != longest {
			t.Errorf("keep %d: dropped %d count %d open %d total %v longest %v, want %d %d 6 %v %v",
				keep, dropped, s.count, s.open, s.total, s.longest, len(all)-keep, len(all), total, longest)
		}
		if len(s.first) != staleFirst || s.first[4].Sends != 4 {
			t.Errorf("keep %d: first spans %+v, want the first %d", keep, s.first, staleFirst)
		}
	}
}

// TestStaleTrackerForgetsIdle: a host sending to ever new next hops keeps
// the tracker bounded: idle tracks and the MACs only they used go.
func TestStaleTrackerForgetsIdle(t *testing.T) {
	s := newStaleTracker()
	s.maxTracks = 8
	for i := range 10_000 {
		now := int64(i) * 2e9
		s.check(now)
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		mac := arp.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}
		s.send(ip, mac, now)
		s.heard(mac, now+1e7) // answered: idle once its window is decided
		if s.ips.Len() > 8 || s.macs.Len() > 8 {
			t.Fatalf("after %d next hops: %d tracks, %d MACs; bound 8", i+1, s.ips.Len(), s.macs.Len())
		}
	}
	if s.maxTracks != 8 {
		t.Errorf("bound grew to %d with every track idle", s.maxTracks)
	}
}

// TestStaleTrackerForgetsNothingFound: forgetting idle tracks changes no
// span, no span's opening or closing: a tracker held to a few tracks finds
// what an unbounded one finds, on sends, answers, silences and model
// changes mixed at random over more next hops than it keeps.
func TestStaleTrackerForgetsNothingFound(t *testing.T) {
	type call struct {
		open bool
		ip   netip.Addr
		now  int64
		why  string
	}
	forgotten := 0
	run := func(bound int) ([]StaleSpan, int, []call) {
		s := newStaleTracker()
		s.maxTracks = bound
		var calls []call
		s.opened = func(t *ipTrack, now int64, why string) { calls = append(calls, call{true, t.ip, now, why}) }
		s.closed = func(t *ipTrack, now int64, why string) { calls = append(calls, call{false, t.ip, now, why}) }
		rng := uint64(1)
		next := func(n int) int { // xorshift: the same sequence for both
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			return int(rng % uint64(n))
		}
		var now int64
		for range 50_000 {
			now += int64(next(400)) * 1e6
			s.check(now)
			ip := netip.AddrFrom4([4]byte{10, 1, 0, byte(next(200))})
			mac := arp.MAC{2, 0, 0, 0, 0, byte(next(40))}
			switch next(10) {
			case 0, 1, 2, 3:
				s.send(ip, mac, now)
			case 4, 5, 6, 7, 8:
				if next(3) > 0 { // a third of the MACs answer seldom
					s.heard(mac, now)
				}
			default:
				s.modelChanged(ip, mac, now)
			}
		}
		s.finish(now + 5e9)
		forgotten = s.forgotten
		spans, dropped := s.spans()
		return spans, dropped, calls
	}
	wantSpans, wantDropped, wantCalls := run(1 << 20)
	gotSpans, gotDropped, gotCalls := run(8)
	if len(wantSpans) == 0 || len(wantCalls) == 0 || forgotten < 1000 {
		t.Fatalf("%d spans, %d tracks forgotten: the test shows nothing", len(wantSpans), forgotten)
	}
	if d := gocmp.Diff(wantSpans, gotSpans, cmpopts.EquateComparable(netip.Addr{})); d != "" || gotDropped != wantDropped {
		t.Errorf("spans with 8 tracks kept differ from unbounded (-want +got, dropped %d vs %d):\n%s", wantDropped, gotDropped, d)
	}
	if d := gocmp.Diff(wantCalls, gotCalls, gocmp.AllowUnexported(call{}), cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("openings and closings differ (-want +got):\n%s", d)
	}
}
