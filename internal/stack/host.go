package stack

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Clock maps a driver's time (nanoseconds on its own clock: the
// simulator's virtual time, a capture's timestamps, the kernel's
// CLOCK_MONOTONIC) to the host's jiffies and back. vtime.Clock is one.
type Clock interface {
	// Jiffies is the host's jiffies at time t.
	Jiffies(t vtime.Time) vtime.Jiffies
	// TimeOf is when tick j begins.
	TimeOf(j vtime.Jiffies) vtime.Time
}

// InputKind says which input a result answers.
type InputKind uint8

// Inputs, one per Host method.
const (
	InTimer       InputKind = iota // timers and periodic work (Advance)
	InARP                          // an ARP frame received (ReceiveARP)
	InIPv4                         // an IPv4 packet received (ReceiveIPv4)
	InOutput                       // an IPv4 packet sent through the output path (Send, Output)
	InConfirm                      // an upper-layer confirmation (Confirm)
	InAdmin                        // an `ip neigh` command (Admin)
	InInstall                      // an entry that existed before the run (Install)
	InCarrierDown                  // a device lost its carrier (CarrierDown)
	InND                           // an IPv6 neighbour-discovery message received (ReceiveND)
)

// Input is what caused a result, as the Observer sees it.
type Input struct {
	Kind InputKind
	// At is the tick the input was fed at.
	At vtime.Jiffies
	// Dev is the device the input concerns (nil for timers).
	Dev *Device
	// Frame is the driver's number for the frame that carried the input
	// (0 when there is none).
	Frame int
	// ARP is the received packet (InARP), EthDst its Ethernet destination
	// when known (HasEthDst).
	ARP       *arp.Packet
	EthDst    arp.MAC
	HasEthDst bool
	PktType   neigh.PktType
	// ND is the received ND message (InND).
	ND *neigh.ND
}

// Observer receives every result the model produces, in order, except the
// empty ones (no decision and no action), which carry nothing. The result
// belongs to the table and is valid only during the call; an observer that
// needs to feed the host again must do so after the call returns.
type Observer interface {
	Observe(h *Host, in *Input, r *neigh.Result)
}

// Config builds a Host.
type Config struct {
	Name    string
	Profile kernel.Profile
	// HZ is the host's tick rate (0: the profile's).
	HZ int
	// Rand is the stream reachable_time is drawn from.
	Rand *rand.Rand
	// Rand6 is nd_tbl's stream (IPv6); nil: one seeded from Rand when
	// the host gets its first IPv6 address, so an IPv4-only host draws
	// exactly what it drew before IPv6 existed.
	Rand6 *rand.Rand
	// Start is the table's jiffies when it is created.
	Start vtime.Jiffies
	// PeriodicPhase places the periodic work within its period.
	PeriodicPhase vtime.Ticks
	// CPUs is how many cached copies of each route the host keeps (each
	// CPU caches its own, spec §6.1); 0 means 1.
	CPUs     int
	Clock    Clock
	Observer Observer
	// WheelLatest: the host's jiffies are unknown (neigh.Config).
	WheelLatest bool
}

// Host is a Linux host: the neighbour tables and the IP stack around them.
type Host struct {
	Name string
	// Table is the model. Drivers read it (Lookup, Entries, Params); they
	// feed it only through the Host's methods.
	Table *neigh.Table
	// ND is the IPv6 table (nd_tbl, ndisc §0.3): the same core, its own
	// entries, parameters and timers. Nil until the host has an IPv6
	// address (AddDevice, SetAddrs).
	ND *neigh.Table
	// cfg builds ND when it is first needed.
	cfg   Config
	Clock Clock
	Obs   Observer

	now      vtime.Jiffies
	devs     []*Device
	gateways []*Gateway
	cpus     int
	pktID    uint64
	socks    flowTable // IPv4 sockets by their key (flowtable.go)
	socks6   map[flowKey6]*Flow
	flows    flowBook // how many sockets, and their bound (flowcap.go)
	in       Input
	ndIn     neigh.ND
}

// Device is one interface: the model's device and the cached route of
// its connected subnet, per CPU. ND is the same interface in nd_tbl
// (its IPv6 addresses, IPv6 parameters and conf), nil without IPv6;
// Routes6 are the cached routes of its first IPv6 prefix.
type Device struct {
	*neigh.Device
	Routes  []*neigh.Route
	ND      *neigh.Device
	Routes6 []*neigh.Route
	// clones are the per-destination IPv6 routes of kernels without
	// per-CPU IPv6 routes (ndisc §6.1).
	clones map[netip.Addr]*neigh.Route
}

// Gateway is a route through a gateway and its cached copies per CPU.
type Gateway struct {
	To     netip.Prefix
	Via    netip.Addr
	Routes []*neigh.Route
}

