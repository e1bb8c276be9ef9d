//go:build linux

package watch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"arplab/internal/neigh"
	"arplab/internal/nsexec"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// OverrunNote is the KindNote explanation emitted after a netlink overrun.
const OverrunNote = "netlink buffer overrun: table re-read"

// packetBuffer is the AF_PACKET receive buffer: about 4 s of a 10,000
// frames/s segment (an ARP frame's skb takes about 1 KiB of it).
const packetBuffer = 4 << 20

// input is what the source goroutines hand to the main loop: an
// observation whose device is still an ifindex (resolved by the loop,
// which owns the netlink handle).
type input struct {
	ifindex int
	o       *obs
}

// openTracerFunc opens the tracepoint; tests replace it to see Watch
// without one.
var openTracerFunc = openTracer

// Watch reports neighbour-table changes and ARP frames of a namespace as
// trace events until ctx ends, then returns nil. out may be nil when only
// opt.Observer is wanted: the events (and their sentences) are then not
// built at all. It returns an error when a
// source cannot be opened or fails for good.
func Watch(ctx context.Context, opt WatchOptions, out func(trace.Event)) error {
	epoch := time.Now()
	nsh, err := nsexec.Handle(opt.Netns)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer nsh.Close()
	// In the caller's own namespace, open netlink without setns(2): that
	// would need CAP_SYS_ADMIN, which a service watching its host does
	// not otherwise need (deploy/systemd).
	var nsp *netns.NsHandle
	var h *netlink.Handle
	if opt.Netns == "" {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		nsp = &nsh
		h, err = netlink.NewHandleAt(nsh)
	}
	if err != nil {
		return fmt.Errorf("watch: netlink in namespace %q: %w", opt.Netns, err)
	}
	defer h.Close()
	links, err := newLinkSet(h, opt)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	inputs := make(chan input, 4096)
	failed := make(chan error, 2)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait() // the sources stop on cancel; the tracefs instance is gone after this
	}()

	traceFailed := make(chan error, 1) // best effort: the tracer's end is news, not an error
	var traceErr error
	if opt.Trace {
		tr, err := openTracerFunc(links.names())
		if err != nil && !opt.TraceBestEffort {
			return err
		}
		traceErr = err
		if err == nil {
			wg.Go(func() {
				defer tr.close()
				err := tr.run(ctx, inputs)
				switch {
				case err != nil && !opt.TraceBestEffort:
					failed <- err
				case ctx.Err() == nil:
					traceFailed <- fmt.Errorf("watch: the tracepoint reader stopped: %v", err)
				}
			})
		}
	}
	conn, err := listenARP(opt.Netns)
	if err != nil {
		return err
	}
	wg.Go(func() {
		<-ctx.Done()
		conn.Close()
	})
	batches := make(chan []input, 64)
	wg.Go(func() {
		if err := readFrames(conn, batches, ctx.Done()); err != nil && ctx.Err() == nil {
			failed <- err
		}
	})

	sub, err := subscribe(nsp, opt.NetlinkBuffer)
	if err != nil {
		return err
	}
	defer func() { sub.stop() }()
	table, err := listTable(h, links)
	if err != nil {
		return err
	}

	c := newCorrelator(epoch, opt.Window, opt.Netns, out)
	if opt.Observer != nil {
		c.ob = opt.Observer
	}
	c.dropGARP = readDropGARP(opt.Netns, links.names())
	if out != nil {
		out(trace.Event{Kind: trace.KindHeader, Source: "watch", Host: opt.Netns, Attrs: map[string]string{
			"started":    epoch.Format(time.RFC3339Nano),
			"netns":      opt.Netns,
			"interfaces": strings.Join(links.names(), ","),
			"trace":      fmt.Sprint(opt.Trace),
			"window":     c.window.String(),
			"entries":    fmt.Sprint(len(table)),
		}})
	}
	c.seed(table)
	c.gated = true // frames wait for the barriers (see subscription)
	c.ob.Health(tracepointHealth(opt.Trace, traceErr))
	if traceErr != nil {
		c.add(&obs{at: time.Now(), note: fmt.Sprintf("tracepoint unavailable, watching without ignored-update reasons: %v", traceErr)})
	}

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// sysctls can change under a running watcher: re-read the ones the
	// verdicts depend on now and then.
	sysTick := time.NewTicker(linkCheckEvery)
	defer sysTick.Stop()
	// frames the kernel dropped because the socket was full: counted,
	// never silent
	dropTick := time.NewTicker(time.Second)
	defer dropTick.Stop()
	for {
		select {
		case <-ctx.Done():
			c.flush(time.Now(), true)
			return nil
		case err := <-failed:
			c.flush(time.Now(), true)
			return err
		case err := <-traceFailed:
			c.ob.Health(tracepointHealth(true, err))
			c.add(&obs{at: time.Now(), note: err.Error() + "; watching without ignored-update reasons"})
		case in := <-inputs:
			if o := links.resolve(in); o != nil {
				if o.lost > 0 {
					c.ob.Health(Health{EventsLost: o.lost})
				}
				c.add(o)
			}
		case b := <-batches:
			for _, in := range b {
				if o := links.resolve(in); o != nil {
					c.add(o)
				}
			}
		case <-sysTick.C:
			for _, dev := range links.prune() {
				if lo, ok := c.ob.(LinkObserver); ok {
					lo.LinkGone(dev)
				}
			}
			c.dropGARP = readDropGARP(opt.Netns, links.names())
		case <-dropTick.C:
			if st, err := conn.Stats(); err == nil && st.Drops > 0 { // reading resets the kernel's counters
				c.ob.Health(Health{FramesLost: int(st.Drops)})
				c.add(&obs{at: time.Now(), note: fmt.Sprintf("AF_PACKET: the kernel dropped %d ARP frames the watcher could not take in time", st.Drops)})
			}
		case it, ok := <-sub.ch:
			if !ok {
				if ctx.Err() != nil {
					continue
				}
				// The subscription ends on any receive error, ENOBUFS
				// above all: start a new one, then re-read the table so
				// the correlator can diff it against what it knew.
				cause := sub.err()
				sub, err = subscribe(nsp, opt.NetlinkBuffer)
				if err != nil {
					return err
				}
				table, err := listTable(h, links)
				if err != nil {
					return err
				}
				note := OverrunNote
				if !errors.Is(cause, unix.ENOBUFS) {
					note = fmt.Sprintf("netlink subscription closed (%v): table re-read", cause)
				}
				c.ob.Health(Health{Resync: true, ResyncENOBUFS: errors.Is(cause, unix.ENOBUFS)})
				c.add(&obs{at: time.Now(), note: note, table: table})
				continue
			}
			if it.barrier {
				c.drainedTo(it.sent)
				continue
			}
			if n, ok := links.neigh(it.u); ok {
				n.after = c.drained
				c.add(&obs{at: time.Now(), neigh: &n})
			}
		case now := <-tick.C:
			// one barrier a tick, so a late notification's queueing time
			// is known within a tick (a failed send shows as the
			// subscription's end)
			sub.barrier()
			c.flush(now, false)
		}
	}
}

