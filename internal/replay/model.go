package replay

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"time"

	"arplab/internal/addrmap"
	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// base is the model's jiffies at the first frame: far from zero, so that
// stamps "before the capture" stay positive, and short enough to read.
const defaultBase vtime.Jiffies = 1_000_000

// devName is the one device the replayed host has.
const devName = "eth0"

// replayer is one replay in progress.
type replayer struct {
	opt   Options
	name  string
	spec  hostSpec
	sink  trace.Sink
	quiet bool

	st  *stack.Host
	tbl *neigh.Table // st.Table, read only
	sd  *stack.Device
	dev *neigh.Device // sd.Device
	hz  int64
	// base is the host's jiffies at the first frame; clock counts them
	// from model time (ns since the first frame, which falls opt.Phase
	// into its tick: Options.Jiffies, .Phase).
	base    vtime.Jiffies
	clock   vtime.Clock
	initial []initialEntry
	sec44   string // the §4.4 subsection this kernel follows
	tol     vtime.Jiffies

	host host
	// net4 and mask4 are an IPv4 host's prefix as words (onLink4).
	net4, mask4 uint32
	hostStr     string
	macStr      string

	// Clock. The anchor is the previous frame's (capture, model) time pair;
	// timers between two frames are placed on the capture's clock by it.
	started     bool
	capAnchor   int64 // capture ns (monotone)
	modelAnchor int64 // model ns since the first frame
	maxGap      int64
	now         vtime.Jiffies
	installAt   vtime.Jiffies // when initial and inferred entries are installed
	tick        tickSpan      // jiffiesAt's last answer

	// v6: the host is an IPv6 host, replayed on nd_tbl; nd is the current
	// frame's ND message.
	v6 bool
	nd ndisc.Message
	// pkt is the current frame's ARP packet, curDst its Ethernet
	// destination when the capture has one.
	pkt arp.Packet
	// curNs is the capture time of the input being fed (for timers, of
	// their tick): the time of the lines its result writes.
	curNs    int64
	curFrame int
	curIP    netip.Addr                // the entry of the decision being written
	macIP    addrmap.Words[netip.Addr] // by macKey: who has which MAC, from ARP frames
	everHad  map[netip.Addr]bool

	match    matcher
	detectNs int64 // capture time at which pending probes are being expired
	stale    *staleTracker

	until until
	// pastCapture: the timers run past the last frame (Options.Until), so
	// predicted probes cannot be checked; unverified counts them.
	pastCapture bool
	unverified  int
	nextRead    int // the next of Options.ReadAt
	verdicts    [4]int
	// marker is the sink when it takes marks (see marks.go); marked says
	// the event being written had its mark already. lineBuf holds a
	// decision's events when the marker asks for them.
	marker  trace.Marker
	marks   [2]trace.Mark
	marked  bool
	lineBuf []trace.Event
	skipped map[string]int
	sum     Summary
}

