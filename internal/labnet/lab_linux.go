package labnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"arplab/internal/labsys"
	"arplab/internal/wire/arp"
)

type labSys struct {
	lock *os.File // shared flock on labsys.StateDir/arplab-<pid>.lock while the lab lives
	done chan struct{}
}

type hostSys struct {
	nsh   netns.NsHandle
	mu    sync.Mutex // serialises use of nl
	nl    *netlink.Handle
	links []string // interfaces Attach made here
	ipv6  bool     // EnableIPv6 ran
}

type segmentSys struct {
	nsh      netns.NsHandle
	mu       sync.Mutex
	nl       *netlink.Handle
	bridge   netlink.Link
	nextPort int
}

// bridgeName is the bridge's name inside its own namespace.
const bridgeName = "br0"

func (l *Lab) init() error {
	l.sys.done = make(chan struct{})
	// Fail now, not halfway through building a topology: creating a
	// namespace needs CAP_SYS_ADMIN, and the lab needs CAP_NET_ADMIN and
	// CAP_NET_RAW inside it.
	if err := checkCaps(); err != nil {
		return err
	}
	if err := os.MkdirAll(labsys.StateDir, 0o755); err != nil {
		return labsys.PermErr("create "+labsys.StateDir, err)
	}
	pid, _ := labsys.PrefixPID(l.prefix, labsys.StalePrefix)
	f, err := os.OpenFile(lockPath(pid), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return labsys.PermErr("open lock file", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return fmt.Errorf("lab: lock %s: %w", f.Name(), err)
	}
	l.sys.lock = f
	return nil
}

func lockPath(pid int) string {
	return filepath.Join(labsys.StateDir, fmt.Sprintf("%s%d.lock", labsys.StalePrefix, pid))
}

// checkCaps reports missing effective capabilities as a labsys.PermissionError.
func checkCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("lab: capget: %w", err)
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_NET_RAW, "CAP_NET_RAW"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}} {
		if !has(c.bit) {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return &labsys.PermissionError{Op: fmt.Sprintf("missing %v (uid %d)", missing, os.Getuid()), Err: unix.EPERM}
	}
	return nil
}

func (l *Lab) releaseLock() {
	f := l.sys.lock
	if f == nil {
		return
	}
	l.sys.lock = nil
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	// Remove the file if no other lab of this process holds it.
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		os.Remove(f.Name())
	}
	f.Close()
}

func (h *Host) create() error {
	nsh, err := newNamedNS(h.ns)
	if err != nil {
		return err
	}
	h.sys.nsh = nsh
	fail := func(err error) error {
		h.destroy()
		return err
	}
	if h.sys.nl, err = netlink.NewHandleAt(nsh); err != nil {
		return fail(labsys.PermErr("netlink in "+h.ns, err))
	}
	lo, err := h.sys.nl.LinkByName("lo")
	if err != nil {
		return fail(fmt.Errorf("lab: %s: find lo: %w", h.ns, err))
	}
	if err := h.sys.nl.LinkSetUp(lo); err != nil {
		return fail(labsys.PermErr(h.ns+": set lo up", err))
	}
	if err := disableIPv6(nsh); err != nil {
		return fail(err)
	}
	return nil
}

// disableIPv6 keeps router solicitations, DAD and MLD off the segment, so
// the only neighbour traffic is the ARP a scenario causes.
func disableIPv6(nsh netns.NsHandle) error {
	return inNS(nsh, func() error {
		for _, k := range []string{"all", "default"} {
			err := labsys.WriteProc("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", "1")
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return labsys.PermErr("disable IPv6", err)
			}
		}
		return nil
	})
}

// destroy deletes the host's interfaces and namespace.
func (h *Host) destroy() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	h.sys.mu.Lock()
	defer h.sys.mu.Unlock()
	if h.sys.nl != nil {
		// Deleting one end of a veth deletes both, synchronously; without
		// this the pair would go only when the namespace is freed.
		for _, name := range h.sys.links {
			if link, err := h.sys.nl.LinkByName(name); err == nil {
				keep(labsys.PermErr("delete "+name+" in "+h.ns, h.sys.nl.LinkDel(link)))
			}
		}
		h.sys.nl.Close()
		h.sys.nl = nil
	}
	h.sys.links = nil
	if h.sys.nsh.IsOpen() {
		h.sys.nsh.Close()
		h.sys.nsh = netns.None()
	}
	keep(deleteNamedNS(h.ns))
	return first
}

