package labnet

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

var (
	ip6Obs = netip.MustParsePrefix("2001:db8:99::1/64")
	ip6Snd = netip.MustParsePrefix("2001:db8:99::2/64")
	vip6   = netip.MustParseAddr("2001:db8:99::100")
)

// naFrame builds an unsolicited or solicited Neighbour Advertisement with
// gopacket's layers, a builder independent of arplab's own (its checksum
// is computed over the IPv6 pseudo-header by gopacket).
func naFrame(t *testing.T, src arp.MAC, srcIP, target netip.Addr, flags uint8, tllao *arp.MAC) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(src[:]), DstMAC: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6,
		SrcIP: net.IP(srcIP.AsSlice()), DstIP: net.ParseIP("ff02::1")}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	na := &layers.ICMPv6NeighborAdvertisement{Flags: flags, TargetAddress: net.IP(target.AsSlice())}
	if tllao != nil {
		na.Options = layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: append([]byte(nil), tllao[:]...)}}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, eth, ip, icmp, na); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const naOverride, naSolicited = 0x20, 0x40

// TestIPv6NeighbourDiscovery checks the lab's IPv6 side on the running
// kernel: IPv6 turned on without DAD, an ND entry written and read over
// netlink (AF_INET6), the ND table's parameters, an unsolicited NA
// injected from a raw socket honoured with O = 1 and ignored with O = 0
// (spec ndisc §4.3, §12 rows 1 and 2), the neigh_update tracepoint with
// family 10, and the capture keeping IPv6 frames.
func TestIPv6NeighbourDiscovery(t *testing.T) {
	l := newTestLab(t)
	obs, snd := addHost(t, l, "obs"), addHost(t, l, "snd")
	seg, err := l.AddSegment("lan")
	if err != nil {
		t.Fatal(err)
	}
	obsIf, sndIf := l.IfName("o"), l.IfName("s")
	if err := l.Attach(obs, obsIf, seg, macObs, []netip.Prefix{ipObs, ip6Obs}); err != nil {
		t.Fatalf("Attach obs: %v", err)
	}
	if !obs.IPv6() {
		t.Fatal("Attach with an IPv6 address did not turn IPv6 on")
	}
	if err := snd.EnableIPv6(); err != nil {
		t.Fatal(err)
	}
	if err := l.Attach(snd, sndIf, seg, macNew, []netip.Prefix{ip6Snd}); err != nil {
		t.Fatalf("Attach snd: %v", err)
	}
	port, err := snd.OpenRaw(sndIf)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := l.StartTracer(ktrace.TracerOptions{Devs: []string{obsIf}})
	if err != nil {
		t.Logf("no tracer (%v): the tracepoint part is skipped", err)
	}
	capt, err := obs.StartCapture(obsIf)
	if err != nil {
		t.Fatal(err)
	}

	for _, k := range []string{"accept_dad", "router_solicitations", "disable_ipv6"} {
		if v, err := obs.GetSysctl("net/ipv6/conf/" + obsIf + "/" + k); err != nil || v != "0" {
			t.Errorf("conf/%s/%s = %q, %v; want 0", obsIf, k, v, err)
		}
	}
	conf, err := obs.ReadConf6(obsIf)
	if err != nil || conf["forwarding"] != "0" || conf["drop_unsolicited_na"] != "0" {
		t.Errorf("ReadConf6 = %v, %v", conf, err)
	}
	_, parms, err := obs.NDTable()
	if err != nil {
		t.Fatal(err)
	}
	links, err := obs.Links()
	if err != nil {
		t.Fatal(err)
	}
	var p NeighParams
	for _, ln := range links {
		if ln.Name == obsIf {
			p = parms[ln.Index]
		}
	}
	// nd_tbl never initialises locktime (spec ndisc §2.1).
	if p.Locktime != 0 || p.BaseReachableTime != 30*time.Second || p.RetransTime != time.Second || p.McastProbes != 3 {
		t.Errorf("ND parameters of %s = %+v, want locktime 0, base_reachable_time 30s, retrans 1s, 3 mcast probes", obsIf, p)
	}

	if err := obs.NeighSet(neigh.AdminReplace, NeighSpec{Dev: obsIf, IP: vip6, LLAddr: macOld, HasLLAddr: true, State: neigh.Reachable}); err != nil {
		t.Fatalf("NeighSet IPv6: %v", err)
	}
	get := func() Neigh {
		t.Helper()
		n, ok, err := obs.Neighbour(obsIf, vip6)
		if err != nil || !ok {
			t.Fatalf("Neighbour(%v) = %v, %v, %v", vip6, n, ok, err)
		}
		return n
	}
	if n := get(); n.State != neigh.Reachable || n.LLAddr != macOld {
		t.Fatalf("after ip -6 neigh replace: %v", n)
	}

	// O = 0 with a new lladdr: REACHABLE drops to STALE, the MAC stays.
	if _, err := port.Send(naFrame(t, macNew, vip6, vip6, 0, &macNew)); err != nil {
		t.Fatal(err)
	}
	if n := get(); n.State != neigh.Stale || n.LLAddr != macOld {
		t.Errorf("after NA O=0: %v, want STALE %v (weak override)", n, macOld)
	}
	// O = 1: the new MAC at once, STALE.
	if _, err := port.Send(naFrame(t, macNew, vip6, vip6, naOverride, &macNew)); err != nil {
		t.Fatal(err)
	}
	if n := get(); n.State != neigh.Stale || n.LLAddr != macNew {
		t.Errorf("after NA O=1: %v, want STALE %v", n, macNew)
	}
	// None of this touched the ARP table, and no multicast mapping shows.
	all, err := obs.Neighbours(obsIf)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		if n.IP != vip6 && !(n.IP.Is6() && n.IP.IsLinkLocalUnicast()) {
			t.Errorf("unexpected entry %v", n)
		}
	}

	if tr != nil {
		ev, err := tr.WaitFor(ctxT(t), func(e ktrace.Event) bool {
			return e.Event == "neigh_update" && e.IP == vip6 && e.UpdateFlags&ktrace.UpdateOverride != 0 && e.UpdateFlags&ktrace.UpdateAdmin == 0
		})
		if err != nil {
			t.Fatalf("no neigh_update with OVERRIDE for %v: %v\nevents: %v", vip6, err, tr.Events())
		}
		// NA: WEAK_OVERRIDE and OVERRIDE_ISROUTER always, OVERRIDE iff O
		// (spec ndisc §5.1).
		want := ktrace.UpdateOverride | ktrace.UpdateWeakOverride | ktrace.UpdateOverrideIsRouter
		if ev.Family != 10 || ev.UpdateFlags != want || ev.NewLLAddr != macNew || ev.LLAddr != macOld || ev.NewState != neigh.Stale {
			t.Errorf("neigh_update = %+v, want family 10, flags %02x, %v → %v STALE", ev, want, macOld, macNew)
		}
	}

	if err := obs.NeighDel(obsIf, vip6); err != nil {
		t.Fatalf("NeighDel IPv6: %v", err)
	}
	if _, ok, _ := obs.Neighbour(obsIf, vip6); ok {
		t.Error("the entry is still there after NeighDel")
	}
	frames, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	nas := 0
	for _, f := range frames {
		if etherType(f.Data) == 0x86dd && len(f.Data) > 54 && f.Data[54] == 136 && f.Type == ether.PktMulticast && f.Stamped {
			nas++
		}
	}
	if nas != 2 {
		t.Errorf("the capture kept %d of the 2 NAs (multicast, stamped); %d frames in all", nas, len(frames))
	}
}
