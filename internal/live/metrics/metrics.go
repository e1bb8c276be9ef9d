// Package metrics exports what the live watcher (arplab/internal/live/watch)
// decides as Prometheus metrics, so that a fleet of hosts can be watched
// from one Prometheus instead of one terminal per host.
//
// node_exporter's ARP collector counts entries per device and nothing
// else; the watcher knows which GARPs a host ignored and which entries still
// point at a MAC that has gone (spec §4.4, §5, §10). Exporter implements
// watch.Observer: the watcher calls it from its loop with typed values,
// and it turns them into counters and gauges with bounded label sets
// (device, verdict, rule, state; per-IP labels only when asked for, and
// then capped, with the overflow counted). The exposition is client_golang's.
//
// The per-event path does not allocate in steady state: every counter a
// device can touch is resolved once (lazily) into arrays indexed by the
// watcher's enums, and gauges that depend on the table (entries by state,
// dead-MAC spells) are kept as numbers under a mutex and turned into
// metrics only when Prometheus scrapes.
//
// docs/metrics.md lists every metric and the alerting rules in deploy/.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package metrics

import (
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"arplab/internal/live/doctor"
	"arplab/internal/live/watch"
)

// Namespace prefixes every metric name.
const Namespace = "arplab"

// DefaultPerIPMax is the default cap on per-IP series (--per-ip-max).
const DefaultPerIPMax = 256

// Options configure an Exporter.
type Options struct {
	// PerIP adds per-IP series (GARPs by IP and verdict, dead-MAC spells
	// by IP and MAC) for the first PerIPMax (device, IP) pairs seen.
	PerIP    bool
	PerIPMax int
	// Settings reads the host's ARP sysctls and kernel profile for the
	// info metrics (normally doctor.Inspect on the watched namespace);
	// nil leaves them out. It is called at most every SettingsEvery
	// (default 30 s), from a scrape.
	Settings      func() (doctor.Report, error)
	SettingsEvery time.Duration
	// Now is the clock for spell ages at scrape time (default time.Now).
	Now func() time.Time
	// Note, if set, is told from the watcher's loop what the operator
	// should know beside the metrics (with --quiet there is no stream to
	// say it): the per-IP cap first reached (new pairs are then counted in
	// arplab_per_ip_overflow_total only), the tracepoint unavailable or
	// lost.
	Note func(string)
}

// Exporter is a watch.Observer that keeps Prometheus metrics.
type Exporter struct {
	opt Options
	reg *prometheus.Registry
	// collectors are the ones registered, for Descs.
	collectors []prometheus.Collector

	garp        *prometheus.CounterVec
	frames      *prometheus.CounterVec
	transitions *prometheus.CounterVec
	failures    *prometheus.CounterVec
	probes      *prometheus.CounterVec
	ignored     *prometheus.CounterVec
	garpByIP    *prometheus.CounterVec
	nd          *prometheus.CounterVec
	ndProbes    *prometheus.CounterVec

	tpAvailable prometheus.Gauge
	eventsLost  prometheus.Counter
	framesLost  prometheus.Counter
	resyncs     [2]prometheus.Counter // other, enobufs
	overflow    prometheus.Counter

	// trans caches transitions[family][from][to]; only the loop
	// goroutine touches the caches.
	trans [2][watch.NumStates][watch.NumStates]prometheus.Counter
	ndc   map[ndKey]prometheus.Counter
	devs  map[string]*device
	ips   map[ipKey]*ipSeries
	// capSaid: Options.Note was told the per-IP cap was reached.
	capSaid bool

	// mu guards the table-derived state read by scrapes.
	mu      sync.Mutex
	entries map[famKey]*[watch.NumStates]int64
	spells  map[ipKey]spell
	closed  map[deadKey]float64 // seconds of ended spells
	// shown is the last dead-MAC seconds value each key was scraped at:
	// the counter never goes below it (see tableCollector.Collect).
	shown   map[deadKey]float64
	tracked int // admitted per-IP pairs (for the gauge)

	settingsMu sync.Mutex
	settings   doctor.Report
	settingsOK bool
	settingsAt time.Time
	settingsEr string
}

