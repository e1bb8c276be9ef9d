package advise

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"arplab/internal/garp"
	"arplab/internal/scenario"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Knob is one real configuration knob of an announcer, under the name the
// operator writes in its configuration.
type Knob struct {
	Name string `json:"name"`
	// Unit is "s" or "ms" for durations, "" for counts and choices.
	Unit    string  `json:"unit,omitempty"`
	Default float64 `json:"default"`
	// Values is the fine grid the refinement walks; coarse is the first
	// grid the search screens (a subset of Values).
	Values []float64 `json:"values"`
	coarse []float64
	// Labels name the values of a choice knob (arping's -U/-A).
	Labels map[float64]string `json:"-"`
}

// Format prints one value of the knob as the operator would write it.
func (k Knob) Format(v float64) string {
	if l, ok := k.Labels[v]; ok {
		return l
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Setting is one value per knob, in the announcer's knob order.
type Setting []float64

// Announcer is a GARP sender the operator configures, with its real knobs
// only (field notes §B.3) and how arplab models it (internal/garp).
type Announcer struct {
	Name        string `json:"name"`
	Preset      string `json:"preset"`
	Description string `json:"description"`
	Knobs       []Knob `json:"knobs"`
	// NoKnob says why nothing can be tuned (MetalLB, Cilium).
	NoKnob string `json:"no_knob,omitempty"`
	// start says when the first frame leaves after the VIP moves, and
	// how much later it may be in a Monte Carlo run (uniform).
	start     func(Setting) (at, vary vtime.Duration)
	apply     func(Setting, *scenario.GARP, vtime.Duration)
	baselines []baseline
	config    func(Setting) []Snippet
	// IPv6: the announcer sends unsolicited NAs for an IPv6 VIP (in the
	// JSON too, so that a saved result renders as it printed).
	IPv6 bool `json:"ipv6"`
}

// baseline is a setting of another sender worth comparing with the
// announcer's default (Neutron's pre-2017 pattern for Neutron).
type baseline struct {
	label     string
	announcer string
}

// Snippet is configuration to paste, with where it goes.
type Snippet struct {
	Where string `json:"where"`
	Text  string `json:"text"`
}

// Default returns the announcer's shipped setting.
func (a *Announcer) Default() Setting {
	s := make(Setting, len(a.Knobs))
	for i, k := range a.Knobs {
		s[i] = k.Default
	}
	return s
}

// Key names a setting uniquely and stably (seeds are derived from it).
func (a *Announcer) Key(s Setting) string {
	var b strings.Builder
	b.WriteString(a.Name)
	for i, k := range a.Knobs {
		fmt.Fprintf(&b, " %s=%s", k.Name, strconv.FormatFloat(s[i], 'g', -1, 64))
	}
	return b.String()
}

// Describe prints a setting as the knobs read ("vrrp_garp_master_repeat 2,
// vrrp_garp_interval 1.5 s").
func (a *Announcer) Describe(s Setting) string {
	if len(a.Knobs) == 0 {
		return "the built-in schedule (no knob)"
	}
	var parts []string
	for i, k := range a.Knobs {
		v := k.Format(s[i])
		if k.Unit != "" {
			v += " " + k.Unit
		}
		parts = append(parts, k.Name+" "+v)
	}
	return strings.Join(parts, ", ")
}

// Map returns the setting as name → value, for JSON.
func (a *Announcer) Map(s Setting) map[string]any {
	m := map[string]any{}
	for i, k := range a.Knobs {
		if l, ok := k.Labels[s[i]]; ok {
			m[k.Name] = l
		} else {
			m[k.Name] = s[i]
		}
	}
	return m
}

// Config returns the configuration to paste for s.
func (a *Announcer) Config(s Setting) []Snippet { return a.config(s) }

// Modelled addresses of the failover scenario: the VIP and the two
// stations that own it before and after the move.
var (
	vipAddr  = netip.MustParseAddr(plan4.vip)
	vip6Addr = netip.MustParseAddr(plan6.vip)
	oldMAC   = arp.MAC{0x00, 0x00, 0x5e, 0x00, 0x01, 0x01}
	newMAC   = arp.MAC{0x00, 0x00, 0x5e, 0x00, 0x01, 0x02}
)

// frames returns the schedule a setting sends within horizon, one
// string per frame (its time and what tells it apart on the wire), for
// counting and for telling identical candidates apart.
func (a *Announcer) frames(s Setting, horizon vtime.Duration) ([]string, error) {
	var g scenario.GARP
	a.apply(s, &g, horizon)
	var in []string
	if a.IPv6 {
		fs, err := garp.NASchedule(g.PresetName(), newMAC, vip6Addr, g.Options())
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if f.At <= horizon {
				in = append(in, fmt.Sprintf("%d/%v/R%v S%v O%v/%v", f.At, f.Msg.Src, f.Msg.Router, f.Msg.Solicited, f.Msg.Override, f.Msg.HasTargetLL))
			}
		}
		return in, nil
	}
	fs, err := garp.Schedule(g.PresetName(), newMAC, vipAddr, g.Options())
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.At <= horizon {
			in = append(in, fmt.Sprintf("%d/%d/%v", f.At, f.Packet.Op, f.Packet.THA))
		}
	}
	return in, nil
}