// linkCheckEvery is how often the watcher re-reads the sysctls its
// verdicts depend on and checks which watched interfaces still exist.
var linkCheckEvery = 5 * time.Second

// linkSet maps the watched interfaces' indexes to names.
type linkSet struct {
	h     *netlink.Handle
	fixed bool // only the interfaces named in the options
	want  []string
	byIdx map[int]string
	// missing holds the indexes found gone at the last check; gone at
	// the next one too, they are forgotten (see prune).
	missing map[int]bool
}

// prune forgets the indexes of interfaces that have been gone for two
// checks in a row and returns the names no remaining index carries, when
// watching every interface (named ones are expected back). A failed
// listing prunes nothing.
func (s *linkSet) prune() []string {
	ls, err := s.h.LinkList()
	if err != nil {
		return nil
	}
	present := make(map[int]bool, len(ls))
	for _, l := range ls {
		present[l.Attrs().Index] = true
	}
	var names []string
	for idx, name := range s.byIdx {
		switch {
		case present[idx]:
			delete(s.missing, idx)
		case s.missing[idx]:
			delete(s.missing, idx)
			delete(s.byIdx, idx)
			names = append(names, name)
		default:
			if s.missing == nil {
				s.missing = map[int]bool{}
			}
			s.missing[idx] = true
		}
	}
	if s.fixed {
		return nil
	}
	var gone []string
	for _, n := range names {
		if !slices.Contains(s.names(), n) && !slices.Contains(gone, n) {
			gone = append(gone, n)
		}
	}
	slices.Sort(gone)
	return gone
}

