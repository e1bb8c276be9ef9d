package neigh

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

func benchTable(b *testing.B, prof string) (*Table, *Device) {
	p, _ := kernel.Lookup(prof)
	tb, err := NewTable(Config{Profile: p, Rand: rand.New(rand.NewPCG(1, 1)), Now: base})
	if err != nil {
		b.Fatal(err)
	}
	d := tb.AddDevice("eth0", macSelf, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")})
	return tb, d
}

// BenchmarkReceiveARPExistingEntry is the cost of one received ARP frame
// for an entry that exists (goal: < 200 ns, 0 allocations). Frames
// alternate MACs so that half are honoured and half hit locktime.
func BenchmarkReceiveARPExistingEntry(b *testing.B) {
	for _, prof := range []string{"rhel7.3", "6.18"} {
		b.Run(prof, func(b *testing.B) {
			tb, d := benchTable(b, prof)
			m := macOld
			tb.Admin(base, d, AdminReplace, ipF, &m, Stale)
			pk := [2]arp.Packet{garpReply(ipF, macNew), garpReply(ipF, macOld)}
			now := vtime.Jiffies(base)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now += 700
				tb.ReceiveARP(now, d, &pk[i&1], PktBroadcast)
			}
		})
	}
}

// BenchmarkTimerEvent is the cost of one timer expiry: entries cycling
// DELAY→PROBE→…→FAILED and re-resolving.
func BenchmarkTimerEvent(b *testing.B) {
	tb, d := benchTable(b, "6.18")
	const n = 1024
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		tb.Output(base, d, ip, nil, uint64(i), 100)
	}
	now := vtime.Jiffies(base)
	b.ReportAllocs()
	b.ResetTimer()
	events := 0
	for events < b.N {
		now = tb.NextDeadline()
		r := tb.Tick(now)
		events += max(1, len(r.Decisions))
		for _, dc := range r.Decisions {
			if dc.Rule == RuleProbesExhausted {
				tb.Output(now, d, dc.IP, nil, 0, 100)
			}
		}
	}
}

// BenchmarkMemoryPerEntry reports heap bytes per entry in a table of one
// million entries.
func BenchmarkMemoryPerEntry(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		tb, d := benchTable(b, "6.18")
		tb.GCThresh2, tb.GCThresh3 = 1<<30, 1<<30
		mac := macOld
		for j := 0; j < 1_000_000; j++ {
			ip := netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)})
			tb.Admin(base, d, AdminReplace, ip, &mac, Stale)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/1e6, "bytes/entry")
		runtime.KeepAlive(tb)
	}
}

// busyDecisions are the decisions a table takes on a busy segment's mix
// of frames and packets (requests for the host, gratuitous requests with
// MAC moves, replies, senders without an entry, packets sent through a
// confirmed socket), every kind replay's JSON output explains.
func busyDecisions(tb testing.TB) []Decision {
	p, _ := kernel.Lookup("6.18")
	t, err := NewTable(Config{Profile: p, Rand: rand.New(rand.NewPCG(1, 1)), Now: base})
	if err != nil {
		tb.Fatal(err)
	}
	d := t.AddDevice("eth0", macSelf, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/16")})
	sock := &Socket{Name: "tcp 10.0.0.1:22", Route: &Route{Name: "10.0.0.0/16"}}
	var out []Decision
	now := vtime.Jiffies(base)
	for i := 0; i < 4000; i++ {
		now += 37
		k := i % 100
		ip := netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(2 + k)})
		mac := arp.MAC{2, 0, 0, 0, byte(i / 700 % 2), byte(k)}
		var r *Result
		switch i % 6 {
		case 0:
			pk := arp.NewPacket(arp.OpRequest, mac, ip, arp.Zero, netip.MustParseAddr("10.0.0.1"))
			r = t.ReceiveARP(now, d, &pk, PktBroadcast)
		case 1:
			pk := garpRequest(ip, mac)
			r = t.ReceiveARP(now, d, &pk, PktBroadcast)
		case 2:
			pk := arp.NewPacket(arp.OpReply, mac, ip, macSelf, netip.MustParseAddr("10.0.0.1"))
			r = t.ReceiveARP(now, d, &pk, PktHost)
		case 3:
			pk := garpRequest(netip.AddrFrom4([4]byte{10, 9, byte(k), 1}), mac)
			r = t.ReceiveARP(now, d, &pk, PktBroadcast)
		case 4:
			t.Confirm(now, sock)
			_, _, r = t.Output(now, d, ip, sock, uint64(i), 100)
		default:
			r = t.Tick(now)
		}
		out = append(out, r.Decisions...)
	}
	return out
}

// BenchmarkEvent is the cost of turning one decision into its trace
// line (what `arplab replay --json` does for each), over busyDecisions.
func BenchmarkEvent(b *testing.B) {
	ds := busyDecisions(b)
	seconds := func(j vtime.Jiffies) float64 { return float64(j) / 1000 }
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if _, ok := ds[i%len(ds)].Event("h", 1.5, seconds); ok {
			n++
		}
	}
	if n == 0 {
		b.Fatal("no decision wrote a line")
	}
}
