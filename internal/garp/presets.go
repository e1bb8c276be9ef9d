package garp

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Preset describes one sender whose schedule Schedule can produce.
type Preset struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Source is where the frame shape and timing were read
	// (repository@commit file function, as in field notes §B).
	Source string `json:"source"`
	// Knobs are the Options fields the preset honours.
	Knobs []string `json:"knobs"`
}

type preset struct {
	Preset
	// build returns the frames before Deadline and Delay are applied,
	// with t = 0 at the sender's first frame.
	build func(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error)
}

// Defaults shared by several presets.
const (
	defaultCount = 3
	// iputils arping: ctl.interval = 1 (seconds), the timerfd period.
	arpingInterval = vtime.Second
	// neutron/agent/linux/ip_lib.py ARPING_SLEEP.
	neutronSleep          = 2 * vtime.Second
	neutronStartupLatency = vtime.Millisecond
	// keepalived.conf(5) defaults.
	keepalivedRepeat        = 5
	keepalivedDelay         = 5 * vtime.Second
	keepalivedRefreshRepeat = 1
	// metallb internal/layer2/announcer.go spamLoop.
	metallbInterval = 1100 * vtime.Millisecond
	metallbWindow   = 5 * vtime.Second
	// kube-vip vip_arpRate (ArpBroadcastRate) default and floor.
	kubeVIPRate    = 3000 * vtime.Millisecond
	kubeVIPMinRate = 500 * vtime.Millisecond
)

