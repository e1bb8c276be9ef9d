package scenario

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"arplab/internal/neigh"
)

// ND is one hand-built neighbour-discovery message a station sends: the
// IPv6 counterpart of a custom GARP, for scenarios that need a message no
// sender preset makes (an NA with O = 0, a solicited NA out of the blue, a
// DAD solicitation). The fields are the message's own (RFC 4861 §4.3,
// §4.4); defaults are what Linux itself would put there
// (../shared/spec/linux-ndisc.md §2.3, §10.1).
type ND struct {
	From string `yaml:"from"` // a station
	// Type is "na" (Neighbour Advertisement) or "ns" (Neighbour
	// Solicitation).
	Type   string `yaml:"type"`
	Target Addr   `yaml:"target"`
	// Src is the IPv6 source. Default: the target for an NA (the
	// announced address itself, as the kernel's unsolicited NA), the
	// station's EUI-64 link-local address for an NS; "::" makes an NS a
	// DAD probe (which carries no source link-layer option).
	Src *Addr `yaml:"src"`
	// Dst is the IPv6 destination. Default: ff02::1 for an NA, the
	// target's solicited-node group for an NS.
	Dst *Addr `yaml:"dst"`
	// EthDst is the frame's destination MAC. Default: the group MAC of a
	// multicast Dst, else the MAC of the host interface that owns Dst
	// (an address it has, or its EUI-64 link-local address).
	EthDst *MAC `yaml:"eth_dst"`
	// NA flags.
	Router    bool `yaml:"router"`
	Solicited bool `yaml:"solicited"`
	Override  bool `yaml:"override"`
	// LLAddr is the link-layer option's address (TLLAO in an NA, SLLAO
	// in an NS). Default: the station's MAC. NoLLAddr leaves the option
	// out.
	LLAddr   *MAC `yaml:"lladdr"`
	NoLLAddr bool `yaml:"no_lladdr"`
	// HopLimit is the IPv6 hop limit; 0 means 255, the only value ND
	// accepts (spec ndisc §4.1).
	HopLimit int `yaml:"hop_limit"`
}

// IsDAD reports whether the message is a DAD solicitation (an NS from ::).
func (n *ND) IsDAD() bool { return n.Type == "ns" && n.Src != nil && n.Src.Addr.IsUnspecified() }

// OptionLL returns the link-layer option's address, if the message has one.
func (n *ND) OptionLL(stationMAC [6]byte) ([6]byte, bool) {
	if n.NoLLAddr || n.IsDAD() {
		return [6]byte{}, false
	}
	if n.LLAddr != nil {
		return n.LLAddr.MAC, true
	}
	return stationMAC, true
}

// Hops returns the hop limit the message carries.
func (n *ND) Hops() uint8 {
	if n.HopLimit == 0 {
		return 255
	}
	return uint8(n.HopLimit)
}

// checkND validates an nd action.
func checkND(n *ND) error {
	switch n.Type {
	case "na", "ns":
	default:
		return fmt.Errorf("type %q (want na or ns)", n.Type)
	}
	if !isIPv6(n.Target.Addr) || n.Target.Addr.IsMulticast() {
		return fmt.Errorf("target %v is not a unicast IPv6 address", n.Target.Addr)
	}
	if n.Src != nil && !isIPv6(n.Src.Addr) {
		return fmt.Errorf("src %v is not an IPv6 address", n.Src.Addr)
	}
	if n.Dst != nil && !isIPv6(n.Dst.Addr) {
		return fmt.Errorf("dst %v is not an IPv6 address", n.Dst.Addr)
	}
	if n.Type == "ns" && (n.Router || n.Solicited || n.Override) {
		return fmt.Errorf("router, solicited and override are NA flags; an NS has none")
	}
	if n.IsDAD() && n.LLAddr != nil {
		return fmt.Errorf("a DAD solicitation (src ::) carries no source link-layer option: drop lladdr")
	}
	if n.LLAddr != nil && n.NoLLAddr {
		return fmt.Errorf("lladdr and no_lladdr contradict each other")
	}
	if n.HopLimit < 0 || n.HopLimit > 255 {
		return fmt.Errorf("hop_limit %d is outside 0 to 255", n.HopLimit)
	}
	return nil
}

// isIPv6 is a plain IPv6 address: not IPv4-mapped, no zone.
func isIPv6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() && a.Zone() == "" }

// conf6Names are the net.ipv6.conf settings a scenario may write, with
// their ranges (the ones neighbour discovery reads, ndisc §8.2).
var conf6Names = map[string][2]int64{
	"forwarding": {0, 1}, "accept_untracked_na": {0, 2}, "drop_unsolicited_na": {0, 1},
	"drop_unicast_in_l2_multicast": {0, 1}, "ndisc_notify": {0, 1}, "ndisc_evict_nocarrier": {0, 1},
	"force_tllao": {0, 1},
}

// checkSysctl6 validates an IPv6 key, written in full:
// net.ipv6.neigh.<dev>.<name> (the same settings as IPv4's) or
// net.ipv6.conf.<dev>.<name>. handled is false for any other key.
func checkSysctl6(k, v string, devs map[string]bool) (handled bool, err error) {
	rest, ok := strings.CutPrefix(strings.ReplaceAll(k, "/", "."), "net.ipv6.")
	if !ok {
		return false, nil
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || (parts[0] != "neigh" && parts[0] != "conf") {
		return true, fmt.Errorf("sysctl %q: want net.ipv6.neigh.<dev>.<name> or net.ipv6.conf.<dev>.<name>", k)
	}
	kind, dev, name := parts[0], parts[1], parts[2]
	if dev != "all" && dev != "default" && !devs[dev] {
		return true, fmt.Errorf("sysctl %s: no interface %q", k, dev)
	}
	if kind == "neigh" {
		if !slices.Contains(neigh.ParamNames(), name) {
			return true, fmt.Errorf("sysctl %s: unknown neighbour setting %q (known: %s)", k, name, strings.Join(neigh.ParamNames(), ", "))
		}
		if dev == "all" {
			return true, fmt.Errorf("sysctl %s: neigh has no \"all\" (per device or default)", k)
		}
		if err := sysctlValue(name, v); err != nil {
			return true, fmt.Errorf("sysctl %s: %v", k, err)
		}
		return true, nil
	}
	r, ok := conf6Names[name]
	if !ok {
		names := make([]string, 0, len(conf6Names))
		for n := range conf6Names {
			names = append(names, n)
		}
		slices.Sort(names)
		return true, fmt.Errorf("sysctl %s: unknown IPv6 conf setting %q (known: %s)", k, name, strings.Join(names, ", "))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < r[0] || n > r[1] {
		return true, fmt.Errorf("sysctl %s: %q is not a whole number from %d to %d", k, v, r[0], r[1])
	}
	return true, nil
}