func newReplayer(opt Options, name string, sink trace.Sink) (*replayer, error) {
	spec, err := parseHost(opt.Host)
	if err != nil {
		return nil, err
	}
	prof := opt.Profile
	if prof.Name == "" {
		if prof, err = kernel.Lookup("latest"); err != nil {
			return nil, err
		}
	}
	master := rand.New(rand.NewPCG(opt.Seed, 0x7265706c6179)) // "replay"
	start := defaultBase
	if opt.Jiffies != 0 {
		start = vtime.Jiffies(opt.Jiffies)
	}
	hz := opt.HZ
	if hz == 0 {
		hz = prof.HZ
	}
	// capture time → the host's jiffies: model ns since the first frame,
	// which falls opt.Phase into tick start (checked below)
	clock := vtime.Clock{HZ: hz, Base: start, Phase: vtime.Duration(opt.Phase)}
	st, err := stack.New(stack.Config{Profile: prof, HZ: hz, Clock: clock,
		Rand: rand.New(rand.NewPCG(master.Uint64(), master.Uint64())), Start: start,
		WheelLatest: opt.Jiffies == 0 && !opt.NoAlign})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	tbl := st.Table
	// The device's MAC and address are filled in once the capture has told
	// us; the sysctls are checked now, before any frame is read.
	sd := st.AddDevice(devName, arp.MAC{}, nil)
	dev := sd.Device
	if spec.ip.Is6() {
		// An IPv6 host is replayed on nd_tbl (ndisc §0.3): its address
		// now, its MAC and link-local address once the capture says.
		st.SetAddrs(sd, arp.MAC{}, []netip.Prefix{netip.PrefixFrom(spec.ip, spec.bits)})
		tbl, dev = st.ND, sd.ND
	}
	if err := applySysctls(st, tbl, devName, opt.Sysctls); err != nil {
		return nil, err
	}
	if err := dev.Params.Validate(); err != nil {
		return nil, fmt.Errorf("replay: neighbour parameters: %w", err)
	}
	if tick := time.Second / time.Duration(tbl.HZ); opt.Phase < 0 || opt.Phase >= tick {
		return nil, fmt.Errorf("replay: phase %v is not within one tick (%v at HZ=%d)", opt.Phase, tick, tbl.HZ)
	}
	u, err := parseUntil(opt.Until)
	if err != nil {
		return nil, err
	}
	r := &replayer{v6: spec.ip.Is6(), until: u, opt: opt, name: name, spec: spec, sink: sink, st: st, tbl: tbl, sd: sd, dev: dev, hz: int64(tbl.HZ),
		base: start, clock: clock,
		everHad: map[netip.Addr]bool{}, skipped: map[string]int{}, stale: newStaleTracker()}
	st.Obs = r
	switch sink.(type) {
	case nil, trace.Discard, *trace.Discard:
		r.quiet = true
	}
	r.quiet = r.quiet || opt.Quiet
	r.marker, _ = sink.(trace.Marker)
	for _, item := range opt.Initial {
		e, err := parseInitial(item)
		if err != nil {
			return nil, err
		}
		r.initial = append(r.initial, e)
	}
	r.sec44 = section44(tbl.F)
	r.tol = r.tolerance()
	r.match.tol = r.tol
	r.maxGap = r.gapLimit()
	r.installAt = r.base - vtime.Jiffies(dev.Params.Locktime) - 1
	r.stale.opened, r.stale.closed = r.staleOpened, r.staleClosed
	r.stale.off = opt.noStale
	return r, nil
}

// section44 names the version of the §4.4 update logic the kernel follows.
func section44(f kernel.Features) string {
	switch {
	case f.ARPAcceptMax:
		return "§4.4(d)"
	case f.GARPAlwaysOverride:
		return "§4.4(c)"
	case f.GARPRequestOverride:
		return "§4.4(b)"
	}
	return "§4.4(a)"
}

// tolerance is the probe matching window in ticks (Options.ProbeTolerance).
func (r *replayer) tolerance() vtime.Jiffies {
	if d := r.opt.ProbeTolerance; d > 0 {
		return vtime.Jiffies(max((int64(d)*r.hz+999_999_999)/1e9, 1))
	}
	t := 2 + int64(vtime.MsToTicks(10, int(r.hz)))
	if r.tbl.F.TimerWheel {
		p := &r.dev.Params
		t += wheelGranularity(int64(max(p.DelayProbeTime, p.RetransTime)))
	}
	return vtime.Jiffies(t)
}

// wheelGranularity is the 4.8+ timer wheel's bucket size for a timer delta
// ticks ahead (spec §12.2; the same levels as neigh's fireTick).
func wheelGranularity(delta int64) int64 {
	shift := uint(0)
	for lvl, start := 0, int64(63); lvl < 8 && delta >= start; lvl++ {
		shift += 3
		start <<= 3
	}
	return 1 << shift
}

// gapLimit is the longest gap between two frames the model's clock takes
// whole: an hour, or four times the longest timer parameter, at most 30
// days.
func (r *replayer) gapLimit() int64 {
	p := &r.dev.Params
	m := max(p.BaseReachableTime*3/2, p.GCStaleTime, p.DelayProbeTime, p.RetransTime, p.Locktime)
	sec := 4 * int64(m) / r.hz
	return min(max(sec, 3600), 30*86400) * 1e9
}

