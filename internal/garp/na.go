package garp

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// NAFrame is one unsolicited Neighbour Advertisement of an IPv6
// announcement schedule: the IPv6 counterpart of Frame (spec
// ../shared/spec/linux-ndisc.md §10.1).
type NAFrame struct {
	// At is when the frame leaves, as an offset from the sender's start.
	At vtime.Duration
	// EthDst is the Ethernet destination (33:33:00:00:00:01 for ff02::1).
	// The source is the sending interface's address, as every sender
	// here writes it (keepalived from the interface, the kernel and
	// ICMPv6 sockets through the device).
	EthDst arp.MAC
	// Msg is the IPv6 header and the NA, options included.
	Msg ndisc.Message
}

// Append appends the whole Ethernet frame, sent from src, to b: 86 bytes
// for an NA with a target link-layer option.
func (f *NAFrame) Append(b []byte, src arp.MAC) []byte {
	return ndisc.AppendFrame(b, ether.Header{Dst: f.EthDst, Src: src}, &f.Msg)
}

// String prints the frame on one line, e.g. "+0s eth_dst=33:33:00:00:00:01
// NA 2001:db8::10 > ff02::1 hlim 255 target 2001:db8::10 [O] tll …".
func (f NAFrame) String() string {
	return fmt.Sprintf("+%v eth_dst=%v %v", f.At, f.EthDst, &f.Msg)
}

type naPreset struct {
	Preset
	// build returns the frames before Deadline and Delay are applied.
	build func(mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error)
}

// IPv6 sender defaults. keepalived's are the GARP ones with
// vrrp_gna_interval for the spacing; MetalLB's NDP loop is its ARP loop.
const (
	customNACount    = 1
	customNAInterval = vtime.Second
)

var naPresets = []naPreset{
	{
		Preset: Preset{
			Name: "keepalived",
			Description: "keepalived (VRRPv3 IPv6 VIP) on becoming MASTER: vrrp_garp_master_repeat " +
				"unsolicited NAs (default 5) back to back, a second burst vrrp_garp_master_delay later " +
				"(default 5 s; None = none), optional garp_master_refresh bursts. With vrrp_gna_interval " +
				"(default 0) a burst shrinks to one NA at once and one an interval later: keepalived keeps " +
				"one pending flag per address, not a queue (measured on 2.2.7). Each NA: src = the VIP, dst ff02::1, eth dst 33:33:00:00:00:01, " +
				"S=0 O=1, R = the interface's IPv6 forwarding (Forwarding), TLLAO = the interface MAC, hop limit 255, " +
				"traffic class and flow label 0: 86 bytes written whole on an AF_PACKET SOCK_RAW socket.",
			Source: "acassen/keepalived@055fcbf keepalived/vrrp/vrrp_ndisc.c ndisc_send_unsolicited_na_immediate; " +
				"keepalived.conf(5); spec linux-ndisc §10.1",
			Knobs: []string{KnobMasterRepeat, KnobMasterDelay, KnobMasterRefresh, KnobMasterRefreshRepeat,
				KnobGNAInterval, KnobForwarding, KnobDelay, KnobDeadline},
		},
		build: func(mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error) {
			at, err := keepalivedTimes(o, pick(o.GNAInterval, 0), true)
			if err != nil {
				return nil, err
			}
			return naAt(at, announcement(target, target, mac, o.Forwarding)), nil
		},
	},
	{
		Preset: Preset{
			Name: "metallb",
			Description: "MetalLB NDP mode on taking an IP: an NA at once, then one every 1100 ms while " +
				"within 5 s (0, 1.1, 2.2, 3.3, 4.4 s). Each NA: src = the node's link-local address (Source; " +
				"default the EUI-64 one of the MAC), dst ff02::1, S=0 O=1 R=0, TLLAO = the node MAC. MetalLB " +
				"writes through an ICMPv6 socket (mdlayher/ndp), so the kernel fills the IPv6 header: with " +
				"auto_flowlabels (the default) its flow label is a hash that arplab sends as 0; with " +
				"net.ipv6.auto_flowlabels=0 the frames are identical (tested).",
			Source: "metallb/metallb@b7cd6b0 internal/layer2/ndp.go, announcer.go spamLoop; spec linux-ndisc §10.1",
			Knobs:  []string{KnobSource, KnobDelay},
		},
		build: func(mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error) {
			return naAt(metallbTimes(), announcement(linkLocalSource(mac, o), target, mac, false)), nil
		},
	},
	{
		Preset: Preset{
			Name: "kernel-notify",
			Description: "The Linux kernel with ndisc_notify=1 (on a MAC change, on link up from 4.12, when " +
				"an address finishes DAD from 4.16, and always on NETDEV_NOTIFY_PEERS): one NA per address, " +
				"src = the address, dst ff02::1, S=0 O=1, R = forwarding, TLLAO = the device MAC, hop limit 255.",
			Source: "linux net/ipv6/ndisc.c ndisc_send_unsol_na; spec linux-ndisc §10.1, §10.2",
			Knobs:  []string{KnobForwarding, KnobDelay},
		},
		build: func(mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error) {
			return []NAFrame{announcement(target, target, mac, o.Forwarding)}, nil
		},
	},
	{
		Preset: Preset{
			Name: "ndsend",
			Description: "OpenVZ's `ndsend ADDR IFACE`: exactly one NA, src = the interface's link-local " +
				"address (Source; chosen by the kernel for its unbound ICMPv6 socket), dst ff02::1, S=0 O=1 " +
				"R=0, TLLAO = the interface MAC. As for MetalLB the kernel's flow label is sent as 0.",
			Source: "OpenVZ/vzctl src/ndsend.c; spec linux-ndisc §10.1",
			Knobs:  []string{KnobSource, KnobDelay},
		},
		build: func(mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error) {
			return []NAFrame{announcement(linkLocalSource(mac, o), target, mac, false)}, nil
		},
	},
}