// New builds a host with no devices.
func New(c Config) (*Host, error) {
	hz := c.HZ
	if hz == 0 {
		hz = c.Profile.HZ
	}
	tb, err := neigh.NewTable(neigh.Config{Profile: c.Profile, HZ: hz, Rand: c.Rand, Now: c.Start, PeriodicPhase: c.PeriodicPhase,
		WheelLatest: c.WheelLatest})
	if err != nil {
		return nil, err
	}
	return &Host{Name: c.Name, Table: tb, Clock: c.Clock, Obs: c.Observer, now: c.Start, cpus: max(c.CPUs, 1),
		cfg: c}, nil
}

// enableIPv6 creates nd_tbl at the host's present tick.
func (h *Host) enableIPv6() error {
	if h.ND != nil {
		return nil
	}
	c := h.cfg
	r := c.Rand6
	if r == nil {
		r = rand.New(rand.NewPCG(c.Rand.Uint64(), c.Rand.Uint64()))
	}
	tb, err := neigh.NewTable(neigh.Config{Profile: c.Profile, HZ: h.Table.HZ, Rand: r, Now: h.now, PeriodicPhase: c.PeriodicPhase,
		WheelLatest: c.WheelLatest, Family: neigh.IPv6})
	if err != nil {
		return err
	}
	h.ND = tb
	return nil
}