// start sets the host up in the model and writes the header.
func (r *replayer) start(h host, rd frameSource) {
	r.host = h
	if h.prefix.Addr().Is4() {
		r.net4, r.mask4 = words4(h.prefix)
	}
	addrs := []netip.Prefix{h.prefix}
	if h.ip.Is6() {
		// the EUI-64 link-local address NUD probes come from (ndisc §2.3)
		addrs = append(addrs, netip.PrefixFrom(ndisc.LinkLocal(h.mac), 64))
	}
	r.st.SetAddrs(r.sd, h.mac, addrs)
	r.hostStr, r.macStr = h.ip.String(), h.mac.String()
	r.st.Name = r.hostStr
	r.sum = Summary{Capture: r.name, Host: h.ip, HostMAC: r.macStr, Prefix: h.prefix, Profile: r.tbl.Profile,
		HZ: r.tbl.HZ, ProbeTolerance: float64(r.tol) / float64(r.hz)}
	// The anchor for the installation of initial entries: the first frame.
	r.capAnchor, r.modelAnchor = h.first, 0
	if !r.quiet {
		r.emit(trace.Event{Time: seconds(h.first), Kind: trace.KindHeader, Source: "replay", Host: r.hostStr,
			Attrs: map[string]string{
				"source":          "replay",
				"capture":         r.name,
				"format":          rd.Format(),
				"link_type":       rd.LinkType(),
				"host":            r.hostStr,
				"host_mac":        r.macStr,
				"prefix":          h.prefix.String(),
				"identified_by":   h.how,
				"profile":         r.tbl.Profile,
				"hz":              fmt.Sprint(r.tbl.HZ),
				"seed":            fmt.Sprint(r.opt.Seed),
				"sysctls":         strings.Join(r.opt.Sysctls, " "),
				"initial":         strings.Join(r.opt.Initial, " "),
				"probe_tolerance": fmt.Sprintf("%gs", float64(r.tol)/float64(r.hz)),
				// The device's reachable_time as drawn (or set), so that a
				// run can be repeated with reachable_time_ms.
				"reachable_time_ms": fmt.Sprint(int64(r.dev.ReachableTime) * 1000 / r.hz),
			}})
	}
	// oldest first, so the model's clock never runs backwards
	ageOf := func(e initialEntry) time.Duration {
		if !e.hasAge {
			return time.Duration(r.base-r.installAt) * time.Second / time.Duration(r.hz)
		}
		return e.age
	}
	sort.SliceStable(r.initial, func(i, j int) bool { return ageOf(r.initial[i]) > ageOf(r.initial[j]) })
	for _, e := range r.initial {
		at, why := r.installAt, "given as an initial entry: installed locktime+1 ticks before the first frame"
		if e.hasAge {
			ticks := vtime.Clock{HZ: int(r.hz)}.Jiffies(vtime.Time(e.age)) // whole ticks in age
			at, why = r.base-ticks, fmt.Sprintf("given as an initial entry set %v before the first frame", e.age)
		}
		r.install(e.ip, e.mac, e.state, at, r.capOf(at), "initial", why)
	}
}

// install puts an entry that existed before the capture into the model.
// The event is written at time ns: the installation tick for initial
// entries, the frame that revealed it for inferred ones.
func (r *replayer) install(ip netip.Addr, mac arp.MAC, st neigh.State, at vtime.Jiffies, ns int64, cause, why string) {
	r.everHad[ip] = true
	// The installation writes its own line below, not the model's.
	r.st.Obs = nil
	err := r.st.Install(r.sd, ip, mac, st, at)
	r.st.Obs = r
	if err != nil {
		r.note(ns, "install-failed", ip, fmt.Sprintf("could not install %v %v %v: %v", ip, mac, st, err), nil)
		return
	}
	if r.quiet {
		return
	}
	ev := r.event(trace.KindState, ns)
	ev.IP, ev.OldState, ev.State, ev.LLAddr = ip.String(), neigh.None.String(), st.String(), mac.String()
	ev.Cause, ev.Rule, ev.Explanation = cause, "§5", why
	r.stamps(&ev, ip)
	ev.Jiffies = trace.U64(uint64(at))
	r.emit(ev)
}

