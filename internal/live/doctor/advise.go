package doctor

import (
	"fmt"
	"slices"
	"strings"
)

// Severities, from "worth knowing" to "GARP cannot work as configured".
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Mechanisms named by Advice.Mechanism.
const (
	MechLocktime           = "locktime"
	MechMovingLocktime     = "moving-locktime"
	MechGARPReply          = "garp-reply-not-recognised"
	MechSharedRouteConfirm = "shared-route-confirm"
	MechARPAccept          = "arp_accept"
	MechDropGratuitous     = "drop_gratuitous_arp"
	MechGCThresh1          = "gc_thresh1"
	MechEvictNoCarrier     = "arp_evict_nocarrier"
	MechReachableTime      = "base_reachable_time"
	MechBroadcastTHAReply  = "broadcast-tha-reply"
)

// Advice is one finding about GARP handling on the inspected host.
type Advice struct {
	Severity  string `json:"severity"`
	Mechanism string `json:"mechanism"`
	// Dev is the interface the finding is about ("" = the whole host).
	Dev string `json:"dev,omitempty"`
	// Rule is the spec section behind the finding.
	Rule     string `json:"rule"`
	Finding  string `json:"finding"`
	Change   string `json:"change"`
	Why      string `json:"why"`
	TradeOff string `json:"trade_off"`
}

// Advise turns a report into advice: kernel-level findings first (they hold
// for every interface), then per-interface ones in interface order. Only
// interfaces with an IPv4 address are advised on (an ifb or a bridge port
// without one never resolves a neighbour), and a finding that reads the
// same for several interfaces is given once, naming them all. It reads
// nothing but r.
func Advise(r Report) []Advice {
	var out []Advice
	out = append(out, kernelAdvice(r)...)
	devs := r.ipv4Devices()
	if len(devs) == 0 {
		// advise on what new interfaces will get
		out = append(out, deviceAdvice(r, "default")...)
	} else {
		out = append(out, mergeDevices(r, devs)...)
	}
	out = append(out, gcAdvice(r)...)
	return out
}

// devPlaceholder stands for an interface name while advice is compared
// across interfaces; no interface can be called that (it has a NUL).
const devPlaceholder = "\x00dev\x00"

// mergeDevices advises on each of devs and merges advice that differs only
// in the interface's name: the finding names every interface it holds for,
// and a command to run takes DEV with the list.
func mergeDevices(r Report, devs []string) []Advice {
	type merged struct {
		a    Advice
		devs []string
	}
	var order []*merged
	byText := map[Advice]*merged{}
	for _, dev := range devs {
		for _, a := range deviceAdvice(r.as(dev, devPlaceholder), devPlaceholder) {
			if m := byText[a]; m != nil {
				m.devs = append(m.devs, dev)
				continue
			}
			m := &merged{a: a, devs: []string{dev}}
			byText[a] = m
			order = append(order, m)
		}
	}
	out := make([]Advice, 0, len(order))
	for _, m := range order {
		a := m.a
		list := strings.Join(m.devs, ", ")
		cmd := m.devs[0]
		if len(m.devs) > 1 {
			cmd = "DEV"
		}
		a.Dev = strings.ReplaceAll(a.Dev, devPlaceholder, list)
		a.Finding = strings.ReplaceAll(a.Finding, devPlaceholder, list)
		a.Why = strings.ReplaceAll(a.Why, devPlaceholder, list)
		a.TradeOff = strings.ReplaceAll(a.TradeOff, devPlaceholder, list)
		if strings.Contains(a.Change, devPlaceholder) {
			a.Change = strings.ReplaceAll(a.Change, devPlaceholder, cmd)
			if len(m.devs) > 1 {
				a.Change += " (DEV: each of " + list + ")"
			}
		}
		out = append(out, a)
	}
	return out
}

// as returns r with dev's settings also under the name alias, so advice
// can be written for the alias and compared between interfaces.
func (r Report) as(dev, alias string) Report {
	conf := make(map[string]map[string]Setting, len(r.Conf)+1)
	for k, v := range r.Conf {
		conf[k] = v
	}
	neigh := make(map[string]map[string]Setting, len(r.Neigh)+1)
	for k, v := range r.Neigh {
		neigh[k] = v
	}
	conf[alias], neigh[alias] = r.Conf[dev], r.Neigh[dev]
	r.Conf, r.Neigh = conf, neigh
	return r
}