// device holds one interface's resolved counters.
type device struct {
	name     string
	garp     [3][watch.NumVerdicts][watch.NumRules]prometheus.Counter // by announcement shape
	frames   [watch.NumVerdicts][watch.NumRules]prometheus.Counter
	probes   [2]prometheus.Counter // broadcast, unicast
	ndProbes [2]prometheus.Counter
	failures [2]prometheus.Counter // by family (ipv4, ipv6)
	ignored  [watch.NumRules]prometheus.Counter
}

// familyNames are the values of the family label: arp_tbl's entries and
// nd_tbl's (spec linux-ndisc §0.3).
var familyNames = [2]string{"ipv4", "ipv6"}

// family is the index in families of ip's table.
func family(ip netip.Addr) int {
	if ip.Is4() || ip.Is4In6() {
		return 0
	}
	return 1
}

// famKey is a device's table of one family.
type famKey struct {
	dev    string
	family int
}

// ndKey is one combination of the ND counter's labels.
type ndKey struct {
	dev, typ, verdict, reason string
}

type ipKey struct {
	dev string
	ip  netip.Addr
}

type ipSeries struct {
	garp [watch.NumVerdicts]prometheus.Counter
}

type deadKey struct {
	dev    string
	reason watch.DeadReason
}

// spell is an entry currently pointing at a dead MAC.
type spell struct {
	mac    string
	reason watch.DeadReason
	since  time.Time
}

// New returns an Exporter with its own registry (Go runtime and process
// metrics included).
func New(opt Options) *Exporter {
	if opt.PerIPMax <= 0 {
		opt.PerIPMax = DefaultPerIPMax
	}
	if opt.SettingsEvery <= 0 {
		opt.SettingsEvery = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	e := &Exporter{opt: opt, reg: prometheus.NewRegistry(),
		devs: map[string]*device{}, ips: map[ipKey]*ipSeries{},
		ndc: map[ndKey]prometheus.Counter{}, entries: map[famKey]*[watch.NumStates]int64{}, spells: map[ipKey]spell{}, closed: map[deadKey]float64{}, shown: map[deadKey]float64{}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		e.register(v)
		return v
	}
	e.garp = counter("garp_received_total",
		"ARP frames announcing their own address (sip == tip) received, by shape, verdict and the rule that decided it.",
		"dev", "shape", "verdict", "rule")
	e.frames = counter("arp_frames_received_total",
		"ARP frames received by the watched host, by verdict and the rule that decided it (locktime: a reply or request inside locktime, a probe's reply among them).",
		"dev", "verdict", "rule")
	e.transitions = counter("neighbour_transitions_total",
		"Neighbour entry state changes seen on netlink (NONE: appeared or deleted), by family (ipv4: ARP, ipv6: ND).", "family", "from", "to")
	e.failures = counter("neighbour_resolution_failures_total", "Entries that became FAILED (resolution gave up).", "dev", "family")
	e.nd = counter("nd_received_total",
		"IPv6 neighbour discovery messages received (NA, NS, RS, RA, redirect), by type, verdict and the reason for one other than honoured.",
		"dev", "type", "verdict", "reason")
	e.ndProbes = counter("nd_solicitations_sent_total", "Neighbour solicitations this host sent (unicast: to the cached MAC).", "dev", "kind")
	e.probes = counter("arp_probes_sent_total", "ARP solicitations this host sent (unicast: to the cached MAC).", "dev", "kind")
	e.ignored = counter("tracepoint_ignored_updates_total",
		"neigh_update calls the kernel ignored, seen on the neigh:neigh_update tracepoint.", "dev", "rule")
	if opt.PerIP {
		e.garpByIP = counter("garp_received_by_ip_total",
			"GARPs by announced IP and verdict (--per-ip; capped, see arplab_per_ip_series_cap).", "dev", "ip", "verdict")
	}
	e.tpAvailable = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "watch_tracepoint_available",
		Help: "1 when the neigh:neigh_update tracepoint is being read, 0 when the watcher runs without it."})
	e.eventsLost = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "watch_tracepoint_events_lost_total",
		Help: "Tracepoint events the tracefs ring buffer dropped."})
	e.framesLost = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "watch_frames_lost_total",
		Help: "ARP frames the kernel dropped from the watcher's AF_PACKET socket because the watcher fell behind (PACKET_STATISTICS)."})
	resyncs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "watch_netlink_resyncs_total",
		Help: "Neighbour-table re-reads after the netlink subscription ended, by cause (enobufs: a buffer overrun)."}, []string{"cause"})
	e.resyncs = [2]prometheus.Counter{resyncs.WithLabelValues("other"), resyncs.WithLabelValues("enobufs")}
	e.overflow = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "per_ip_overflow_total",
		Help: "Per-IP observations not given their own series because --per-ip-max pairs were already tracked."})
	e.register(e.tpAvailable, e.eventsLost, e.framesLost, resyncs, e.overflow,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		tableCollector{e}, settingsCollector{e})
	return e
}