var presets = []preset{
	{
		Preset: Preset{
			Name: "arping-U",
			Description: "iputils `arping -U -c N -i S`: REQUEST, eth dst broadcast, sip = tip = ip, " +
				"THA = the link broadcast address (ff:ff:ff:ff:ff:ff); first frame at once, then one per " +
				"interval. iputils sends forever without -c; this preset defaults to 3 frames, 1 s apart. " +
				"-i and -w take whole seconds.",
			Source: "iputils/iputils@9900265 arping.c send_pack, event_loop, main",
			Knobs:  []string{KnobCount, KnobInterval, KnobDelay, KnobDeadline},
		},
		build: arping(false),
	},
	{
		Preset: Preset{
			Name: "arping-A",
			Description: "iputils `arping -A -c N -i S`: REPLY, eth dst broadcast, sip = tip = ip, " +
				"THA = own MAC (a GARP reply to Linux ≥ 4.12); timing as arping-U.",
			Source: "iputils/iputils@9900265 arping.c send_pack (`if (ctl->advert) memcpy(p, &ME->sll_addr …)`)",
			Knobs:  []string{KnobCount, KnobInterval, KnobDelay, KnobDeadline},
		},
		build: arping(true),
	},
	{
		Preset: Preset{
			Name: "neutron-legacy",
			Description: "OpenStack Neutron before 2017-05: one `arping -A -I dev -c N -w 1.5N ip` " +
				"(N = send_arp_for_ha, default 3): N REPLYs with THA = own MAC, 1 s apart " +
				"(no -i then; the deadline never cuts a frame).",
			Source: "openstack/neutron neutron/agent/linux/ip_lib.py (pre-82831b9d8d); field notes §A.2",
			Knobs:  []string{KnobCount, KnobDelay},
		},
		build: neutronLegacy,
	},
	{
		Preset: Preset{
			Name: "neutron",
			Description: "OpenStack Neutron since 2017-05: Count rounds (default 3), 2 s sleep between " +
				"rounds, each round `arping -U -c 1` then `arping -A -c 1` as two processes. Every " +
				"process after the first adds StartupLatency (default 1 ms) and, with iputils " +
				"releases that wait one tick before exiting (2019–2024, e.g. 20221126), " +
				"ArpingLinger (set 1 s; default 0): frame k at ⌊k/2⌋·2 s + k·(linger + latency).",
			Source: "openstack/neutron@2131d26f73 neutron/agent/linux/ip_lib.py _arping, send_ip_addr_adv_notif; " +
				"commits 82831b9d8d, 96c5dd6a2b",
			Knobs: []string{KnobCount, KnobStartupLatency, KnobArpingLinger, KnobDelay},
		},
		build: neutron,
	},
	{
		Preset: Preset{
			Name: "keepalived",
			Description: "keepalived on becoming MASTER: garp_master_repeat REQUESTs (default 5, THA " +
				"broadcast) at once, a second burst garp_master_delay later (default 5 s; None = " +
				"no second burst, as with vrrp_min_garp), optional garp_master_refresh bursts of " +
				"garp_master_refresh_repeat while master (bounded by Deadline). garp_interval " +
				"spaces consecutive GARPs on the interface, and the GARPs it holds back collapse into " +
				"one pending GARP (a flag per address, not a queue: a burst becomes at most two " +
				"GARPs; measured on keepalived 2.2.7). Refresh is checked on the advert " +
				"timer in real keepalived, so it drifts by up to advert_int (keepalived#1214).",
			Source: "acassen/keepalived@9cbce3e2 keepalived/vrrp/vrrp_arp.c, doc/man/man5/keepalived.conf.5.in",
			Knobs: []string{KnobMasterRepeat, KnobMasterDelay, KnobMasterRefresh, KnobMasterRefreshRepeat,
				KnobGARPInterval, KnobDelay, KnobDeadline},
		},
		build: keepalived,
	},
	{
		Preset: Preset{
			Name: "metallb",
			Description: "MetalLB layer 2 on taking an IP: a round at once, then one every 1100 ms while " +
				"within 5 s (rounds at 0, 1.1, 2.2, 3.3, 4.4 s); each round a REQUEST then a REPLY, " +
				"both with THA = ff:ff:ff:ff:ff:ff — so the REPLY is not a GARP to Linux.",
			Source: "metallb/metallb@7938d3f89 internal/layer2/arp.go Gratuitous, internal/layer2/announcer.go spamLoop",
			Knobs:  []string{KnobDelay},
		},
		build: metallb,
	},
	{
		Preset: Preset{
			Name: "cilium",
			Description: "Cilium L2 announcer on gaining the lease: one REPLY with THA = " +
				"ff:ff:ff:ff:ff:ff (not a GARP to Linux).",
			Source: "cilium/cilium pkg/datapath/garp/garp.go send (PR #25933)",
			Knobs:  []string{KnobDelay},
		},
		build: func(mac arp.MAC, ip netip.Addr, _ Options) ([]Frame, error) {
			return []Frame{gratuitous(0, arp.OpReply, mac, ip, arp.Broadcast)}, nil
		},
	},
	{
		Preset: Preset{
			Name: "kube-vip",
			Description: "kube-vip while leader: one frame per vip_arpRate (default 3000 ms, values " +
				"below 500 ms rejected as kube-vip resets them to 3000), alternating REPLY (THA = own " +
				"MAC) and REQUEST (THA broadcast), REPLY first. kube-vip sends for as long as it " +
				"leads; the preset defaults to 3 frames. Recent kube-vip sends on a free-running " +
				"ticker: place the first frame with Delay.",
			Source: "kube-vip/kube-vip@bee5cfe pkg/vip/arp.go gratuitousARP, pkg/arp (ArpBroadcastRate)",
			Knobs:  []string{KnobCount, KnobInterval, KnobDelay, KnobDeadline},
		},
		build: kubeVIP,
	},
	{
		Preset: Preset{
			Name: "kernel-notify",
			Description: "The Linux kernel with arp_notify=1 on link up or address add (and always on " +
				"NETDEV_NOTIFY_PEERS): one REQUEST with THA = 00:00:00:00:00:00.",
			Source: "linux net/ipv4/devinet.c inetdev_send_gratuitous_arp, net/ipv4/arp.c arp_create",
			Knobs:  []string{KnobDelay},
		},
		build: func(mac arp.MAC, ip netip.Addr, _ Options) ([]Frame, error) {
			return []Frame{gratuitous(0, arp.OpRequest, mac, ip, arp.Zero)}, nil
		},
	},
	{
		Preset: Preset{
			Name: "ucarp",
			Description: "UCarp on becoming MASTER: one REQUEST with THA = own MAC (its re-assertion " +
				"GARP two advert ticks later is not modelled).",
			Source: "jedisct1/UCarp@1a9aaf7 src/garp.c gratuitous_arp",
			Knobs:  []string{KnobDelay},
		},
		build: func(mac arp.MAC, ip netip.Addr, _ Options) ([]Frame, error) {
			return []Frame{gratuitous(0, arp.OpRequest, mac, ip, mac)}, nil
		},
	},
}

var customPreset = preset{
	Preset: Preset{
		Name: Custom,
		Description: "Any shape: Mode request|reply|both, Count rounds (default 1) Interval apart " +
			"(default 1 s), THA (default: broadcast for requests, own MAC for replies), EthDst " +
			"(default broadcast).",
		Source: "arplab",
		Knobs:  []string{KnobMode, KnobCount, KnobInterval, KnobDelay, KnobDeadline, KnobTHA, KnobEthDst},
	},
	build: custom,
}

// Presets lists the sender presets in a stable order, custom last.
func Presets() []Preset {
	out := make([]Preset, 0, len(presets)+1)
	for _, p := range slices.Concat(presets, []preset{customPreset}) {
		q := p.Preset
		q.Knobs = append([]string(nil), q.Knobs...)
		out = append(out, q)
	}
	return out
}