func kernelAdvice(r Report) []Advice {
	var out []Advice
	f := r.Flags
	if !f["F4"] {
		out = append(out, Advice{
			Severity: SeverityCritical, Mechanism: MechMovingLocktime, Rule: "§4.4, §5 step 8",
			Finding: fmt.Sprintf("kernel %s (profile %s) re-stamps an entry's `updated` even when it ignores an update, "+
				"so the locktime window moves with every ignored GARP", r.Release, r.Profile),
			Change: "space repeated announcements at least twice locktime apart (Neutron waits 2 s between rounds), " +
				"or run a kernel with the timestamp fix (4.12+, RHEL 7.8)",
			Why: "three GARPs 1 s apart against a 1 s locktime each land in a fresh window when the first one does: " +
				"all are ignored, which is the Failure's mechanism (field notes §A.3 #2)",
			TradeOff: "wider spacing delays the first effective announcement after a failover by up to one gap",
		})
	}
	if !f["F2"] {
		out = append(out, Advice{
			Severity: SeverityWarning, Mechanism: MechGARPReply, Rule: "§4.4(a)-(b)",
			Finding: fmt.Sprintf("kernel %s (profile %s) does not treat ARP replies with tha == sha (arping -A, "+
				"Neutron before 2017, kube-vip's replies) as gratuitous: they obey locktime like any reply", r.Release, r.Profile),
			Change: "make senders announce with GARP requests (arping -U, keepalived) or with both requests and replies",
			Why:    "only requests can bypass locktime on this kernel, and only with arp_accept on (3.14-4.11) or not at all (≤3.13)",
			TradeOff: "some switches and firewalls learn only from replies (ClusterLabs/resource-agents#977), " +
				"so send both flavours rather than requests alone",
		})
	}
	if !f["F6"] {
		out = append(out, Advice{
			Severity: SeverityWarning, Mechanism: MechSharedRouteConfirm, Rule: "§6.1",
			Finding: fmt.Sprintf("kernel %s (profile %s) confirms neighbours through the shared route: TCP traffic "+
				"to any host on a subnet keeps every entry on it \"confirmed\"", r.Release, r.Profile),
			Change: "upgrade to 4.11+ (or RHEL 7.8), which confirms per socket",
			Why: "a STALE entry with the old MAC goes DELAY → REACHABLE without a probe, so it never learns " +
				"the new MAC unless a GARP gets through (field notes §A.3 #4: entries wrong for hours)",
			TradeOff: "a kernel upgrade; no sysctl turns this off",
		})
	}
	out = append(out, Advice{
		Severity: SeverityInfo, Mechanism: MechBroadcastTHAReply, Rule: "§4.4(c), §12.3",
		Finding: "ARP replies whose THA is ff:ff:ff:ff:ff:ff or zero (MetalLB's second frame, Cilium's only frame) " +
			"are not gratuitous to Linux, even with sip == tip",
		Change: "rely on the GARP requests (MetalLB sends one per round); for Cilium, whose single reply is " +
			"ignored when it lands within locktime of the entry's last change, expect peers to heal via NUD probing " +
			"or add a request-sending announcer",
		Why:      "arp_is_garp() accepts a reply only when tha == sha, so such a reply overrides only after locktime",
		TradeOff: "none on the receiver; drop_gratuitous_arp still drops them (it tests only sip == tip)",
	})
	return out
}

