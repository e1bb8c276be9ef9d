package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"

	"arplab/internal/garp"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
)

var runSeq atomic.Int32

// runEvents are the tracepoints a run records: every neighbour event the
// kernel has (those it lacks are skipped).
var runEvents = []string{
	"neigh_create", "neigh_update", "neigh_update_done", "neigh_timer_handler",
	"neigh_event_send_done", "neigh_event_send_dead", "neigh_cleanup_and_release",
}

// calibration namespace: a host of its own whose only purpose is to make
// the kernel stamp `updated` with jiffies while the tracer watches.
var (
	calMAC  = arp.MAC{0x02, 0xca, 0x1b, 0, 0, 1}
	calAddr = netip.MustParsePrefix("192.0.2.1/24")
	calPeer = netip.MustParseAddr("192.0.2.2")
)

// RunScenario runs s on the running kernel: one namespace per host and per
// station, a bridge per segment, the hosts' sysctls, frames injected from
// raw sockets at the scripted times, real TCP/UDP flows, and the observed
// hosts' neighbour tables read at every step and check. With tracefs the
// neigh:* tracepoints are recorded too. Everything the lab created is
// removed before it returns, also on error, and on SIGINT/SIGTERM (the
// process then exits); leftovers of killed runs are removed first. The
// run's trace (kernel side) goes to sink, which may be nil.
func RunScenario(ctx context.Context, s *scenario.Scenario, opt RunOptions, sink trace.Sink) (*LabRun, error) {
	if s == nil {
		return nil, errors.New("lab: RunScenario: no scenario")
	}
	if opt.Calibration <= 0 {
		opt.Calibration = 12 * time.Millisecond
	}
	if opt.PollPeriodic == 0 {
		opt.PollPeriodic = 20 * time.Millisecond
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	CleanStale(StalePrefix) // a killed run's leftovers; errors are not ours to fix
	prefix := opt.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("%s-r%d", DefaultPrefix(), runSeq.Add(1))
	}
	l, err := New(prefix)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.CloseOnSignal(runCtx)

	b := &runner{l: l, s: s, opt: opt, ctx: runCtx, stop: make(chan struct{}),
		run: &LabRun{Scenario: s.Name, File: s.File}}
	err = b.do()
	b.shutdown()
	if cerr := l.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if sink != nil {
		for _, ev := range b.run.Events() {
			sink.Emit(ev)
		}
	}
	return b.run, nil
}

// runner holds one run's lab objects.
type runner struct {
	l   *Lab
	s   *scenario.Scenario
	opt RunOptions
	ctx context.Context
	run *LabRun

	hosts    map[string]*Host // scenario host name → namespace
	stations map[string]*station
	devs     map[string]map[string]string // host → scenario dev → lab ifname
	observed []string                     // observed host names, scenario order
	cal      *Host
	calIf    string
	tracer   *Tracer
	recs     []*recorder
	srv      []*servers
	flows    []*flowRunner
	stop     chan struct{}
	wg       sync.WaitGroup

	mu     sync.Mutex // guards run's slices written by goroutines, owners
	owners map[netip.Addr]string
}

type station struct {
	cfg    *scenario.Station
	host   *Host
	ifname string
	port   *RawPort
	bits   map[netip.Addr]int // prefix length to use for each IP
}

func (b *runner) logf(format string, args ...any) { b.opt.Logf(format, args...) }

func (b *runner) note(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run.Notes = append(b.run.Notes, fmt.Sprintf(format, args...))
}

func (b *runner) do() error {
	var err error
	r := b.run
	if r.Release, err = KernelRelease(); err != nil {
		return err
	}
	if r.HZ, r.HZMethod, err = DetectHZ(); err != nil {
		return err
	}
	b.notes()
	if err := b.build(); err != nil {
		return err
	}
	if err := b.configure(); err != nil {
		return err
	}
	first, err := b.calibrate("start")
	if err != nil {
		return err
	}
	if err := b.script(); err != nil {
		return err
	}
	last, err := b.calibrate("end")
	if err != nil {
		return err
	}
	return b.collect(append(first, last...))
}