// splitFamilies separates IPv4 from IPv6 prefixes.
func splitFamilies(addrs []netip.Prefix) (v4, v6 []netip.Prefix) {
	if !slices.ContainsFunc(addrs, func(a netip.Prefix) bool { return a.Addr().Is6() }) {
		return addrs, nil // the IPv4-only host, as before
	}
	for _, a := range addrs {
		if a.Addr().Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	return v4, v6
}

// TableFor is the table that holds ip's entries: nd_tbl for IPv6
// (nil while the host has none), arp_tbl otherwise.
func (h *Host) TableFor(ip netip.Addr) *neigh.Table {
	if ip.Is6() {
		return h.ND
	}
	return h.Table
}

// devFor is d's device in the table of ip's family (nil: d has no IPv6).
func (d *Device) devFor(ip netip.Addr) *neigh.Device {
	if ip.Is6() {
		return d.ND
	}
	return d.Device
}

// Lookup is the entry for ip on d in the table of ip's family.
func (h *Host) Lookup(d *Device, ip netip.Addr) (neigh.Snapshot, bool) {
	tb, nd := h.TableFor(ip), d.devFor(ip)
	if tb == nil || nd == nil {
		return neigh.Snapshot{}, false
	}
	return tb.Lookup(nd, ip)
}

// Now is the tick of the last input.
func (h *Host) Now() vtime.Jiffies { return h.now }

// AddDevice adds an interface with its addresses; the first address's
// subnet names its cached routes.
// IPv6 addresses go to the device's nd_tbl twin (created with nd_tbl
// itself when the host gets its first one).
func (h *Host) AddDevice(name string, mac arp.MAC, addrs []netip.Prefix) *Device {
	v4, v6 := splitFamilies(addrs)
	d := &Device{Device: h.Table.AddDevice(name, mac, v4)}
	subnet := name
	if len(v4) > 0 {
		subnet = v4[0].Masked().String()
	}
	for cpu := 0; cpu < h.cpus; cpu++ {
		d.Routes = append(d.Routes, &neigh.Route{Name: fmt.Sprintf("%s cpu%d", subnet, cpu)})
	}
	h.devs = append(h.devs, d)
	if len(v6) > 0 {
		h.addND(d, v6)
	}
	return d
}

// addND gives d its nd_tbl device (and the host nd_tbl if needed).
func (h *Host) addND(d *Device, v6 []netip.Prefix) {
	if err := h.enableIPv6(); err != nil {
		return // NewTable failed on the same HZ arp_tbl accepted: cannot happen
	}
	for _, dd := range h.devs {
		if dd.ND == nil && dd != d {
			dd.ND = h.ND.AddDevice(dd.Name, dd.MAC, nil) // keep device indexes aligned
		}
	}
	if d.ND == nil {
		d.ND = h.ND.AddDevice(d.Name, d.MAC, v6)
	} else {
		d.ND.Addrs = v6
	}
	subnet := d.Name
	for _, p := range v6 {
		if !p.Addr().IsLinkLocalUnicast() {
			subnet = p.Masked().String()
			break
		}
	}
	d.Routes6 = d.Routes6[:0]
	for cpu := 0; cpu < h.cpus; cpu++ {
		d.Routes6 = append(d.Routes6, &neigh.Route{Name: fmt.Sprintf("%s cpu%d", subnet, cpu)})
	}
}

// SetAddrs replaces a device's addresses (replay learns them from the
// capture).
func (h *Host) SetAddrs(d *Device, mac arp.MAC, addrs []netip.Prefix) {
	v4, v6 := splitFamilies(addrs)
	d.MAC, d.Addrs = mac, v4
	if len(v6) > 0 || d.ND != nil {
		h.addND(d, v6)
		d.ND.MAC = mac
	}
}

// Devices are the host's interfaces in the order they were added.
func (h *Host) Devices() []*Device { return h.devs }

// Device finds an interface by name.
func (h *Host) Device(name string) *Device {
	for _, d := range h.devs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// DeviceOf finds the interface of a model device.
func (h *Host) DeviceOf(nd *neigh.Device) *Device {
	for _, d := range h.devs {
		if d.Device == nd || (nd != nil && d.ND == nd) {
			return d
		}
	}
	return nil
}

// AddGateway adds a route to `to` via the gateway `via`.
func (h *Host) AddGateway(to netip.Prefix, via netip.Addr) *Gateway {
	g := &Gateway{To: to, Via: via}
	for cpu := 0; cpu < h.cpus; cpu++ {
		g.Routes = append(g.Routes, &neigh.Route{Name: fmt.Sprintf("%v via %v cpu%d", to, via, cpu)})
	}
	h.gateways = append(h.gateways, g)
	return g
}

// Gateway returns the route through via, adding a default-sized one
// (0.0.0.0/0) the first time a driver learns of the gateway.
func (h *Host) Gateway(via netip.Addr) *Gateway {
	for _, g := range h.gateways {
		if g.Via == via {
			return g
		}
	}
	return h.AddGateway(netip.PrefixFrom(netip.IPv4Unspecified(), 0), via)
}

// Route is the output route to dst (spec §3): the connected subnet that
// holds it, else the longest matching gateway route, with the next hop
// and the cached route objects (one per CPU). Without either, ok is false
// and the first device's subnet is returned, as a host whose only route is
// its connected one would use.
func (h *Host) Route(dst netip.Addr) (d *Device, nexthop netip.Addr, cached []*neigh.Route, ok bool) {
	if dst.Is6() {
		return h.route6(dst)
	}
	for _, c := range h.devs {
		for _, p := range c.Addrs {
			if p.Masked().Contains(dst) {
				return c, dst, c.Routes, true
			}
		}
	}
	best := h.bestGateway(dst)
	if best == nil {
		if len(h.devs) == 0 {
			return nil, dst, nil, false
		}
		return h.devs[0], dst, h.devs[0].Routes, false
	}
	return h.connected(best.Via), best.Via, best.Routes, true
}

func (h *Host) bestGateway(dst netip.Addr) *Gateway {
	var best *Gateway
	for _, g := range h.gateways {
		if g.To.Contains(dst) && (best == nil || g.To.Bits() > best.To.Bits()) {
			best = g
		}
	}
	return best
}

// route6 is Route for IPv6 (ndisc §3, §6.1): on-link if a prefix of a
// device holds dst (link-local destinations on the first IPv6 device),
// else through the longest matching IPv6 gateway route. Kernels with
// per-CPU IPv6 routes (N12) share one cached route per CPU and prefix;
// before them every destination has its own clone, so a TCP confirmation
// always lands on the right neighbour.
func (h *Host) route6(dst netip.Addr) (*Device, netip.Addr, []*neigh.Route, bool) {
	var on *Device
	for _, c := range h.devs {
		if c.ND == nil {
			continue
		}
		for _, p := range c.ND.Addrs {
			if p.Masked().Contains(dst) && (on == nil || !p.Addr().IsLinkLocalUnicast()) {
				on = c
			}
		}
	}
	nh := dst
	var cached []*neigh.Route
	ok := on != nil
	if on == nil {
		if g := h.bestGateway(dst); g != nil {
			nh, cached, ok = g.Via, g.Routes, true
			on = h.connected(g.Via)
		}
	}
	if on == nil {
		for _, c := range h.devs {
			if c.ND != nil {
				on = c
				break
			}
		}
		if on == nil {
			return nil, dst, nil, false
		}
	}
	if cached == nil {
		cached = on.Routes6
	}
	if !h.Table.F.IPv6SharedRoutes && !h.Table.F.PerSocketConfirm {
		if on.clones == nil {
			on.clones = map[netip.Addr]*neigh.Route{}
		}
		rt := on.clones[dst]
		if rt == nil {
			rt = &neigh.Route{Name: dst.String() + "/128 clone", Clone: true}
			on.clones[dst] = rt
		}
		cached = []*neigh.Route{rt}
	}
	return on, nh, cached, ok
}

// IsBroadcast reports the limited broadcast or a directed broadcast of
// one of the host's subnets: packets the output path sends without a
// neighbour.
func (h *Host) IsBroadcast(ip netip.Addr) bool {
	if ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true // also for a host with no device yet
	}
	for _, d := range h.devs {
		if d.IsBroadcast(ip) {
			return true
		}
	}
	return false
}

// connected is the device whose subnet holds ip (the first device when
// none does, as the simulator's hosts have always routed).
func (h *Host) connected(ip netip.Addr) *Device {
	for _, c := range h.devs {
		addrs := c.Addrs
		if ip.Is6() {
			if c.ND == nil {
				continue
			}
			addrs = c.ND.Addrs
		}
		for _, p := range addrs {
			if p.Masked().Contains(ip) {
				return c
			}
		}
	}
	if len(h.devs) == 0 {
		return nil
	}
	return h.devs[0]
}
