package advise

import (
	"fmt"

	"arplab/internal/scenario"
	"arplab/internal/vtime"
)

// The announcers of an IPv6 VIP. An unsolicited NA with O = 1 replaces a
// valid entry's MAC at once on every kernel (no locktime in IPv6,
// ndisc §5.5), so what the knobs buy is different from ARP's: enough NAs
// that one arrives, spread so that a client whose entry was not there yet
// or was FAILED (which ignores NAs, ndisc §4.2 step 7) gets one once it
// resolves again; O = 0 never moves a valid entry (§4.3).

// keepalived6: VRRPv3 on becoming MASTER for an IPv6 VIP sends
// vrrp_garp_master_repeat unsolicited NAs (O = 1) spaced by
// vrrp_gna_interval, a second burst after vrrp_garp_master_delay and
// optional refresh bursts (keepalived.conf(5); spec ndisc §10.1 KA).
func keepalived6(h float64) *Announcer {
	a := &Announcer{
		Name: "keepalived", Preset: "keepalived", IPv6: true,
		Description: "keepalived (VRRPv3) on becoming MASTER: garp_master_repeat unsolicited NAs (O=1) spaced by " +
			"vrrp_gna_interval, a second burst after garp_master_delay, optional refresh bursts",
		Knobs: keepalivedKnobs(h, "vrrp_gna_interval"),
		start: fixedStart(50*vtime.Millisecond, 100*vtime.Millisecond),
	}
	a.apply = keepalivedApply(true)
	a.config = func(s Setting) []Snippet {
		val := func(i int) string { return a.Knobs[i].Format(s[i]) }
		return []Snippet{{Where: "keepalived.conf",
			Text: fmt.Sprintf("global_defs {\n"+
				"    vrrp_garp_master_repeat %-8s # unsolicited NAs per burst (IPv6 VIPs too)\n"+
				"    vrrp_garp_master_delay %-9s # seconds to the second burst; 0 = none\n"+
				"    vrrp_gna_interval %-14s # seconds between NAs on an interface\n"+
				"    vrrp_garp_master_refresh %-7s # seconds between refresh bursts; 0 = none\n"+
				"    vrrp_garp_master_refresh_repeat %s\n"+
				"}\n", val(0), val(1), val(2), val(3), val(4))}}
	}
	return a
}

// metalLB6: MetalLB's NDP mode sends O = 1 NAs from the node's link-local
// address at once and every 1.1 s for 5 s; nothing is configurable
// (ndisc §10.1 MLB).
func metalLB6() *Announcer {
	a := fixedSchedule("metallb", "MetalLB NDP mode: an unsolicited NA (O=1) from the node's link-local address every 1100 ms for 5 s",
		"MetalLB's NDP announcer has no knob in the modelled release: the 1100 ms rounds for 5 s are "+
			"hard-coded (internal/layer2, the same loop as its GARPs)")
	a.IPv6 = true
	return a
}

// custom6: any unsolicited-NA schedule a failover hook sends: how many, how
// far apart, and whether O is set (O = 0 never moves a valid entry,
// ndisc §4.3; the advisor shows it).
func custom6(h float64) *Announcer {
	a := &Announcer{
		Name: "custom", Preset: "custom", IPv6: true,
		Description: "a custom schedule of unsolicited NAs from a failover hook: count, interval and the O flag",
		Knobs: []Knob{
			{Name: "override", Default: 1, Values: []float64{1, 0}, coarse: []float64{1, 0},
				Labels: map[float64]string{1: "O=1", 0: "O=0"}},
			countKnob, intervalKnob(h),
		},
		start: fixedStart(0, 100*vtime.Millisecond),
	}
	a.apply = func(s Setting, g *scenario.GARP, _ vtime.Duration) {
		g.Preset = "custom"
		g.NAFlags = "O"
		if s[0] == 0 {
			g.NAFlags = "none"
		}
		g.Count = int(s[1])
		g.Interval.D = secs(s[2])
	}
	a.config = func(s Setting) []Snippet {
		o := a.Knobs[0].Format(s[0])
		text := fmt.Sprintf("# %s unsolicited NAs for the VIP, %s s apart: ICMPv6 type 136, S=0, %s, TLLAO = the new owner's MAC,\n"+
			"# to ff02::1 (33:33:00:00:00:01), hop limit 255\n", a.Knobs[1].Format(s[1]), a.Knobs[2].Format(s[2]), o)
		if s[0] == 1 {
			text += fmt.Sprintf("for i in $(seq %s); do ndsend VIP IFACE; sleep %s; done\n", a.Knobs[1].Format(s[1]), a.Knobs[2].Format(s[2]))
		}
		return []Snippet{{Where: "the failover hook (ndsend sends one O=1 NA per call)", Text: text}}
	}
	return a
}