// notes records what the lab does not reproduce.
func (b *runner) notes() {
	for _, g := range b.s.Segments {
		if g.Loss > 0 {
			b.note("segment %s: loss %v is not reproduced (frames are never lost in the lab)", g.Name, g.Loss)
		}
		if g.Jitter.D > 0 {
			b.note("segment %s: latency and jitter are not reproduced (veth pairs and a bridge: microseconds)", g.Name)
		}
	}
	for _, h := range b.s.Hosts {
		for _, n := range h.Neighbours {
			if n.Age.D > 0 {
				b.note("host %s neighbour %v: age %v is not reproduced (the entry is created at t=0)", h.Name, n.IP, n.Age.D)
			}
		}
		if h.HZ != 0 || len(h.Patches) > 0 {
			b.note("host %s: patches and hz describe a simulated kernel; the lab runs the running kernel", h.Name)
		}
	}
	for _, e := range b.s.Script {
		if e.Vary.D > 0 {
			b.note("script line %d: vary is ignored (single run at the written time)", e.Line)
		}
	}
}

// build creates the namespaces, bridges and links.
func (b *runner) build() error {
	l := b.l
	b.hosts, b.stations = map[string]*Host{}, map[string]*station{}
	b.devs, b.owners = map[string]map[string]string{}, map[netip.Addr]string{}
	segs := map[string]*Segment{}
	for _, g := range b.s.Segments {
		seg, err := l.AddSegmentWith(g.Name, SegmentOptions{FloodUnknown: g.FloodUnknown})
		if err != nil {
			return err
		}
		segs[g.Name] = seg
	}
	observed := map[int]bool{}
	for _, i := range b.s.Observed() {
		observed[i] = true
	}
	segPrefixes := map[string][]netip.Prefix{}
	for hi := range b.s.Hosts {
		hc := &b.s.Hosts[hi]
		h, err := l.AddHost("h-" + hc.Name)
		if err != nil {
			return err
		}
		b.hosts[hc.Name] = h
		rh := RunHost{Name: hc.Name, NS: h.NSName(), Observed: observed[hi]}
		b.devs[hc.Name] = map[string]string{}
		for ii, ic := range hc.Interfaces {
			ifname := l.IfName(fmt.Sprintf("h%di%d", hi, ii))
			var addrs []netip.Prefix
			for _, a := range ic.Addrs {
				addrs = append(addrs, a.Prefix)
				segPrefixes[ic.Segment] = append(segPrefixes[ic.Segment], a.Prefix.Masked())
			}
			if err := l.Attach(h, ifname, segs[ic.Segment], ic.MAC.MAC, addrs); err != nil {
				return err
			}
			b.devs[hc.Name][ic.Name] = ifname
			rh.Devs = append(rh.Devs, RunDev{Name: ic.Name, IfName: ifname, MAC: ic.MAC.MAC, Addrs: addrs})
		}
		if rh.Observed {
			b.observed = append(b.observed, hc.Name)
		}
		b.run.Hosts = append(b.run.Hosts, rh)
	}
	for si := range b.s.Stations {
		sc := &b.s.Stations[si]
		h, err := l.AddHost("s-" + sc.Name)
		if err != nil {
			return err
		}
		st := &station{cfg: sc, host: h, ifname: l.IfName(fmt.Sprintf("s%d", si)), bits: map[netip.Addr]int{}}
		var addrs []netip.Prefix
		for _, ip := range sc.IPs {
			p := st.prefixFor(ip.Addr, segPrefixes[sc.Segment])
			if p.Bits() == 32 {
				b.note("station %s: %v is in no host subnet of segment %s: added as /32", sc.Name, ip, sc.Segment)
			}
			addrs = append(addrs, p)
			b.owners[ip.Addr] = sc.Name
		}
		// Moves need the prefix length of every IP any station may get.
		for _, e := range b.s.Script {
			if e.Move != nil {
				st.prefixFor(e.Move.IP.Addr, segPrefixes[sc.Segment])
			}
		}
		if err := l.Attach(h, st.ifname, segs[sc.Segment], sc.MAC.MAC, addrs); err != nil {
			return err
		}
		if st.port, err = h.OpenRaw(st.ifname); err != nil {
			return err
		}
		b.stations[sc.Name] = st
	}
	// The calibration host.
	cal, err := l.AddHost("cal")
	if err != nil {
		return err
	}
	calSeg, err := l.AddSegment("cal")
	if err != nil {
		return err
	}
	b.cal, b.calIf = cal, l.IfName("cal")
	return l.Attach(cal, b.calIf, calSeg, calMAC, []netip.Prefix{calAddr})
}

