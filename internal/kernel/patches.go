// Package kernel describes Linux kernels as data: the patches that changed
// the neighbour and ARP code (spec §9), the feature flags they switch (spec
// §9.1, F1–F16), and named profiles that bundle patches the way a release
// did. The model reads Features at its decision points; nothing in arplab
// tests a version number.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package kernel

// Patch is one upstream change that altered neighbour/ARP behaviour.
type Patch struct {
	// Name is the short handle used on the command line (--patch +name).
	Name string `json:"name"`
	// Title is the upstream commit subject.
	Title string `json:"title"`
	// Commit is the abbreviated upstream commit id ("" where the spec did
	// not identify it; see Note).
	Commit string `json:"commit"`
	// Release is the first mainline release that carried it.
	Release string `json:"release"`
	// Effect says in one line what the model does differently with it.
	Effect string `json:"effect"`
	// Flags lists the §9.1 flags it provides.
	Flags []string `json:"flags"`
	// Spec is the section of the spec that documents it.
	Spec string `json:"spec"`
	// Note records doubts carried over from the spec ([R] facts, §11).
	Note string `json:"note,omitempty"`
	// Family is "ipv6" for a change to IPv6 neighbour discovery
	// (../shared/spec/linux-ndisc.md §9), "" for the shared core and ARP.
	// An IPv4-only scenario's what-if rows leave the IPv6 ones out.
	Family string `json:"family,omitempty"`
	// DocumentedOnly marks a patch the model has no behaviour for yet:
	// profiles record whether a kernel carries it (and on what evidence),
	// but adding or removing it changes nothing the simulator does.
	DocumentedOnly bool `json:"documented_only,omitempty"`
}

// Patch names. They are the stable vocabulary of --patch and of profiles.
const (
	PGARPRequestOverride  = "garp-request-override"
	PRerandomise          = "rerandomise-always"
	PRerandomiseOnWrite   = "rerandomise-on-write"
	PMcastResolicit       = "mcast-resolicit"
	PProbeResetsCounter   = "probe-resets-counter"
	PDeadEntryNoop        = "dead-entry-noop"
	PDropGratuitousARP    = "drop-gratuitous-arp"
	PTimerWheel           = "timer-wheel"
	PSameMACKeepsState    = "same-mac-keeps-state"
	PReplaceDstConfirm    = "replace-dst-confirm"
	PGARPReply            = "garp-reply"
	PTimestampsOnChange   = "timestamps-on-change"
	PGARPAlwaysOverride   = "garp-always-override"
	PConfirmOnARP         = "confirm-on-arp"
	PDeleteUnlinks        = "delete-unlinks"
	PEvictOnCarrierDown   = "evict-on-carrier-down"
	PGCList               = "gc-list"
	PSmallRetrans         = "small-retrans"
	PEvictNoCarrierSysctl = "arp-evict-nocarrier"
	PARPAcceptSubnet      = "arp-accept-subnet"
	PClampTimestamps      = "clamp-timestamps"

	// Documented only (DocumentedOnly): recorded in the profiles, not
	// modelled (../shared/spec/distro-kernels.md rows C19, C20, X4–X7, §1).
	PExtLearned       = "ntf-ext-learned"
	PPMTUNoConfirm    = "pmtu-no-confirm"
	PDeadEntryNoStamp = "dead-entry-keeps-state"
	PForcedGCNoARP    = "forced-gc-noarp"
	PManaged          = "ntf-managed"
	PNTFUse           = "ntf-use-update"
	PManagedRearmCap  = "managed-rearm-cap"
	PIntervalProbe    = "interval-probe-time"
	PForcedGCBudget   = "forced-gc-budget"
	PExtValidated     = "ntf-ext-validated"

	// IPv6 neighbour discovery (ndisc §9, I1–I22). Modelled:
	PNDDropFragments         = "ndisc-drop-fragments"
	PIPv6PcpuRoutes          = "ipv6-pcpu-routes"
	PDropUnicastInL2Mcast6   = "ipv6-drop-unicast-in-l2-multicast"
	PDropUnsolicitedNA       = "drop-unsolicited-na"
	PNDEvictNoCarrier        = "ndisc-evict-nocarrier"
	PAcceptUntrackedNA       = "accept-untracked-na"
	PAcceptUntrackedNASubnet = "accept-untracked-na-subnet"
	// Documented only: the kernel's own announcements and routing side
	// effects, recorded per profile for the senders and `arplab profiles`.
	PNDRouterToHost   = "ndisc-router-to-host"
	PNDNoARPFlush     = "ndisc-noarp-flush"
	PEnhancedDAD      = "enhanced-dad"
	PNDiscNotifyAll   = "ndisc-notify-all"
	PNDiscNotifyOnUp  = "ndisc-notify-on-up"
	PNDiscNotifyDAD   = "ndisc-notify-after-dad"
	PNDRouterNotify   = "ndisc-router-flag-notify"
	PNDRARetransFloor = "ndisc-ra-retrans-floor"
)

