package labnet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"arplab/internal/ktrace"
	"arplab/internal/labsys"
	"arplab/internal/wire/arp"
)

// Lab is one run's set of namespaces, links, bridges, ports and tracers.
// Its methods are safe for concurrent use.
type Lab struct {
	prefix string
	runID  string

	mu     sync.Mutex
	closed bool
	// closing is closed when the first Close has removed everything: a
	// concurrent Close (CloseOnSignal's, beside the runner's own) waits
	// for it, so the process cannot exit while the namespaces are still
	// being removed.
	closing  chan struct{}
	hosts    map[string]*Host
	segments map[string]*Segment
	ports    []*RawPort
	tracers  []*ktrace.Tracer
	// nextTracer numbers trace instances: <prefix>-t0, -t1, ...
	nextTracer int
	sys        labSys
}

// Host is a network namespace standing for one machine.
type Host struct {
	lab  *Lab
	name string
	ns   string
	sys  hostSys
}

// Segment is a bridge standing for one Ethernet segment.
type Segment struct {
	lab  *Lab
	name string
	ns   string
	opts SegmentOptions
	sys  segmentSys
}

// DefaultPrefix returns "arplab-<pid>", the prefix a command-line run uses.
func DefaultPrefix() string { return fmt.Sprintf("%s%d", labsys.StalePrefix, os.Getpid()) }

// New creates an empty lab. Namespace names are prefix + "-" + name; the
// prefix must start with "arplab-<pid>" of a live process (normally
// DefaultPrefix, or DefaultPrefix()+"-<tag>" for several labs in one
// process) so that CleanStale can tell a killed run's leftovers from a live
// run's. New does not create anything yet, but it checks the privileges the
// lab will need and fails with labsys.ErrNotPermitted without them.
func New(prefix string) (*Lab, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	l := &Lab{
		prefix:   prefix,
		runID:    newRunID(),
		hosts:    map[string]*Host{},
		segments: map[string]*Segment{},
	}
	if err := l.init(); err != nil {
		return nil, err
	}
	return l, nil
}

func validPrefix(prefix string) error {
	if _, ok := labsys.PrefixPID(prefix, labsys.StalePrefix); !ok {
		return fmt.Errorf("lab: prefix %q must look like %q (arplab-<pid>[-tag])", prefix, DefaultPrefix())
	}
	return labsys.ValidFileName("prefix", prefix, 100)
}

// Prefix returns the lab's name prefix.
func (l *Lab) Prefix() string { return l.prefix }

// RunID returns a short random id (6 hex digits) that differs between runs.
func (l *Lab) RunID() string { return l.runID }

// IfName returns base followed by the run id, cut to the 15 characters
// Linux allows. Tracepoints do not say which namespace an event came from,
// only the device name, so a run that traces should give its interfaces
// names no other run uses.
func (l *Lab) IfName(base string) string {
	const max = 15
	if len(base)+len(l.runID) > max {
		base = base[:max-len(l.runID)]
	}
	return base + l.runID
}

// AddHost creates the namespace prefix-name with lo up.
func (l *Lab) AddHost(name string) (*Host, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, labsys.ErrClosed
	}
	if l.hosts[name] != nil {
		return nil, fmt.Errorf("lab: host %q already exists", name)
	}
	h := &Host{lab: l, name: name, ns: l.prefix + "-" + name}
	if err := h.create(); err != nil {
		return nil, err
	}
	l.hosts[name] = h
	return h, nil
}

// AddSegment creates a learning bridge in the namespace prefix-sw-name.
func (l *Lab) AddSegment(name string) (*Segment, error) {
	return l.AddSegmentWith(name, SegmentOptions{})
}

// AddSegmentWith creates a bridge with the given options. The bridge
// forwards at once (STP off, forward delay 0) and does no multicast
// snooping.
func (l *Lab) AddSegmentWith(name string, opts SegmentOptions) (*Segment, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, labsys.ErrClosed
	}
	if l.segments[name] != nil {
		return nil, fmt.Errorf("lab: segment %q already exists", name)
	}
	s := &Segment{lab: l, name: name, ns: l.prefix + "-sw-" + name, opts: opts}
	if err := s.create(); err != nil {
		return nil, err
	}
	l.segments[name] = s
	return s, nil
}

