package kernel

import (
	"fmt"
	"strings"
)

// Features are the behaviour switches the model reads at its decision points
// (spec §9.1). They are derived from a set of patches, never set directly, so
// that every difference between two kernels traces back to a named change.
type Features struct {
	GARPRequestOverride bool // F1: GARP request overrides locktime when arp_accept (§4.4b)
	GARPReplyRecognised bool // F2: a reply with tha == sha is a GARP (§4.4c)
	GARPAlwaysOverride  bool // F3: GARP override independent of arp_accept (§4.4c)
	TimestampsOnChange  bool // F4: `updated` bumped only on an effective change (§5 step 8)
	ConfirmIneffective  bool // F5: a CONNECTED ARP update bumps `confirmed` even when ignored (§5 step 6)
	PerSocketConfirm    bool // F6: per-socket confirmation, no shared-route mis-confirm (§6.2)
	SameMACKeepsState   bool // F7: same-MAC STALE update keeps any VALID state (§5 step 7)
	RerandomiseAlways   bool // F8: reachable_time re-randomised even below gc_thresh1 (§2.4)
	RerandomiseOnWrite  bool // F9: re-randomise on base_reachable_time write (§2.4)
	McastResolicit      bool // F10: PROBE max includes mcast_resolicit (§2.3)
	DropGratuitousARP   bool // F11: drop_gratuitous_arp sysctl exists (§4.2)
	GCList              bool // F12: forced GC by gc_list with a 5 s `updated` age (§7.2)
	SmallRetrans        bool // F13: minimum re-arm HZ/100 instead of HZ/2 (§2.2)
	ARPAcceptMax        bool // F14: arp_accept is 0-2 and all/dev combine as MAX (§4.4d)
	EvictOnCarrierDown  bool // F15: carrier loss flushes entries (§7.3)
	ClampTimestamps     bool // F16: used/confirmed clamped when arming timers (§1.2)

	ProbeResetsCounter bool // patch 8: update into PROBE resets probes (§5 step 9)
	DeadEntryNoop      bool // patch 9: unlinked entries are not modified (§5 step 1)
	TimerWheel         bool // §12.2: timers fire late, at the wheel's granularity
	EvictNoCarrierCtl  bool // patch 25: arp_evict_nocarrier sysctl exists
	DeleteUnlinks      bool // `ip neigh del` removes the entry at once

	// IPv6 neighbour discovery (../shared/spec/linux-ndisc.md §9.1, N-flags).
	NDDropFragments         bool // N18: fragmented ND dropped with suppress_frag_ndisc (ndisc §4.1)
	IPv6SharedRoutes        bool // N12: per-CPU IPv6 output routes, shared pending_confirm before 4.11 (ndisc §6.1)
	NDDropUnicastInL2Mcast  bool // N6: drop_unicast_in_l2_multicast exists (ndisc §4.1)
	DropUnsolicitedNA       bool // N5: drop_unsolicited_na exists (ndisc §4.2 step 3)
	NDEvictNoCarrierCtl     bool // N17: ndisc_evict_nocarrier exists (ndisc §7)
	AcceptUntrackedNA       bool // N4: accept_untracked_na 0–1 (ndisc §4.4)
	AcceptUntrackedNASubnet bool // N4: accept_untracked_na value 2 (ndisc §4.4)
	RARetransSmallFloor     bool // N19: an RA's RetransTimer floored at HZ/100, not HZ/10 (ndisc §2.4)
}

// FlagTable lists the §9.1 flags in order with a one-line meaning, for
// `arplab profiles` and for docs.
var FlagTable = []struct{ ID, Meaning string }{
	{"F1", "GARP request overrides locktime when arp_accept"},
	{"F2", "GARP reply (tha == sha) recognised"},
	{"F3", "GARP override independent of arp_accept"},
	{"F4", "`updated` bumped only on effective change"},
	{"F5", "`confirmed` bumped by a CONNECTED ARP update even if ineffective"},
	{"F6", "per-socket/per-packet confirmation"},
	{"F7", "same-MAC STALE update keeps any VALID state"},
	{"F8", "reachable_time re-randomised even below gc_thresh1"},
	{"F9", "re-randomise on base_reachable_time write"},
	{"F10", "mcast_resolicit exists"},
	{"F11", "drop_gratuitous_arp sysctl"},
	{"F12", "gc_list forced GC with 5 s `updated` age"},
	{"F13", "min timer re-arm HZ/100 (else HZ/2)"},
	{"F14", "arp_accept combines as MAX, values 0-2 (else OR, 0-1)"},
	{"F15", "flush on carrier loss"},
	{"F16", "used/confirmed clamping when arming timers"},
}