func lookup(name string) (preset, bool) {
	for _, p := range presets {
		if p.Name == name {
			return p, true
		}
	}
	return preset{}, false
}

func names() []string {
	var out []string
	for _, p := range Presets() {
		out = append(out, p.Name)
	}
	return out
}

// arping models iputils arping in unsolicited mode: send_pack at once, then
// on every tick of a timerfd with period -i seconds, until `sent == count`
// (event_loop). A zero interval disarms the timerfd, so only the first frame
// would ever leave.
func arping(advert bool) func(arp.MAC, netip.Addr, Options) ([]Frame, error) {
	return func(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
		count := pickInt(o.Count, defaultCount)
		interval := pick(o.Interval, arpingInterval)
		for _, d := range []struct {
			flag string
			v    vtime.Duration
		}{{"-i", interval}, {"-w", o.Deadline}} {
			if d.v%vtime.Second != 0 {
				return nil, fmt.Errorf("arping %s takes whole seconds, not %v (use the custom schedule)", d.flag, d.v)
			}
		}
		if interval == 0 && count > 1 {
			return nil, errors.New("arping -i 0 disarms its timer and sends only the first frame; use the custom schedule for back-to-back frames")
		}
		op, tha := arp.OpRequest, arp.Broadcast
		if advert {
			op, tha = arp.OpReply, mac
		}
		fs := make([]Frame, 0, count)
		for i := range count {
			fs = append(fs, gratuitous(vtime.Duration(i)*interval, op, mac, ip, tha))
		}
		return fs, nil
	}
}

func neutronLegacy(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	count := pickInt(o.Count, defaultCount)
	fs := make([]Frame, 0, count)
	for i := range count {
		fs = append(fs, gratuitous(vtime.Duration(i)*arpingInterval, arp.OpReply, mac, ip, mac))
	}
	return fs, nil
}

// neutron models _arping: for each round, sleep ARPING_SLEEP unless it is
// the first, then run `arping -U -c 1` and `arping -A -c 1`, each to
// completion. Frame k comes from the (k+1)-th process, which sends
// StartupLatency after the previous one exited, and exits ArpingLinger
// after its frame; t = 0 is the first process's frame.
func neutron(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	rounds := pickInt(o.Count, defaultCount)
	step := pick(o.StartupLatency, neutronStartupLatency) + pick(o.ArpingLinger, 0)
	fs := make([]Frame, 0, 2*rounds)
	for r := range rounds {
		base := vtime.Duration(r) * neutronSleep
		k := vtime.Duration(2 * r)
		fs = append(fs,
			gratuitous(base+k*step, arp.OpRequest, mac, ip, arp.Broadcast),
			gratuitous(base+(k+1)*step, arp.OpReply, mac, ip, mac))
	}
	return fs, nil
}

// keepalived models vrrp_state_become_master and the garp_delay and
// garp_refresh timers: bursts at 0, MasterDelay and k·MasterRefresh, every
// GARP at least GARPInterval after the previous one on the interface, a
// held-back burst shrinking to one pending GARP (see keepalivedTimes).
func keepalived(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	at, err := keepalivedTimes(o, pick(o.GARPInterval, 0), true)
	if err != nil {
		return nil, err
	}
	fs := make([]Frame, 0, len(at))
	for _, t := range at {
		fs = append(fs, gratuitous(t, arp.OpRequest, mac, ip, arp.Broadcast))
	}
	return fs, nil
}