// signature identifies the schedule on the wire (with its start spread),
// so two settings that send the same frames are simulated once.
func (a *Announcer) signature(s Setting, horizon vtime.Duration) (string, int, error) {
	fs, err := a.frames(s, horizon)
	if err != nil {
		return "", 0, err
	}
	at, vary := a.start(s)
	var b strings.Builder
	fmt.Fprintf(&b, "%d+%d:", at, vary)
	for _, f := range fs {
		b.WriteString(f + ";")
	}
	return b.String(), len(fs), nil
}

func secs(v float64) vtime.Duration { return vtime.Duration(math.Round(v * 1e9)) }

func fixedStart(at, vary vtime.Duration) func(Setting) (vtime.Duration, vtime.Duration) {
	return func(Setting) (vtime.Duration, vtime.Duration) { return at, vary }
}

func grid(lo, hi float64, vs ...float64) []float64 {
	var out []float64
	for _, v := range vs {
		if v >= lo && v <= hi {
			out = append(out, v)
		}
	}
	return out
}

// Announcers returns the announcers arplab can advise on, for a stale
// horizon (knob values beyond it cannot help and are left out).
func Announcers(horizon vtime.Duration) []*Announcer {
	h := horizon.Seconds()
	return []*Announcer{
		keepalived(h), neutronFixed(h), neutronLegacy(), kubeVIP(h), metalLB(), cilium(), arping(h), custom(h),
	}
}

// Announcers6 returns the announcers of an IPv6 VIP: senders of
// unsolicited Neighbour Advertisements (../shared/spec/linux-ndisc.md
// §10.1).
func Announcers6(horizon vtime.Duration) []*Announcer {
	h := horizon.Seconds()
	return []*Announcer{keepalived6(h), metalLB6(), custom6(h)}
}

