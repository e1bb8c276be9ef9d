package neigh

import (
	"fmt"
	"strings"
)

// Conf6 is a device's IPv6 settings from /proc/sys/net/ipv6/conf/<dev>/
// that neighbour discovery reads (ndisc §8.2). Unless a field says
// otherwise only the device's own value counts: conf/all is ignored and
// conf/default only seeds new devices.
type Conf6 struct {
	Forwarding               bool // forwarding: router behaviour, R flag in our NAs, gate of accept_untracked_na
	NDiscNotify              bool // ndisc_notify (dev OR all from 4.11, ndisc §10.2)
	DropUnsolicitedNA        bool // drop_unsolicited_na (4.6+, ndisc §4.2 step 3)
	DropUnicastInL2Multicast bool // drop_unicast_in_l2_multicast (4.6+, ndisc §4.1)
	AcceptUntrackedNA        int  // accept_untracked_na: 0, 1 (5.19+), 2 (6.0+) (ndisc §4.4)
	NDiscEvictNoCarrier      bool // ndisc_evict_nocarrier (5.16+, dev AND all, default 1, ndisc §7)
	ForceTLLAO               bool // force_tllao: TLLAO in replies to unicast NS (ndisc §4.5 step 7)
	SuppressFragNDisc        bool // suppress_frag_ndisc (3.12+, default 1, ndisc §4.1)
	AcceptRA                 int  // accept_ra: 0, 1 (default), 2 (also when forwarding) (ndisc §4.6)
}

// DefaultConf6 returns the kernel defaults (ndisc §8.2).
func DefaultConf6() Conf6 {
	return Conf6{NDiscEvictNoCarrier: true, SuppressFragNDisc: true, AcceptRA: 1}
}

// Conf6Names lists the net/ipv6/conf sysctl names the model reads.
var Conf6Names = []string{"accept_ra", "accept_untracked_na", "drop_unicast_in_l2_multicast", "drop_unsolicited_na", "force_tllao",
	"forwarding", "ndisc_evict_nocarrier", "ndisc_notify", "suppress_frag_ndisc"}

// Set writes a net/ipv6/conf sysctl by name.
func (c *Conf6) Set(name, value string) error {
	v, err := confInt("ipv6 conf", name, value)
	if err != nil {
		return err
	}
	switch name {
	case "forwarding":
		c.Forwarding = v != 0
	case "ndisc_notify":
		c.NDiscNotify = v != 0
	case "drop_unsolicited_na":
		c.DropUnsolicitedNA = v != 0
	case "drop_unicast_in_l2_multicast":
		c.DropUnicastInL2Multicast = v != 0
	case "accept_untracked_na":
		if v > 2 {
			return fmt.Errorf("ipv6 conf/accept_untracked_na: %d is out of range (0 to 2)", v)
		}
		c.AcceptUntrackedNA = v
	case "ndisc_evict_nocarrier":
		c.NDiscEvictNoCarrier = v != 0
	case "force_tllao":
		c.ForceTLLAO = v != 0
	case "suppress_frag_ndisc":
		c.SuppressFragNDisc = v != 0
	case "accept_ra":
		if v > 2 {
			return fmt.Errorf("ipv6 conf/accept_ra: %d is out of range (0 to 2)", v)
		}
		c.AcceptRA = v
	default:
		return fmt.Errorf("unknown ipv6 conf sysctl %q (known: %s)", name, strings.Join(Conf6Names, ", "))
	}
	return nil
}

// setConf6 is SetConf on nd_tbl: a knob the profile's kernel lacks is an
// error, as `sysctl -w` on that kernel would be (ndisc §8.2 "Since").
func (t *Table) setConf6(dev, name, value string) error {
	need := func(ok bool, since string) error {
		if !ok {
			return fmt.Errorf("net.ipv6.conf.%s.%s does not exist on %s (added in %s)", dev, name, t.Profile, since)
		}
		return nil
	}
	var err error
	switch name {
	case "drop_unsolicited_na":
		err = need(t.F.DropUnsolicitedNA, "4.6")
	case "drop_unicast_in_l2_multicast":
		err = need(t.F.NDDropUnicastInL2Mcast, "4.6")
	case "ndisc_evict_nocarrier":
		err = need(t.F.NDEvictNoCarrierCtl, "5.16")
	case "suppress_frag_ndisc":
		err = need(t.F.NDDropFragments, "3.12")
	case "accept_untracked_na":
		if err = need(t.F.AcceptUntrackedNA, "5.19"); err == nil && strings.TrimSpace(value) == "2" && !t.F.AcceptUntrackedNASubnet {
			err = fmt.Errorf("net.ipv6.conf.%s.accept_untracked_na=2 is not understood by %s (added in 6.0; 5.19 takes 0 or 1)", dev, t.Profile)
		}
	}
	if err != nil {
		return err
	}
	switch dev {
	case "all":
		return t.All6.Set(name, value)
	case "default":
		return t.DefaultConf6.Set(name, value)
	}
	d, ok := t.Device(dev)
	if !ok {
		return fmt.Errorf("net.ipv6.conf.%s.%s: no device %q", dev, name, dev)
	}
	return d.Conf6.Set(name, value)
}

// SplitSysctlKeyFamily is SplitSysctlKey for both tables: with the
// net.ipv6. prefix the key is IPv6's ("net.ipv6.neigh.eth0.retrans_time_ms",
// "/proc/sys/net/ipv6/conf/eth0.100/accept_untracked_na"), without it IPv4's
// (the short forms and bare names). One parser: the rest of the key is
// SplitSysctlKey's.
func SplitSysctlKeyFamily(k string) (fam Family, kind, dev, name string, err error) {
	s := strings.ReplaceAll(strings.TrimPrefix(k, "/proc/sys/"), "/", ".")
	rest, v6 := strings.CutPrefix(s, "net.ipv6.")
	if !v6 {
		kind, dev, name, err = SplitSysctlKey(k)
		return IPv4, kind, dev, name, err
	}
	if kind, dev, name, err = SplitSysctlKey(rest); err != nil || kind == "" {
		return IPv6, "", "", "", fmt.Errorf("sysctl %q: want net.ipv6.neigh.<dev>.<name> or net.ipv6.conf.<dev>.<name>", k)
	}
	return IPv6, kind, dev, name, nil
}

// SplitSysctlFamily is SplitSysctl for both tables (SplitSysctlKeyFamily
// without bare names).
func SplitSysctlFamily(k string) (fam Family, kind, dev, name string, err error) {
	if fam, kind, dev, name, err = SplitSysctlKeyFamily(k); err == nil && kind == "" {
		_, _, _, err = SplitSysctl(k)
	}
	return fam, kind, dev, name, err
}