// advance moves the model's clock to the frame stamped t (capture ns),
// running every timer and probe deadline due on the way.
func (r *replayer) advance(t int64) {
	var model int64
	mono := t
	if !r.started {
		r.started = true
		r.capAnchor, r.modelAnchor = t, 0
	} else {
		// The difference of two int64 stamps may not fit an int64; as
		// uint64 it is exact whenever t ≥ capAnchor.
		switch d := uint64(t) - uint64(r.capAnchor); {
		case t < r.capAnchor:
			r.sum.ClockBackwards++
			mono, model = r.capAnchor, r.modelAnchor
		case d > uint64(r.maxGap):
			r.sum.ClockJumps++
			model = r.modelAnchor + r.maxGap
		default:
			model = r.modelAnchor + int64(d)
		}
	}
	now := r.jiffiesAt(model)
	r.runUntil(now)
	r.now = now
	r.st.SetNow(now)
	r.capAnchor, r.modelAnchor = mono, model
}

// runUntil runs the model's timers and expires probe predictions and
// observations, in tick order, up to and including now.
func (r *replayer) runUntil(now vtime.Jiffies) {
	for {
		next := r.st.NextDeadline()
		if md, ok := r.match.deadline(); ok && !vtime.After(md, now) && !vtime.After(md, next) {
			r.detectNs = r.capOf(md)
			r.match.expire(md, r.missing, r.unexpected)
			continue
		}
		if vtime.After(next, now) {
			return
		}
		r.curNs, r.curFrame = r.capOf(next), 0
		r.st.Advance(next)
	}
}

// jiffiesAt converts model ns (≥ 0) to the model's jiffies (vtime's
// clock: no overflow for long captures). Frames come many to a tick, so
// the last tick's span of model ns answers most calls.
func (r *replayer) jiffiesAt(ns int64) vtime.Jiffies {
	if t := &r.tick; t.ok && ns >= t.from && ns < t.to {
		return t.j
	}
	j := r.clock.Jiffies(vtime.Time(ns))
	from, to := int64(r.clock.TimeOf(j)), int64(r.clock.TimeOf(j+1))
	// the span is the clock's own: kept only when the clock says so at
	// both ends (it always does short of overflow)
	r.tick = tickSpan{j: j, from: from, to: to,
		ok: from <= ns && ns < to && r.clock.Jiffies(vtime.Time(from)) == j && r.clock.Jiffies(vtime.Time(to)) == j+1}
	return j
}

// tickSpan is the model ns [from, to) in which the clock reads j.
type tickSpan struct {
	j        vtime.Jiffies
	from, to int64
	ok       bool
}

// capOf is the capture time (ns) at which tick j starts, by the current
// anchor.
func (r *replayer) capOf(j vtime.Jiffies) int64 {
	return r.capAnchor + (int64(r.clock.TimeOf(j)) - r.modelAnchor)
}

// words4 is an IPv4 prefix as its network and mask words.
func words4(p netip.Prefix) (net, mask uint32) {
	mask = ^uint32(0) << (32 - p.Bits()) // a /0: 0, every address
	return be32(p.Addr().As4()) & mask, mask
}

func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// onLink4 is host.prefix.Contains for an IPv4 host's IPv4 address, on
// words: replay asks it of every ARP frame and packet the host sends.
func (r *replayer) onLink4(a [4]byte) bool { return be32(a)&r.mask4 == r.net4 }

// usable4 is usableIP for an IPv4 address: not 0.0.0.0, multicast,
// loopback or the limited broadcast.
func usable4(a [4]byte) bool {
	return a != [4]byte{} && a[0]&0xf0 != 0xe0 && a[0] != 127 && a != [4]byte{255, 255, 255, 255}
}

// macIPOf is the address last seen with the MAC keyed k (macKey), the
// zero Addr when none.
func (r *replayer) macIPOf(k uint64) netip.Addr {
	ip, _ := r.macIP.Get(k)
	return ip
}