func newLinkSet(h *netlink.Handle, opt WatchOptions) (*linkSet, error) {
	s := &linkSet{h: h, fixed: len(opt.Interfaces) > 0, want: opt.Interfaces, byIdx: map[int]string{}}
	ls, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("watch: listing interfaces in namespace %q: %w", opt.Netns, err)
	}
	have := map[string]int{}
	for _, l := range ls {
		a := l.Attrs()
		have[a.Name] = a.Index
		if !s.fixed && a.Flags&net.FlagLoopback == 0 {
			s.byIdx[a.Index] = a.Name
		}
	}
	for _, name := range opt.Interfaces {
		idx, ok := have[name]
		if !ok {
			return nil, fmt.Errorf("watch: no interface %q in namespace %q", name, opt.Netns)
		}
		s.byIdx[idx] = name
	}
	return s, nil
}

// name returns the watched interface with index idx; when watching every
// interface, one created after the start is looked up and added, and a
// named interface that was deleted and created again (a new index) is
// watched again.
func (s *linkSet) name(idx int) (string, bool) {
	if n, ok := s.byIdx[idx]; ok {
		return n, true
	}
	l, err := s.h.LinkByIndex(idx)
	if err != nil || l.Attrs().Flags&net.FlagLoopback != 0 {
		return "", false
	}
	name := l.Attrs().Name
	if s.fixed && !slices.Contains(s.want, name) {
		return "", false
	}
	s.byIdx[idx] = name
	return name, true
}