func deviceAdvice(r Report, dev string) []Advice {
	var out []Advice
	f := r.Flags
	devLabel := dev
	if dev == "default" {
		devLabel = "" // the advice is about the defaults, not a device
	}
	add := func(a Advice) {
		a.Dev = devLabel
		out = append(out, a)
	}

	// drop_gratuitous_arp: all OR dev (spec §8.2).
	if v, ok := r.combined(dev, "drop_gratuitous_arp", combineOR); ok && v != 0 {
		add(Advice{
			Severity: SeverityCritical, Mechanism: MechDropGratuitous, Rule: "§4.2 step 6",
			Finding: fmt.Sprintf("drop_gratuitous_arp is on for %s: every ARP packet with sip == tip is dropped "+
				"before the table update — no GARP of any shape updates this host", dev),
			Change: fmt.Sprintf("sysctl -w net.ipv4.conf.%s.drop_gratuitous_arp=0 and net.ipv4.conf.all.drop_gratuitous_arp=0 "+
				"on interfaces where failover announcements must be honoured", dev),
			Why: "with it on, a moved address heals only through NUD (DELAY, unicast probes) or aging, " +
				"seconds to minutes instead of one frame",
			TradeOff: "it exists to resist GARP spoofing on untrusted segments; turning it off trusts anyone on the link to announce",
		})
	}

	lock, lockOK := r.neighInt(dev, "locktime") // USER_HZ (1/100 s)
	if lockOK {
		lt := float64(lock) / 100
		accept, _ := r.combined(dev, "arp_accept", r.acceptCombine())
		a := Advice{Mechanism: MechLocktime, Rule: "§4.4", Change: fmt.Sprintf("announce with GARP requests (or replies "+
			"with THA = own MAC); space repeats of other shapes more than %gs apart (MetalLB uses 1.1 s)", lt),
			Why: fmt.Sprintf("an update with a new MAC arriving within locktime (%gs) of the entry's last change is "+
				"ignored unless the kernel recognises it as a GARP", lt),
			TradeOff: "lowering locktime lets a late or duplicate answer (two hosts claiming the address) replace " +
				"the first one sooner; raising it delays every non-GARP correction",
		}
		switch {
		case f["F3"]:
			a.Severity = SeverityInfo
			a.Finding = fmt.Sprintf("locktime on %s is %d (%gs): recognised GARPs override inside it regardless of arp_accept", dev, lock, lt)
		case f["F1"]:
			a.Severity = SeverityWarning
			a.Finding = fmt.Sprintf("locktime on %s is %d (%gs) and GARP requests bypass it only when arp_accept is on "+
				"(effective %d here); GARP replies never do", dev, lock, lt, accept)
			a.Change = "set arp_accept=1 and have senders use GARP requests, or space GARPs more than locktime apart"
		default:
			a.Severity = SeverityWarning
			a.Finding = fmt.Sprintf("locktime on %s is %d (%gs) and this kernel has no GARP override: every "+
				"announcement inside the window is ignored", dev, lock, lt)
			a.Change = fmt.Sprintf("space announcements more than %gs apart (twice that without the timestamp fix)", lt)
		}
		add(a)
	}

	if a, ok := r.acceptAdvice(dev); ok {
		add(a)
	}

	// arp_evict_nocarrier: all AND dev (spec §8.2); absent before 5.16.
	if v, ok := r.combined(dev, "arp_evict_nocarrier", combineAND); ok && v == 0 {
		add(Advice{
			Severity: SeverityInfo, Mechanism: MechEvictNoCarrier, Rule: "§7.3, §8.2",
			Finding: fmt.Sprintf("arp_evict_nocarrier is off for %s: neighbour entries survive a carrier loss", dev),
			Change:  fmt.Sprintf("leave it at 1 (default) unless the link roams between networks: sysctl -w net.ipv4.conf.%s.arp_evict_nocarrier=1", dev),
			Why: "after the cable or access point changes, entries for the old network keep their MACs until they " +
				"age out, and nothing announces against them",
			TradeOff: "1 flushes every entry on a link flap, forcing re-resolution; 0 exists for Wi-Fi roaming within one network",
		})
	}

	// base_reachable_time_ms: REACHABLE lasts [0.5, 1.5) × base (spec §2.4).
	if base, ok := r.neighInt(dev, "base_reachable_time_ms"); ok && base > 30000 {
		delay, _ := r.neighInt(dev, "delay_first_probe_time")
		probes, _ := r.neighInt(dev, "ucast_solicit")
		retrans, _ := r.neighInt(dev, "retrans_time_ms")
		worst := 1.5*float64(base)/1000 + float64(delay) + float64(probes*retrans)/1000
		add(Advice{
			Severity: SeverityWarning, Mechanism: MechReachableTime, Rule: "§2.4, §2.5",
			Finding: fmt.Sprintf("base_reachable_time_ms on %s is %d (default 30000): a confirmed entry with a wrong "+
				"MAC can take up to %.0fs to heal without a GARP (1.5 × base + delay_first_probe_time + probes)", dev, base, worst),
			Change:   fmt.Sprintf("sysctl -w net.ipv4.neigh.%s.base_reachable_time_ms=30000", dev),
			Why:      "a REACHABLE entry is not re-validated until reachable_time expires, so a missed GARP costs that long",
			TradeOff: "a shorter reachable time means more DELAY/PROBE cycles and unicast probes on busy links",
		})
	}
	return out
}

