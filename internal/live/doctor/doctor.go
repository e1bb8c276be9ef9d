// Package doctor reads a host's (or a network namespace's) ARP settings and
// says which of them change what happens to gratuitous ARP, why, and what a
// change would cost.
//
// Inspect gathers facts: the kernel release mapped to the closest kernel
// profile (arplab/internal/kernel), the per-interface sysctls under
// /proc/sys/net/ipv4/conf and /proc/sys/net/ipv4/neigh (spec §8), and the
// size of the neighbour table. Advise is pure: it turns a Report into Advice,
// each naming the mechanism (spec section), the finding with the numbers,
// the change, the reason and the trade-off. Both are JSON-serialisable so
// the CLI can print or save them.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package doctor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"arplab/internal/kernel"
)

// Conf lists the per-interface IPv4 settings read from
// /proc/sys/net/ipv4/conf/{all,default,<dev>}/ (spec §8.2).
var Conf = []string{
	"arp_accept", "arp_notify", "arp_ignore", "arp_announce", "arp_filter",
	"drop_gratuitous_arp", "arp_evict_nocarrier",
}

// Neigh lists the neighbour parameters read from
// /proc/sys/net/ipv4/neigh/{default,<dev>}/ (spec §8.1).
var Neigh = []string{
	"locktime", "base_reachable_time_ms", "delay_first_probe_time", "gc_stale_time",
	"ucast_solicit", "mcast_solicit", "app_solicit", "mcast_resolicit",
	"retrans_time_ms", "unres_qlen_bytes",
}

// GC lists the table-wide thresholds that exist only under neigh/default.
var GC = []string{"gc_thresh1", "gc_thresh2", "gc_thresh3"}

// Absent is Setting.State for a file this kernel does not have (for
// example drop_gratuitous_arp before 4.6, arp_evict_nocarrier before 5.16).
const Absent = "absent on this kernel"

// Setting is one sysctl file.
type Setting struct {
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
	// State is empty when Value was read, Absent when the file does not
	// exist, and "unreadable: …" otherwise.
	State string `json:"state,omitempty"`
}

// Int returns the value as an integer; ok is false when the setting is
// absent or not a number.
func (s Setting) Int() (v int64, ok bool) {
	if s.State != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s.Value, 10, 64)
	return v, err == nil
}

// DescribeKernel fills Profile, ProfileWhy, Unknown and Flags from
// Release through kernel.Resolve, the resolver --profile uses, so doctor
// picks the profile `arplab run --profile $(uname -r)` would. A release
// Resolve refuses gets the nearest profile (kernel.Closest), and the
// reason says so.
// Unknown lists the profile's patches of unknown presence with their
// evidence, then its caveats (what nobody read for that kernel).
func (r *Report) DescribeKernel() {
	p, why, err := kernel.Resolve(r.Release)
	if err != nil {
		p = kernel.Closest(r.Release)
		why = err.Error() + "; doctor uses the nearest profile, " + p.Name
	}
	r.Profile, r.ProfileWhy, r.Unknown = p.Name, why, nil
	for _, c := range p.Unknowns() {
		r.Unknown = append(r.Unknown, c.Patch+": "+c.String()+" — "+c.Evidence)
	}
	r.Unknown = append(r.Unknown, p.Caveats...)
	r.Flags = map[string]bool{}
	f := p.Features()
	for _, fl := range kernel.FlagTable {
		r.Flags[fl.ID] = f.Flag(fl.ID)
	}
}

// Interface is one ARP-capable interface of the inspected namespace.
type Interface struct {
	Name  string   `json:"name"`
	Index int      `json:"index"`
	MAC   string   `json:"mac"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs,omitempty"`
}

