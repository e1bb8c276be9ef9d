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
