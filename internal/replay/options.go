package replay

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/stack"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Options configure a replay.
type Options struct {
	// Host is the observed Linux host: an IPv4 address ("10.0.0.1"), an
	// address with its prefix ("10.0.0.1/16"; the default prefix is /24),
	// or a MAC ("02:00:00:00:00:01"), the other half learnt from the
	// capture; or both, "10.0.0.1/24@02:00:00:00:00:01", for a host that
	// never speaks in the capture.
	Host string
	// Profile is the kernel the model follows. The zero Profile means
	// kernel.Lookup("latest").
	Profile kernel.Profile
	// HZ is the host's tick rate; 0 means the profile's.
	HZ int
	// Sysctls are "key=value" settings applied before the first frame.
	// A key is a neighbour parameter ("locktime", "base_reachable_time_ms",
	// "gc_thresh1", ...) or an IPv4 conf setting ("arp_accept",
	// "drop_gratuitous_arp", ...), bare or as a sysctl path
	// ("net.ipv4.neigh.eth0.locktime", "net/ipv4/conf/all/arp_accept").
	// Whatever device a path names, it applies to the replayed host's only
	// device; "default" neighbour keys write neigh/default. One key is not
	// a sysctl: "reachable_time_ms" fixes the device's randomised
	// reachable_time (what `ip ntable show` prints, and what the simulator
	// records in its header) instead of drawing it from Seed. Items apply
	// in order, and a later base_reachable_time write draws it anew, as
	// the kernel does.
	Sysctls []string
	// Initial lists entries the host had before the capture started, each
	// "IP=MAC" (STALE), "IP=MAC,STATE" with STATE one of REACHABLE,
	// STALE, DELAY, PROBE, PERMANENT, NOARP, or "IP=MAC,STATE,AGE" with
	// AGE how long before the first frame the entry was set (e.g. 40s;
	// default: locktime+1 ticks before it).
	Initial []string
	// Seed seeds the reachable_time random stream.
	Seed uint64
	// Quiet builds no events (Summary only). A trace.Discard or nil sink
	// implies it.
	Quiet bool
	// ProbeTolerance is how far apart in time a predicted and an observed
	// probe may be and still match. 0 means 2 ticks plus 10 ms of softirq
	// latency, plus, on kernels with the 4.8 timer wheel, the wheel's
	// granularity for the delay_first_probe_time timer (spec §12.2): the
	// model cannot know where the host's jiffies counter stood, so its
	// bucket boundaries may differ from the host's by that much.
	ProbeTolerance time.Duration
	// Jiffies is the host's jiffies counter at the first frame (0: an
	// arbitrary 1,000,000) and Phase how far into that tick the first
	// frame fell. They matter where boundaries are absolute: the 4.8+
	// timer wheel rounds expiries to multiples of its granularity (spec
	// §12.2). A simulator --pcap gives both in its trace header.
	Jiffies uint64
	Phase   time.Duration
	// Until runs the model's timers past the last frame: "+DURATION"
	// after it ("+30s"), or a time on the capture's clock in seconds. By
	// default a pcapng capture's own end time (isb_endtime) is used when
	// it is later than the last frame; otherwise the replay ends at the
	// last frame and the summary lists the timers still pending.
	Until string
	// NoAlign turns off timer alignment: by default, when the host sends
	// a probe that one of the model's pending timers would send, and the
	// model had placed that timer later (the 4.8+ timer wheel runs a timer
	// up to a granularity late, at a moment that depends on the host's
	// jiffies, which no capture shows), the model runs it at the frame's
	// time. Without Jiffies the model places wheel timers at the latest
	// tick they could run, so the host's timer never runs after the
	// model's.
	NoAlign bool
	// ReadAt lists capture times (ns, ascending) at which to read the
	// model's table, as `ip neigh show` would have at that moment; OnRead
	// receives each read (i its index in ReadAt). Reads after the last
	// frame run the model's timers on to them. The verifier uses this to
	// hold a replay against the kernel's own table reads.
	ReadAt []int64
	OnRead func(i int, entries []neigh.Snapshot)
	// MaxFrames stops the replay after that many frames (0: all).
	MaxFrames int
	// NoInferEntries turns off inferring pre-existing entries from the
	// host's unicast sends (see the package documentation).
	NoInferEntries bool
	// Progress, when set, is called every ProgressEvery frames with the
	// frames replayed and the capture bytes read so far (a progress bar).
	Progress func(frames int, bytes int64)
	// RankWorkers is how many profile groups RankProfiles replays at once
	// (0: one per core). A caller running a replay of its own beside the
	// ranking leaves it a core, and closes RankWake when it is done: the
	// ranking then takes every core.
	RankWorkers int
	RankWake    <-chan struct{}
	// noStale turns dead-MAC tracking off (RankProfiles: it only counts
	// probes).
	noStale bool
	// noPending leaves Summary.Pending out (RankProfiles reads only the
	// probe counts).
	noPending bool
	// Ctx, when set, stops the replay between frames once it is cancelled
	// (Ctrl-C); the summary then covers the frames replayed so far.
	Ctx context.Context
}

