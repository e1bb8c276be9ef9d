package advise

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"arplab/internal/kernel"
	"arplab/internal/live/doctor"
	"arplab/internal/scenario"
	"arplab/internal/vtime"
)

// Alternatives are what to do when the announcer's knobs cannot reach the
// target (or it has none): change the failing clients, or add an
// announcement the announcer does not send.
type Alternatives struct {
	Reason string `json:"reason"`
	// Sysctls are host-side changes for the failing groups, as doctor
	// words them, each tried in the simulator with the announcer's
	// default.
	Sysctls []SysctlTrial `json:"sysctls"`
	// Supplementary is the smallest extra `arplab garp` run (from
	// keepalived's notify_master or a Kubernetes hook) that, added to the
	// announcer's default, meets the target on every group.
	Supplementary *Supplementary `json:"supplementary,omitempty"`
}

// SysctlTrial is one host-side change for one group.
type SysctlTrial struct {
	Group     string `json:"group"`
	Mechanism string `json:"mechanism"`
	// Sysctl is the change tried ("" when no sysctl addresses the
	// mechanism: a kernel upgrade does).
	Sysctl   string       `json:"sysctl,omitempty"`
	Finding  string       `json:"finding"`
	Change   string       `json:"change"`
	Why      string       `json:"why"`
	TradeOff string       `json:"trade_off"`
	Result   *GroupResult `json:"result,omitempty"`
}

// Supplementary is an extra announcement and its results.
type Supplementary struct {
	Command string    `json:"command"`
	Hook    string    `json:"hook"`
	Result  Evaluated `json:"result"`
}

// mechanismSysctls maps doctor's mechanisms to the change tried for them.
func mechanismSysctls(p kernel.Profile) map[string]map[string]string {
	accept := "1"
	if p.Features().ARPAcceptMax {
		accept = "2"
	}
	return map[string]map[string]string{
		doctor.MechDropGratuitous: {"conf.all.drop_gratuitous_arp": "0", "conf." + clientDev + ".drop_gratuitous_arp": "0"},
		doctor.MechARPAccept:      {"conf.all.arp_accept": accept},
		doctor.MechLocktime:       {"neigh." + clientDev + ".locktime": "0"},
		doctor.MechMovingLocktime: {"neigh." + clientDev + ".locktime": "0"},
	}
}

// relevant are the mechanisms that decide whether a GARP is honoured.
var relevant = []string{doctor.MechDropGratuitous, doctor.MechMovingLocktime, doctor.MechLocktime,
	doctor.MechGARPReply, doctor.MechARPAccept, doctor.MechSharedRouteConfirm}

// doctorReport describes a group as `arplab doctor` would see such a host,
// so that its advice (and trade-offs) can be quoted.
func doctorReport(g Group) (doctor.Report, kernel.Profile, error) {
	p, err := ResolveProfile(baseProfile(g))
	if err != nil {
		return doctor.Report{}, p, err
	}
	if p, err = p.WithPatches(g.Patches); err != nil {
		return doctor.Report{}, p, err
	}
	f := p.Features()
	r := doctor.Report{Release: p.Release, Profile: p.Name, Flags: map[string]bool{}, HZ: g.HZ,
		// the client's address as the failover scenario gives it: doctor
		// advises on interfaces with an IPv4 address (all combined with
		// the device), and on conf/default only for a host without one
		Interfaces: []doctor.Interface{{Name: clientDev, Up: true, Addrs: []string{plan4.client}}}, Entries: g.Entries,
		Conf: map[string]map[string]doctor.Setting{}, Neigh: map[string]map[string]doctor.Setting{}, GC: map[string]doctor.Setting{}}
	for _, fl := range kernel.FlagTable {
		r.Flags[fl.ID] = f.Flag(fl.ID)
	}
	conf := func(scope, key, def string) doctor.Setting {
		if key == "drop_gratuitous_arp" && !f.DropGratuitousARP {
			return doctor.Setting{State: doctor.Absent}
		}
		if v, ok := g.Sysctls["conf."+scope+"."+key]; ok {
			return doctor.Setting{Value: v}
		}
		return doctor.Setting{Value: def}
	}
	for _, scope := range []string{"all", "default", clientDev} {
		r.Conf[scope] = map[string]doctor.Setting{
			"arp_accept": conf(scope, "arp_accept", "0"), "drop_gratuitous_arp": conf(scope, "drop_gratuitous_arp", "0")}
	}
	neighDefaults := map[string]string{"locktime": "100", "base_reachable_time_ms": "30000", "delay_first_probe_time": "5",
		"ucast_solicit": "3", "retrans_time_ms": "1000"}
	r.Neigh[clientDev] = map[string]doctor.Setting{}
	for k, def := range neighDefaults {
		v := def
		if s, ok := g.Sysctls["neigh."+clientDev+"."+k]; ok {
			v = s
		}
		r.Neigh[clientDev][k] = doctor.Setting{Value: v}
	}
	r.GC["gc_thresh1"] = doctor.Setting{Value: "128"}
	r.Entries = max(r.Entries, 128) // the table size is not what is advised on here
	return r, p, nil
}