var customNAPreset = naPreset{
	Preset: Preset{
		Name: Custom,
		Description: "Any NA: Count (default 1) Interval apart (default 1 s), NAFlags (letters of RSO or " +
			"none; default O), Source (default the target), Dest (default ff02::1; a unicast one needs " +
			"EthDst), EthDst (default the group of Dest), NoTLLAO, HopLimit (default 255).",
		Source: "arplab",
		Knobs: []string{KnobCount, KnobInterval, KnobDelay, KnobDeadline, KnobNAFlags, KnobSource, KnobDest,
			KnobEthDst, KnobNoTLLAO, KnobHopLimit},
	},
	build: customNA,
}

// NAPresets lists the IPv6 senders in a stable order, custom last.
func NAPresets() []Preset {
	out := make([]Preset, 0, len(naPresets)+1)
	for _, p := range slices.Concat(naPresets, []naPreset{customNAPreset}) {
		q := p.Preset
		q.Knobs = slices.Clone(q.Knobs)
		out = append(out, q)
	}
	return out
}

// NASchedule returns the unsolicited NAs preset sends to announce target
// at mac, in time order. The preset names are those of NAPresets; a name
// only Presets knows (an IPv4-only sender) is ErrUnknownPreset.
func NASchedule(preset string, mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error) {
	p := customNAPreset
	if preset != Custom {
		i := slices.IndexFunc(naPresets, func(p naPreset) bool { return p.Name == preset })
		if i < 0 {
			var known []string
			for _, q := range NAPresets() {
				known = append(known, q.Name)
			}
			return nil, fmt.Errorf("%w %q for IPv6 (known: %s)", ErrUnknownPreset, preset, strings.Join(known, ", "))
		}
		p = naPresets[i]
	}
	if !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("garp: %s: announced address %v is not IPv6", p.Name, target)
	}
	if target.IsMulticast() || target.IsUnspecified() {
		return nil, fmt.Errorf("garp: %s: %v cannot be announced (ND drops NAs for multicast targets, spec §4.2)", p.Name, target)
	}
	return schedule(p.Preset, p.build, mac, target, o, func(f *NAFrame) *vtime.Duration { return &f.At })
}

// announcement is the unsolicited NA every sender of spec §10.1 writes:
// to ff02::1, S=0, O=1, R as given, the target's MAC in a TLLAO.
func announcement(src, target netip.Addr, mac arp.MAC, router bool) NAFrame {
	return NAFrame{EthDst: ndisc.AllNodesMAC, Msg: ndisc.Message{
		HopLimit: ndisc.NDHopLimit, Src: src, Dst: ndisc.AllNodes,
		Type: ndisc.TypeNeighborAdvertisement, Target: target,
		Router: router, Override: true,
		TargetLL: mac, HasTargetLL: true,
	}}
}

// naAt repeats f at each of the times at.
func naAt(at []vtime.Duration, f NAFrame) []NAFrame {
	fs := make([]NAFrame, len(at))
	for i, t := range at {
		fs[i] = f
		fs[i].At = t
	}
	return fs
}

// linkLocalSource is a sender's link-local source: Source if set, else
// the EUI-64 address of mac.
func linkLocalSource(mac arp.MAC, o Options) netip.Addr {
	if o.Source != nil {
		return *o.Source
	}
	return ndisc.LinkLocal(mac)
}

// customNA builds Count NAs Interval apart with the shape the knobs give.
func customNA(mac arp.MAC, target netip.Addr, o Options) ([]NAFrame, error) {
	f := announcement(target, target, mac, false)
	m := &f.Msg
	m.Override = false
	flags := o.NAFlags
	if flags == "" {
		flags = "O"
	}
	if flags != "none" {
		for _, c := range flags {
			switch c {
			case 'R', 'r':
				m.Router = true
			case 'S', 's':
				m.Solicited = true
			case 'O', 'o':
				m.Override = true
			default:
				return nil, fmt.Errorf("NAFlags %q: want letters of R, S, O, or none", o.NAFlags)
			}
		}
	}
	if o.Source != nil {
		m.Src = *o.Source
	}
	if o.Dest != nil {
		m.Dst = *o.Dest
		f.EthDst = ndisc.MulticastMAC(m.Dst)
		if !m.Dst.IsMulticast() && o.EthDst == nil {
			return nil, fmt.Errorf("Dest %v is unicast: give EthDst, the MAC it is sent to", m.Dst)
		}
	}
	if o.EthDst != nil {
		f.EthDst = *o.EthDst
	}
	m.HasTargetLL = !o.NoTLLAO
	if !m.HasTargetLL {
		m.TargetLL = arp.MAC{}
	}
	if o.HopLimit != 0 {
		m.HopLimit = uint8(o.HopLimit)
	}
	count := pickInt(o.Count, customNACount)
	interval := pick(o.Interval, customNAInterval)
	at := make([]vtime.Duration, count)
	for i := range at {
		at[i] = vtime.Duration(i) * interval
	}
	return naAt(at, f), nil
}