// prefixFor gives a station address the prefix length of the host subnet
// that contains it (so the station can answer TCP), else /32.
func (st *station) prefixFor(ip netip.Addr, subnets []netip.Prefix) netip.Prefix {
	if bits, ok := st.bits[ip]; ok {
		return netip.PrefixFrom(ip, bits)
	}
	bits := 32
	for _, p := range subnets {
		if p.Contains(ip) {
			bits = p.Bits()
			break
		}
	}
	st.bits[ip] = bits
	return netip.PrefixFrom(ip, bits)
}

// labSysctl maps a scenario sysctl key to the lab's path, or says why it
// cannot be set inside a namespace.
func (b *runner) labSysctl(host, key string) (string, error) {
	kind, dev, name, err := scenario.SplitSysctl(key)
	if err != nil {
		return "", err
	}
	switch dev {
	case "all", "default":
		if kind == "neigh" {
			return "", fmt.Errorf("neigh/default exists only in the initial namespace (its gc_thresh* are global to the machine): not set in the lab")
		}
	default:
		ifname, ok := b.devs[host][dev]
		if !ok {
			return "", fmt.Errorf("no interface %q on %s", dev, host)
		}
		dev = ifname
	}
	return fmt.Sprintf("net/ipv4/%s/%s/%s", kind, dev, name), nil
}

// configure applies the hosts' sysctls, starts the recorders, tracer,
// servers and responders, and reads the parameters in force.
func (b *runner) configure() error {
	for hi := range b.s.Hosts {
		hc := &b.s.Hosts[hi]
		keys := make([]string, 0, len(hc.Sysctls))
		for k := range hc.Sysctls {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rec := b.writeSysctl(hc.Name, k, hc.Sysctls[k], -1)
			if rec.Err != "" {
				b.note("host %s: sysctl %s=%s: %s", hc.Name, k, hc.Sysctls[k], rec.Err)
			}
		}
	}
	// Servers in every namespace, so flows reach whoever owns an IP.
	for _, h := range b.hosts {
		srv, err := h.startServers()
		if err != nil {
			return err
		}
		b.srv = append(b.srv, srv)
	}
	for _, st := range b.stations {
		srv, err := st.host.startServers()
		if err != nil {
			return err
		}
		b.srv = append(b.srv, srv)
	}
	// Recorders and the tracer on the observed hosts' interfaces.
	var trDevs []string
	for _, name := range b.observed {
		rh := b.run.Host(name)
		for _, d := range rh.Devs {
			rec, err := b.hosts[name].startRecorder(name, d.Name, d.IfName)
			if err != nil {
				return err
			}
			b.recs = append(b.recs, rec)
			trDevs = append(trDevs, d.IfName)
		}
	}
	if b.opt.NoTrace {
		b.run.TraceNote = "tracepoints not used (NoTrace)"
	} else {
		t, err := b.l.StartTracer(TracerOptions{Events: runEvents, Devs: append(trDevs, b.calIf), BufferKB: 8192})
		if err != nil {
			b.run.TraceNote = "no tracepoint oracle: " + err.Error()
			b.note("%s; frame verdicts are unknown, only table snapshots are compared", b.run.TraceNote)
		} else if t.Clock() != "mono" {
			t.Close()
			b.run.TraceNote = "the trace clock cannot be set to mono"
			b.note("%s; frame verdicts are unknown", b.run.TraceNote)
		} else {
			b.tracer = t
			b.run.TraceOK = true
		}
	}
	// Answers to probes unicast to another MAC (spec §11 Q5).
	for _, st := range b.stations {
		if st.cfg.AnswerForeignProbes {
			b.wg.Add(1)
			go b.answerForeign(st)
		}
	}
	return b.readParams()
}

