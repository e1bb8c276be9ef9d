package stack

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

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
}

// Observer receives every result the model produces, in order. The result
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

// Host is a Linux host: the neighbour table and the IPv4 stack around it.
type Host struct {
	Name string
	// Table is the model. Drivers read it (Lookup, Entries, Params); they
	// feed it only through the Host's methods.
	Table *neigh.Table
	Clock Clock
	Obs   Observer

	now      vtime.Jiffies
	devs     []*Device
	gateways []*Gateway
	cpus     int
	pktID    uint64
	socks    map[FlowKey]*Flow
	in       Input
}

// Device is one interface: the model's device and the cached route of
// its connected subnet, per CPU.
type Device struct {
	*neigh.Device
	Routes []*neigh.Route
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
		socks: map[FlowKey]*Flow{}}, nil
}

// Now is the tick of the last input.
func (h *Host) Now() vtime.Jiffies { return h.now }

// AddDevice adds an interface with its addresses; the first address's
// subnet names its cached routes.
func (h *Host) AddDevice(name string, mac arp.MAC, addrs []netip.Prefix) *Device {
	d := &Device{Device: h.Table.AddDevice(name, mac, addrs)}
	subnet := name
	if len(addrs) > 0 {
		subnet = addrs[0].Masked().String()
	}
	for cpu := 0; cpu < h.cpus; cpu++ {
		d.Routes = append(d.Routes, &neigh.Route{Name: fmt.Sprintf("%s cpu%d", subnet, cpu)})
	}
	h.devs = append(h.devs, d)
	return d
}

// SetAddrs replaces a device's addresses (replay learns them from the
// capture).
func (h *Host) SetAddrs(d *Device, mac arp.MAC, addrs []netip.Prefix) {
	d.MAC, d.Addrs = mac, addrs
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
		if d.Device == nd {
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
	for _, c := range h.devs {
		for _, p := range c.Addrs {
			if p.Masked().Contains(dst) {
				return c, dst, c.Routes, true
			}
		}
	}
	var best *Gateway
	for _, g := range h.gateways {
		if g.To.Contains(dst) && (best == nil || g.To.Bits() > best.To.Bits()) {
			best = g
		}
	}
	if best == nil {
		if len(h.devs) == 0 {
			return nil, dst, nil, false
		}
		return h.devs[0], dst, h.devs[0].Routes, false
	}
	return h.connected(best.Via), best.Via, best.Routes, true
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
		for _, p := range c.Addrs {
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
