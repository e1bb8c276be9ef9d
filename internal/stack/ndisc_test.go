package stack

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// A dual-stack host keeps two tables: IPv4 keys in arp_tbl, IPv6 keys
// (link-local and global apart) in nd_tbl, each fed by its own input.
func TestDualStackHost(t *testing.T) {
	prof, _ := kernel.Lookup("6.18")
	rec := &recorder{}
	h, err := New(Config{Name: "h", Profile: prof, Rand: rand.New(rand.NewPCG(1, 2)), Start: 1_000_000, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	d := h.AddDevice("eth0", testkit.MACHost, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24"),
		netip.MustParsePrefix("2001:db8::1/64"), netip.MustParsePrefix("fe80::1/64")})
	if h.ND == nil || d.ND == nil || len(d.Addrs) != 1 || len(d.ND.Addrs) != 2 {
		t.Fatalf("nd_tbl not set up: %v %v", h.ND, d.ND)
	}
	peer := netip.MustParseAddr("2001:db8::10")
	if dev, nh, _, ok := h.Route(peer); !ok || dev != d || nh != peer {
		t.Fatalf("route6 %v %v %v", dev, nh, ok)
	}
	if err := h.Sysctl("net.ipv6.conf.eth0.accept_untracked_na", "1"); err != nil {
		t.Fatal(err)
	}
	if err := h.Sysctl("net.ipv6.conf.eth0.bogus", "1"); err == nil {
		t.Error("unknown ipv6 conf accepted")
	}
	if err := h.Install(d, peer, testkit.MACOld, neigh.Reachable, h.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.Install(d, netip.MustParseAddr("10.0.0.10"), testkit.MACOld, neigh.Reachable, h.Now()); err != nil {
		t.Fatal(err)
	}
	// An unsolicited O=1 NA for the peer: nd_tbl moves, arp_tbl does not.
	m := &neigh.ND{Type: neigh.NDNeighAdvert, Src: peer, Dst: ndisc.AllNodes, HopLimit: 255, Target: peer,
		Override: true, TargetLL: testkit.MACNew, HasTargetLL: true}
	h.ReceiveND(d, m, neigh.PktMulticast, 1, ndisc.MulticastMAC(ndisc.AllNodes), true)
	if s, _ := h.Lookup(d, peer); s.LLAddr != testkit.MACNew || s.State != neigh.Stale {
		t.Errorf("nd entry %v %v", s.State, s.LLAddr)
	}
	if s, _ := h.Lookup(d, netip.MustParseAddr("10.0.0.10")); s.LLAddr != testkit.MACOld {
		t.Errorf("arp entry moved: %v", s.LLAddr)
	}
	var nd *trace.Event
	for i := range rec.lines {
		if rec.lines[i].Kind == trace.KindND {
			nd = &rec.lines[i]
		}
	}
	if nd == nil || nd.ND == nil || nd.ND.Type != "NA" || !nd.ND.Override || nd.Verdict != trace.Honoured {
		t.Fatalf("no nd trace line: %+v", nd)
	}
	// Output to the peer: STALE → DELAY on nd_tbl, sent to the new MAC;
	// timers of both tables run through Advance.
	if v, mac, _ := h.Output(d, peer, nil, 0, 100, 0); v != neigh.TxSent || mac != testkit.MACNew {
		t.Errorf("output %v %v", v, mac)
	}
	h.Advance(h.Now() + vtime.Jiffies(5*h.Table.HZ+h.Table.HZ/2))
	if s, _ := h.Lookup(d, peer); s.State != neigh.Probe {
		t.Errorf("after delay_first_probe_time: %v", s.State)
	}
}

// A host with no IPv6 address has no nd_tbl and refuses IPv6 inputs.
func TestIPv4OnlyHostHasNoND(t *testing.T) {
	h, d, _ := newHost(t, "6.18")
	if h.ND != nil || d.ND != nil {
		t.Fatal("nd_tbl created for an IPv4-only host")
	}
	if err := h.Sysctl("net.ipv6.conf.eth0.forwarding", "1"); err == nil {
		t.Error("IPv6 sysctl accepted")
	}
	if v, _, _ := h.Output(d, netip.MustParseAddr("2001:db8::1"), nil, 0, 100, 0); v != neigh.TxDropped {
		t.Errorf("output %v", v)
	}
	h.ReceiveND(d, &neigh.ND{Type: neigh.NDNeighAdvert}, neigh.PktHost, 1, arp.MAC{}, false)
}

// ndisc §6.1: before 4.11, IPv6 confirmations go through the route's
// pending_confirm. RHEL 7.3 (per-CPU routes, N12) shares one route across
// destinations of a prefix; mainline 3.14 clones one per destination.
func TestIPv6RouteSharing(t *testing.T) {
	for _, c := range []struct {
		profile string
		shared  bool
	}{{"rhel7.3", true}, {"3.14", false}, {"6.18", true}} {
		prof, _ := kernel.Lookup(c.profile)
		h, err := New(Config{Name: "h", Profile: prof, Rand: rand.New(rand.NewPCG(1, 2)), Start: 1_000_000})
		if err != nil {
			t.Fatal(err)
		}
		h.AddDevice("eth0", testkit.MACHost, []netip.Prefix{netip.MustParsePrefix("2001:db8::1/64")})
		_, _, a, _ := h.Route(netip.MustParseAddr("2001:db8::10"))
		_, _, b, _ := h.Route(netip.MustParseAddr("2001:db8::20"))
		if got := a[0] == b[0]; got != c.shared {
			t.Errorf("%s: routes shared=%v, want %v", c.profile, got, c.shared)
		}
		if !c.shared && !a[0].Clone {
			t.Errorf("%s: per-destination route not marked as a clone", c.profile)
		}
	}
}
