// Package kernel describes Linux kernels as data: the patches that changed
// the neighbour and ARP code (spec §9), the feature flags they switch (spec
// §9.1, F1–F16), and named profiles that bundle patches the way a release
// did. The model reads Features at its decision points; nothing in arplab
// tests a version number.
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
)

// Patches is the patch table of spec §9, in release order.
var Patches = []Patch{
	{Name: PGARPRequestOverride, Title: "ipv4: arp: update neighbour address when a gratuitous arp is received and arp_accept is set",
		Commit: "56022a8fdd87", Release: "3.14", Flags: []string{"F1"}, Spec: "§4.4(b)",
		Effect: "with arp_accept, a GARP request (sip == tip) overrides inside locktime; replies excluded"},
	{Name: PRerandomise, Title: "neigh: recompute reachabletime before returning from neigh_periodic_work()",
		Commit: "feff9ab2e7fa", Release: "3.14", Flags: []string{"F8"}, Spec: "§2.4",
		Effect: "reachable_time re-randomised every 300 s even below gc_thresh1 entries"},
	{Name: PRerandomiseOnWrite, Title: "neighbour: fix base_reachable_time(_ms) not effective immediatly when changed",
		Commit: "4bf6980dd032", Release: "4.0", Flags: []string{"F9"}, Spec: "§2.4",
		Effect: "writing base_reachable_time re-randomises reachable_time at once",
		Note:   "first release 3.19 or 4.0 (spec §11.2)"},
	{Name: PMcastResolicit, Title: "net: neighbour: Add mcast_resolicit to configure the number of multicast resolicitations in PROBE state",
		Commit: "8da86466b837", Release: "4.1", Flags: []string{"F10"}, Spec: "§2.3",
		Effect: "PROBE may end with mcast_resolicit broadcast probes (default 0)"},
	{Name: PProbeResetsCounter, Title: "neigh: Better handling of transition to NUD_PROBE state",
		Commit: "cd28ca0a3dd1", Release: "4.4", Spec: "§5 step 9",
		Effect: "an update into PROBE resets the probe counter", Note: "commit id recalled, not verified (spec §11.1)"},
	{Name: PDeadEntryNoop, Title: "neigh: do not modify unlinked entries",
		Commit: "2c51a97f76d2", Release: "4.4", Spec: "§5 step 1",
		Effect: "updates on unlinked entries are no-ops"},
	{Name: PDropGratuitousARP, Title: "ipv4: add option to drop gratuitous ARP packets",
		Commit: "97daf3314550", Release: "4.6", Flags: []string{"F11"}, Spec: "§4.2 step 6",
		Effect: "drop_gratuitous_arp sysctl drops every ARP with sip == tip"},
	{Name: PTimerWheel, Title: "timers: Switch to a non-cascading wheel",
		Commit: "", Release: "4.8", Spec: "§12.2",
		Effect: "timers fire at the next level-granularity boundary strictly after expiry (late by up to 1/8 of the delay)",
		Note:   "commit not given by the spec; behaviour measured on 6.18 (§12.2)"},
	{Name: PSameMACKeepsState, Title: "net: neigh: disallow transition to NUD_STALE if lladdr is unchanged in neigh_update()",
		Commit: "d1c2b5010d07", Release: "4.8", Flags: []string{"F7"}, Spec: "§5 step 7",
		Effect: "a same-MAC STALE update keeps DELAY/PROBE/REACHABLE instead of knocking them to STALE"},
	{Name: PReplaceDstConfirm, Title: "Merge branch 'replace-dst_confirm'",
		Commit: "b44700e97584", Release: "4.11", Flags: []string{"F6"}, Spec: "§6.2",
		Effect: "upper-layer confirmation is per socket and lands on the packet's own next hop, not on a shared route"},
	{Name: PGARPReply, Title: "arp: honour gratuitous ARP _replies_",
		Commit: "23d268eb2409", Release: "4.12", Flags: []string{"F2"}, Spec: "§4.4(c)",
		Effect: "a reply with tha == sha counts as gratuitous", Note: "commit id recalled (spec §11.1)"},
	{Name: PTimestampsOnChange, Title: "neighbour: update neigh timestamps iff update is effective",
		Commit: "77d7123342dc", Release: "4.12", Flags: []string{"F4"}, Spec: "§5 steps 6, 8",
		Effect: "ignored updates no longer move `updated` (the locktime window stops sliding)"},
	{Name: PGARPAlwaysOverride, Title: "arp: always override existing neigh entries with gratuitous ARP",
		Commit: "7d472a59c0e5", Release: "4.12", Flags: []string{"F3"}, Spec: "§4.4(c)",
		Effect: "every recognised GARP overrides an existing entry, whatever arp_accept says"},
	{Name: PConfirmOnARP, Title: "neighbour: confirm neigh entries when ARP packet is received",
		Commit: "f0e0d04413fc", Release: "4.19", Flags: []string{"F5"}, Spec: "§5 step 6",
		Effect: "a unicast reply refreshes `confirmed` even when it changes nothing"},
	{Name: PDeleteUnlinks, Title: "net/neighbor: Delete entry on ip neigh del",
		Commit: "5071a1e606b3", Release: "4.18", Spec: "§5 (admin)",
		Effect: "`ip neigh del` unlinks the entry at once instead of leaving it FAILED for GC",
		Note:   "not in the spec: commit recalled, not verified; checked by the lab on the running kernel"},
	{Name: PEvictOnCarrierDown, Title: "net: Evict neighbor entries on carrier down",
		Commit: "859bd2ef1fc1", Release: "4.20", Flags: []string{"F15"}, Spec: "§7.3",
		Effect: "carrier loss flushes non-permanent entries"},
	{Name: PGCList, Title: "neighbor: Improve garbage collection",
		Commit: "58956317c8de", Release: "5.0", Flags: []string{"F12"}, Spec: "§7.2",
		Effect: "forced GC evicts only FAILED entries or those updated > 5 s ago, oldest first"},
	{Name: PSmallRetrans, Title: "neigh: support smaller retrans_time settting",
		Commit: "19e16d220f0a", Release: "5.7", Flags: []string{"F13"}, Spec: "§2.2 step 6",
		Effect: "minimum timer re-arm lowered from HZ/2 to HZ/100"},
	{Name: PEvictNoCarrierSysctl, Title: "net: arp: introduce arp_evict_nocarrier sysctl parameter",
		Commit: "fcdb44d08a95", Release: "5.16", Flags: []string{"F15"}, Spec: "§8.2",
		Effect: "arp_evict_nocarrier=0 keeps entries on carrier loss"},
	{Name: PARPAcceptSubnet, Title: "net: ipv4: new arp_accept option to accept garp only if in-network",
		Commit: "e68c5dcf0aac", Release: "6.0", Flags: []string{"F14"}, Spec: "§4.4(d)",
		Effect: "arp_accept=2 creates entries only for senders inside a subnet of the interface; all/dev combine as MAX"},
	{Name: PClampTimestamps, Title: "neigh: make sure used and confirmed times are valid",
		Commit: "c1d2ecdf5e38", Release: "6.3", Flags: []string{"F16"}, Spec: "§1.2, §7.1",
		Effect: "confirmed/used are clamped when timers are armed; GC stale test uses a range"},
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
