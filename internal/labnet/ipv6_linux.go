package labnet

import (
	"fmt"

	"arplab/internal/labsys"
)

// ipv6Defaults are written to net/ipv6/conf/{all,default}/ when a host
// turns IPv6 on, before any of its lab interfaces exist, so that every
// interface inherits them: no duplicate address detection (addresses,
// the link-local one included, are usable at once and never announced by
// the kernel), no router solicitations and no router advertisements
// accepted. The only neighbour-discovery traffic is then what a scenario
// causes; MLD reports still go out when groups are joined, and captures
// see them.
var ipv6Defaults = []struct{ name, value string }{
	{"accept_dad", "0"},
	{"dad_transmits", "0"},
	{"router_solicitations", "0"},
	{"accept_ra", "0"},
	{"disable_ipv6", "0"},
}

// EnableIPv6 turns IPv6 on in the host's namespace (hosts start with it
// off, see New), with the defaults above. Interfaces attached afterwards
// get an EUI-64 link-local address from their MAC, usable at once; their
// IPv6 neighbours appear in Neighbours and their parameters in NDTable.
// It must run before the host's interfaces are attached (Attach calls it
// for an IPv6 address); a second call does nothing.
func (h *Host) EnableIPv6() error {
	h.sys.mu.Lock()
	done, nsh := h.sys.ipv6, h.sys.nsh
	h.sys.mu.Unlock()
	if done {
		return nil
	}
	if !nsh.IsOpen() {
		return labsys.ErrClosed
	}
	err := inNS(nsh, func() error {
		for _, dev := range []string{"all", "default"} {
			for _, kv := range ipv6Defaults {
				p := fmt.Sprintf("/proc/sys/net/ipv6/conf/%s/%s", dev, kv.name)
				if err := labsys.WriteProc(p, kv.value); err != nil {
					return fmt.Errorf("write %s = %s: %w", p, kv.value, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return labsys.PermErr(h.ns+": enable IPv6", err)
	}
	h.sys.mu.Lock()
	h.sys.ipv6 = true
	h.sys.mu.Unlock()
	return nil
}

// IPv6 reports whether EnableIPv6 ran on the host.
func (h *Host) IPv6() bool {
	h.sys.mu.Lock()
	defer h.sys.mu.Unlock()
	return h.sys.ipv6
}