// keepalivedTimes is keepalived's announcement timing, shared by its GARPs
// and its unsolicited NAs: gap is vrrp_garp_interval or vrrp_gna_interval.
//
// With pending, a frame the interval holds back is not queued one by one:
// keepalived marks the address "pending" (a flag, vrrp_ndisc.c
// queue_ndisc) and sends it once when the interval allows, so a burst of
// any size becomes at most two frames, one at once and one a gap later.
// Measured with keepalived 2.2.7: vrrp_garp_master_repeat 4 with
// vrrp_gna_interval 0.1 sent 2 NAs per burst for the first VIP, 1 for the
// second; vrrp_garp_interval 0.1 with the default repeat of 5, 2 GARPs per
// burst (queue_garp sets the same flag).
func keepalivedTimes(o Options, gap vtime.Duration, pending bool) ([]vtime.Duration, error) {
	repeat := pickInt(o.MasterRepeat, keepalivedRepeat)
	delay := pick(o.MasterDelay, keepalivedDelay)
	refresh := pick(o.MasterRefresh, 0)
	refreshRepeat := pickInt(o.MasterRefreshRepeat, keepalivedRefreshRepeat)
	deadline := pick(o.Deadline, 0)
	if refresh > 0 && deadline == 0 {
		return nil, errors.New("garp_master_refresh repeats for as long as the instance is master: set Deadline to bound the schedule")
	}
	if o.MasterRefreshRepeat != 0 && refresh == 0 {
		return nil, errors.New("MasterRefreshRepeat without MasterRefresh: refresh is off")
	}
	type burst struct {
		at vtime.Duration
		n  int
	}
	bursts := []burst{{0, repeat}}
	if delay > 0 {
		bursts = append(bursts, burst{delay, repeat})
	}
	if refresh > 0 {
		for t := refresh; t <= deadline; t += refresh {
			bursts = append(bursts, burst{t, refreshRepeat})
		}
	}
	slices.SortStableFunc(bursts, func(a, b burst) int { return cmp.Compare(a.at, b.at) })
	var at []vtime.Duration
	next := vtime.Duration(0)  // earliest time the interval allows the next frame
	pend := vtime.Duration(-1) // when the pending frame goes; -1: none pending
	for _, b := range bursts {
		if pending && gap > 0 {
			n := b.n
			if pend >= 0 && b.at >= pend {
				pend = -1 // sent by now
			}
			if b.at >= next { // sent at once
				at = append(at, b.at)
				next, n = b.at+gap, n-1
			}
			if n > 0 && pend < 0 { // the rest become the one pending frame
				pend = next
				at = append(at, pend)
				next = pend + gap
			}
			continue // (or merge into the frame already pending)
		}
		for range b.n {
			t := max(b.at, next)
			at = append(at, t)
			next = t + gap
		}
	}
	return at, nil
}

// metallb models spamLoop: a round at once, then a round on every 1100 ms
// tick until a tick finds itself after the 5 s stop time (`now.After(until)`,
// so a tick at exactly 5 s would still send). Each round is Gratuitous: REQUEST then REPLY,
// both built by arp.NewPacket(op, hw, ip, ethernet.Broadcast, ip).
func metallb(mac arp.MAC, ip netip.Addr, _ Options) ([]Frame, error) {
	var fs []Frame
	for _, t := range metallbTimes() {
		fs = append(fs,
			gratuitous(t, arp.OpRequest, mac, ip, arp.Broadcast),
			gratuitous(t, arp.OpReply, mac, ip, arp.Broadcast))
	}
	return fs, nil
}

// metallbTimes are spamLoop's rounds, the same for ARP and NDP.
func metallbTimes() []vtime.Duration {
	var at []vtime.Duration
	for t := vtime.Duration(0); t <= metallbWindow; t += metallbInterval {
		at = append(at, t)
	}
	return at
}

// kubeVIP models gratuitousARP's global toggle, which starts at "request"
// and flips before each send, so the first frame is a REPLY.
func kubeVIP(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	count := pickInt(o.Count, defaultCount)
	rate := pick(o.Interval, kubeVIPRate)
	if rate < kubeVIPMinRate {
		return nil, fmt.Errorf("vip_arpRate %v is below 500 ms, which kube-vip replaces by 3000 ms; pass 3000 ms or at least 500 ms", rate)
	}
	fs := make([]Frame, 0, count)
	for i := range count {
		at := vtime.Duration(i) * rate
		if i%2 == 0 {
			fs = append(fs, gratuitous(at, arp.OpReply, mac, ip, mac))
		} else {
			fs = append(fs, gratuitous(at, arp.OpRequest, mac, ip, arp.Broadcast))
		}
	}
	return fs, nil
}

func custom(mac arp.MAC, ip netip.Addr, o Options) ([]Frame, error) {
	var ops []arp.Op
	switch o.Mode {
	case ModeRequest:
		ops = []arp.Op{arp.OpRequest}
	case ModeReply:
		ops = []arp.Op{arp.OpReply}
	case ModeBoth:
		ops = []arp.Op{arp.OpRequest, arp.OpReply}
	default:
		return nil, fmt.Errorf("mode %q: want request, reply or both", o.Mode)
	}
	count := pickInt(o.Count, 1)
	interval := pick(o.Interval, vtime.Second)
	ethDst := arp.Broadcast
	if o.EthDst != nil {
		ethDst = *o.EthDst
	}
	fs := make([]Frame, 0, count*len(ops))
	for i := range count {
		for _, op := range ops {
			tha := arp.Broadcast
			if op == arp.OpReply {
				tha = mac
			}
			if o.THA != nil {
				tha = *o.THA
			}
			f := gratuitous(vtime.Duration(i)*interval, op, mac, ip, tha)
			f.EthDst = ethDst
			fs = append(fs, f)
		}
	}
	return fs, nil
}