// Flag reports the value of flag id ("F1".."F16") in f.
func (f Features) Flag(id string) bool {
	switch id {
	case "F1":
		return f.GARPRequestOverride
	case "F2":
		return f.GARPReplyRecognised
	case "F3":
		return f.GARPAlwaysOverride
	case "F4":
		return f.TimestampsOnChange
	case "F5":
		return f.ConfirmIneffective
	case "F6":
		return f.PerSocketConfirm
	case "F7":
		return f.SameMACKeepsState
	case "F8":
		return f.RerandomiseAlways
	case "F9":
		return f.RerandomiseOnWrite
	case "F10":
		return f.McastResolicit
	case "F11":
		return f.DropGratuitousARP
	case "F12":
		return f.GCList
	case "F13":
		return f.SmallRetrans
	case "F14":
		return f.ARPAcceptMax
	case "F15":
		return f.EvictOnCarrierDown
	case "F16":
		return f.ClampTimestamps
	}
	return false
}

// FeaturesOf derives the feature flags from a set of patch names.
func FeaturesOf(patches []string) Features {
	has := map[string]bool{}
	for _, p := range patches {
		has[p] = true
	}
	return Features{
		GARPRequestOverride: has[PGARPRequestOverride],
		GARPReplyRecognised: has[PGARPReply],
		GARPAlwaysOverride:  has[PGARPAlwaysOverride],
		TimestampsOnChange:  has[PTimestampsOnChange],
		// Before 77d7123342dc the stamps were written before the override
		// test, so an ignored update confirmed too; that patch made it
		// effective-only and f0e0d04413fc restored it (spec §1.2, §9 #19).
		ConfirmIneffective: !has[PTimestampsOnChange] || has[PConfirmOnARP],
		PerSocketConfirm:   has[PReplaceDstConfirm],
		SameMACKeepsState:  has[PSameMACKeepsState],
		RerandomiseAlways:  has[PRerandomise],
		RerandomiseOnWrite: has[PRerandomiseOnWrite],
		McastResolicit:     has[PMcastResolicit],
		DropGratuitousARP:  has[PDropGratuitousARP],
		GCList:             has[PGCList],
		SmallRetrans:       has[PSmallRetrans],
		ARPAcceptMax:       has[PARPAcceptSubnet],
		EvictOnCarrierDown: has[PEvictOnCarrierDown],
		ClampTimestamps:    has[PClampTimestamps],
		ProbeResetsCounter: has[PProbeResetsCounter],
		DeadEntryNoop:      has[PDeadEntryNoop],
		TimerWheel:         has[PTimerWheel],
		EvictNoCarrierCtl:  has[PEvictNoCarrierSysctl],
		DeleteUnlinks:      has[PDeleteUnlinks],

		NDDropFragments:         has[PNDDropFragments],
		IPv6SharedRoutes:        has[PIPv6PcpuRoutes],
		NDDropUnicastInL2Mcast:  has[PDropUnicastInL2Mcast6],
		DropUnsolicitedNA:       has[PDropUnsolicitedNA],
		NDEvictNoCarrierCtl:     has[PNDEvictNoCarrier],
		AcceptUntrackedNA:       has[PAcceptUntrackedNA],
		AcceptUntrackedNASubnet: has[PAcceptUntrackedNASubnet],
		RARetransSmallFloor:     has[PNDRARetransFloor],
	}
}

// Profile is a named kernel: a release, its patch set and its defaults.
type Profile struct {
	Name        string   `json:"name"`
	Release     string   `json:"release"`
	Description string   `json:"description"`
	Patches     []string `json:"patches"`
	// HZ is the tick rate the profile assumes unless a host sets its own.
	HZ int `json:"hz"`
	// UnresQlenBytes is the per-entry queue limit default (spec §8.1).
	UnresQlenBytes int `json:"unres_qlen_bytes"`
	// Source is the tree the spec read for this column (§0.1).
	Source string `json:"source"`
	// Covers names the distribution kernels that map onto this profile.
	Covers string `json:"covers,omitempty"`
	// Family is the uname suffix of a vendor line whose kernels are
	// numbered by build ("el8", "el9"); Carry.Since is in that numbering.
	Family string `json:"family,omitempty"`
	// ReadTo is the newest kernel of a vendor line whose source was read;
	// Resolve warns about a newer build.
	ReadTo string `json:"read_to,omitempty"`
	// Evidence holds, for the kernels people run, each catalogued patch's
	// presence and the evidence for it (../shared/spec/distro-kernels.md);
	// Patches is derived from it. See Carries.
	Evidence []Carry `json:"evidence,omitempty"`
	// Caveats say what nobody read for this line.
	Caveats []string `json:"caveats,omitempty"`
}