// acceptAdvice describes arp_accept on dev (spec §4.4(d), §8.2).
func (r Report) acceptAdvice(dev string) (Advice, bool) {
	v, ok := r.combined(dev, "arp_accept", r.acceptCombine())
	if !ok {
		return Advice{}, false
	}
	f := r.Flags
	a := Advice{Mechanism: MechARPAccept, Rule: "§4.4, §8.2", Severity: SeverityInfo}
	set := fmt.Sprintf("sysctl -w net.ipv4.conf.%s.arp_accept=", dev)
	risk := "1 lets any host on the segment create entries for any address (spoofing, and table growth " +
		"toward gc_thresh3); 2 (6.0+) only for senders inside a subnet configured on the interface"
	switch {
	case v == 0:
		a.Finding = fmt.Sprintf("arp_accept is 0 on %s: a GARP for an address with no entry creates none; "+
			"only hosts already talking to the address are updated", dev)
		if f["F14"] {
			a.Change = set + "2 if clients must learn moved addresses before their first packet"
		} else {
			a.Change = set + "1 on trusted segments if clients must learn moved addresses before their first packet"
		}
		a.Why = "with an entry in place, the first packet after a failover goes straight to the new MAC instead of resolving"
		a.TradeOff = risk
	case v == 1:
		a.Finding = fmt.Sprintf("arp_accept is 1 on %s: any GARP or unsolicited reply creates an entry, "+
			"even for a sender outside this interface's subnets", dev)
		if f["F14"] {
			a.Severity = SeverityWarning
			a.Change = set + "2: create entries only for in-subnet senders"
		} else {
			a.Change = "keep 1 only on trusted segments (this kernel has no subnet-checked mode 2)"
		}
		a.Why = "entries created from unsolicited ARP are what an on-link attacker needs to redirect traffic"
		a.TradeOff = risk
	case f["F14"]:
		a.Finding = fmt.Sprintf("arp_accept is %d on %s: entries are created only for senders inside a subnet "+
			"configured on the interface", v, dev)
		a.Change = "none"
		a.Why = "this is the safe way to learn moved addresses early (kernel 6.0+, e68c5dcf0aac)"
		a.TradeOff = "senders outside the interface's subnets (secondary ranges, proxy setups) still create no entry"
	default:
		a.Severity = SeverityWarning
		a.Finding = fmt.Sprintf("arp_accept is %d on %s, but kernel %s combines it as a flag: any non-zero value "+
			"behaves as 1, without 6.0's subnet check", v, dev, r.Release)
		a.Change = set + "1 to say what the kernel does, and mind the risk of 1"
		a.Why = "mode 2 arrived in 6.0 (F14); older kernels test arp_accept as true/false"
		a.TradeOff = risk
	}
	return a, true
}

func gcAdvice(r Report) []Advice {
	t1, ok := r.GC["gc_thresh1"].Int()
	if !ok || int64(r.Entries) >= t1 {
		return nil
	}
	scope := ""
	if r.Netns != "" {
		// gc_thresh1 is compared with the entries of every namespace.
		scope = fmt.Sprintf(" in namespace %s (the threshold counts all namespaces)", r.Netns)
	}
	return []Advice{{
		Severity: SeverityInfo, Mechanism: MechGCThresh1, Rule: "§7.1",
		Finding: fmt.Sprintf("the table holds %d IPv4 entries%s, below gc_thresh1 = %d: periodic garbage collection "+
			"never runs, so STALE entries (old MACs of departed or moved hosts) are never removed by age", r.Entries, scope, t1),
		Change: fmt.Sprintf("lower net.ipv4.neigh.default.gc_thresh1 below the usual entry count (e.g. %d) if stale "+
			"entries must age out (crowbar/crowbar-core#1068)", max(r.Entries/2, 1)),
		Why: "below gc_thresh1 a wrong STALE entry changes only when traffic drives it through DELAY and PROBE, " +
			"or when a GARP gets through",
		TradeOff: "garbage collection then drops idle neighbours after gc_stale_time, and the next packet to them " +
			"waits for a broadcast resolution",
	}}
}

// Combination rules for all/<dev> (include/linux/inetdevice.h).
type combine int

const (
	combineOR combine = iota
	combineMAX
	combineAND
)

func (r Report) acceptCombine() combine {
	if r.Flags["F14"] {
		return combineMAX
	}
	return combineOR
}

// combined returns the effective value of conf key for dev: "all" and dev
// combined by c. For dev "default" it returns the default value. ok is false
// when the setting is absent on this kernel.
func (r Report) combined(dev, key string, c combine) (int64, bool) {
	d, ok := r.Conf[dev][key].Int()
	if !ok {
		return 0, false
	}
	if dev == "default" {
		return d, true
	}
	a, ok := r.Conf["all"][key].Int()
	if !ok {
		return d, true
	}
	switch c {
	case combineOR:
		if a != 0 || d != 0 {
			return max(1, a, d), true // keep the value for the message
		}
		return 0, true
	case combineMAX:
		return max(a, d), true
	default: // AND
		if a != 0 && d != 0 {
			return 1, true
		}
		return 0, true
	}
}

// neighInt returns neighbour parameter key of dev, falling back to default.
func (r Report) neighInt(dev, key string) (int64, bool) {
	if v, ok := r.Neigh[dev][key].Int(); ok {
		return v, true
	}
	return r.Neigh["default"][key].Int()
}

// Mechanisms returns the mechanisms of advice, for tests and summaries.
func Mechanisms(advice []Advice) []string {
	var out []string
	for _, a := range advice {
		if !slices.Contains(out, a.Mechanism) {
			out = append(out, a.Mechanism)
		}
	}
	return out
}