// register registers cs and remembers them for Descs.
func (e *Exporter) register(cs ...prometheus.Collector) {
	e.reg.MustRegister(cs...)
	e.collectors = append(e.collectors, cs...)
}

// Descs describes every metric the exporter registered, whether or not it
// has a series yet (docs/metrics.md is held to this list).
func (e *Exporter) Descs() []*prometheus.Desc {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range e.collectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []*prometheus.Desc
	for d := range ch {
		out = append(out, d)
	}
	return out
}

// Registry is the registry to serve.
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// dev returns (creating once) the counters of a device.
func (e *Exporter) dev(name string) *device {
	if d, ok := e.devs[name]; ok {
		return d
	}
	d := &device{name: name}
	d.probes[0] = e.probes.WithLabelValues(name, "broadcast")
	d.probes[1] = e.probes.WithLabelValues(name, "unicast")
	d.ndProbes[0] = e.ndProbes.WithLabelValues(name, "multicast")
	d.ndProbes[1] = e.ndProbes.WithLabelValues(name, "unicast")
	for i, f := range familyNames {
		d.failures[i] = e.failures.WithLabelValues(name, f)
	}
	e.devs[name] = d
	return d
}

// Frame implements watch.Observer.
func (e *Exporter) Frame(f watch.FrameVerdict) {
	d := e.dev(f.Dev)
	fc := d.frames[f.Verdict][f.Rule]
	if fc == nil {
		fc = e.frames.WithLabelValues(d.name, f.Verdict.String(), f.Rule.String())
		d.frames[f.Verdict][f.Rule] = fc
	}
	fc.Inc()
	if !f.Shape.Announcement() {
		return
	}
	gc := d.garp[f.Shape][f.Verdict][f.Rule]
	if gc == nil {
		gc = e.garp.WithLabelValues(d.name, f.Shape.String(), f.Verdict.String(), f.Rule.String())
		d.garp[f.Shape][f.Verdict][f.Rule] = gc
	}
	gc.Inc()
	if s := e.perIP(ipKey{f.Dev, f.IP}); s != nil {
		c := s.garp[f.Verdict]
		if c == nil {
			c = e.garpByIP.WithLabelValues(d.name, f.IP.String(), f.Verdict.String())
			s.garp[f.Verdict] = c
		}
		c.Inc()
	}
}

// perIP returns k's series, admitting k while fewer than PerIPMax are
// tracked; nil when per-IP series are off or the cap is reached (counted).
func (e *Exporter) perIP(k ipKey) *ipSeries {
	if !e.opt.PerIP {
		return nil
	}
	if s, ok := e.ips[k]; ok {
		return s
	}
	if len(e.ips) >= e.opt.PerIPMax {
		if !e.capSaid && e.opt.Note != nil {
			e.capSaid = true
			e.opt.Note(fmt.Sprintf("--per-ip-max %d reached at %s %v: further IPs get no per-IP series and are counted in %s_per_ip_overflow_total (the aggregate metrics still count them)",
				e.opt.PerIPMax, k.dev, k.ip, Namespace))
		}
		e.overflow.Inc()
		return nil
	}
	s := &ipSeries{}
	e.mu.Lock() // scrapes read e.ips
	e.ips[k] = s
	e.tracked = len(e.ips)
	e.mu.Unlock()
	return s
}