// readParams records the parameters in force on every host.
func (b *runner) readParams() error {
	for i := range b.run.Hosts {
		rh := &b.run.Hosts[i]
		h := b.hosts[rh.Name]
		info, parms, err := h.NeighTable()
		if err != nil {
			return err
		}
		if i == 0 {
			b.run.Table = info
		}
		links, err := h.Links()
		if err != nil {
			return err
		}
		if rh.ConfAll, err = h.readConf("all"); err != nil {
			return err
		}
		for j := range rh.Devs {
			d := &rh.Devs[j]
			for _, ln := range links {
				if ln.Name == d.IfName {
					d.Params = parms[ln.Index]
				}
			}
			if d.Conf, err = h.readConf(d.IfName); err != nil {
				return err
			}
		}
	}
	return nil
}

// params reads every interface's parameters and conf of one host, keyed
// by scenario interface name.
func (b *runner) params(host string) (TableInfo, map[string]NeighParams, map[string]map[string]string, map[string]string) {
	h := b.hosts[host]
	info, parms, err := h.NeighTable()
	if err != nil {
		return info, nil, nil, nil
	}
	links, _ := h.Links()
	idx := map[string]int{}
	for _, ln := range links {
		idx[ln.Name] = ln.Index
	}
	out := map[string]NeighParams{}
	conf := map[string]map[string]string{}
	for dev, ifname := range b.devs[host] {
		out[dev] = parms[idx[ifname]]
		conf[dev], _ = h.readConf(ifname)
	}
	all, _ := h.readConf("all")
	return info, out, conf, all
}

func (b *runner) writeSysctl(host, key, value string, event int) RunSysctl {
	rec := RunSysctl{Host: host, Key: key, Value: value, Event: event}
	path, err := b.labSysctl(host, key)
	rec.BeforeNs = MonoNs(time.Now())
	if err == nil {
		rec.Path = path
		err = b.hosts[host].SetSysctl(path, value)
	}
	rec.AfterNs = MonoNs(time.Now())
	if err != nil {
		rec.Err = err.Error()
	}
	_, rec.Params, rec.Conf, rec.ConfAll = b.params(host)
	b.mu.Lock()
	b.run.Sysctls = append(b.run.Sysctls, rec)
	b.mu.Unlock()
	return rec
}

