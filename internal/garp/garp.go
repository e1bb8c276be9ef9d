package garp

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Frame is one ARP frame of a schedule.
type Frame struct {
	// At is when the frame leaves, as an offset from the sender's start.
	At vtime.Duration
	// EthDst is the Ethernet destination. There is no source field: the
	// sending interface's own address is always used, as the kernel fills
	// it for iputils arping's SOCK_DGRAM socket.
	EthDst arp.MAC
	// Packet is the 28-byte ARP payload.
	Packet arp.Packet
}

// String prints the frame on one line in the order the fields sit on the
// wire, e.g. "+1s eth_dst=ff:ff:ff:ff:ff:ff reply sha=… sip=… tha=… tip=…".
func (f Frame) String() string {
	p := f.Packet
	return fmt.Sprintf("+%v eth_dst=%v %v sha=%v sip=%v tha=%v tip=%v",
		f.At, f.EthDst, p.Op, p.SHA, p.SIP, p.THA, p.TIP)
}

// None asks for a zero duration in an Options field whose zero value means
// "the preset's default" and whose default is not zero: keepalived's
// MasterDelay (None = `garp_master_delay 0`, no second burst) and neutron's
// StartupLatency (None = the two arping processes send in the same instant).
// Any other negative duration is an error.
const None vtime.Duration = -1

// Options are the knobs of a schedule. The zero value of every field means
// "the preset's default"; Presets lists which fields each preset honours, and
// Schedule rejects a field a preset does not have rather than ignoring it, so
// a typo in a scenario cannot silently change nothing.
type Options struct {
	// Count is the number of frames (arping, kube-vip, custom) or rounds
	// (neutron). iputils arping sends forever unless told otherwise; the
	// presets default to 3, the custom schedule to 1.
	Count int
	// Interval is the spacing of frames (arping -i, kube-vip vip_arpRate,
	// custom).
	Interval vtime.Duration
	// Delay shifts the whole schedule: the time from "start" (a failover,
	// an address add) until the sender's first frame.
	Delay vtime.Duration
	// Deadline drops frames scheduled more than Deadline after the
	// sender's start, before Delay is added (arping -w; the end of a
	// keepalived refresh run). A frame exactly at the deadline is kept. Zero means no
	// deadline.
	Deadline vtime.Duration

	// Mode is the custom schedule's opcode choice: "request", "reply" or
	// "both" (a REQUEST then a REPLY at the same instant).
	Mode string
	// THA overrides the target hardware address of custom frames (both
	// frames of a "both" round). Default: ff:ff:ff:ff:ff:ff for requests, the sender's MAC for
	// replies (the two shapes Linux recognises as GARP, spec §4.4(c)).
	THA *arp.MAC
	// EthDst overrides the Ethernet destination of custom frames
	// (default broadcast), for unicast announcements to one gateway.
	EthDst *arp.MAC

	// StartupLatency is neutron's gap between one arping process exiting
	// and the next one sending (fork, exec, getifaddrs, socket set-up).
	// Default 1 ms; use None for zero.
	StartupLatency vtime.Duration
	// ArpingLinger is how long each neutron `arping -c 1` stays after
	// sending its frame before it exits. Default 0: iputils before the
	// signalfd/timerfd rewrite (67e070d, 2019) and since its fix (84ca65c,
	// iputils#536/#541, 2024) exit at once in unsolicited mode. Releases in
	// between — including 20221126, measured on the lab host — wait for the
	// next interval tick: set 1 s to model them.
	ArpingLinger vtime.Duration

	// MasterRepeat is keepalived's garp_master_repeat: GARPs per burst
	// (default 5).
	MasterRepeat int
	// MasterDelay is keepalived's garp_master_delay: when the second burst
	// follows the first (default 5 s; None for "0 = no second burst").
	MasterDelay vtime.Duration
	// MasterRefresh is keepalived's garp_master_refresh: the period of
	// refresh bursts while master (default 0 = off). Refresh runs as long
	// as the instance is master, so it needs a Deadline.
	MasterRefresh vtime.Duration
	// MasterRefreshRepeat is keepalived's garp_master_refresh_repeat:
	// GARPs per refresh (default 1).
	MasterRefreshRepeat int
	// GARPInterval is keepalived's garp_interval (vrrp_garp_interval): the
	// minimum spacing of GARPs on one interface (default 0).
	GARPInterval vtime.Duration

	// The knobs of IPv6 announcements (NASchedule, spec §10.1).

	// GNAInterval is keepalived's vrrp_gna_interval: the minimum spacing
	// of unsolicited NAs on one interface (default 0 = back to back).
	GNAInterval vtime.Duration
	// Forwarding is the sending interface's IPv6 forwarding sysctl, which
	// the kernel and keepalived copy into the NA's Router flag.
	Forwarding bool
	// Source overrides the IPv6 source: MetalLB's and ndsend's node
	// link-local address (default: the EUI-64 link-local of the MAC, what
	// addr_gen_mode eui64 gives), or a custom NA's (default the target).
	Source *netip.Addr
	// Dest is a custom NA's IPv6 destination (default ff02::1); a
	// unicast one needs EthDst.
	Dest *netip.Addr
	// NAFlags are a custom NA's flags: letters of "RSO", or "none"
	// (default "O", an announcement that overrides).
	NAFlags string
	// NoTLLAO leaves the target link-layer address option out of a custom
	// NA (a receiver then has no address to install, spec §4.3).
	NoTLLAO bool
	// HopLimit is a custom NA's IPv6 hop limit (default 255; any other
	// value makes ND drop it, spec §4.1).
	HopLimit int
}

