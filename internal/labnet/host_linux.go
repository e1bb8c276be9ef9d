package labnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"arplab/internal/labsys"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

// SetSysctl writes a network sysctl inside the host's namespace, e.g.
// SetSysctl("net/ipv4/neigh/eth0/locktime", "200"). /proc/sys/net shows the
// namespace of the thread that opens the file, so the write happens on a
// thread inside the namespace.
func (h *Host) SetSysctl(key, value string) error {
	path, err := sysctlPath(key)
	if err != nil {
		return err
	}
	err = h.do(func() error { return labsys.WriteProc(path, value) })
	if err != nil {
		return labsys.PermErr(fmt.Sprintf("%s: write %s = %q", h.ns, path, value), err)
	}
	return nil
}

// GetSysctl reads a network sysctl inside the host's namespace, without
// the trailing newline.
func (h *Host) GetSysctl(key string) (string, error) {
	path, err := sysctlPath(key)
	if err != nil {
		return "", err
	}
	var b []byte
	err = h.do(func() error {
		var err error
		b, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		return "", labsys.PermErr(fmt.Sprintf("%s: read %s", h.ns, path), err)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// withNL runs fn with the host's netlink handle.
func (h *Host) withNL(fn func(*netlink.Handle) error) error {
	h.sys.mu.Lock()
	defer h.sys.mu.Unlock()
	if h.sys.nl == nil {
		return labsys.ErrClosed
	}
	return fn(h.sys.nl)
}

// Neighbours dumps the neighbour tables of ifname: the ARP table, and the
// ND table (AF_INET6) when IPv6 is on in the host. A dump the kernel marks
// as interrupted (the table changed under it) is retried. The ND table's
// entries for multicast addresses are left out: they are the fixed
// NOARP mappings the output path makes for every group the host sends to
// (ff02::1, solicited-node groups, MLD's ff02::16; spec ndisc §1.1), not
// neighbours.
func (h *Host) Neighbours(ifname string) ([]Neigh, error) {
	var out []Neigh
	err := h.withNL(func(hd *netlink.Handle) error {
		link, err := hd.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("lab: %s: find %s: %w", h.ns, ifname, err)
		}
		families := []int{netlink.FAMILY_V4}
		if h.sys.ipv6 {
			families = append(families, netlink.FAMILY_V6)
		}
		for _, fam := range families {
			var list []netlink.Neigh
			for try := 0; ; try++ {
				list, err = hd.NeighList(link.Attrs().Index, fam)
				if errors.Is(err, netlink.ErrDumpInterrupted) && try < 10 {
					continue
				}
				break
			}
			if err != nil {
				return fmt.Errorf("lab: %s: dump neighbours of %s: %w", h.ns, ifname, err)
			}
			for _, n := range list {
				c := convertNeigh(ifname, n)
				if c.IP.Is6() && c.IP.IsMulticast() {
					continue
				}
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

func convertNeigh(dev string, n netlink.Neigh) Neigh {
	r := Neigh{
		Dev:       dev,
		State:     neigh.State(n.State),
		Flags:     uint8(n.Flags),
		Router:    n.Flags&netlink.NTF_ROUTER != 0,
		Confirmed: ticksToDuration(n.Confirmed),
		Used:      ticksToDuration(n.Used),
		Updated:   ticksToDuration(n.Updated),
	}
	if ip, ok := netip.AddrFromSlice(n.IP); ok {
		r.IP = ip.Unmap()
	}
	if len(n.HardwareAddr) == len(r.LLAddr) {
		copy(r.LLAddr[:], n.HardwareAddr)
		r.HasLLAddr = true
	}
	return r
}

// NeighSet creates or modifies an entry with `ip neigh add|replace|change`
// semantics (op is neigh.AdminAdd, AdminReplace or AdminChange; del and
// flush are NeighDel and NeighFlush). The kernel treats it as an
// administrative update (NEIGH_UPDATE_F_ADMIN, and OVERRIDE for
// replace/change), which stamps `updated` when the state or address
// changes.
func (h *Host) NeighSet(op neigh.AdminOp, s NeighSpec) error {
	var flags int
	switch op {
	case neigh.AdminReplace:
		flags = unix.NLM_F_CREATE | unix.NLM_F_REPLACE
	case neigh.AdminAdd:
		flags = unix.NLM_F_CREATE | unix.NLM_F_EXCL
	case neigh.AdminChange:
		flags = unix.NLM_F_REPLACE
	default:
		return fmt.Errorf("lab: NeighSet: op %v is not add, change or replace", op)
	}
	family, err := neighFamily(s.IP)
	if err != nil {
		return fmt.Errorf("lab: NeighSet: %w", err)
	}
	ndmFlags := uint8(0)
	if s.Router {
		ndmFlags |= NTFRouter
	}
	if s.Use {
		ndmFlags |= NTFUse
	}
	idx, err := h.ifindex(s.Dev)
	if err != nil {
		return err
	}
	err = h.do(func() error {
		req := nl.NewNetlinkRequest(unix.RTM_NEWNEIGH, flags|unix.NLM_F_ACK)
		req.AddData(&netlink.Ndmsg{Family: family, Index: uint32(idx), State: uint16(s.State), Flags: ndmFlags})
		req.AddData(nl.NewRtAttr(unix.NDA_DST, s.IP.AsSlice()))
		if s.HasLLAddr {
			req.AddData(nl.NewRtAttr(unix.NDA_LLADDR, s.LLAddr[:]))
		}
		_, err := req.Execute(unix.NETLINK_ROUTE, 0)
		return err
	})
	if err != nil {
		return labsys.PermErr(fmt.Sprintf("%s: neigh %s %v dev %s", h.ns, op, s.IP, s.Dev), err)
	}
	return nil
}

// NeighDel deletes an entry, like `ip neigh del IP dev IFNAME`.
func (h *Host) NeighDel(ifname string, ip netip.Addr) error {
	idx, err := h.ifindex(ifname)
	if err != nil {
		return err
	}
	return h.neighDel(idx, ip)
}

func (h *Host) neighDel(idx int, ip netip.Addr) error {
	family, err := neighFamily(ip)
	if err != nil {
		return fmt.Errorf("lab: NeighDel: %w", err)
	}
	err = h.withNL(func(hd *netlink.Handle) error {
		return hd.NeighDel(&netlink.Neigh{LinkIndex: idx, Family: int(family), IP: net.IP(ip.AsSlice())})
	})
	if err != nil {
		return labsys.PermErr(fmt.Sprintf("%s: neigh del %v", h.ns, ip), err)
	}
	return nil
}

// NeighFlush deletes every entry of ifname except PERMANENT and NOARP ones,
// like `ip neigh flush dev IFNAME`, and returns how many it deleted.
func (h *Host) NeighFlush(ifname string) (int, error) {
	idx, err := h.ifindex(ifname)
	if err != nil {
		return 0, err
	}
	list, err := h.Neighbours(ifname)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range list {
		if e.State == neigh.Permanent || e.State == neigh.NoARP {
			continue
		}
		if err := h.neighDel(idx, e.IP); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // went away by itself
			}
			return n, err
		}
		n++
	}
	return n, nil
}

func (h *Host) ifindex(ifname string) (int, error) {
	var idx int
	err := h.withNL(func(hd *netlink.Handle) error {
		link, err := hd.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("lab: %s: find %s: %w", h.ns, ifname, err)
		}
		idx = link.Attrs().Index
		return nil
	})
	return idx, err
}

// Link describes an interface of a host.
type Link struct {
	Name  string
	Index int
	MAC   arp.MAC
	Up    bool
}

// Links lists the host's interfaces.
func (h *Host) Links() ([]Link, error) {
	var out []Link
	err := h.withNL(func(hd *netlink.Handle) error {
		links, err := hd.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			a := l.Attrs()
			x := Link{Name: a.Name, Index: a.Index, Up: a.Flags&net.FlagUp != 0}
			copy(x.MAC[:], a.HardwareAddr)
			out = append(out, x)
		}
		return nil
	})
	return out, err
}

// SetAddr adds (add) or removes an address of ifname, like
// `ip addr add|del PREFIX dev IFNAME` (IPv6 ones with `nodad`; IPv6 must
// be on in the host, see EnableIPv6).
func (h *Host) SetAddr(ifname string, p netip.Prefix, add bool) error {
	return h.withNL(func(hd *netlink.Handle) error {
		link, err := hd.LinkByName(ifname)
		if err != nil {
			return err
		}
		if add {
			return hd.AddrAdd(link, nlAddr(p))
		}
		return hd.AddrDel(link, nlAddr(p))
	})
}

// nlAddr is p as netlink adds it: an IPv6 address without duplicate
// address detection (IFA_F_NODAD), so it is never tentative and the
// kernel neither sends a DAD solicitation nor, later, an unsolicited NA
// for it (spec ndisc §10.2).
func nlAddr(p netip.Prefix) *netlink.Addr {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// neighFamily is the neighbour table an address belongs to: AF_INET (ARP)
// or AF_INET6 (ND). IPv4-mapped and zoned IPv6 addresses have none.
func neighFamily(ip netip.Addr) (uint8, error) {
	switch {
	case ip.Is4():
		return unix.AF_INET, nil
	case ip.Is6() && !ip.Is4In6() && ip.Zone() == "":
		return unix.AF_INET6, nil
	}
	return 0, fmt.Errorf("%v is neither an IPv4 nor a plain IPv6 address", ip)
}