// LookupAnnouncer returns the announcer named name, of an IPv6 VIP with v6.
func LookupAnnouncer(name string, horizon vtime.Duration, v6 bool) (*Announcer, error) {
	var names []string
	list := Announcers(horizon)
	if v6 {
		list = Announcers6(horizon)
	}
	for _, a := range list {
		if a.Name == name {
			return a, nil
		}
		names = append(names, a.Name)
	}
	if v6 {
		return nil, fmt.Errorf("unknown IPv6 announcer %q (known: %s)", name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("unknown announcer %q (known: %s)", name, strings.Join(names, ", "))
}

// keepalivedKnobs are keepalived's vrrp_garp_* knobs; interval names the
// spacing knob (vrrp_garp_interval for GARPs, vrrp_gna_interval for NAs).
func keepalivedKnobs(h float64, interval string) []Knob {
	return []Knob{
		{Name: "vrrp_garp_master_repeat", Default: 5, Values: []float64{1, 2, 3, 4, 5, 6, 8}, coarse: []float64{1, 2, 3, 5}},
		{Name: "vrrp_garp_master_delay", Unit: "s", Default: 5,
			Values: grid(0, h, 0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, 20, 30, 60),
			coarse: grid(0, h, 0, 1, 2, 3, 5)},
		{Name: interval, Unit: "s", Default: 0,
			Values: grid(0, h, 0, 0.1, 0.25, 0.5, 0.75, 1, 1.1, 1.25, 1.5, 2, 2.5, 3),
			coarse: grid(0, h, 0, 0.5, 1, 1.5, 2)},
		{Name: "vrrp_garp_master_refresh", Unit: "s", Default: 0,
			Values: grid(0, h, 0, 1, 2, 3, 4, 5, 10, 30, 60), coarse: grid(0, h, 0, 2)},
		{Name: "vrrp_garp_master_refresh_repeat", Default: 1, Values: []float64{1, 2, 3}, coarse: []float64{1}},
	}
}

// keepalivedApply sets a keepalived sender from a setting of
// keepalivedKnobs; na: the spacing is vrrp_gna_interval.
func keepalivedApply(na bool) func(Setting, *scenario.GARP, vtime.Duration) {
	return func(s Setting, g *scenario.GARP, horizon vtime.Duration) {
		g.Preset = "keepalived"
		g.MasterRepeat = int(s[0])
		g.MasterDelay.D = secs(s[1])
		if s[1] == 0 {
			g.MasterDelay.D = garp.None
		}
		if na {
			g.GNAInterval.D = secs(s[2])
		} else {
			g.GARPInterval.D = secs(s[2])
		}
		g.MasterRefresh.D = secs(s[3])
		if s[3] > 0 {
			g.MasterRefreshRepeat = int(s[4])
		}
		g.Deadline.D = horizon
	}
}

// keepalived: keepalived.conf(5) global vrrp_garp_* (and per-instance
// garp_*) knobs; REQUESTs only. The first burst leaves as the instance
// becomes MASTER (modelled 50 ms after the move, up to 100 ms later).
func keepalived(h float64) *Announcer {
	a := &Announcer{
		Name: "keepalived", Preset: "keepalived",
		Description: "keepalived on becoming MASTER: garp_master_repeat GARP requests, a second burst after " +
			"garp_master_delay, optional refresh bursts, garp_interval between frames (a burst it holds " +
			"back shrinks to one pending GARP)",
		Knobs: keepalivedKnobs(h, "vrrp_garp_interval"),
		start: fixedStart(50*vtime.Millisecond, 100*vtime.Millisecond),
	}
	a.apply = keepalivedApply(false)
	a.config = func(s Setting) []Snippet {
		f := a.Knobs
		val := func(i int) string { return f[i].Format(s[i]) }
		global := fmt.Sprintf("global_defs {\n"+
			"    vrrp_garp_master_repeat %-8s # GARPs per burst\n"+
			"    vrrp_garp_master_delay %-9s # seconds to the second burst; 0 = none\n"+
			"    vrrp_garp_interval %-13s # seconds between GARPs on an interface (µs resolution)\n"+
			"    vrrp_garp_master_refresh %-7s # seconds between refresh bursts; 0 = none\n"+
			"    vrrp_garp_master_refresh_repeat %s\n"+
			"}\n", val(0), val(1), val(2), val(3), val(4))
		inst := fmt.Sprintf("vrrp_instance VI_1 {\n"+
			"    ...\n"+
			"    garp_master_repeat %s\n"+
			"    garp_master_delay %s\n"+
			"    garp_master_refresh %s\n"+
			"    garp_master_refresh_repeat %s\n"+
			"}\n"+
			"garp_group {                 # garp_interval per interface\n"+
			"    garp_interval %s\n"+
			"    interface eth0\n"+
			"}\n", val(0), val(1), val(3), val(4), val(2))
		return []Snippet{
			{Where: "keepalived.conf, global (every instance)", Text: global},
			{Where: "keepalived.conf, per instance (overrides the global values)", Text: inst},
		}
	}
	return a
}

// neutronFixed: the L3 agent since 2017 (3 rounds of arping -U then -A, 2 s
// apart). The round count was send_arp_for_ha before it was removed and is
// hard-coded to 3 since; it is the one knob of the pattern.
func neutronFixed(h float64) *Announcer {
	maxRounds := min(8, int(h/2)+1)
	var vals []float64
	for r := 1; r <= maxRounds; r++ {
		vals = append(vals, float64(r))
	}
	a := &Announcer{
		Name: "neutron", Preset: "neutron",
		Description: "OpenStack Neutron's L3 agent since 2017: send_arp_for_ha rounds, 2 s apart, each " +
			"`arping -U -c 1` then `arping -A -c 1`",
		Knobs: []Knob{{Name: "send_arp_for_ha", Default: 3, Values: vals, coarse: vals}},
		start: fixedStart(200*vtime.Millisecond, 100*vtime.Millisecond),
		baselines: []baseline{{label: "Neutron before 2017-05 (`arping -A -c send_arp_for_ha`, 1 s apart)",
			announcer: "neutron-legacy"}},
	}
	a.apply = func(s Setting, g *scenario.GARP, _ vtime.Duration) {
		g.Preset = "neutron"
		g.Count = int(s[0])
	}
	a.config = func(s Setting) []Snippet {
		n := a.Knobs[0].Format(s[0])
		return []Snippet{
			{Where: "l3_agent.ini [DEFAULT] (Neutron releases that still read it; it was deprecated in 2016 and removed in Pike)",
				Text: "send_arp_for_ha = " + n + "\n"},
			{Where: "neutron/agent/linux/ip_lib.py, releases since Pike (the round count is hard-coded)",
				Text: "send_ip_addr_adv_notif(ns_name, iface_name, address, count=" + n + ", log_exception=True)\n"},
		}
	}
	return a
}

// neutronLegacy: the L3 agent before 2017-05: one `arping -A -c N`.
func neutronLegacy() *Announcer {
	vals := []float64{1, 2, 3, 4, 5, 6, 8}
	a := &Announcer{
		Name: "neutron-legacy", Preset: "neutron-legacy",
		Description: "OpenStack Neutron before 2017-05: `arping -A -c send_arp_for_ha`, replies 1 s apart",
		Knobs:       []Knob{{Name: "send_arp_for_ha", Default: 3, Values: vals, coarse: []float64{1, 2, 3, 5, 8}}},
		start:       fixedStart(200*vtime.Millisecond, 100*vtime.Millisecond),
	}
	a.apply = func(s Setting, g *scenario.GARP, _ vtime.Duration) {
		g.Preset = "neutron-legacy"
		g.Count = int(s[0])
	}
	a.config = func(s Setting) []Snippet {
		return []Snippet{{Where: "l3_agent.ini [DEFAULT]", Text: "send_arp_for_ha = " + a.Knobs[0].Format(s[0]) + "\n"}}
	}
	return a
}

// kubeVIP: one frame per vip_arpRate, alternating reply and request, on a
// free-running ticker, so the first frame after a leader change comes
// anywhere within one period.
func kubeVIP(h float64) *Announcer {
	a := &Announcer{
		Name: "kube-vip", Preset: "kube-vip",
		Description: "kube-vip while leader: one GARP per vip_arpRate, alternating reply and request",
		Knobs: []Knob{{Name: "vip_arpRate", Unit: "ms", Default: 3000,
			Values: grid(500, 1000*h, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 10000),
			coarse: grid(500, 1000*h, 500, 1000, 1500, 2000, 3000, 5000)}},
		start: func(s Setting) (vtime.Duration, vtime.Duration) { return 0, secs(s[0] / 1000) },
	}
	a.apply = func(s Setting, g *scenario.GARP, horizon vtime.Duration) {
		rate := secs(s[0] / 1000)
		g.Preset = "kube-vip"
		g.Interval.D = rate
		g.Count = int(horizon/rate) + 1
		g.Deadline.D = horizon
	}
	a.config = func(s Setting) []Snippet {
		v := a.Knobs[0].Format(s[0])
		return []Snippet{{Where: "kube-vip manifest (DaemonSet or static Pod), container env",
			Text: "- name: vip_arpRate\n  value: \"" + v + "\"\n"}}
	}
	return a
}

func metalLB() *Announcer {
	return fixedSchedule("metallb", "MetalLB layer 2: a request and a reply (THA broadcast) every 1100 ms for 5 s",
		"MetalLB's layer-2 announcer has no GARP knob in the modelled release: the 1100 ms rounds for 5 s "+
			"are hard-coded (internal/layer2/announcer.go spamLoop)")
}

func cilium() *Announcer {
	return fixedSchedule("cilium", "Cilium L2 announcer: one reply with THA broadcast when a node takes the lease",
		"Cilium's L2 announcer sends one GARP reply when it takes the lease and has no knob for it "+
			"(pkg/datapath/garp); lease timing decides when, not how often")
}

// fixedSchedule is an announcer without a knob: its preset's schedule,
// starting within 100 ms of the move.
func fixedSchedule(preset, description, noKnob string) *Announcer {
	return &Announcer{
		Name: preset, Preset: preset, Description: description, NoKnob: noKnob,
		start:  fixedStart(0, 100*vtime.Millisecond),
		apply:  func(_ Setting, g *scenario.GARP, _ vtime.Duration) { g.Preset = preset },
		config: func(Setting) []Snippet { return nil },
	}
}

// arping: iputils arping run by a failover script; -i and -w take whole
// seconds.
func arping(h float64) *Announcer {
	a := &Announcer{
		Name: "arping", Preset: "arping-U",
		Description: "iputils `arping -U|-A -c COUNT -i INTERVAL` run by a failover script",
		Knobs: []Knob{
			{Name: "flavour", Default: 0, Values: []float64{0, 1}, coarse: []float64{0, 1},
				Labels: map[float64]string{0: "-U", 1: "-A"}},
			{Name: "-c", Default: 3, Values: []float64{1, 2, 3, 4, 5, 6, 8}, coarse: []float64{1, 2, 3, 5}},
			{Name: "-i", Unit: "s", Default: 1, Values: grid(1, h, 1, 2, 3, 4, 5), coarse: grid(1, h, 1, 2, 3)},
		},
		start: fixedStart(0, 100*vtime.Millisecond),
	}
	a.apply = func(s Setting, g *scenario.GARP, _ vtime.Duration) {
		g.Preset = "arping-U"
		if s[0] == 1 {
			g.Preset = "arping-A"
		}
		g.Count = int(s[1])
		g.Interval.D = secs(s[2])
	}
	a.config = func(s Setting) []Snippet {
		return []Snippet{{Where: "the failover script (iputils arping; -i needs iputils s20190324 or later)",
			Text: fmt.Sprintf("arping %s -c %s -i %s -I IFACE VIP\n", a.Knobs[0].Format(s[0]), a.Knobs[1].Format(s[1]), a.Knobs[2].Format(s[2]))}}
	}
	return a
}

// countKnob and intervalKnob are a custom schedule's count and spacing.
var countKnob = Knob{Name: "count", Default: 1, Values: []float64{1, 2, 3, 4, 5, 6, 8}, coarse: []float64{1, 2, 3, 5}}

func intervalKnob(h float64) Knob {
	return Knob{Name: "interval", Unit: "s", Default: 1,
		Values: grid(0.1, h, 0.25, 0.5, 0.75, 1, 1.1, 1.25, 1.5, 2, 2.5, 3), coarse: grid(0.1, h, 0.5, 1, 1.5, 2)}
}

// custom: any request/reply schedule, sent by `arplab garp`.
func custom(h float64) *Announcer {
	a := &Announcer{
		Name: "custom", Preset: "custom",
		Description: "a custom schedule sent with `arplab garp`: mode, count and interval",
		Knobs: []Knob{
			{Name: "mode", Default: 0, Values: []float64{0, 1, 2}, coarse: []float64{0, 2},
				Labels: map[float64]string{0: "request", 1: "reply", 2: "both"}},
			countKnob, intervalKnob(h),
		},
		start: fixedStart(0, 100*vtime.Millisecond),
	}
	a.apply = func(s Setting, g *scenario.GARP, _ vtime.Duration) {
		g.Preset = "custom"
		g.Mode = a.Knobs[0].Format(s[0])
		g.Count = int(s[1])
		g.Interval.D = secs(s[2])
	}
	a.config = func(s Setting) []Snippet {
		return []Snippet{{Where: "the failover hook",
			Text: fmt.Sprintf("arplab garp IFACE VIP --mode %s --count %s --interval %ss\n",
				a.Knobs[0].Format(s[0]), a.Knobs[1].Format(s[1]), a.Knobs[2].Format(s[2]))}}
	}
	return a
}