// Entry implements watch.Observer.
func (e *Exporter) Entry(c watch.EntryChange) {
	fam := family(c.IP)
	e.mu.Lock()
	n, ok := e.entries[famKey{c.Dev, fam}]
	if !ok {
		n = new([watch.NumStates]int64)
		e.entries[famKey{c.Dev, fam}] = n
	}
	if c.From != watch.StateNone {
		n[c.From]--
	}
	if c.To != watch.StateNone {
		n[c.To]++
	}
	e.mu.Unlock()
	if c.Seed {
		return
	}
	t := e.trans[fam][c.From][c.To]
	if t == nil {
		t = e.transitions.WithLabelValues(familyNames[fam], c.From.String(), c.To.String())
		e.trans[fam][c.From][c.To] = t
	}
	t.Inc()
	if c.To == watch.StateFailed {
		e.dev(c.Dev).failures[fam].Inc()
	}
}

// ND implements watch.NDObserver.
func (e *Exporter) ND(v watch.NDVerdict) {
	k := ndKey{v.Dev, v.Type.String(), v.Verdict.String(), v.Reason}
	c, ok := e.ndc[k]
	if !ok {
		c = e.nd.WithLabelValues(k.dev, k.typ, k.verdict, k.reason)
		e.ndc[k] = c
	}
	c.Inc()
}

// NDProbe implements watch.NDObserver.
func (e *Exporter) NDProbe(dev string, unicast bool) {
	i := 0
	if unicast {
		i = 1
	}
	e.dev(dev).ndProbes[i].Inc()
}

// Probe implements watch.Observer.
func (e *Exporter) Probe(dev string, unicast bool) {
	i := 0
	if unicast {
		i = 1
	}
	e.dev(dev).probes[i].Inc()
}

// IgnoredUpdate implements watch.Observer.
func (e *Exporter) IgnoredUpdate(dev string, rule watch.Rule) {
	d := e.dev(dev)
	c := d.ignored[rule]
	if c == nil {
		c = e.ignored.WithLabelValues(d.name, rule.String())
		d.ignored[rule] = c
	}
	c.Inc()
}