func (s *linkSet) names() []string {
	var out []string
	for _, n := range s.byIdx {
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// tracepointHealth reports whether the tracepoint is being read.
func tracepointHealth(asked bool, err error) Health {
	h := Health{Tracepoint: true, TracepointAvailable: asked && err == nil}
	switch {
	case !asked:
		h.TracepointError = "not requested"
	case err != nil:
		h.TracepointError = err.Error()
	}
	return h
}

// readDropGARP reads drop_gratuitous_arp for devs inside netns: in force
// when all OR dev is set (spec §4.2 step 6, §8.2). A file this kernel
// lacks (before 4.6) or cannot be read counts as off.
func readDropGARP(netns string, devs []string) map[string]bool {
	out := make(map[string]bool, len(devs))
	read := func(dev string) bool {
		b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + dev + "/drop_gratuitous_arp")
		return err == nil && strings.TrimSpace(string(b)) != "0"
	}
	nsexec.Do(netns, func() error {
		all := read("all")
		for _, d := range devs {
			out[d] = all || read(d)
		}
		return nil
	})
	return out
}

// resolve fills in the device of a frame (by ifindex) or checks the device
// of a tracepoint (by name); nil means "not watched".
func (s *linkSet) resolve(in input) *obs {
	switch {
	case in.o.frame != nil:
		dev, ok := s.name(in.ifindex)
		if !ok {
			return nil
		}
		in.o.frame.dev = dev
	case in.o.tp != nil:
		watched := false
		for _, n := range s.byIdx {
			watched = watched || n == in.o.tp.dev
		}
		if !watched {
			return nil
		}
	}
	return in.o
}

// neigh converts a netlink notification for a watched entry of arp_tbl
// (AF_INET) or nd_tbl (AF_INET6, spec linux-ndisc §0.3). nd_tbl's
// multicast entries (NOARP, the RFC 2464 mapping, §1.1) never change and
// are left out, as `ip -6 neigh` leaves them out.
func (s *linkSet) neigh(u netlink.NeighUpdate) (neighObs, bool) {
	n := u.Neigh
	if n.Family != unix.AF_INET && n.Family != unix.AF_INET6 {
		return neighObs{}, false
	}
	dev, ok := s.name(n.LinkIndex)
	if !ok {
		return neighObs{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok || (n.Family == unix.AF_INET6 && ip.IsMulticast()) {
		return neighObs{}, false
	}
	if n.Family == unix.AF_INET6 {
		ip = netip.AddrFrom16(ip.As16()) // an IPv4-mapped IPv6 key stays IPv6
	}
	if n.Family == unix.AF_INET {
		ip = ip.Unmap()
	}
	o := neighObs{dev: dev, ip: ip, state: stateName(n.State)}
	if len(n.HardwareAddr) == 6 {
		o.lladdr = arp.MAC(n.HardwareAddr).String()
	}
	if u.Type == unix.RTM_DELNEIGH {
		o.deleted, o.state = true, "NONE"
	}
	return o, true
}

// stateName spells a NUD state as `ip neigh` does: neigh.State's names
// (the kernel's bits, spec §1.1), joined with "|" for a combination.
func stateName(s int) string {
	st := neigh.State(s)
	var out []string
	for bit := neigh.Incomplete; bit != 0; bit <<= 1 {
		if st&bit != 0 {
			out = append(out, bit.String())
		}
	}
	if len(out) == 0 {
		return neigh.None.String()
	}
	return strings.Join(out, "|")
}

// listTable reads the IPv4 and IPv6 entries of the watched interfaces,
// retrying a dump the kernel interrupted (NLM_F_DUMP_INTR).
func listTable(h *netlink.Handle, links *linkSet) ([]neighObs, error) {
	var all []netlink.Neigh
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		var ns []netlink.Neigh
		var err error
		for range 5 {
			ns, err = h.NeighList(0, family)
			if !errors.Is(err, netlink.ErrDumpInterrupted) {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("watch: listing the neighbour table: %w", err)
		}
		all = append(all, ns...)
	}
	var out []neighObs
	for _, n := range all {
		if o, ok := links.neigh(netlink.NeighUpdate{Type: unix.RTM_NEWNEIGH, Neigh: n}); ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// subscription is one netlink neighbour subscription, read by its own
// goroutine into ch: notifications, and the acks of barrier requests.
//
// Netlink notifications carry no kernel timestamp: they are stamped when
// the loop reads them, which on a loaded machine can be long after the
// frame that caused them (kernel-stamped) arrived. A barrier tells the loop
// how far the socket has been drained: an NLMSG_NOOP request with
// NLM_F_ACK, whose ack the kernel queues on this socket behind every
// notification queued before the request was sent. When the loop reads
// the ack of a barrier sent at t, every change made before t has been read.
type subscription struct {
	sock *nl.NetlinkSocket
	ch   chan nlItem
	mu   sync.Mutex
	last error
	// barriers maps the sequence number of each barrier not yet acked to
	// its send time.
	bmu      sync.Mutex
	barriers map[uint32]time.Time
}

// nlItem is a notification, or (barrier set) the ack of a barrier sent at
// sent.
type nlItem struct {
	u       netlink.NeighUpdate
	barrier bool
	sent    time.Time
	read    time.Time // when the reader took it from the socket
}

// subscribe subscribes in namespace nsh (nil: the caller's).
func subscribe(nsh *netns.NsHandle, rcvbuf int) (*subscription, error) {
	ns := netns.None()
	if nsh != nil {
		ns = *nsh
	}
	sock, err := nl.SubscribeAt(ns, netns.None(), unix.NETLINK_ROUTE, unix.RTNLGRP_NEIGH)
	if err == nil && rcvbuf > 0 {
		if err = sock.SetReceiveBufferSize(rcvbuf, true); err != nil {
			sock.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("watch: subscribing to neighbour notifications: %w", err)
	}
	s := &subscription{sock: sock, ch: make(chan nlItem, 1024), barriers: map[uint32]time.Time{}}
	if lag := readerLag; lag > 0 {
		inner := make(chan nlItem, 4096)
		go func() {
			defer close(s.ch)
			for it := range inner {
				time.Sleep(time.Until(it.read.Add(lag)))
				s.ch <- it
			}
		}()
		go s.read(inner)
	} else {
		go s.read(s.ch)
	}
	return s, nil
}

// readerLag holds every netlink message this long after it was read
// before the loop sees it: tests play a reader descheduled on a loaded
// machine. Zero in use.
var readerLag time.Duration

// read forwards notifications and barrier acks to ch until the socket
// fails or is closed, then closes ch.
func (s *subscription) read(ch chan<- nlItem) {
	defer close(ch)
	for {
		msgs, from, err := s.sock.Receive()
		read := time.Now()
		if err != nil {
			s.fail(err)
			return
		}
		if from.Pid != nl.PidKernel {
			continue
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE, unix.NLMSG_NOOP:
				continue
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					s.fail(fmt.Errorf("watch: short netlink error message (%d bytes)", len(m.Data)))
					return
				}
				if errno := int32(binary.NativeEndian.Uint32(m.Data[:4])); errno != 0 {
					s.fail(syscall.Errno(-errno))
					return
				}
				s.bmu.Lock()
				sent, ok := s.barriers[m.Header.Seq]
				delete(s.barriers, m.Header.Seq)
				s.bmu.Unlock()
				if ok {
					ch <- nlItem{barrier: true, sent: sent, read: read}
				}
				continue
			case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
			default:
				continue
			}
			n, err := netlink.NeighDeserialize(m.Data)
			if err != nil {
				s.fail(fmt.Errorf("watch: neighbour notification: %w", err))
				return
			}
			ch <- nlItem{u: netlink.NeighUpdate{Type: m.Header.Type, Neigh: *n}, read: read}
		}
	}
}

// maxBarriers bounds the barriers in flight (a stalled reader).
const maxBarriers = 256

// barrier sends a barrier request; its ack comes through ch.
func (s *subscription) barrier() error {
	req := nl.NewNetlinkRequest(unix.NLMSG_NOOP, unix.NLM_F_ACK)
	s.bmu.Lock()
	if len(s.barriers) >= maxBarriers {
		s.bmu.Unlock()
		return nil
	}
	s.barriers[req.Seq] = time.Now()
	s.bmu.Unlock()
	if err := s.sock.Send(req); err != nil {
		s.bmu.Lock()
		delete(s.barriers, req.Seq)
		s.bmu.Unlock()
		return err
	}
	return nil
}

func (s *subscription) fail(err error) {
	s.mu.Lock()
	s.last = err
	s.mu.Unlock()
}

func (s *subscription) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// stop closes the socket, which ends the reader, and drains the channel so
// the reader, which may be blocked sending, can exit.
func (s *subscription) stop() {
	s.sock.Close()
	go func() {
		for range s.ch {
		}
	}()
}

// arpOnly accepts Ethernet frames of type ARP, and untagged IPv6 frames
// carrying ICMPv6 neighbour discovery right after the IPv6 header (the
// only shape ND senders use): ldh [12]; jeq #0x806 → accept; jeq #0x86dd;
// ldb [20] (next header) == 58; ldb [54] (ICMPv6 type) in 133..137.
var arpOnly = mustAssemble(
	bpf.LoadAbsolute{Off: 12, Size: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ether.EtherTypeARP), SkipTrue: 6},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ether.EtherTypeIPv6), SkipFalse: 6},
	bpf.LoadAbsolute{Off: 20, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ndisc.ProtoICMPv6), SkipFalse: 4},
	bpf.LoadAbsolute{Off: 54, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(ndisc.TypeRouterSolicitation), SkipFalse: 2},
	bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(ndisc.TypeRedirect), SkipTrue: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
)