func (s *Segment) create() error {
	nsh, err := newNamedNS(s.ns)
	if err != nil {
		return err
	}
	s.sys.nsh = nsh
	fail := func(err error) error {
		s.destroy()
		return err
	}
	if s.sys.nl, err = netlink.NewHandleAt(nsh); err != nil {
		return fail(labsys.PermErr("netlink in "+s.ns, err))
	}
	if err := disableIPv6(nsh); err != nil {
		return fail(err)
	}
	// IFLA_BR_FORWARD_DELAY and IFLA_BR_STP_STATE are not in netlink's
	// Bridge type, so build the RTM_NEWLINK ourselves.
	ageing := uint32(30000) // clock_t (1/100 s): the kernel default, 300 s
	if s.opts.FloodUnknown {
		ageing = 0 // every learned entry is expired at once: flood always
	}
	err = inNS(nsh, func() error {
		req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(bridgeName)))
		req.AddData(nl.NewRtAttr(unix.IFLA_IFALIAS, []byte(s.lab.prefix)))
		info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
		data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
		data.AddRtAttr(unix.IFLA_BR_FORWARD_DELAY, nl.Uint32Attr(0))
		data.AddRtAttr(unix.IFLA_BR_STP_STATE, nl.Uint32Attr(0))
		data.AddRtAttr(unix.IFLA_BR_AGEING_TIME, nl.Uint32Attr(ageing))
		data.AddRtAttr(unix.IFLA_BR_MCAST_SNOOPING, []byte{0})
		req.AddData(info)
		_, err := req.Execute(unix.NETLINK_ROUTE, 0)
		return err
	})
	if err != nil {
		return fail(labsys.PermErr(s.ns+": create bridge", err))
	}
	if s.sys.bridge, err = s.sys.nl.LinkByName(bridgeName); err != nil {
		return fail(fmt.Errorf("lab: %s: find bridge: %w", s.ns, err))
	}
	if err := s.sys.nl.LinkSetUp(s.sys.bridge); err != nil {
		return fail(labsys.PermErr(s.ns+": set bridge up", err))
	}
	return nil
}

func (s *Segment) destroy() error {
	var first error
	s.sys.mu.Lock()
	defer s.sys.mu.Unlock()
	if s.sys.nl != nil {
		if s.sys.bridge != nil {
			if err := s.sys.nl.LinkDel(s.sys.bridge); err != nil {
				first = labsys.PermErr("delete bridge in "+s.ns, err)
			}
		}
		s.sys.nl.Close()
		s.sys.nl = nil
	}
	if s.sys.nsh.IsOpen() {
		s.sys.nsh.Close()
		s.sys.nsh = netns.None()
	}
	if err := deleteNamedNS(s.ns); err != nil && first == nil {
		first = err
	}
	return first
}

func (l *Lab) attach(h *Host, ifname string, seg *Segment, mac arp.MAC, addrs []netip.Prefix) error {
	h.sys.mu.Lock()
	defer h.sys.mu.Unlock()
	seg.sys.mu.Lock()
	defer seg.sys.mu.Unlock()
	if h.sys.nl == nil || seg.sys.nl == nil {
		return labsys.ErrClosed
	}

	// The port name only has to be unique inside the segment's namespace.
	peer := fmt.Sprintf("p%d", seg.sys.nextPort)
	seg.sys.nextPort++
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: ifname, HardwareAddr: net.HardwareAddr(mac[:]), Alias: l.prefix},
		PeerName:      peer,
		PeerNamespace: netlink.NsFd(seg.sys.nsh),
	}
	if err := h.sys.nl.LinkAdd(veth); err != nil {
		return labsys.PermErr(fmt.Sprintf("create veth %s in %s", ifname, h.ns), err)
	}
	h.sys.links = append(h.sys.links, ifname)

	link, err := h.sys.nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("lab: %s: find %s: %w", h.ns, ifname, err)
	}
	for _, a := range addrs {
		if err := h.sys.nl.AddrAdd(link, nlAddr(a)); err != nil {
			return labsys.PermErr(fmt.Sprintf("add %v to %s in %s", a, ifname, h.ns), err)
		}
	}

	port, err := seg.sys.nl.LinkByName(peer)
	if err != nil {
		return fmt.Errorf("lab: %s: find port %s: %w", seg.ns, peer, err)
	}
	if err := seg.sys.nl.LinkSetAlias(port, l.prefix); err != nil {
		return labsys.PermErr("alias "+peer, err)
	}
	if err := seg.sys.nl.LinkSetMaster(port, seg.sys.bridge); err != nil {
		return labsys.PermErr(fmt.Sprintf("enslave %s to %s in %s", peer, bridgeName, seg.ns), err)
	}
	if seg.opts.FloodUnknown {
		if err := seg.sys.nl.LinkSetLearning(port, false); err != nil {
			return labsys.PermErr("turn off learning on "+peer, err)
		}
	}
	if err := seg.sys.nl.LinkSetUp(port); err != nil {
		return labsys.PermErr("set "+peer+" up", err)
	}
	if err := h.sys.nl.LinkSetUp(link); err != nil {
		return labsys.PermErr("set "+ifname+" up", err)
	}
	// Carrier changes reach the qdisc and the bridge through linkwatch,
	// which runs up to a second later; until then the veth drops what it
	// is given and the port is not forwarding. Wait for operstate UP on
	// both ends, which linkwatch sets in the same pass.
	if err := waitOperUp(h.sys.nl, ifname); err != nil {
		return fmt.Errorf("lab: %s: %w", h.ns, err)
	}
	if err := waitOperUp(seg.sys.nl, peer); err != nil {
		return fmt.Errorf("lab: %s: %w", seg.ns, err)
	}
	if h.sys.ipv6 {
		if err := waitIPv6Ready(h.sys.nl, ifname, addrs); err != nil {
			return fmt.Errorf("lab: %s: %w", h.ns, err)
		}
	}
	return nil
}