// Knob names, as they appear in Preset.Knobs and in errors.
const (
	KnobCount               = "Count"
	KnobInterval            = "Interval"
	KnobDelay               = "Delay"
	KnobDeadline            = "Deadline"
	KnobMode                = "Mode"
	KnobTHA                 = "THA"
	KnobEthDst              = "EthDst"
	KnobStartupLatency      = "StartupLatency"
	KnobArpingLinger        = "ArpingLinger"
	KnobMasterRepeat        = "MasterRepeat"
	KnobMasterDelay         = "MasterDelay"
	KnobMasterRefresh       = "MasterRefresh"
	KnobMasterRefreshRepeat = "MasterRefreshRepeat"
	KnobGARPInterval        = "GARPInterval"
	KnobGNAInterval         = "GNAInterval"
	KnobForwarding          = "Forwarding"
	KnobSource              = "Source"
	KnobDest                = "Dest"
	KnobNAFlags             = "NAFlags"
	KnobNoTLLAO             = "NoTLLAO"
	KnobHopLimit            = "HopLimit"
)

// knobs lists the fields of o that are set (non-zero), in declaration order.
func (o Options) knobs() []string {
	var set []string
	add := func(name string, isSet bool) {
		if isSet {
			set = append(set, name)
		}
	}
	add(KnobCount, o.Count != 0)
	add(KnobInterval, o.Interval != 0)
	add(KnobDelay, o.Delay != 0)
	add(KnobDeadline, o.Deadline != 0)
	add(KnobMode, o.Mode != "")
	add(KnobTHA, o.THA != nil)
	add(KnobEthDst, o.EthDst != nil)
	add(KnobStartupLatency, o.StartupLatency != 0)
	add(KnobArpingLinger, o.ArpingLinger != 0)
	add(KnobMasterRepeat, o.MasterRepeat != 0)
	add(KnobMasterDelay, o.MasterDelay != 0)
	add(KnobMasterRefresh, o.MasterRefresh != 0)
	add(KnobMasterRefreshRepeat, o.MasterRefreshRepeat != 0)
	add(KnobGARPInterval, o.GARPInterval != 0)
	add(KnobGNAInterval, o.GNAInterval != 0)
	add(KnobForwarding, o.Forwarding)
	add(KnobSource, o.Source != nil)
	add(KnobDest, o.Dest != nil)
	add(KnobNAFlags, o.NAFlags != "")
	add(KnobNoTLLAO, o.NoTLLAO)
	add(KnobHopLimit, o.HopLimit != 0)
	return set
}

