package scenario

import (
	"fmt"
	"net/netip"
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