// calibrate makes the kernel stamp jiffies while the tracer watches: a
// burst of `ip neigh replace` on the calibration host, alternating the
// address so that every one is an effective update.
func (b *runner) calibrate(what string) ([]ClockSample, error) {
	if b.tracer == nil {
		return timerListSamples(b.opt.Calibration)
	}
	start := MonoNs(time.Now())
	for i := 0; ; i++ {
		mac := arp.MAC{0x02, 0xca, 0x1b, 0, 1, byte(i & 1)}
		err := b.cal.NeighSet(NeighReplace, NeighSpec{Dev: b.calIf, IP: calPeer, LLAddr: mac, HasLLAddr: true, State: "stale"})
		if err != nil {
			return nil, fmt.Errorf("lab: calibration: %w", err)
		}
		if MonoNs(time.Now())-start > int64(b.opt.Calibration) && i >= 20 {
			break
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := b.tracer.Sync(ctx); err != nil {
		return nil, fmt.Errorf("lab: calibration: %w", err)
	}
	var out []ClockSample
	var pre *TraceEvent
	for _, ev := range b.tracer.Events() {
		if ev.Dev != b.calIf || ev.TimestampNs < start {
			continue
		}
		switch ev.Event {
		case "neigh_update":
			e := ev
			pre = &e
		case "neigh_update_done":
			if pre != nil && changed(pre, &ev) {
				out = append(out, ClockSample{Ns: ev.TimestampNs, J: ev.Updated})
			}
			pre = nil
		}
	}
	b.logf("calibration (%s): %d jiffies samples", what, len(out))
	if len(out) == 0 {
		return nil, fmt.Errorf("lab: calibration: the tracer saw no neigh_update_done on %s", b.calIf)
	}
	return out, nil
}

// timerListSamples reads jiffies from /proc/timer_list when there is no
// tracer: coarser (the read takes a while), but enough to place the grid.
func timerListSamples(d time.Duration) ([]ClockSample, error) {
	var out []ClockSample
	end := time.Now().Add(d)
	for time.Now().Before(end) || len(out) < 5 {
		j, at, err := readJiffies()
		if err != nil {
			return nil, err
		}
		out = append(out, ClockSample{Ns: MonoNs(at), J: j})
	}
	return out, nil
}

// action is one timed step of the script.
type action struct {
	at    int64 // ns after the epoch
	seq   int
	event int // script index, -1 for checks and set-up
	check int // check index, -1 if none
	what  string
	fn    func() // nil for a pure snapshot
}

// script runs the timeline: initial entries at t = 0, script events and
// checks at their times, a snapshot after each, until the duration ends.
func (b *runner) script() error {
	var acts []action
	add := func(a action) {
		a.seq = len(acts)
		acts = append(acts, a)
	}
	for hi := range b.s.Hosts {
		hc := &b.s.Hosts[hi]
		if len(hc.Interfaces) == 0 {
			continue
		}
		dev0 := hc.Interfaces[0].Name
		// Unrelated entries (as the simulator makes them).
		if hc.Entries > 0 {
			name := hc.Name
			n := hc.Entries
			add(action{at: 0, event: -1, check: -1, what: fmt.Sprintf("%d unrelated entries on %s", n, name), fn: func() {
				for i := 0; i < n; i++ {
					ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
					mac := arp.MAC{0x02, 0xee, 0, 0, byte(i >> 8), byte(i)}
					b.admin(name, fmt.Sprintf("replace %v lladdr %v nud stale dev %s", ip, mac, dev0), -1)
				}
			}})
		}
		for _, n := range hc.Neighbours {
			name := hc.Name
			cmd := fmt.Sprintf("replace %v lladdr %v nud %s dev %s", n.IP, n.LLAddr, strings.ToLower(n.State), n.Dev)
			add(action{at: 0, event: -1, check: -1, what: "neighbour " + n.IP.String(), fn: func() { b.admin(name, cmd, -1) }})
		}
	}
	for i := range b.s.Script {
		e := &b.s.Script[i]
		at := int64(e.At.D)
		idx := i
		switch {
		case e.Move != nil:
			m := e.Move
			add(action{at: at, event: i, check: -1, what: fmt.Sprintf("move %v to %s", m.IP, m.To), fn: func() { b.move(m.IP.Addr, m.To) }})
		case e.GARP != nil:
			g := e.GARP
			st := b.stations[g.From]
			frames, err := garp.Schedule(g.PresetName(), st.cfg.MAC.MAC, g.IP.Addr, g.Options())
			if err != nil {
				return fmt.Errorf("%s:%d: garp: %w", b.s.File, e.Line, err)
			}
			for k, f := range frames {
				fr, kk := f, k
				add(action{at: at + int64(f.At), event: i, check: -1,
					what: fmt.Sprintf("garp %s #%d from %s", g.PresetName(), k+1, g.From),
					fn:   func() { b.sendGARP(st, fr, idx, kk, g.PresetName()) }})
			}
		case e.Flow != nil:
			f := e.Flow
			add(action{at: at, event: i, check: -1, what: "flow " + f.Name, fn: func() { b.startFlow(f, idx) }})
		case e.Neigh != nil:
			n := e.Neigh
			add(action{at: at, event: i, check: -1, what: "ip neigh " + n.Cmd, fn: func() { b.admin(n.Host, n.Cmd, idx) }})
		case e.Sysctl != nil:
			sc := e.Sysctl
			add(action{at: at, event: i, check: -1, what: "sysctl " + sc.Key + "=" + sc.Value, fn: func() {
				if rec := b.writeSysctl(sc.Host, sc.Key, sc.Value, idx); rec.Err != "" {
					b.note("script line %d: sysctl %s: %s", e.Line, sc.Key, rec.Err)
				}
			}})
		}
	}
	for ci := range b.s.Checks {
		c := &b.s.Checks[ci]
		if c.Flow != "" {
			continue
		}
		add(action{at: int64(c.At.D), event: -1, check: ci, what: fmt.Sprintf("check %d", ci)})
	}
	// Events before checks at the same time: a check sees what happened
	// at its instant.
	sort.SliceStable(acts, func(i, j int) bool {
		if acts[i].at != acts[j].at {
			return acts[i].at < acts[j].at
		}
		return acts[i].check < 0 && acts[j].check >= 0
	})

	// Periodic-work watcher.
	if b.opt.PollPeriodic > 0 {
		b.wg.Add(1)
		go b.watchPeriodic()
	}
	epoch := MonoNs(time.Now()) + int64(20*time.Millisecond)
	b.run.EpochNs = epoch
	b.logf("epoch: t=0 at mono %d", epoch)
	for _, a := range acts {
		if !sleepUntil(b.ctxDone(), epoch+a.at) {
			return b.ctx.Err()
		}
		if a.fn != nil {
			a.fn()
		}
		reason := a.what
		if a.check < 0 && a.event >= 0 {
			reason = fmt.Sprintf("step %d (%s)", a.event, a.what)
		}
		b.snapshot(reason, a.check, a.event)
		b.logf("%8.4fs %s", float64(MonoNs(time.Now())-epoch)/1e9, a.what)
	}
	end := epoch + int64(b.s.Duration.D)
	if !sleepUntil(b.ctxDone(), end) {
		return b.ctx.Err()
	}
	b.run.EndNs = end
	b.snapshot("end", -1, -1)
	close(b.stop)
	b.wg.Wait()
	return nil
}

func (b *runner) ctxDone() <-chan struct{} { return b.ctx.Done() }

// snapshot reads every observed host's table.
func (b *runner) snapshot(reason string, check, event int) {
	for _, name := range b.observed {
		h := b.hosts[name]
		sn := RunSnapshot{Host: name, Reason: reason, Check: check, Event: event, BeforeNs: MonoNs(time.Now())}
		for dev, ifname := range b.devs[name] {
			ns, err := h.Neighbours(ifname)
			if err != nil {
				sn.Err = err.Error()
				continue
			}
			for _, n := range ns {
				n.Dev = dev
				sn.Entries = append(sn.Entries, n)
			}
		}
		sn.AfterNs = MonoNs(time.Now())
		sort.Slice(sn.Entries, func(i, j int) bool {
			if sn.Entries[i].Dev != sn.Entries[j].Dev {
				return sn.Entries[i].Dev < sn.Entries[j].Dev
			}
			return sn.Entries[i].IP.Less(sn.Entries[j].IP)
		})
		b.mu.Lock()
		b.run.Snapshots = append(b.run.Snapshots, sn)
		b.mu.Unlock()
	}
}

// admin runs an `ip neigh` command on a host.
func (b *runner) admin(host, cmd string, event int) {
	rec := RunAdmin{Host: host, Cmd: cmd, Event: event}
	c, err := scenario.ParseNeighCmd(cmd)
	h := b.hosts[host]
	rec.BeforeNs = MonoNs(time.Now())
	if err == nil {
		ifname, ok := b.devs[host][c.Dev]
		switch {
		case !ok:
			err = fmt.Errorf("no interface %q on %s", c.Dev, host)
		case c.Op.String() == "del":
			err = h.NeighDel(ifname, c.IP)
		case c.Op.String() == "flush":
			_, err = h.NeighFlush(ifname)
		default:
			spec := NeighSpec{Dev: ifname, IP: c.IP, State: c.State.String()}
			if c.LLAddr != nil {
				spec.LLAddr, spec.HasLLAddr = *c.LLAddr, true
			}
			op := map[string]NeighOp{"add": NeighAdd, "change": NeighChange, "replace": NeighReplace}[c.Op.String()]
			err = h.NeighSet(op, spec)
		}
	}
	rec.AfterNs = MonoNs(time.Now())
	if err != nil {
		rec.Err = err.Error()
	}
	b.mu.Lock()
	b.run.Admin = append(b.run.Admin, rec)
	b.mu.Unlock()
}

// move gives ip to station to: `ip addr del` on the owner, `ip addr add`
// on the new one.
func (b *runner) move(ip netip.Addr, to string) {
	b.mu.Lock()
	from := b.owners[ip]
	b.owners[ip] = to
	b.mu.Unlock()
	rec := RunMove{IP: ip, From: from, To: to, BeforeNs: MonoNs(time.Now())}
	var err error
	if old := b.stations[from]; old != nil && from != to {
		err = old.addr(ip, false)
	}
	if nw := b.stations[to]; err == nil && nw != nil && from != to {
		err = nw.addr(ip, true)
	}
	rec.AfterNs = MonoNs(time.Now())
	if err != nil {
		rec.Err = err.Error()
	}
	b.mu.Lock()
	b.run.Moves = append(b.run.Moves, rec)
	b.mu.Unlock()
}

func (st *station) addr(ip netip.Addr, add bool) error {
	p := netip.PrefixFrom(ip, st.bits[ip])
	return st.host.withNL(func(hd *netlink.Handle) error {
		link, err := hd.LinkByName(st.ifname)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(ip.AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}}
		if add {
			return hd.AddrAdd(link, a)
		}
		return hd.AddrDel(link, a)
	})
}

// sendGARP injects one frame of a schedule from the station's raw port.
func (b *runner) sendGARP(st *station, f garp.Frame, event, k int, preset string) {
	frame := make([]byte, 0, 14+arp.Len)
	frame = append(frame, f.EthDst[:]...)
	frame = append(frame, st.cfg.MAC.MAC[:]...)
	frame = append(frame, 0x08, 0x06)
	frame = f.Packet.Append(frame)
	rec := RunSend{Station: st.cfg.Name, Event: event, Frame: k, Cause: preset, Data: frame}
	rec.BeforeNs = MonoNs(time.Now())
	after, err := st.port.Send(frame)
	rec.AfterNs = MonoNs(after)
	if err != nil {
		rec.Err = err.Error()
	}
	b.mu.Lock()
	b.run.Sends = append(b.run.Sends, rec)
	b.mu.Unlock()
}

// answerForeign answers ARP requests for the station's IPs that reached
// it only because the segment floods (unicast to another MAC), which the
// kernel would drop (spec §11 Q5: answer_foreign_probes).
func (b *runner) answerForeign(st *station) {
	defer b.wg.Done()
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	go func() {
		select {
		case <-b.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		f, err := st.port.Recv(ctx)
		if err != nil {
			return
		}
		if f.Type != PacketOtherHost || len(f.Data) < 14+arp.Len {
			continue
		}
		var p arp.Packet
		if p.Unmarshal(f.Data[14:]) != nil || p.Op != arp.OpRequest || p.SIP == p.TIP {
			continue
		}
		b.mu.Lock()
		owner := b.owners[p.TIP]
		b.mu.Unlock()
		if owner != st.cfg.Name {
			continue
		}
		mac := st.cfg.MAC.MAC
		rep := arp.NewPacket(arp.OpReply, mac, p.TIP, p.SHA, p.SIP)
		var src arp.MAC
		copy(src[:], f.Data[6:12])
		frame := append(append(append([]byte{}, src[:]...), mac[:]...), 0x08, 0x06)
		frame = rep.Append(frame)
		rec := RunSend{Station: st.cfg.Name, Event: -1, Cause: "answer-foreign-probe", Data: frame, BeforeNs: MonoNs(time.Now())}
		after, err := st.port.Send(frame)
		rec.AfterNs = MonoNs(after)
		if err != nil {
			rec.Err = err.Error()
		}
		b.mu.Lock()
		b.run.Sends = append(b.run.Sends, rec)
		b.mu.Unlock()
	}
}

// startFlow starts a real flow from a host.
func (b *runner) startFlow(f *scenario.Flow, event int) {
	rec := &RunFlow{Name: f.Name, Kind: f.Kind, From: f.From, To: f.To.Addr, Confirm: f.Confirm, StartNs: MonoNs(time.Now())}
	rec.PeerPort = flowTCPPort
	if f.Kind == "udp" {
		rec.PeerPort = flowUDPPort
	}
	until := b.run.EpochNs + int64(b.s.Duration.D)
	if f.Until.D > 0 {
		until = min(until, b.run.EpochNs+int64(f.Until.D))
	}
	fr := &flowRunner{h: b.hosts[f.From], rec: rec, interval: time.Duration(f.Interval.D), timeout: time.Duration(f.Timeout.D), until: until, stop: b.stop}
	b.mu.Lock()
	b.flows = append(b.flows, fr)
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fr.run()
	}()
}

// watchPeriodic notices runs of the table's periodic work and reads the
// parameters after each (it may re-randomise reachable_time).
func (b *runner) watchPeriodic() {
	defer b.wg.Done()
	prev, err := readArpCacheRuns()
	if err != nil {
		b.note("periodic work not watched: %v", err)
		return
	}
	prevNs := MonoNs(time.Now())
	tk := time.NewTicker(b.opt.PollPeriodic)
	defer tk.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.ctx.Done():
			return
		case <-tk.C:
		}
		n, err := readArpCacheRuns()
		now := MonoNs(time.Now())
		if err != nil || n == prev {
			prevNs = now
			continue
		}
		prev = n
		rec := RunPeriodic{AfterNs: prevNs, BeforeNs: now, Params: map[string]map[string]NeighParams{}, HostEntries: map[string]int{}}
		for _, name := range b.observed {
			info, ps, _, _ := b.params(name)
			rec.Table = info
			rec.Params[name] = ps
			cnt := 0
			for _, ifname := range b.devs[name] {
				ns, _ := b.hosts[name].Neighbours(ifname)
				cnt += len(ns)
			}
			rec.HostEntries[name] = cnt
		}
		prevNs = MonoNs(time.Now())
		b.mu.Lock()
		b.run.Periodic = append(b.run.Periodic, rec)
		b.mu.Unlock()
	}
}

