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

// Neighbours dumps the IPv4 neighbour table of ifname. A dump the kernel
// marks as interrupted (the table changed under it) is retried.
func (h *Host) Neighbours(ifname string) ([]Neigh, error) {
	var out []Neigh
	err := h.withNL(func(hd *netlink.Handle) error {
		link, err := hd.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("lab: %s: find %s: %w", h.ns, ifname, err)
		}
		var list []netlink.Neigh
		for try := 0; ; try++ {
			list, err = hd.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
			if errors.Is(err, netlink.ErrDumpInterrupted) && try < 10 {
				continue
			}
			break
		}
		if err != nil {
			return fmt.Errorf("lab: %s: dump neighbours of %s: %w", h.ns, ifname, err)
		}
		out = make([]Neigh, 0, len(list))
		for _, n := range list {
			out = append(out, convertNeigh(ifname, n))
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
	if !s.IP.Is4() {
		return fmt.Errorf("lab: NeighSet: %v is not an IPv4 address", s.IP)
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
		req.AddData(&netlink.Ndmsg{Family: unix.AF_INET, Index: uint32(idx), State: uint16(s.State), Flags: ndmFlags})
		ip := s.IP.As4()
		req.AddData(nl.NewRtAttr(unix.NDA_DST, ip[:]))
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
	if !ip.Is4() {
		return fmt.Errorf("lab: NeighDel: %v is not an IPv4 address", ip)
	}
	err := h.withNL(func(hd *netlink.Handle) error {
		return hd.NeighDel(&netlink.Neigh{LinkIndex: idx, Family: unix.AF_INET, IP: net.IP(ip.AsSlice())})
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

// SetAddr adds (add) or removes an IPv4 address of ifname, like
// `ip addr add|del PREFIX dev IFNAME`.
func (h *Host) SetAddr(ifname string, p netip.Prefix, add bool) error {
	return h.withNL(func(hd *netlink.Handle) error {
		link, err := hd.LinkByName(ifname)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}}
		if add {
			return hd.AddrAdd(link, a)
		}
		return hd.AddrDel(link, a)
	})
}