// Dead implements watch.Observer.
func (e *Exporter) Dead(c watch.DeadChange) {
	k := ipKey{c.Dev, c.IP}
	if c.Dead {
		e.perIP(k) // a dead entry deserves its own series, within the cap
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.Dead {
		e.spells[k] = spell{mac: c.MAC, reason: c.Reason, since: c.Since}
		return
	}
	if s, ok := e.spells[k]; ok {
		delete(e.spells, k)
		e.closed[deadKey{c.Dev, s.reason}] += c.At.Sub(s.since).Seconds()
	}
}

// LinkGone implements watch.LinkObserver: an interface that has gone for
// good takes its series with it (counters, gauges, per-IP series, whose
// slots are freed for other pairs), so that a host whose containers come
// and go does not collect one set of series per veth it ever had. The
// state transitions carry no device and stay.
func (e *Exporter) LinkGone(dev string) {
	only := prometheus.Labels{"dev": dev}
	for _, v := range []*prometheus.CounterVec{e.garp, e.frames, e.failures, e.nd, e.ndProbes, e.probes, e.ignored, e.garpByIP} {
		if v != nil {
			v.DeletePartialMatch(only)
		}
	}
	delete(e.devs, dev)
	maps.DeleteFunc(e.ndc, func(k ndKey, _ prometheus.Counter) bool { return k.dev == dev })
	e.mu.Lock()
	defer e.mu.Unlock()
	maps.DeleteFunc(e.ips, func(k ipKey, _ *ipSeries) bool { return k.dev == dev })
	e.tracked = len(e.ips)
	maps.DeleteFunc(e.entries, func(k famKey, _ *[watch.NumStates]int64) bool { return k.dev == dev })
	maps.DeleteFunc(e.spells, func(k ipKey, _ spell) bool { return k.dev == dev })
	onDev := func(k deadKey, _ float64) bool { return k.dev == dev }
	maps.DeleteFunc(e.closed, onDev)
	maps.DeleteFunc(e.shown, onDev)
}

// Health implements watch.Observer.
func (e *Exporter) Health(h watch.Health) {
	if h.Tracepoint {
		v := 0.0
		if h.TracepointAvailable {
			v = 1
		} else if e.opt.Note != nil {
			// with --quiet there is no stream to carry the watcher's note
			e.opt.Note(fmt.Sprintf("running without the neigh:neigh_update tracepoint (%s_watch_tracepoint_available 0): %s", Namespace, h.TracepointError))
		}
		e.tpAvailable.Set(v)
	}
	if h.EventsLost > 0 {
		e.eventsLost.Add(float64(h.EventsLost))
	}
	if h.FramesLost > 0 {
		e.framesLost.Add(float64(h.FramesLost))
	}
	if h.Resync {
		i := 0
		if h.ResyncENOBUFS {
			i = 1
		}
		e.resyncs[i].Inc()
	}
}

var (
	entriesDesc = prometheus.NewDesc(Namespace+"_neighbour_entries",
		"Neighbour entries of the watched interfaces, by family (ipv4: arp_tbl, ipv6: nd_tbl) and state (from netlink).", []string{"dev", "family", "state"}, nil)
	deadDesc = prometheus.NewDesc(Namespace+"_dead_mac_entries",
		"Entries pointing at a MAC the watcher believes is gone: superseded (a GARP announced another MAC and was ignored or dropped) or unanswered (unicast probes to it went unanswered).",
		[]string{"dev", "reason"}, nil)
	deadSecondsDesc = prometheus.NewDesc(Namespace+"_dead_mac_seconds_total",
		"Seconds entries have spent pointing at a dead MAC (ended spells plus the running ones).", []string{"dev", "reason"}, nil)
	deadOldestDesc = prometheus.NewDesc(Namespace+"_dead_mac_oldest_seconds",
		"Age of the oldest running dead-MAC spell (0 when none).", []string{"dev", "reason"}, nil)
	deadIPDesc = prometheus.NewDesc(Namespace+"_dead_mac_entry_seconds",
		"Age of one entry's dead-MAC spell (--per-ip; capped).", []string{"dev", "ip", "mac", "reason"}, nil)
	trackedDesc = prometheus.NewDesc(Namespace+"_per_ip_series_tracked",
		"(device, IP) pairs with per-IP series (--per-ip).", nil, nil)
	capDesc = prometheus.NewDesc(Namespace+"_per_ip_series_cap",
		"The --per-ip-max cap (0 when --per-ip is off).", nil, nil)
)

// tableCollector turns the table-derived numbers into gauges at scrape time.
type tableCollector struct{ e *Exporter }

func (c tableCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{entriesDesc, deadDesc, deadSecondsDesc, deadOldestDesc, deadIPDesc, trackedDesc, capDesc} {
		ch <- d
	}
}

func (c tableCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	now := e.opt.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, n := range e.entries {
		for s, v := range n {
			if v != 0 || alwaysShown(watch.State(s)) {
				ch <- prometheus.MustNewConstMetric(entriesDesc, prometheus.GaugeValue, float64(v), k.dev, familyNames[k.family], watch.State(s).String())
			}
		}
	}
	type agg struct {
		n       int
		running float64
		oldest  float64
	}
	per := map[deadKey]*agg{}
	get := func(k deadKey) *agg {
		if a, ok := per[k]; ok {
			return a
		}
		a := &agg{}
		per[k] = a
		return a
	}
	for k := range e.closed {
		get(k)
	}
	for k, s := range e.spells {
		age := max(now.Sub(s.since).Seconds(), 0)
		a := get(deadKey{k.dev, s.reason})
		a.n++
		a.running += age
		a.oldest = max(a.oldest, age)
		if e.opt.PerIP {
			if _, ok := e.ips[k]; ok {
				ch <- prometheus.MustNewConstMetric(deadIPDesc, prometheus.GaugeValue, age, k.dev, k.ip.String(), s.mac, s.reason.String())
			}
		}
	}
	// every device with entries has all reasons, so alerts compare with 0
	for k := range e.entries {
		for r := range watch.NumDeadReasons {
			get(deadKey{k.dev, r})
		}
	}
	for k, a := range per {
		r := k.reason.String()
		// A spell's end reaches the exporter after its moment (the
		// watcher decides a little after the frame), so a scrape in
		// between may have counted a running spell for longer than it
		// lasted. A counter must not go down (Prometheus would take it
		// for a restart and rate() would jump): hold the highest value
		// shown until the true total passes it.
		secs := max(e.closed[k]+a.running, e.shown[k])
		e.shown[k] = secs
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(a.n), k.dev, r)
		ch <- prometheus.MustNewConstMetric(deadSecondsDesc, prometheus.CounterValue, secs, k.dev, r)
		ch <- prometheus.MustNewConstMetric(deadOldestDesc, prometheus.GaugeValue, a.oldest, k.dev, r)
	}
	limit := 0
	if e.opt.PerIP {
		limit = e.opt.PerIPMax
	}
	ch <- prometheus.MustNewConstMetric(trackedDesc, prometheus.GaugeValue, float64(e.tracked))
	ch <- prometheus.MustNewConstMetric(capDesc, prometheus.GaugeValue, float64(limit))
}