// collect stops the recorders and the tracer and fits the clock.
func (b *runner) collect(cal []ClockSample) error {
	var frames []RunFrame
	for _, r := range b.recs {
		fs, err := r.stop()
		if err != nil {
			b.note("capture on %s/%s: %v", r.host, r.dev, err)
		}
		frames = append(frames, fs...)
	}
	b.recs = nil
	slices.SortStableFunc(frames, func(a, c RunFrame) int {
		switch {
		case a.AtNs < c.AtNs:
			return -1
		case a.AtNs > c.AtNs:
			return 1
		}
		return 0
	})
	b.run.Frames = frames
	for _, f := range b.flows {
		f.mu.Lock()
		b.run.Flows = append(b.run.Flows, *f.rec)
		f.mu.Unlock()
	}
	if b.tracer != nil {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := b.tracer.Sync(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("lab: collect trace: %w", err)
		}
		for _, ev := range b.tracer.Events() {
			if ev.Dev == b.calIf {
				continue
			}
			b.run.Trace = append(b.run.Trace, ev)
		}
		b.run.TraceLost = b.tracer.Lost()
		if b.run.TraceLost > 0 {
			b.note("the trace buffer overran: %d tracepoint events lost", b.run.TraceLost)
		}
		if errs := b.tracer.ParseErrors(); len(errs) > 0 {
			b.note("%d trace lines could not be parsed, e.g. %v", len(errs), errs[0])
		}
	}
	b.run.Checks = EvalChecks(b.run, b.s.Checks)
	c, err := FitClock(b.run.HZ, cal)
	if err != nil {
		return err
	}
	for _, s := range b.run.StampSamples() {
		if c.Jiffies(s.Ns) != s.J {
			c.Misfits++
		}
	}
	b.run.Clock = c
	return nil
}

// shutdown stops what the run started; the lab removes the rest.
func (b *runner) shutdown() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.wg.Wait()
	for _, r := range b.recs {
		r.stop()
	}
	for _, s := range b.srv {
		s.close()
	}
}