// Check validates opt as Replay does before it reads a frame, so that a
// caller can tell a mistake in the options from a capture it cannot read.
func Check(opt Options) error {
	_, err := newReplayer(opt, "", nil)
	return err
}

// ErrHostNotFound is returned when the capture does not say which MAC (or
// IP) the observed host has.
var ErrHostNotFound = errors.New("replay: host not found in the capture")

// ErrNoFrames is returned for a capture that holds no frame at all (empty,
// or every record skipped, the reasons counted in the message): without a
// frame there is no capture time to run the model's timers on, and no
// link to place the host on.
var ErrNoFrames = errors.New("replay: no frames")

// hostSpec is Options.Host parsed.
type hostSpec struct {
	byMAC bool
	// both: the IP and the MAC were given (IP@MAC).
	both bool
	ip   netip.Addr
	mac  arp.MAC
	bits int
}

func parseHost(s string) (hostSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return hostSpec{}, fmt.Errorf("replay: no host given: name the observed host by its IPv4 address, its MAC, or IP@MAC")
	}
	if ipPart, macPart, ok := strings.Cut(s, "@"); ok {
		h, err := parseHost(ipPart)
		if err != nil {
			return hostSpec{}, err
		}
		if h.byMAC {
			return hostSpec{}, fmt.Errorf("replay: host %q: want IP[/prefix]@MAC", s)
		}
		m, err := arp.ParseMAC(strings.TrimSpace(macPart))
		if err != nil || m.IsMulticast() || m == arp.Zero {
			return hostSpec{}, fmt.Errorf("replay: host %q: %q is not a unicast MAC", s, macPart)
		}
		h.both, h.mac = true, m
		return h, nil
	}
	if m, err := arp.ParseMAC(s); err == nil {
		if m.IsMulticast() || m == arp.Zero {
			return hostSpec{}, fmt.Errorf("replay: host %q: a host's MAC is a unicast address", s)
		}
		return hostSpec{byMAC: true, mac: m, bits: 24}, nil
	}
	bits := 24
	addr := s
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return hostSpec{}, fmt.Errorf("replay: host %q: %v", s, err)
		}
		if maxBits := 30; p.Addr().Is6() {
			// an IPv6 host's on-link prefix; /127 and /128 leave no neighbour
			if maxBits = 126; p.Bits() < 1 || p.Bits() > maxBits {
				return hostSpec{}, fmt.Errorf("replay: host %q: prefix length must be 1 to %d", s, maxBits)
			}
		} else if p.Bits() < 1 || p.Bits() > maxBits {
			return hostSpec{}, fmt.Errorf("replay: host %q: prefix length must be 1 to %d", s, maxBits)
		}
		addr, bits = p.Addr().String(), p.Bits()
	}
	ip, err := netip.ParseAddr(addr)
	if err == nil && ip.Is6() && !ip.Is4In6() && ip.Zone() == "" {
		if !strings.Contains(s, "/") {
			bits = 64 // an IPv6 host's subnet is a /64 unless given
		}
		if !usableIP(ip) {
			return hostSpec{}, fmt.Errorf("replay: host %q: not a unicast address", s)
		}
		return hostSpec{ip: ip, bits: bits}, nil
	}
	if err != nil || !ip.Is4() {
		return hostSpec{}, fmt.Errorf("replay: host %q is neither an IPv4 or IPv6 address nor a MAC", s)
	}
	if !usableIP(ip) {
		return hostSpec{}, fmt.Errorf("replay: host %q: not a unicast address", s)
	}
	return hostSpec{ip: ip, bits: bits}, nil
}