// alternatives tries host-side sysctls on the groups where the default
// fails, and a supplementary announcement on the whole fleet.
func (e *engine) alternatives(ctx context.Context, def *candidate) (*Alternatives, error) {
	alt := &Alternatives{}
	if e.a.NoKnob != "" {
		alt.Reason = e.a.NoKnob
	} else {
		alt.Reason = fmt.Sprintf("no setting of %s's knobs met p(failure) ≤ %g on every group", e.a.Name, e.opt.MaxFailure)
	}
	var trials []*candidate
	var trialIdx []int
	for gi, g := range def.groups {
		if g.decision == passed {
			continue
		}
		fg := e.fleet.Groups[gi]
		if e.opt.IPv6 {
			tr, c, err := e.trial6(fg, gi)
			if err != nil {
				return nil, err
			}
			if c != nil {
				trials = append(trials, c)
				trialIdx = append(trialIdx, len(alt.Sysctls))
				alt.Sysctls = append(alt.Sysctls, tr)
			}
			continue
		}
		r, prof, err := doctorReport(fg)
		if err != nil {
			return nil, err
		}
		sets := mechanismSysctls(prof)
		tried := map[string]bool{}
		for _, adv := range doctor.Advise(r) {
			if !slices.Contains(relevant, adv.Mechanism) || adv.Severity == doctor.SeverityInfo && adv.Mechanism != doctor.MechARPAccept {
				continue
			}
			tr := SysctlTrial{Group: fg.Name, Mechanism: adv.Mechanism, Finding: adv.Finding, Change: adv.Change, Why: adv.Why, TradeOff: adv.TradeOff}
			set := sets[adv.Mechanism]
			key := fmt.Sprint(set)
			if set != nil && !tried[key] {
				tried[key] = true
				tr.Sysctl = sysctlLine(set)
				c, err := e.trial(fg, gi, set)
				if err != nil {
					return nil, err
				}
				trials = append(trials, c)
				trialIdx = append(trialIdx, len(alt.Sysctls))
			}
			alt.Sysctls = append(alt.Sysctls, tr)
		}
	}
	if err := e.evaluateAll(ctx, trials, e.t.capRuns, true); err != nil {
		return nil, err
	}
	for i, c := range trials {
		gi := slices.IndexFunc(c.groups, func(g *groupMC) bool { return g != nil })
		ev := e.evaluated(c, "")
		gr := ev.Groups[gi]
		alt.Sysctls[trialIdx[i]].Result = &gr
	}
	sup, err := e.supplementary(ctx, def)
	if err != nil {
		return nil, err
	}
	alt.Supplementary = sup
	return alt, nil
}

func sysctlLine(set map[string]string) string {
	var s string
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if s != "" {
			s += " "
		}
		if !strings.HasPrefix(k, "net.") {
			s += "net.ipv4."
		}
		s += k + "=" + set[k]
	}
	return "sysctl -w " + s
}

// trial is the announcer's default on one group with extra sysctls.
func (e *engine) trial(fg Group, gi int, set map[string]string) (*candidate, error) {
	g := fg
	g.Sysctls = maps.Clone(fg.Sysctls)
	if g.Sysctls == nil {
		g.Sysctls = map[string]string{}
	}
	maps.Copy(g.Sysctls, set)
	base, err := groupScenario(g, e.opt.MaxStale, e.opt.IPv6)
	if err != nil {
		return nil, err
	}
	c, err := e.newCandidate(e.a, e.a.Default())
	if err != nil {
		return nil, err
	}
	s, err := withSender(base, e.a, c.setting, e.opt.MaxStale)
	if err != nil {
		return nil, err
	}
	c.key += " | " + sysctlLine(set)
	c.only = gi
	c.groups[gi] = &groupMC{scn: s, key: c.key + " | " + fg.Name}
	return c, nil
}