// waitIPv6Ready polls until the interface has its link-local address and
// every IPv6 address of addrs, none tentative (at most 3 s): addrconf
// finishes bringing IPv6 up on a carrier change, which linkwatch reports
// in the same pass as operstate, so an address can still be unusable for
// a moment after the link is UP.
func waitIPv6Ready(hd *netlink.Handle, name string, addrs []netip.Prefix) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		link, err := hd.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %s: %w", name, err)
		}
		list, err := hd.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return fmt.Errorf("list IPv6 addresses of %s: %w", name, err)
		}
		ready := map[netip.Addr]bool{}
		linkLocal := false
		for _, a := range list {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok || a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
				continue
			}
			ready[ip] = true
			linkLocal = linkLocal || ip.IsLinkLocalUnicast()
		}
		missing := !linkLocal
		for _, p := range addrs {
			if p.Addr().Is6() && !ready[p.Addr()] {
				missing = true
			}
		}
		if !missing {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: IPv6 addresses not usable after 3 s (have %v)", name, list)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitOperUp polls until the link's operstate is UP (at most 3 s).
func waitOperUp(hd *netlink.Handle, name string) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		link, err := hd.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %s: %w", name, err)
		}
		if link.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is still %v after 3 s", name, link.Attrs().OperState)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *Lab) teardown() error {
	l.mu.Lock()
	hosts, segs := l.hosts, l.segments
	l.hosts, l.segments = map[string]*Host{}, map[string]*Segment{}
	l.mu.Unlock()

	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, h := range hosts {
		keep(h.destroy())
	}
	for _, s := range segs {
		keep(s.destroy())
	}
	l.releaseLock()
	close(l.sys.done)
	return first
}

func (l *Lab) closeOnSignal(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		defer signal.Stop(ch)
		select {
		case <-ctx.Done():
		case <-l.sys.done:
		case sig := <-ch:
			l.Close()
			// A caller that handles the signal itself (arplab's CLI
			// cancels ctx on it) ends its own way, printing what it has;
			// only a caller that does not is ended here.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			code := 130
			if sig == syscall.SIGTERM {
				code = 143
			}
			os.Exit(code)
		}
	}()
}

// do runs fn on a thread inside the host's namespace (see inNS). Sockets
// fn opens stay in the namespace after it returns.
func (h *Host) do(fn func() error) error {
	h.sys.mu.Lock()
	nsh := h.sys.nsh
	h.sys.mu.Unlock()
	if !nsh.IsOpen() {
		return labsys.ErrClosed
	}
	return inNS(nsh, fn)
}

// Do runs fn on an OS thread that is inside the host's network namespace,
// for opening sockets or running commands as that host; sockets opened in
// fn stay in the namespace. Goroutines started by fn do not inherit it.
func (h *Host) Do(fn func() error) error { return h.do(fn) }