// validate rejects negative counts and durations (None excepted).
func (o Options) validate() error {
	for _, c := range []struct {
		name string
		v    int
	}{{KnobCount, o.Count}, {KnobMasterRepeat, o.MasterRepeat}, {KnobMasterRefreshRepeat, o.MasterRefreshRepeat}} {
		if c.v < 0 {
			return fmt.Errorf("garp: %s = %d: want a positive count (0 for the default)", c.name, c.v)
		}
	}
	for _, d := range []struct {
		name string
		v    vtime.Duration
	}{
		{KnobInterval, o.Interval}, {KnobDelay, o.Delay}, {KnobDeadline, o.Deadline},
		{KnobStartupLatency, o.StartupLatency}, {KnobArpingLinger, o.ArpingLinger}, {KnobMasterDelay, o.MasterDelay},
		{KnobMasterRefresh, o.MasterRefresh}, {KnobGARPInterval, o.GARPInterval}, {KnobGNAInterval, o.GNAInterval},
	} {
		if d.v < 0 && d.v != None {
			return fmt.Errorf("garp: %s = %v: durations cannot be negative (garp.None asks for zero where the default is not)", d.name, d.v)
		}
	}
	if o.HopLimit < 0 || o.HopLimit > 255 {
		return fmt.Errorf("garp: %s = %d: want 1..255 (0 for the default, 255)", KnobHopLimit, o.HopLimit)
	}
	for _, a := range []struct {
		name string
		v    *netip.Addr
	}{{KnobSource, o.Source}, {KnobDest, o.Dest}} {
		if a.v != nil && (!a.v.Is6() || a.v.Is4In6()) {
			return fmt.Errorf("garp: %s = %v: want an IPv6 address", a.name, *a.v)
		}
	}
	return nil
}

// pick returns v, or def when v is the zero value, and 0 for None.
func pick(v, def vtime.Duration) vtime.Duration {
	switch v {
	case 0:
		return def
	case None:
		return 0
	}
	return v
}

func pickInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Modes of the custom schedule.
const (
	ModeRequest = "request"
	ModeReply   = "reply"
	ModeBoth    = "both"
)

// Custom is the preset name under which Schedule builds a custom schedule
// (see Frames).
const Custom = "custom"

// ErrUnknownPreset is returned by Schedule for a name Presets does not list.
var ErrUnknownPreset = errors.New("garp: unknown preset")

// Schedule returns the frames preset sends to announce ip at mac, in time
// order (frames at the same instant keep the order the sender writes them).
func Schedule(preset string, mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	if preset == Custom {
		return Frames(o.Mode, mac, ip, o)
	}
	p, ok := lookup(preset)
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownPreset, preset, strings.Join(names(), ", "))
	}
	return p.run(mac, ip, o)
}

// Frames builds a custom schedule: Count rounds (default 1), Interval apart
// (default 1 s), each one frame of mode "request" or "reply", or both a
// REQUEST and a REPLY. THA and EthDst override the defaults described on
// Options; Delay and Deadline apply as for the presets.
func Frames(mode string, mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	o.Mode = mode
	return customPreset.run(mac, ip, o)
}

func (p preset) run(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("garp: %s: announced address %v is not IPv4", p.Name, ip)
	}
	return schedule(p.Preset, p.build, mac, ip, o, func(f *Frame) *vtime.Duration { return &f.At })
}

// check validates o and rejects a knob the preset p does not have.
func (p Preset) check(o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	for _, k := range o.knobs() {
		if !slices.Contains(p.Knobs, k) {
			return fmt.Errorf("garp: preset %q has no knob %s (it has: %s; the custom schedule takes any shape)",
				p.Name, k, strings.Join(p.Knobs, ", "))
		}
	}
	return nil
}

// schedule checks o against preset p, builds its frames (t = 0 at the
// sender's first), applies Deadline and Delay, and sorts them by time,
// stably; at says where a frame keeps its time. ARP and NA schedules share it.
func schedule[F any](p Preset, build func(arp.MAC, netip.Addr, Options) ([]F, error), mac arp.MAC, ip netip.Addr,
	o Options, at func(*F) *vtime.Duration) ([]F, error) {
	if err := p.check(o); err != nil {
		return nil, err
	}
	fs, err := build(mac, ip, o)
	if err != nil {
		return nil, fmt.Errorf("garp: %s: %w", p.Name, err)
	}
	if dl := pick(o.Deadline, 0); dl > 0 {
		fs = slices.DeleteFunc(fs, func(f F) bool { return *at(&f) > dl })
	}
	delay := pick(o.Delay, 0)
	for i := range fs {
		*at(&fs[i]) += delay
	}
	slices.SortStableFunc(fs, func(a, b F) int { return cmp.Compare(*at(&a), *at(&b)) })
	return fs, nil
}

// gratuitous returns a frame announcing ip at mac with the given opcode and
// target hardware address, broadcast on Ethernet, sip = tip = ip.
func gratuitous(at vtime.Duration, op arp.Op, mac arp.MAC, ip netip.Addr, tha arp.MAC) Frame {
	return Frame{At: at, EthDst: arp.Broadcast, Packet: arp.NewPacket(op, mac, ip, tha, ip)}
}