// supplementary finds the smallest `arplab garp --preset arping-U` run
// that, sent by a hook after the announcer's default, meets the target on
// every group: GARP requests spaced by whole seconds, which every kernel
// honours once they leave the locktime window.
func (e *engine) supplementary(ctx context.Context, def *candidate) (*Supplementary, error) {
	var cs []*candidate
	for _, n := range []int{1, 2, 3} {
		for _, iv := range []int{1, 2} {
			if n == 1 && iv > 1 || vtime.Duration(iv)*vtime.Second*vtime.Duration(n-1) > e.opt.MaxStale {
				continue
			}
			x := sender{label: fmt.Sprintf("arplab garp IFACE VIP --preset arping-U --count %d --interval %ds", n, iv),
				frames: n, at: 300 * vtime.Millisecond, vary: 200 * vtime.Millisecond,
				apply: func(g *scenario.GARP) {
					g.Preset, g.Count, g.Interval.D = "arping-U", n, vtime.Duration(iv)*vtime.Second
				}}
			if e.opt.IPv6 {
				// unsolicited NAs with O = 1, one ndsend call each
				x.label = fmt.Sprintf("for i in $(seq %d); do ndsend VIP IFACE; sleep %d; done", n, iv)
				x.apply = func(g *scenario.GARP) {
					g.Preset, g.NAFlags, g.Count, g.Interval.D = "custom", "O", n, vtime.Duration(iv)*vtime.Second
				}
			}
			c, err := e.newCandidate(e.a, def.setting, x)
			if err != nil {
				return nil, err
			}
			if e.opt.MaxFrames > 0 && c.frames > e.opt.MaxFrames {
				continue
			}
			cs = append(cs, c)
		}
	}
	if err := e.evaluateAll(ctx, cs, e.t.capRuns, false); err != nil {
		return nil, err
	}
	cs = slices.DeleteFunc(cs, func(c *candidate) bool { return c.dead || !c.full })
	if len(cs) == 0 {
		return nil, nil
	}
	slices.SortFunc(cs, better)
	best := cs[0]
	hook := "keepalived: notify_master \"/usr/local/bin/arplab garp IFACE VIP …\" in the vrrp_instance; " +
		"Kubernetes: a controller or sidecar that runs it when this node takes the VIP (lease or leader change)"
	what := " GARP request(s)"
	if e.opt.IPv6 {
		hook = "keepalived: notify_master running the loop in the vrrp_instance; Kubernetes: a controller or sidecar " +
			"that runs it when this node takes the VIP (lease or leader change)"
		what = " unsolicited NA(s), O=1"
	}
	return &Supplementary{Command: best.extra[0].label, Hook: hook, Result: e.evaluated(best, "announcer default + "+strconv.Itoa(best.extra[0].frames)+what)}, nil
}

// trial6 is the host-side change tried on a failing group of an IPv6
// fleet: the one IPv6 setting that stops a client from taking any
// announcement, drop_unsolicited_na (ndisc §4.2 step 3), turned off. A
// group without it has no host-side setting to try (nil candidate):
// O = 1 NAs need no sysctl anywhere else (no locktime, ndisc §5.5).
func (e *engine) trial6(fg Group, gi int) (SysctlTrial, *candidate, error) {
	key := "net.ipv6.conf." + clientDev + ".drop_unsolicited_na"
	if v, ok := fg.Sysctls[key]; !ok || v == "0" {
		return SysctlTrial{}, nil, nil
	}
	tr := SysctlTrial{Group: fg.Name, Mechanism: "drop_unsolicited_na",
		Finding: "drop_unsolicited_na is 1: every NA with S=0 is dropped before anything else, so no announcement reaches the table",
		Change:  "sysctl -w net.ipv6.conf.IFACE.drop_unsolicited_na=0",
		Why:     "ndisc §4.2 step 3: only the interface's own value counts (conf/all is ignored)",
		TradeOff: "unsolicited NAs from any node on the link are taken again (an O=1 NA moves a valid entry at once); " +
			"RFC 9131 routers that set it to ignore them lose that",
		Sysctl: "sysctl -w net.ipv6.conf." + clientDev + ".drop_unsolicited_na=0"}
	c, err := e.trial(fg, gi, map[string]string{key: "0"})
	return tr, c, err
}