// alwaysShown lists the states that have a series even at 0, so that the
// dashboard's stack and `absent()` are stable; other states appear while
// they hold entries.
func alwaysShown(s watch.State) bool {
	switch s {
	case watch.StateReachable, watch.StateStale, watch.StateFailed:
		return true
	}
	return false
}

var (
	hostDesc = prometheus.NewDesc(Namespace+"_host_info",
		"The watched host: kernel release, the closest modelled kernel profile (arplab profiles), CONFIG_HZ (0: unknown) and network namespace.",
		[]string{"release", "profile", "hz", "netns"}, nil)
	sysctlDesc = prometheus.NewDesc(Namespace+"_arp_sysctl",
		"The host's ARP sysctls (spec §8): net.ipv4.conf.<scope>.* and net.ipv4.neigh.<scope>.*, by scope (all, default or an interface) and name.",
		[]string{"scope", "name"}, nil)
	settingsErrDesc = prometheus.NewDesc(Namespace+"_host_settings_read_errors",
		"1 when the last read of the host's settings failed (the info metrics are then from the last good read, or absent).", nil, nil)
)

// settingsCollector exports the host's settings, re-read at most every
// SettingsEvery.
type settingsCollector struct{ e *Exporter }

func (c settingsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hostDesc
	ch <- sysctlDesc
	ch <- settingsErrDesc
}

func (c settingsCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	if e.opt.Settings == nil {
		return
	}
	e.settingsMu.Lock()
	defer e.settingsMu.Unlock()
	if now := e.opt.Now(); e.settingsAt.IsZero() || now.Sub(e.settingsAt) >= e.opt.SettingsEvery {
		e.settingsAt = now
		r, err := e.opt.Settings()
		e.settingsEr = ""
		if err != nil {
			e.settingsEr = err.Error()
		} else {
			e.settings, e.settingsOK = r, true
		}
	}
	failed := 0.0
	if e.settingsEr != "" {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(settingsErrDesc, prometheus.GaugeValue, failed)
	if !e.settingsOK {
		return
	}
	r := e.settings
	ch <- prometheus.MustNewConstMetric(hostDesc, prometheus.GaugeValue, 1, r.Release, r.Profile, strconv.Itoa(r.HZ), r.Netns)
	emit := func(scope, prefix string, m map[string]doctor.Setting) {
		for name, s := range m {
			if v, ok := s.Int(); ok {
				ch <- prometheus.MustNewConstMetric(sysctlDesc, prometheus.GaugeValue, float64(v), scope, prefix+name)
			}
		}
	}
	for scope, m := range r.Conf {
		emit(scope, "conf.", m)
	}
	for scope, m := range r.Neigh {
		emit(scope, "neigh.", m)
	}
	emit("default", "neigh.", r.GC)
}