// Patches is the patch table of spec §9, in release order.
var Patches = []Patch{
	{Name: PNDDropFragments, Title: "ipv6: drop fragmented ndisc packets by default (RFC 6980)", Family: "ipv6",
		Commit: "", Release: "3.12", Flags: []string{"N18"}, Spec: "ndisc §4.1",
		Effect: "a reassembled (fragmented) ND message is dropped while suppress_frag_ndisc=1 (the default)",
		Note:   "commit id not retrieved (2013-08-29 in the log); absent in RHEL 7.3 and 7.8 (ndisc §9 I3)"},
	{Name: PGARPRequestOverride, Title: "ipv4: arp: update neighbour address when a gratuitous arp is received and arp_accept is set",
		Commit: "56022a8fdd87", Release: "3.14", Flags: []string{"F1"}, Spec: "§4.4(b)",
		Effect: "with arp_accept, a GARP request (sip == tip) overrides inside locktime; replies excluded"},
	{Name: PRerandomise, Title: "neigh: recompute reachabletime before returning from neigh_periodic_work()",
		Commit: "feff9ab2e7fa", Release: "3.14", Flags: []string{"F8"}, Spec: "§2.4",
		Effect: "reachable_time re-randomised every 300 s even below gc_thresh1 entries"},
	{Name: PRerandomiseOnWrite, Title: "neighbour: fix base_reachable_time(_ms) not effective immediatly when changed",
		Commit: "4bf6980dd032", Release: "3.19", Flags: []string{"F9"}, Spec: "§2.4",
		Effect: "writing base_reachable_time re-randomises reachable_time at once",
		Note:   "committed 2015-01-14 to net on a 3.19-rc fix, so most likely 3.19 (distro-kernels §0.1 item 4; spec §11.2 said 3.19 or 4.0)"},
	{Name: PMcastResolicit, Title: "net: neighbour: Add mcast_resolicit to configure the number of multicast resolicitations in PROBE state",
		Commit: "8da86466b837", Release: "4.1", Flags: []string{"F10"}, Spec: "§2.3",
		Effect: "PROBE may end with mcast_resolicit broadcast probes (default 0)"},
	{Name: PProbeResetsCounter, Title: "neigh: Better handling of transition to NUD_PROBE state",
		Commit: "765c9c639fbb", Release: "4.2", Spec: "§5 step 9",
		Effect: "an update into PROBE resets the probe counter",
		Note:   "committed 2015-05-21, so 4.2; cd28ca0a3dd1 (spec §11.1) is \"neigh: reduce arp latency\" (distro-kernels §0.1 item 2)"},
	{Name: PIPv6PcpuRoutes, Title: "ipv6: Create percpu rt6_info (output routes no longer cloned per destination)", Family: "ipv6",
		Commit: "", Release: "4.2", Flags: []string{"N12"}, Spec: "ndisc §6.1",
		Effect: "before the 4.11 confirmation series, an IPv6 TCP confirmation lands on whichever neighbour next uses the shared per-CPU route (without it, IPv6 routes are per-destination clones and confirm the right neighbour)",
		Note:   "series not pinned; bracketed by 3.14 (clones) and 4.4 (per-CPU); RHEL 7.3 carries it (ndisc §9 I4)"},
	{Name: PDeadEntryNoop, Title: "neigh: do not modify unlinked entries",
		Commit: "2c51a97f76d2", Release: "4.4", Spec: "§5 step 1",
		Effect: "updates on unlinked entries are no-ops"},
	{Name: PNDRouterToHost, Title: "ipv6: rt6_clean_tohost on a router→host NA", Family: "ipv6",
		Commit: "", Release: "4.4", Spec: "N15; ndisc §4.2 step 10", DocumentedOnly: true,
		Effect: "an NA clearing the router flag removes routes via its source instead of only the default route",
		Note:   "between 3.15 and 4.4; in RHEL 7.3 (ndisc §9 I5)"},
	{Name: PNDNoARPFlush, Title: "ipv6: flush the ND table when IFF_NOARP toggles", Family: "ipv6",
		Commit: "", Release: "4.4", Spec: "N16; ndisc §7", DocumentedOnly: true,
		Effect: "NETDEV_CHANGE with IFF_NOARP toggled flushes the device's ND entries",
		Note:   "between 3.15 and 4.4; not in RHEL 7.3, in RHEL 7.8 (ndisc §9 I6)"},
	{Name: PDropGratuitousARP, Title: "ipv4: add option to drop gratuitous ARP packets",
		Commit: "97daf3314550", Release: "4.6", Flags: []string{"F11"}, Spec: "§4.2 step 6",
		Effect: "drop_gratuitous_arp sysctl drops every ARP with sip == tip"},
	{Name: PDropUnicastInL2Mcast6, Title: "ipv6: add option to drop unicast encapsulated in L2 multicast", Family: "ipv6",
		Commit: "abbc30436d39", Release: "4.6", Flags: []string{"N6"}, Spec: "ndisc §4.1",
		Effect: "drop_unicast_in_l2_multicast=1 drops a unicast NS/NA that arrived in an L2 multicast or broadcast frame"},
	{Name: PDropUnsolicitedNA, Title: "ipv6: add option to drop unsolicited neighbor advertisements", Family: "ipv6",
		Commit: "7a02bf892d8f", Release: "4.6", Flags: []string{"N5"}, Spec: "ndisc §4.2 step 3",
		Effect: "drop_unsolicited_na=1 (per device) drops every NA with S=0 before any other test; not in RHEL 7.8"},
	{Name: PTimerWheel, Title: "timers: Switch to a non-cascading wheel",
		Commit: "", Release: "4.8", Spec: "§12.2",
		Effect: "timers fire at the next level-granularity boundary strictly after expiry (late by up to 1/8 of the delay)",
		Note:   "commit not given by the spec; behaviour measured on 6.18 (§12.2)"},
	{Name: PSameMACKeepsState, Title: "net: neigh: disallow transition to NUD_STALE if lladdr is unchanged in neigh_update()",
		Commit: "d1c2b5010d07", Release: "4.8", Flags: []string{"F7"}, Spec: "§5 step 7",
		Effect: "a same-MAC STALE update keeps DELAY/PROBE/REACHABLE instead of knocking them to STALE"},
	{Name: PEnhancedDAD, Title: "ipv6 addrconf: Implemented enhanced DAD (RFC7527)", Family: "ipv6",
		Commit: "", Release: "4.10", Spec: "N11; ndisc §4.5 step 2", DocumentedOnly: true,
		Effect: "DAD NS carry a nonce; our own looped-back DAD NS no longer fails DAD",
		Note:   "commit id not retrieved (2016-12-03 in the log)"},
	{Name: PNDiscNotifyAll, Title: "ipv6: ndisc_notify also honours conf/all", Family: "ipv6",
		Commit: "fc1f8f4f310a", Release: "4.11", Spec: "N8; ndisc §8.2, §10.2", DocumentedOnly: true,
		Effect: "the kernel's unsolicited NAs are sent when dev OR all ndisc_notify is set (before: the device's only)"},
	{Name: PReplaceDstConfirm, Title: "Merge branch 'replace-dst_confirm'",
		Commit: "b44700e97584", Release: "4.11", Flags: []string{"F6"}, Spec: "§6.2",
		Effect: "upper-layer confirmation is per socket and lands on the packet's own next hop, not on a shared route"},
	{Name: PNDiscNotifyOnUp, Title: "net: ipv6: send unsolicited NA on admin up", Family: "ipv6",
		Commit: "4a6e3c5def13", Release: "4.12", Spec: "N9; ndisc §10.2", DocumentedOnly: true,
		Effect: "with ndisc_notify, an NA for every address when the device comes up (tentative ones included until 4.16)"},
	{Name: PGARPReply, Title: "arp: honour gratuitous ARP _replies_",
		Commit: "23d268eb2409", Release: "4.12", Flags: []string{"F2"}, Spec: "§4.4(c)",
		Effect: "a reply with tha == sha counts as gratuitous", Note: "commit id recalled (spec §11.1)"},
	{Name: PTimestampsOnChange, Title: "neighbour: update neigh timestamps iff update is effective",
		Commit: "77d7123342dc", Release: "4.12", Flags: []string{"F4"}, Spec: "§5 steps 6, 8",
		Effect: "ignored updates no longer move `updated` (the locktime window stops sliding)"},
	{Name: PGARPAlwaysOverride, Title: "arp: always override existing neigh entries with gratuitous ARP",
		Commit: "7d472a59c0e5", Release: "4.12", Flags: []string{"F3"}, Spec: "§4.4(c)",
		Effect: "every recognised GARP overrides an existing entry, whatever arp_accept says"},
	{Name: PDeleteUnlinks, Title: "neigh: Really delete an arp/neigh entry on \"ip neigh delete\" or \"arp -d\"",
		Commit: "5071034e4af7", Release: "4.13", Spec: "§5 (admin)",
		Effect: "`ip neigh del` unlinks the entry at once instead of leaving it FAILED for GC",
		Note:   "absent in 4.12.0, present in 4.14.177 (distro-kernels §0.1 item 1; 5071a1e606b3 is an unrelated tls commit)"},
	{Name: PNDiscNotifyDAD, Title: "net: ipv6: send unsolicited NA after DAD", Family: "ipv6",
		Commit: "c76fe2d98c72", Release: "4.16", Spec: "N10; ndisc §10.2", DocumentedOnly: true,
		Effect: "with ndisc_notify, tentative addresses are announced when DAD completes, not before; nodad addresses never",
		Note:   "in 4.14.177 stable and RHEL 7.8"},
	{Name: PExtLearned, Title: "neighbour: support for NTF_EXT_LEARNED flag",
		Commit: "9ce33e46531d", Release: "4.18", Spec: "§9 #18", DocumentedOnly: true,
		Effect: "externally learned entries (NTF_EXT_LEARNED) are exempt from GC"},
	{Name: PConfirmOnARP, Title: "neighbour: confirm neigh entries when ARP packet is received",
		Commit: "f0e0d04413fc", Release: "4.19", Flags: []string{"F5"}, Spec: "§5 step 6",
		Effect: "a unicast reply refreshes `confirmed` even when it changes nothing"},
	{Name: PEvictOnCarrierDown, Title: "net: Evict neighbor entries on carrier down",
		Commit: "859bd2ef1fc1", Release: "4.20", Flags: []string{"F15"}, Spec: "§7.3",
		Effect: "carrier loss flushes non-permanent entries"},
	{Name: PGCList, Title: "neighbor: Improve garbage collection",
		Commit: "58956317c8de", Release: "5.0", Flags: []string{"F12"}, Spec: "§7.2",
		Effect: "forced GC evicts only FAILED entries or those updated > 5 s ago, oldest first"},
	{Name: PNDRouterNotify, Title: "neigh_update_is_router: netlink notification on a router-flag change", Family: "ipv6",
		Commit: "", Release: "5.4", Spec: "N20; ndisc §4.3 notes", DocumentedOnly: true,
		Effect: "a change of NTF_ROUTER alone sends RTM_NEWNEIGH (earlier kernels change it silently)",
		Note:   "between 4.20 and 5.4; commit not identified"},
	{Name: PPMTUNoConfirm, Title: "net: add bool confirm_neigh parameter for dst_ops.update_pmtu",
		Commit: "", Release: "5.5", Spec: "distro-kernels §1", DocumentedOnly: true,
		Effect: "a tunnel updating its PMTU no longer confirms the neighbour (stable 5.4.8)",
		Note:   "commit id not given by the spec"},
	{Name: PSmallRetrans, Title: "neigh: support smaller retrans_time settting",
		Commit: "19e16d220f0a", Release: "5.7", Flags: []string{"F13"}, Spec: "§2.2 step 6",
		Effect: "minimum timer re-arm lowered from HZ/2 to HZ/100"},
	{Name: PNDRARetransFloor, Title: "RA RetransTimer floor HZ/10 → HZ/100", Family: "ipv6",
		Commit: "19e16d220f0a", Release: "5.7", Flags: []string{"N19"}, Spec: "ndisc §2.4",
		Effect: "an RA's RetransTimer is floored at HZ/100 instead of HZ/10",
		Note:   "commit suspected, not verified (ndisc §11.1); bracketed by 5.4 and 5.19"},
	{Name: PDeadEntryNoStamp, Title: "(neigh_update on a dead entry keeps new = old)",
		Commit: "", Release: "5.11", Spec: "distro-kernels §1", DocumentedOnly: true,
		Effect: "an update on an unlinked entry moves no timestamps (the model's dead-entry-noop already moves none)",
		Note:   "commit not identified; in RHEL 8 from 8.8 (477.10.1)"},
	{Name: PForcedGCNoARP, Title: "(forced GC evicts NOARP entries and multicast keys)",
		Commit: "", Release: "5.13", Spec: "§7.2; distro-kernels X4", DocumentedOnly: true,
		Effect: "forced GC may evict NOARP entries and entries for multicast addresses",
		Note:   "multicast keys 5.10 (stable 5.9.11/5.4.80), NOARP entries stable 5.10.43/5.4.125; the mainline release (5.13) is derived from those dates"},
	{Name: PNTFUse, Title: "net, neigh: Extend neigh->flags to 32 bit to allow for extensions (NTF_USE update path)",
		Commit: "3dc20f4762c6", Release: "5.16", Spec: "distro-kernels X7", DocumentedOnly: true,
		Effect: "NTF_USE can move entries between PERMANENT and managed/used states (NEIGH_UPDATE_F_USE)",
		Note:   "stable 5.10.80"},
	{Name: PManaged, Title: "net, neigh: Add NTF_MANAGED flag for managed neighbor entries",
		Commit: "7482e3841d52", Release: "5.16", Spec: "§9 #24", DocumentedOnly: true,
		Effect: "the kernel keeps NTF_MANAGED entries resolved by periodic probes"},
	{Name: PEvictNoCarrierSysctl, Title: "net: arp: introduce arp_evict_nocarrier sysctl parameter",
		Commit: "fcdb44d08a95", Release: "5.16", Flags: []string{"F15"}, Spec: "§8.2",
		Effect: "arp_evict_nocarrier=0 keeps entries on carrier loss"},
	{Name: PNDEvictNoCarrier, Title: "net: ndisc: introduce ndisc_evict_nocarrier sysctl parameter", Family: "ipv6",
		Commit: "18ac597af25e", Release: "5.16", Flags: []string{"N17"}, Spec: "ndisc §7",
		Effect: "ndisc_evict_nocarrier=0 (dev or all) keeps ND entries on carrier loss"},
	{Name: PAcceptUntrackedNA, Title: "net/ipv6: Expand and rename accept_unsolicited_na to accept_untracked_na", Family: "ipv6",
		Commit: "3e0b8f529c10", Release: "5.19", Flags: []string{"N4"}, Spec: "ndisc §4.4",
		Effect: "on a forwarding interface, accept_untracked_na=1 makes an NA with a TLLAO for an unknown target create a STALE entry"},
	{Name: PManagedRearmCap, Title: "net, neigh: Set lower cap for neigh_managed_work rearming",
		Commit: "ed6cd6a17896", Release: "5.19", Spec: "§9 #26", DocumentedOnly: true,
		Effect: "managed-entry work re-arms at least one tick apart",
		Note:   "release 5.18 or 5.19 (recalled, spec §9)"},
	{Name: PIntervalProbe, Title: "net, neigh: introduce interval_probe_time_ms for periodic probe",
		Commit: "211da42eaa45", Release: "6.0", Spec: "§9 #27", DocumentedOnly: true,
		Effect: "managed entries are re-probed every interval_probe_time_ms"},
	{Name: PARPAcceptSubnet, Title: "net: ipv4: new arp_accept option to accept garp only if in-network",
		Commit: "e68c5dcf0aac", Release: "6.0", Flags: []string{"F14"}, Spec: "§4.4(d)",
		Effect: "arp_accept=2 creates entries only for senders inside a subnet of the interface; all/dev combine as MAX"},
	{Name: PAcceptUntrackedNASubnet, Title: "net: ipv6: new accept_untracked_na option to accept na only if in-network", Family: "ipv6",
		Commit: "aaa5f515b16b", Release: "6.0", Flags: []string{"N4"}, Spec: "ndisc §4.4",
		Effect: "accept_untracked_na=2: create only when the NA's source lies in a prefix of the interface (values 0–2)"},
	{Name: PClampTimestamps, Title: "neigh: make sure used and confirmed times are valid",
		Commit: "c1d2ecdf5e38", Release: "6.2", Flags: []string{"F16"}, Spec: "§1.2, §7.1",
		Effect: "confirmed/used are clamped when timers are armed; GC stale test uses a range",
		Note:   "first shipped in 6.2, not 6.3 (distro-kernels §0.1 item 3); stable 5.4.234, 5.10.171, 5.15.97, 6.1.15"},
	{Name: PForcedGCBudget, Title: "neighbour: Don't let neigh_forced_gc() disable preemption for long",
		Commit: "", Release: "6.8", Spec: "§7.2; distro-kernels X5", DocumentedOnly: true,
		Effect: "forced GC stops after about 1 ms of work",
		Note:   "6.7 or 6.8 (not pinned; present in 6.8.1); stable 6.6.13, 6.1.74, 5.15.148, 5.10.209, 5.4.268"},
	{Name: PExtValidated, Title: "neighbor: Add NTF_EXT_VALIDATED flag for externally validated entries",
		Commit: "03dc03fa0432", Release: "6.17", Spec: "§9 #31", DocumentedOnly: true,
		Effect: "externally validated entries are exempt from GC, and PROBE exhaustion leaves them STALE (setting `updated`) instead of FAILED"},
}

// PatchByName returns the patch named n.
func PatchByName(n string) (Patch, bool) {
	for _, p := range Patches {
		if p.Name == n {
			return p, true
		}
	}
	return Patch{}, false
}