// Attach connects h to seg with a veth pair: the end in h is called ifname
// and gets mac and addrs; the other end becomes a port of seg's bridge.
// Both ends are up when Attach returns. An IPv6 address turns IPv6 on in
// the host first (EnableIPv6) and is added without duplicate address
// detection, so it is usable at once.
func (l *Lab) Attach(h *Host, ifname string, seg *Segment, mac arp.MAC, addrs []netip.Prefix) error {
	if h == nil || seg == nil || h.lab != l || seg.lab != l {
		return fmt.Errorf("lab: Attach needs a host and a segment of this lab")
	}
	if err := labsys.ValidIfName(ifname); err != nil {
		return err
	}
	v6 := false
	for _, a := range addrs {
		if !a.IsValid() || a.Addr().Is4In6() || a.Addr().Zone() != "" {
			return fmt.Errorf("lab: Attach %s: address %v is neither IPv4 nor a plain IPv6 prefix", ifname, a)
		}
		v6 = v6 || a.Addr().Is6()
	}
	if v6 {
		if err := h.EnableIPv6(); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return labsys.ErrClosed
	}
	return l.attach(h, ifname, seg, mac, addrs)
}

// StartTracer starts a Tracer whose trace instance is named after the lab
// and which the lab closes on Close.
func (l *Lab) StartTracer(opts ktrace.TracerOptions) (*ktrace.Tracer, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, labsys.ErrClosed
	}
	name := fmt.Sprintf("%s-t%d", l.prefix, l.nextTracer)
	l.nextTracer++
	l.mu.Unlock()
	t, err := ktrace.NewTracer(name, opts)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		t.Close()
		return nil, labsys.ErrClosed
	}
	l.tracers = append(l.tracers, t)
	return t, nil
}

// Close removes everything the lab created: tracers, raw ports,
// interfaces, bridges and namespaces. It returns the first error but always
// tries every step; a second call does nothing but wait until the first
// has finished.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		done := l.closing
		l.mu.Unlock()
		if done != nil {
			<-done
		}
		return nil
	}
	l.closed = true
	done := make(chan struct{})
	l.closing = done
	defer close(done)
	tracers, ports := l.tracers, l.ports
	l.tracers, l.ports = nil, nil
	l.mu.Unlock()

	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, t := range tracers {
		keep(t.Close())
	}
	for _, p := range ports {
		keep(p.Close())
	}
	keep(l.teardown())
	return first
}

// CloseOnSignal closes the lab when SIGINT or SIGTERM arrives before ctx
// is done, so an interrupted run leaves nothing behind, then exits the
// process (status 130 for SIGINT, 143 for SIGTERM) unless ctx ends within
// a second: a caller that cancels ctx on the same signal (arplab's CLI)
// goes on to print what it has and exit itself.
func (l *Lab) CloseOnSignal(ctx context.Context) { l.closeOnSignal(ctx) }

// Name returns the host's name within the lab.
func (h *Host) Name() string { return h.name }

// NSName returns the host's namespace name (as `ip netns` lists it).
func (h *Host) NSName() string { return h.ns }

// Name returns the segment's name within the lab.
func (s *Segment) Name() string { return s.name }

// NSName returns the name of the namespace that holds the segment's bridge.
func (s *Segment) NSName() string { return s.ns }

// Neighbour returns the entry for ip on ifname, if there is one.
func (h *Host) Neighbour(ifname string, ip netip.Addr) (Neigh, bool, error) {
	ns, err := h.Neighbours(ifname)
	if err != nil {
		return Neigh{}, false, err
	}
	for _, n := range ns {
		if n.IP == ip {
			return n, true, nil
		}
	}
	return Neigh{}, false, nil
}

// WaitNeighbour polls the entry for ip every interval until cond holds or
// ctx ends, and returns the last entry seen (ok false if there was none).
func (h *Host) WaitNeighbour(ctx context.Context, ifname string, ip netip.Addr, interval time.Duration, cond func(n Neigh, ok bool) bool) (Neigh, bool, error) {
	for {
		n, ok, err := h.Neighbour(ifname, ip)
		if err != nil {
			return n, ok, err
		}
		if cond(n, ok) {
			return n, ok, nil
		}
		select {
		case <-ctx.Done():
			return n, ok, ctx.Err()
		case <-time.After(interval):
		}
	}
}

func validName(name string) error {
	if name == "" || len(name) > 40 {
		return fmt.Errorf("lab: name %q must have 1 to 40 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("lab: name %q: only letters, digits, '-' and '_' are allowed", name)
		}
	}
	return nil
}
