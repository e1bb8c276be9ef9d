package kernel

import "testing"

// The IPv6 columns of ndisc §9.1, flag by flag, for the profiles read
// tree by tree (N4, N5, N6, N12, N17, N18); N13/N14 are the core F5/F4.
// N12 is the wrong-neighbour confirmation: shared per-CPU IPv6 routes
// without the 4.11 per-socket confirmation.
func TestIPv6ProfileFlags(t *testing.T) {
	type row struct {
		n4, n4sub, n5, n6, n12, n17ctl, n18 bool
	}
	for name, want := range map[string]row{
		"3.10":    {},
		"rhel7.3": {n12: true},
		"3.14":    {n18: true},
		"4.4":     {n12: true, n18: true},
		"4.9":     {n5: true, n6: true, n12: true, n18: true},
		"4.19":    {n5: true, n6: true, n18: true},
		"5.4":     {n5: true, n6: true, n18: true},
		"6.18":    {n4: true, n4sub: true, n5: true, n6: true, n17ctl: true, n18: true},
		"rhel7.8": {},
	} {
		p, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		f := p.Features()
		got := row{f.AcceptUntrackedNA, f.AcceptUntrackedNASubnet, f.DropUnsolicitedNA, f.NDDropUnicastInL2Mcast,
			f.IPv6SharedRoutes && !f.PerSocketConfirm, f.NDEvictNoCarrierCtl, f.NDDropFragments}
		if got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	// 4.14.177 carries the 4.16 "NA after DAD" fix from stable; RHEL 7.8
	// the announcement changes N8–N11.
	for name, patches := range map[string][]string{
		"4.14":    {PNDiscNotifyDAD},
		"rhel7.8": {PNDiscNotifyAll, PNDiscNotifyOnUp, PNDiscNotifyDAD, PEnhancedDAD, PNDNoARPFlush},
	} {
		p, _ := Lookup(name)
		for _, q := range patches {
			if !p.Has(q) {
				t.Errorf("%s lacks %s", name, q)
			}
		}
	}
	// The LTS lines take the IPv6 rows from their base release, and say so.
	p, _ := Lookup("5.15")
	if p.Has(PNDEvictNoCarrier) || !p.Has(PDropUnsolicitedNA) {
		t.Errorf("5.15: ndisc-evict-nocarrier %v (5.16), drop-unsolicited-na %v (4.6)", p.Has(PNDEvictNoCarrier), p.Has(PDropUnsolicitedNA))
	}
	for _, c := range p.Carries() {
		if q, _ := PatchByName(c.Patch); q.Family == "ipv6" && c.Evidence == "" {
			t.Errorf("5.15 %s: no evidence", c.Patch)
		}
	}
	if p, _ := Lookup("6.1"); !p.Has(PAcceptUntrackedNASubnet) {
		t.Error("6.1 lacks accept-untracked-na-subnet (6.0)")
	}
}