// Features derives the profile's feature flags.
func (p Profile) Features() Features { return FeaturesOf(p.Patches) }

// Has reports whether the profile carries patch name.
func (p Profile) Has(name string) bool {
	for _, q := range p.Patches {
		if q == name {
			return true
		}
	}
	return false
}

// DefaultProfile is the kernel of the Failure (spec §10.1).
const DefaultProfile = "rhel7.3"

func upto(release string) []string {
	var out []string
	for _, p := range Patches {
		if releaseLE(p.Release, release) {
			out = append(out, p.Name)
		}
	}
	return out
}

// releaseLE compares dotted release numbers ("4.9" <= "4.12").
func releaseLE(a, b string) bool {
	var a1, a2, b1, b2 int
	fmt.Sscanf(a, "%d.%d", &a1, &a2)
	fmt.Sscanf(b, "%d.%d", &b1, &b2)
	return a1 < b1 || (a1 == b1 && a2 <= b2)
}

func without(ps []string, drop ...string) []string {
	var out []string
	for _, p := range ps {
		keep := true
		for _, d := range drop {
			if p == d {
				keep = false
			}
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

// Profiles are the columns of spec §9.1 and the kernels people run
// (distro.go), in release order. Mainline profiles carry every patch up to
// their release (the patch table is ordered by first release); vendor and
// stable trees list their back-ports explicitly.
var Profiles = []Profile{
	{Name: "3.10", Release: "3.10", Description: "mainline 3.10", Patches: nil, HZ: 1000, UnresQlenBytes: 65536, Source: "M310"},
	{Name: "rhel7.3", Release: "3.10.0-514", Description: "RHEL 7.3 GA, the kernel of the Failure", Patches: rhel73IPv6, HZ: 1000, UnresQlenBytes: 65536, Source: "R73", Family: "el7",
		Covers: "RHEL/CentOS 7.0–7.7 (3.10.0-*.el7 below build 1127): which 7.x first shipped the fixes is unknown (spec §11.3)"},
	{Name: "3.14", Release: "3.14", Description: "mainline 3.14 (first GARP-request override)", Patches: upto("3.14"), HZ: 250, UnresQlenBytes: 65536, Source: "M314"},
	{Name: "4.4", Release: "4.4", Description: "mainline 4.4", Patches: upto("4.4"), HZ: 250, UnresQlenBytes: 65536, Source: "M44"},
	{Name: "4.9", Release: "4.9", Description: "mainline 4.9", Patches: upto("4.9"), HZ: 250, UnresQlenBytes: 65536, Source: "M49"},
	{Name: "4.11", Release: "4.11", Description: "mainline 4.11 (per-socket confirmation)", Patches: upto("4.11"), HZ: 250, UnresQlenBytes: 65536, Source: "M411"},
	{Name: "4.12", Release: "4.12", Description: "mainline 4.12 (the GARP and timestamp fixes)", Patches: upto("4.12"), HZ: 250, UnresQlenBytes: 65536, Source: "M412"},
	{Name: "4.14", Release: "4.14.177", Description: "stable 4.14.177 (carries confirm-on-arp from 4.19)", Patches: with(upto("4.14"), PConfirmOnARP, PNDiscNotifyDAD), HZ: 250, UnresQlenBytes: 65536, Source: "M414",
		Covers: "Amazon Linux 2 kernel 4.14 [I]"},
	mainline4_18(),
	rhel8(),
	{Name: "4.19", Release: "4.19", Description: "mainline 4.19", Patches: upto("4.19"), HZ: 250, UnresQlenBytes: 65536, Source: "M419"},
	{Name: "5.4", Release: "5.4", Description: "mainline 5.4", Patches: upto("5.4"), HZ: 250, UnresQlenBytes: 212992, Source: "M54"},
	lts5_10(),
	mainline5_14(),
	rhel9(),
	lts5_15(),
	lts6_1(),
	lts6_6(),
	mainline6_8(),
	lts6_12(),
	{Name: "6.18", Release: "6.18", Description: "mainline 6.18 (latest)", Patches: upto("6.18"), HZ: 250, UnresQlenBytes: 212992, Source: "M618"},
	{Name: "rhel7.8", Release: "3.10.0-1127", Description: "RHEL 7.8 (back-ported GARP, timestamp and confirmation fixes)",
		Patches: with([]string{PGARPRequestOverride, PRerandomiseOnWrite, PReplaceDstConfirm, PGARPReply, PTimestampsOnChange, PGARPAlwaysOverride}, rhel78IPv6...),
		HZ:      1000, UnresQlenBytes: 65536, Source: "R78", Family: "el7", Covers: "RHEL/CentOS 7.8 and 7.9 (3.10.0-1127 and later)"},
}

// The RHEL 7 columns of ndisc §9.1: RHEL back-ported the 4.2 per-CPU
// routes (N12) and the router→host cleanup (N15) into 7.3, but not the 3.12
// fragment drop (N18), drop_unsolicited_na (N5) or
// drop_unicast_in_l2_multicast (N6), which 7.8 still lacks; 7.8 adds the
// announcement changes N8–N11 and the IFF_NOARP flush (N16).
var (
	rhel73IPv6 = []string{PIPv6PcpuRoutes, PNDRouterToHost}
	rhel78IPv6 = []string{PIPv6PcpuRoutes, PNDRouterToHost, PNDNoARPFlush, PEnhancedDAD, PNDiscNotifyAll, PNDiscNotifyOnUp, PNDiscNotifyDAD}
)

// Latest is the profile "latest" and "auto" name.
const Latest = "6.18"

// Lookup returns the profile named name, or the one Resolve picks for a
// `uname -r` string ("5.14.0-427.13.1.el9_4.x86_64" is rhel9).
func Lookup(name string) (Profile, error) {
	p, _, err := Resolve(name)
	return p, err
}

// byName returns a copy of the profile named exactly name.
func byName(name string) (Profile, bool) {
	for _, p := range Profiles {
		if p.Name == name {
			p.Patches = append([]string(nil), p.Patches...)
			p.Evidence = append([]Carry(nil), p.Evidence...)
			return p, true
		}
	}
	return Profile{}, false
}

// WithPatches applies edits like "+garp-reply" or "-timestamps-on-change"
// and renames the profile to show them ("rhel7.3+garp-reply").
func (p Profile) WithPatches(edits []string) (Profile, error) {
	set := map[string]bool{}
	for _, q := range p.Patches {
		set[q] = true
	}
	name := p.Name
	for _, e := range edits {
		if len(e) < 2 || (e[0] != '+' && e[0] != '-') {
			return p, fmt.Errorf("patch edit %q: want +name or -name", e)
		}
		if _, ok := PatchByName(e[1:]); !ok {
			var names []string
			for _, q := range Patches {
				names = append(names, q.Name)
			}
			return p, fmt.Errorf("patch edit %q: unknown patch %q (%ssee `arplab profiles`)", e, e[1:], didYouMean(e[1:], names))
		}
		set[e[1:]] = e[0] == '+'
	}
	// The name says what differs from p, once per patch, in the order
	// the edits named them: edits that cancel out or add what p has leave
	// no trace, so names do not pile up ("5.4+a-a+b" is "5.4+b").
	had := map[string]bool{}
	for _, q := range p.Patches {
		had[q] = true
	}
	named := map[string]bool{}
	for _, e := range edits {
		q := e[1:]
		if named[q] || set[q] == had[q] {
			continue
		}
		named[q] = true
		if set[q] {
			name += "+" + q
		} else {
			name += "-" + q
		}
	}
	var out []string
	for _, q := range Patches { // keep release order
		if set[q.Name] {
			out = append(out, q.Name)
		}
	}
	p.Patches = out
	p.Name = name
	if len(p.Evidence) > 0 {
		p.Evidence = append([]Carry(nil), p.Evidence...)
		for i, c := range p.Evidence {
			for _, e := range edits {
				if e[1:] == c.Patch {
					st := Absent
					if e[0] == '+' {
						st = Present
					}
					p.Evidence[i] = Carry{Patch: c.Patch, Status: st, Evidence: "edited (" + e + ")"}
				}
			}
		}
	}
	return p, nil
}

// Names returns the profile names in table order.
func Names() []string {
	var out []string
	for _, p := range Profiles {
		out = append(out, p.Name)
	}
	return out
}

// Closest returns the profile Resolve picks for a running kernel's release
// (doctor and verify); for a release Resolve refuses, the oldest profile
// when it is older than every profile (a RHEL 6 kernel, 2.6.32, is nearer
// 3.10 than 6.18), else the latest.
func Closest(release string) Profile {
	p, _, err := Resolve(release)
	if err == nil {
		return p
	}
	if m := versionRE.FindStringSubmatch(strings.TrimSpace(release)); m != nil {
		oldest, _ := byName(Oldest)
		if cmpNums(nums(m[1]+"."+m[2]), nums(oldest.Release)) < 0 {
			return oldest
		}
	}
	p, _ = byName(Latest)
	return p
}

// Oldest is the profile of the oldest kernel line modelled.
const Oldest = "3.10"
