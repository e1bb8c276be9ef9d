package verify

import (
	"fmt"
	"slices"
	"strconv"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
)

// sysctlNeed is a sysctl (or one of its values) that only exists from a
// patch on: a kernel without the patch has no such file (the lab's write
// fails) or reads the value as another one (arp_accept=2 before 6.0 is
// "on", spec §4.4(d)), so a scenario that sets it tests something that
// kernel does not have.
type sysctlNeed struct {
	name  string // the sysctl's last component
	min   int64  // the value from which the patch is needed (0: any value)
	patch string
}

// sysctlNeeds are the sysctls of the verify suite that came with a patch
// the profiles track (spec §8.2, ndisc §8.2).
var sysctlNeeds = []sysctlNeed{
	{"arp_accept", 2, kernel.PARPAcceptSubnet},
	{"arp_evict_nocarrier", 0, kernel.PEvictNoCarrierSysctl},
	{"drop_gratuitous_arp", 0, kernel.PDropGratuitousARP},
	{"mcast_resolicit", 0, kernel.PMcastResolicit},
	{"drop_unsolicited_na", 0, kernel.PDropUnsolicitedNA},
	{"drop_unicast_in_l2_multicast", 0, kernel.PDropUnicastInL2Mcast6},
	{"ndisc_evict_nocarrier", 0, kernel.PNDEvictNoCarrier},
	{"accept_untracked_na", 0, kernel.PAcceptUntrackedNA},
	{"accept_untracked_na", 2, kernel.PAcceptUntrackedNASubnet},
}

// Lacks says why scenario s cannot be verified on a kernel of profile p:
// one line per sysctl the scenario sets (up front or in its script) that
// p's kernel does not have, naming the patch and its release. Empty when
// the kernel has everything the scenario sets. `arplab verify` skips such
// a scenario with these reasons instead of running it (on an older guest
// under --vm, typically); p is the kernel's own profile, not the model's
// --profile or --patch, so a deliberately wrong model still runs.
func Lacks(s *scenario.Scenario, p kernel.Profile) []string {
	var why []string
	check := func(key, value string) {
		_, _, _, name, err := neigh.SplitSysctlFamily(key)
		if err != nil {
			return // the loader already refused it; nothing to skip on
		}
		v, verr := strconv.ParseInt(value, 10, 64)
		for _, n := range sysctlNeeds {
			if n.name != name || p.Has(n.patch) || (n.min > 0 && (verr != nil || v < n.min)) {
				continue
			}
			rel := "?"
			if pt, ok := kernel.PatchByName(n.patch); ok {
				rel = pt.Release
			}
			line := fmt.Sprintf("%s=%s needs %s (%s), which profile %s lacks", key, value, n.patch, rel, p.Name)
			if !slices.Contains(why, line) {
				why = append(why, line)
			}
		}
	}
	for _, h := range s.Hosts {
		keys := make([]string, 0, len(h.Sysctls))
		for k := range h.Sysctls {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			check(k, h.Sysctls[k])
		}
	}
	for _, e := range s.Script {
		if e.Sysctl != nil {
			check(e.Sysctl.Key, e.Sysctl.Value)
		}
	}
	return why
}
