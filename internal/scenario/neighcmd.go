package scenario

import (
	"fmt"
	"net/netip"
	"strings"

	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

// NeighCommand is a parsed `ip neigh` command line.
type NeighCommand struct {
	Op     neigh.AdminOp
	IP     netip.Addr
	LLAddr *arp.MAC
	State  neigh.State
	Dev    string
}

// ParseNeighCmd parses the subset of `ip neigh` arplab supports:
// "add|change|replace IP [lladdr MAC] [nud STATE] dev DEV",
// "del IP dev DEV", "flush dev DEV". The default state, as in iproute2, is
// PERMANENT.
func ParseNeighCmd(s string) (NeighCommand, error) {
	f := strings.Fields(s)
	var c NeighCommand
	if len(f) == 0 {
		return c, fmt.Errorf("ip neigh: empty command")
	}
	op, err := neigh.ParseAdminOp(f[0])
	if err != nil {
		return c, fmt.Errorf("ip neigh %q: %v", s, err)
	}
	c.Op, c.State = op, neigh.Permanent
	i := 1
	if op != neigh.AdminFlush {
		if len(f) < 2 {
			return c, fmt.Errorf("ip neigh %q: missing address", s)
		}
		if c.IP, err = netip.ParseAddr(f[1]); err != nil || c.IP.Is4In6() || c.IP.Zone() != "" {
			return c, fmt.Errorf("ip neigh %q: %q is not an IPv4 or IPv6 address", s, f[1])
		}
		i = 2
	}
	for ; i < len(f); i++ {
		if i+1 >= len(f) {
			return c, fmt.Errorf("ip neigh %q: %q needs a value", s, f[i])
		}
		v := f[i+1]
		switch f[i] {
		case "lladdr":
			m, err := arp.ParseMAC(v)
			if err != nil {
				return c, fmt.Errorf("ip neigh %q: %v", s, err)
			}
			c.LLAddr = &m
		case "nud":
			st, err := neigh.ParseState(v)
			if err != nil {
				return c, fmt.Errorf("ip neigh %q: %v", s, err)
			}
			c.State = st
		case "dev":
			c.Dev = v
		default:
			return c, fmt.Errorf("ip neigh %q: unknown word %q", s, f[i])
		}
		i++
	}
	if c.Dev == "" {
		return c, fmt.Errorf("ip neigh %q: dev is required", s)
	}
	return c, nil
}

// String writes the command as ParseNeighCmd reads it ("replace IP lladdr
// MAC nud STATE dev DEV", "del IP dev DEV", "flush dev DEV"), for records
// of commands built rather than written.
func (c NeighCommand) String() string {
	var b strings.Builder
	b.WriteString(c.Op.String())
	switch c.Op {
	case neigh.AdminFlush:
	case neigh.AdminDel:
		fmt.Fprintf(&b, " %v", c.IP)
	default:
		fmt.Fprintf(&b, " %v", c.IP)
		if c.LLAddr != nil {
			fmt.Fprintf(&b, " lladdr %v", *c.LLAddr)
		}
		fmt.Fprintf(&b, " nud %s", strings.ToLower(c.State.String()))
	}
	fmt.Fprintf(&b, " dev %s", c.Dev)
	return b.String()
}