// usableIP reports whether ip can be a host's or a neighbour's address.
func usableIP(ip netip.Addr) bool {
	if ip.Is6() && !ip.Is4In6() {
		return !ip.IsUnspecified() && !ip.IsMulticast() && !ip.IsLoopback()
	}
	return ip.Is4() && !ip.IsUnspecified() && !ip.IsMulticast() && !ip.IsLoopback() &&
		ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// applySysctls writes opt.Sysctls through the host's one sysctl input
// (stack.Host.Sysctl), on the table of the host's family (t): replay's
// --set takes bare names and leaves out the device, so each key is first
// completed to neigh/<dev>, neigh/default or conf/all (conf/<dev> and
// net/ipv6/conf/<dev> when named).
func applySysctls(st *stack.Host, t *neigh.Table, dev string, items []string) error {
	params := neigh.ParamNames()
	family := "net.ipv4."
	if t.Family == neigh.IPv6 {
		family = "net.ipv6."
	}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return fmt.Errorf("replay: sysctl %q: want key=value", item)
		}
		// The table (arp or nd) is the host's family: net.ipv6. is as
		// optional as net.ipv4.
		_, table, scope, name, err := neigh.SplitSysctlKeyFamily(k)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		// the kernel's range, as a scenario's sysctls are checked
		if _, known := neigh.SysctlRange(name); known {
			if err := neigh.CheckSysctl(name, v); err != nil {
				return fmt.Errorf("replay: sysctl %q: %w", item, err)
			}
		}
		kind, target := "neigh", dev
		switch {
		case t.Family == neigh.IPv6 && (table == "conf" || (table == "" && slices.Contains(neigh.Conf6Names, name))):
			// net/ipv6/conf is read per device (ndisc §8.2)
			kind = "conf"
			if scope == "all" || scope == "default" {
				target = scope
			}
		case name == "reachable_time_ms" && (table == "" || table == "neigh"):
			// not a sysctl: the device's current (randomised) reachable time
			if err := setReachableTime(t, dev, v); err != nil {
				return fmt.Errorf("replay: sysctl %q: %w", item, err)
			}
			continue
		case table == "conf" || (table == "" && slices.Contains(neigh.ConfNames, name)):
			kind, target = "conf", "all"
			if scope != "" && scope != "all" && scope != "default" {
				target = dev
			}
		case strings.HasPrefix(name, "gc_thresh") || name == "gc_interval":
			target = "default"
		case table == "neigh" || table == "":
			if !slices.Contains(params, name) {
				return fmt.Errorf("replay: sysctl %q: unknown key %q (neighbour: %s; conf: %s)",
					item, name, strings.Join(params, ", "), strings.Join(neigh.ConfNames, ", "))
			}
			if scope == "default" {
				target = "default"
			}
		}
		if err := st.Sysctl(family+kind+"."+target+"."+name, v); err != nil {
			return fmt.Errorf("replay: sysctl %q: %w", item, err)
		}
	}
	return nil
}

// initialEntry is one parsed Options.Initial item.
type initialEntry struct {
	ip    netip.Addr
	mac   arp.MAC
	state neigh.State
	// age is how long before the first frame the entry was last set;
	// without hasAge, locktime+1 ticks before it.
	age    time.Duration
	hasAge bool
}

func parseInitial(item string) (initialEntry, error) {
	s := strings.TrimSpace(item)
	ipS, rest, ok := strings.Cut(s, "=")
	if !ok {
		return initialEntry{}, fmt.Errorf("replay: initial entry %q: want IP=MAC, IP=MAC,STATE or IP=MAC,STATE,AGE", item)
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(ipS))
	if err != nil || !usableIP(ip) {
		return initialEntry{}, fmt.Errorf("replay: initial entry %q: %q is not a unicast IP address", item, ipS)
	}
	macS, stS, hasState := strings.Cut(rest, ",")
	mac, err := arp.ParseMAC(strings.TrimSpace(macS))
	if err != nil {
		return initialEntry{}, fmt.Errorf("replay: initial entry %q: %q is not a MAC address (aa:bb:cc:dd:ee:ff)", item, macS)
	}
	st := neigh.Stale
	var age time.Duration
	stS2, ageS, hasAge := strings.Cut(stS, ",")
	if hasAge {
		stS = stS2
		if age, err = time.ParseDuration(strings.TrimSpace(ageS)); err != nil || age < 0 {
			return initialEntry{}, fmt.Errorf("replay: initial entry %q: age %q is not a duration such as 30s", item, ageS)
		}
	}
	if hasState {
		if st, err = neigh.ParseState(strings.TrimSpace(stS)); err != nil {
			return initialEntry{}, fmt.Errorf("replay: initial entry %q: %v", item, err)
		}
		if !st.Valid() {
			return initialEntry{}, fmt.Errorf("replay: initial entry %q: state %v has no usable lladdr; "+
				"start from REACHABLE, STALE, DELAY, PROBE, PERMANENT or NOARP", item, st)
		}
	}
	return initialEntry{ip: ip, mac: mac, state: st, age: age, hasAge: hasAge}, nil
}

// setReachableTime sets a device's reachable_time from milliseconds,
// rounding up as msecs_to_jiffies does.
func setReachableTime(t *neigh.Table, dev, v string) error {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 || ms > 1<<40 {
		return fmt.Errorf("reachable_time_ms: %q is not a non-negative number of milliseconds", v)
	}
	d, ok := t.Device(dev)
	if !ok {
		return fmt.Errorf("reachable_time_ms: no device %q", dev)
	}
	d.ReachableTime = vtime.MsToTicks(ms, t.HZ)
	return nil
}
