package scenario

import (
	"fmt"
	"net/netip"

	"arplab/internal/wire/arp"
)

// NS is one hand-built Neighbour Solicitation a station sends (RFC 4861
// §4.3): for scenarios that need a solicitation no host sends on its own,
// such as one that creates or revives the sender's entry on a host, one
// for an address the host does not have, or a DAD probe. (Advertisements
// are `garp` events on an IPv6 address, with the custom preset's flags.)
// Defaults are what Linux itself puts there (../shared/spec/linux-ndisc.md
// §2.3).
type NS struct {
	From   string `yaml:"from"` // a station
	Target Addr   `yaml:"target"`
	// Src is the IPv6 source. Default: the station's EUI-64 link-local
	// address; "::" makes it a DAD probe (which carries no source
	// link-layer option).
	Src *Addr `yaml:"src"`
	// Dst is the IPv6 destination. Default: the target's solicited-node
	// group.
	Dst *Addr `yaml:"dst"`
	// EthDst is the frame's destination MAC. Default: the group MAC of a
	// multicast Dst, else the MAC of the host interface that owns Dst
	// (an address it has, or its EUI-64 link-local address).
	EthDst *MAC `yaml:"eth_dst"`
	// LLAddr is the source link-layer option's address. Default: the
	// station's MAC. NoLLAddr leaves the option out.
	LLAddr   *MAC `yaml:"lladdr"`
	NoLLAddr bool `yaml:"no_lladdr"`
	// HopLimit is the IPv6 hop limit; 0 means 255, the only value ND
	// accepts (spec ndisc §4.1).
	HopLimit int `yaml:"hop_limit"`
}

// IsDAD reports whether the solicitation is a DAD probe (from ::).
func (n *NS) IsDAD() bool { return n.Src != nil && n.Src.Addr.IsUnspecified() }

// OptionLL returns the source link-layer option's address, if the
// solicitation has one.
func (n *NS) OptionLL(stationMAC arp.MAC) (arp.MAC, bool) {
	if n.NoLLAddr || n.IsDAD() {
		return arp.MAC{}, false
	}
	if n.LLAddr != nil {
		return n.LLAddr.MAC, true
	}
	return stationMAC, true
}

// Hops returns the hop limit the solicitation carries.
func (n *NS) Hops() uint8 {
	if n.HopLimit == 0 {
		return 255
	}
	return uint8(n.HopLimit)
}

// checkNS validates an ns action.
func checkNS(n *NS) error {
	if !isIPv6(n.Target.Addr) || n.Target.Addr.IsMulticast() {
		return fmt.Errorf("target %v is not a unicast IPv6 address", n.Target.Addr)
	}
	if n.Src != nil && !isIPv6(n.Src.Addr) {
		return fmt.Errorf("src %v is not an IPv6 address", n.Src.Addr)
	}
	if n.Dst != nil && !isIPv6(n.Dst.Addr) {
		return fmt.Errorf("dst %v is not an IPv6 address", n.Dst.Addr)
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