// Report is what Inspect found.
type Report struct {
	// Netns is the inspected namespace ("" = the caller's).
	Netns string `json:"netns,omitempty"`
	// Release is the running kernel (uname -r); namespaces share it.
	Release string `json:"release"`
	// Profile is kernel.Closest(Release): the modelled kernel whose
	// behaviour Advise assumes, and Flags its §9.1 feature flags.
	Profile string `json:"profile"`
	// ProfileWhy says why Resolve picked Profile for Release, and Unknown
	// what nobody read for it (patches of unknown presence, caveats).
	ProfileWhy string         `json:"profile_why,omitempty"`
	Unknown    []string       `json:"unknown,omitempty"`
	Flags      kernel.FlagMap `json:"flags"`
	// HZ is CONFIG_HZ when the kernel config is readable (0 otherwise):
	// locktime and every timer are multiples of 1/HZ (spec §12.1).
	HZ       int    `json:"hz,omitempty"`
	HZSource string `json:"hz_source,omitempty"`
	// Interfaces are the ARP-capable interfaces (loopback and NOARP
	// devices are left out).
	Interfaces []Interface `json:"interfaces"`
	// Conf maps "all", "default" and each interface to its conf settings;
	// Neigh maps "default" and each interface to its neighbour
	// parameters, and GC holds the default-only thresholds.
	Conf  map[string]map[string]Setting `json:"conf"`
	Neigh map[string]map[string]Setting `json:"neigh"`
	GC    map[string]Setting            `json:"gc"`
	// DefaultsFrom is set when neigh/default and GC were read outside the
	// inspected namespace: the kernel shows them only in the initial
	// namespace, because the ARP table, its defaults and its gc
	// thresholds are shared by all namespaces.
	DefaultsFrom string `json:"defaults_from,omitempty"`
	// Entries is the number of IPv4 neighbour entries in the table
	// (all interfaces), to compare with gc_thresh1.
	Entries int `json:"entries"`
}

// readSettings reads dir/<key> for each key.
func readSettings(dir string, keys []string) map[string]Setting {
	out := make(map[string]Setting, len(keys))
	for _, k := range keys {
		p := filepath.Join(dir, k)
		s := Setting{Path: p}
		b, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			s.State = Absent
		case err != nil:
			s.State = "unreadable: " + err.Error()
		default:
			s.Value = strings.TrimSpace(string(b))
		}
		out[k] = s
	}
	return out
}

// readSysctls fills r.Conf, r.Neigh and r.GC from root (/proc/sys/net/ipv4
// on a real host) for r.Interfaces.
func (r *Report) readSysctls(root string) {
	r.Conf = map[string]map[string]Setting{}
	r.Neigh = map[string]map[string]Setting{}
	for _, scope := range []string{"all", "default"} {
		r.Conf[scope] = readSettings(filepath.Join(root, "conf", scope), Conf)
	}
	r.readDefaults(root)
	for _, ifi := range r.Interfaces {
		r.Conf[ifi.Name] = readSettings(filepath.Join(root, "conf", ifi.Name), Conf)
		r.Neigh[ifi.Name] = readSettings(filepath.Join(root, "neigh", ifi.Name), Neigh)
	}
}

// readDefaults fills r.Neigh["default"] and r.GC from root.
func (r *Report) readDefaults(root string) {
	r.Neigh["default"] = readSettings(filepath.Join(root, "neigh", "default"), Neigh)
	r.GC = readSettings(filepath.Join(root, "neigh", "default"), GC)
}

// allAbsent reports whether no setting in m could be read.
func allAbsent(m map[string]Setting) bool {
	for _, s := range m {
		if s.State != Absent {
			return false
		}
	}
	return true
}

// devices returns the interface names in r, sorted.
// ipv4Devices are the interfaces with an IPv4 address, sorted: the ones
// that resolve neighbours over ARP. An interface without one (an ifb, a
// bridge port, a down VPN) has no ARP table to advise on.
func (r Report) ipv4Devices() []string {
	var out []string
	for _, ifi := range r.Interfaces {
		if len(ifi.Addrs) > 0 {
			out = append(out, ifi.Name)
		}
	}
	sort.Strings(out)
	return out
}

// parseHZ finds CONFIG_HZ=N in a kernel config.
func parseHZ(config string) int {
	for _, line := range strings.Split(config, "\n") {
		if v, ok := strings.CutPrefix(line, "CONFIG_HZ="); ok {
			if hz, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return hz
			}
		}
	}
	return 0
}
