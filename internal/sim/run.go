package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strconv"

	"arplab/internal/kernel"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// Options control one run.
type Options struct {
	// Seed is the master seed (0: the scenario's).
	Seed uint64
	// Vary applies each script event's `vary` and a random HZ phase per
	// host (Monte Carlo runs); single runs use the scenario as written.
	Vary bool
	// Sink receives the trace; nil records nothing.
	Sink trace.Sink
	// Capture, when set, receives every frame sent or received by
	// CaptureHost as Ethernet bytes (for --pcap).
	Capture     func(t vtime.Time, frame []byte)
	CaptureHost string
	// Ctx, when set, stops the run with its error soon after it is
	// cancelled (Ctrl-C).
	Ctx context.Context
	// MaxEvents is the run's event budget (0: DefaultMaxEvents; < 0: none).
	MaxEvents int
	// verdictOnly (a Monte Carlo run, which keeps only whether the run met
	// its expectations and how long entries were stale) skips the
	// per-entry counters the verdict's sentence is made of: the
	// StaleSpans' GARP, confirmation and probe counts stay 0. It also
	// stops the run once nothing left can change those two answers
	// (world.settled): Events and Frames then count only what ran.
	verdictOnly bool
	// noTrips runs every event of a session's round trip through the
	// queue (trip.go), for the test that trips change nothing.
	noTrips bool
	// noFastSkip reschedules the host's wake after every packet sent, as
	// before output's fast path skipped it (host.output), for the tests
	// that the skip changes nothing.
	noFastSkip bool
}

// budget is the event budget the options ask for.
func (o Options) budget() int {
	if o.MaxEvents == 0 {
		return DefaultMaxEvents
	}
	return o.MaxEvents
}

// FlowOutcome is how one flow ended.
type FlowOutcome struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	To   string `json:"to"`
	OK   bool   `json:"ok"`
	// Connected is seconds from the flow's start to its connection (ssh).
	Connected float64 `json:"connected_seconds,omitempty"`
	Attempts  int     `json:"attempts,omitempty"`
	Why       string  `json:"why,omitempty"`
}

// CheckOutcome is one check of the scenario.
type CheckOutcome struct {
	At   float64 `json:"at"`
	Line int     `json:"line"`
	What string  `json:"what"`
	Want string  `json:"want"`
	Got  string  `json:"got"`
	OK   bool    `json:"ok"`
}

// StaleSpan is how long an observed entry kept pointing at a MAC that no
// longer owned its IP.
type StaleSpan struct {
	Host   string  `json:"host"`
	IP     string  `json:"ip"`
	OldMAC string  `json:"old_mac"`
	NewMAC string  `json:"new_mac"`
	From   float64 `json:"from"`
	To     float64 `json:"to"`
	Healed bool    `json:"healed"`
	// GARPIgnored counts GARPs that left the entry on another MAC;
	// GARPNoop those that repeated the MAC it already had
	// (trace.FrameEffect).
	GARPIgnored   int    `json:"garp_ignored"`
	GARPNoop      int    `json:"garp_noop"`
	GARPHonoured  int    `json:"garp_honoured"`
	FalseConfirms int    `json:"false_confirms"`
	Probes        int    `json:"probes"`
	FirstIgnored  string `json:"first_ignored,omitempty"`
}

// Seconds is the span's length.
func (s StaleSpan) Seconds() float64 { return s.To - s.From }

// Result is what a run found.
//
// A run has two answers, kept apart: the verdict (FlowsOK: did every flow
// survive the failover) and the expectation (OK: did the scenario's checks
// hold, with every flow no check expects to fail counted as expected to
// succeed). OK is what `arplab run` turns into its exit code (3 when it is
// false); a scenario that demonstrates a failure says so with a flow check
// (`{flow: ssh, outcome: failed}`), and then a FAIL verdict exits 0.
type Result struct {
	Scenario string            `json:"scenario"`
	Seed     uint64            `json:"seed"`
	Profiles map[string]string `json:"profiles"` // host → profile (with patch edits)
	FlowsOK  bool              `json:"flows_ok"`
	OK       bool              `json:"ok"`
	Flows    []FlowOutcome     `json:"flows"`
	Checks   []CheckOutcome    `json:"checks"`
	Stale    []StaleSpan       `json:"stale"`
	// ExpectedFailures are failed flows whose failure a check expected.
	ExpectedFailures []string `json:"expected_failures,omitempty"`
	Events           int      `json:"events"`           // simulator events processed
	Frames           int      `json:"frames"`           // frames delivered to Linux hosts
	Duration         float64  `json:"duration_seconds"` // simulated seconds
	// tripStats is world.tripStats, for the tests
	tripStats [3]int
}

// Check builds s's world as Run does, without running it, and returns
// what only building finds: a setting the host's kernel profile does not
// have (conf/all/arp_evict_nocarrier on 4.4), an entry its table refuses.
// A tool that writes scenarios from its own input (advise's fleet) checks
// them when it reads that input, so the error can name where it came from.
func Check(s *scenario.Scenario) error {
	opt := Options{Seed: s.Seed}
	_, err := build(s, opt)
	return err
}

// Run simulates s once.
func Run(s *scenario.Scenario, opt Options) (*Result, error) {
	if opt.Seed == 0 {
		opt.Seed = s.Seed
	}
	w, err := build(s, opt)
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: s.Name, Seed: opt.Seed, Profiles: map[string]string{}, Duration: s.Duration.D.Seconds()}
	for _, h := range w.hosts {
		p, _ := profileOf(h.cfg)
		res.Profiles[h.name] = p.Name
	}
	if w.sink != nil {
		w.emit(header(s, w, res, opt))
	}
	if err := w.schedule(); err != nil {
		return nil, err
	}
	// observers take a last look at the end
	if err := w.runToEnd(opt); err != nil {
		return nil, err
	}
	res.Events, res.Frames, res.tripStats = w.sch.events, w.frames, w.tripStats
	res.Flows = w.flowOutcomes()
	res.Checks = w.checks
	res.Checks = append(res.Checks, w.flowChecks(res.Flows)...)
	res.Stale = w.staleSpans()
	// A flow whose outcome the scenario checks counts through its check
	// (a mechanism scenario may expect a flow to fail); the others must
	// succeed.
	checked := map[string]bool{}
	for _, c := range s.Checks {
		if c.Flow != "" {
			checked[c.Flow] = true
		}
	}
	res.OK, res.FlowsOK = true, true
	for _, f := range res.Flows {
		res.FlowsOK = res.FlowsOK && f.OK
		res.OK = res.OK && (f.OK || checked[f.Name])
		if !f.OK && checked[f.Name] {
			res.ExpectedFailures = append(res.ExpectedFailures, f.Name)
		}
	}
	for _, c := range res.Checks {
		res.OK = res.OK && c.OK
	}
	if w.sink != nil {
		w.emit(trace.Event{Time: res.Duration, Kind: trace.KindVerdict, OK: trace.Bool(res.FlowsOK),
			Explanation: Verdict(res), Attrs: verdictAttrs(res)})
	}
	return res, nil
}

// settleStep is how often a verdict-only run asks whether it is settled.
const settleStep = vtime.Second

// runToEnd runs the world to the scenario's end; a verdict-only run in
// steps of settleStep, stopping at the first step after which it is
// settled. Stepping changes no result: events run in the same order
// (StaleSpansUntilHealed).
func (w *world) runToEnd(opt Options) error {
	end := vtime.Time(w.s.Duration.D)
	if !opt.verdictOnly {
		return w.sch.run(opt.Ctx, end, opt.budget())
	}
	for t := vtime.Time(settleStep); ; t += vtime.Time(settleStep) {
		t = min(t, end)
		if err := w.sch.run(opt.Ctx, t, opt.budget()); err != nil {
			return err
		}
		if t == end || w.settled() {
			return nil
		}
	}
}

// settled reports whether the rest of the run can change neither whether
// it met its expectations nor its stale spans: every script event and
// timed check has run, every move has happened and every observed entry
// it concerns has healed (a healed span ends where it healed), and every
// flow's outcome is final: it is done (an ssh flow that connected or gave
// up, a session past its until), or it is an established tcp session
// whose requests come more often than its retransmission timeout, which
// can then never fire (conn.request) and so never fail it.
func (w *world) settled() bool {
	if w.sch.now < w.lastScripted || len(w.moves) != w.nMoves || !w.allHealed() {
		return false
	}
	for _, f := range w.flows {
		if f.done {
			continue
		}
		if f.cfg.Kind == "tcp" && f.conn != nil && f.conn.state == 1 && f.cfg.Interval.D < dataRTO {
			continue
		}
		return false
	}
	return true
}

// header is the trace's first event: the run's scenario, seed, hosts and
// what a replay of its --pcap needs to place ticks as the run did.
func header(s *scenario.Scenario, w *world, res *Result, opt Options) trace.Event {
	hosts := ""
	for _, h := range w.hosts {
		if hosts != "" {
			hosts += ","
		}
		hosts += fmt.Sprintf("%s(%s HZ=%d)", h.name, res.Profiles[h.name], h.clock.HZ)
	}
	attrs := map[string]string{
		"source": "sim", "scenario": s.Name, "seed": strconv.FormatUint(opt.Seed, 10),
		"hosts": hosts, "profile": res.Profiles[firstObserved(w)], "duration": vtime.Duration(s.Duration.D).String(),
		"description": s.Description}
	// Each device's randomised reachable_time at t=0 (what `ip ntable`
	// shows), so that a replay of a --pcap can use the same value.
	for _, h := range w.hosts {
		for _, ifc := range h.ifs {
			attrs["reachable_time_ms."+h.name+"."+ifc.dev.Name] = strconv.FormatInt(int64(ifc.dev.ReachableTime)*1000/int64(h.clock.HZ), 10)
		}
		// the host's clock: HZ, jiffies at t=0, phase (ns) — a replay of
		// a --pcap needs it to place ticks where the simulation did
		attrs["clock."+h.name] = fmt.Sprintf("%d,%d,%d", h.clock.HZ, uint64(h.clock.Jiffies(0)), int64(h.clock.Phase))
	}
	return trace.Event{Kind: trace.KindHeader, Attrs: attrs}
}

func firstObserved(w *world) string {
	for _, h := range w.hosts {
		if h.observe {
			return h.name
		}
	}
	return ""
}

func (w *world) flowOutcomes() []FlowOutcome {
	var out []FlowOutcome
	for _, f := range w.flows {
		o := FlowOutcome{Name: f.name, Kind: f.cfg.Kind, To: f.cfg.To.String(), Attempts: f.attempts}
		switch {
		case f.done:
			o.OK, o.Why = f.ok, f.why
		case f.cfg.Kind == "ssh":
			o.OK, o.Why = false, fmt.Sprintf("still connecting at the end of the run (%d attempts)", f.attempts)
		default:
			o.OK = f.conn != nil && f.conn.state == 1
			if !o.OK {
				o.Why = "never established"
			}
		}
		if f.cfg.Kind == "ssh" && f.ok {
			o.Connected = f.estAt.Sub(f.started).Seconds()
		}
		out = append(out, o)
	}
	return out
}

func (w *world) flowChecks(flows []FlowOutcome) []CheckOutcome {
	var out []CheckOutcome
	for _, c := range w.s.Checks {
		if c.Flow == "" {
			continue
		}
		for _, f := range flows {
			if f.Name != c.Flow {
				continue
			}
			got := "ok"
			if !f.OK {
				got = "failed"
			}
			co := CheckOutcome{At: w.s.Duration.D.Seconds(), Line: c.Line, What: "flow " + f.Name, Want: c.Outcome, Got: got, OK: got == c.Outcome}
			out = append(out, co)
			w.emit(trace.Event{Time: co.At, Kind: trace.KindCheck, Flow: f.Name, OK: trace.Bool(co.OK),
				Explanation: fmt.Sprintf("check (line %d): flow %s want %s, got %s", c.Line, f.Name, c.Outcome, got)})
		}
	}
	return out
}

// staleSpans measures, for every move, how long each observed host's entry
// kept the MAC that no longer owned the IP.
func (w *world) staleSpans() []StaleSpan {
	var out []StaleSpan
	end := vtime.Time(w.s.Duration.D)
	for _, m := range w.moves {
		for _, h := range w.hosts {
			if !h.observe {
				continue
			}
			ifc, _ := h.ifFor(m.ip)
			sp := StaleSpan{Host: h.name, IP: m.ip.String(), OldMAC: macStr(m.from), NewMAC: m.to.String(), From: m.at.Seconds()}
			healedAt, healed := w.healed[healKey{h.name, m.ip}]
			if !healed {
				healedAt = end
				if s, ok := h.st.Lookup(ifc.st, m.ip); !ok || !s.State.Valid() {
					// no entry at all at the end: not stale either
					continue
				}
			}
			sp.To, sp.Healed = healedAt.Seconds(), healed
			st := h.entry(m.ip)
			sp.GARPIgnored, sp.GARPNoop, sp.GARPHonoured = st.garpIgnored, st.garpNoop, st.garpHonoured
			sp.FalseConfirms, sp.Probes = st.falseConfirms, st.probes
			sp.FirstIgnored = st.firstIgnored
			out = append(out, sp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out
}

type healKey struct {
	host string
	ip   netip.Addr
}

func macStr(m arp.MAC) string {
	if m == (arp.MAC{}) {
		return ""
	}
	return m.String()
}

func verdictAttrs(r *Result) map[string]string {
	a := map[string]string{}
	var failed []string
	for _, f := range r.Flows {
		if !f.OK {
			failed = append(failed, f.Name)
		}
	}
	if len(failed) > 0 {
		a["failed_flows"] = fmt.Sprint(failed)
	}
	var worst float64
	for _, s := range r.Stale {
		worst = max(worst, s.Seconds())
	}
	a["stale_seconds"] = strconv.FormatFloat(worst, 'f', 3, 64)
	a["expectation"] = Expectation(r)
	return a
}

// ProfileNames lists the profile of every observed host, for headers.
func ProfileNames(s *scenario.Scenario) []string {
	var out []string
	for _, i := range s.Observed() {
		p, err := kernel.Lookup(s.Hosts[i].Profile)
		if err != nil {
			continue
		}
		p, _ = p.WithPatches(s.Hosts[i].Patches)
		out = append(out, p.Name)
	}
	return out
}

// bytes renders the frame as it would be on the wire (for pcap output):
// an ARP packet, an ND message (with its ICMPv6 checksum), or IPv4 or
// IPv6 with a TCP or UDP header.
func (f *frame) bytes() []byte {
	b := make([]byte, 0, 64)
	b = append(b, f.dst[:]...)
	b = append(b, f.src[:]...)
	if f.arp != nil {
		b = append(b, 0x08, 0x06)
		return f.arp.Append(b)
	}
	if f.nd != nil {
		return ndisc.AppendFrame(b[:0], ether.Header{Dst: f.dst, Src: f.src}, f.nd)
	}
	ip := f.ip
	l4 := 20
	proto := byte(6)
	if ip.udp {
		l4, proto = 8, 17
	}
	reply := false
	if ip.dst.Is6() {
		// IPv6: a fixed header, hop limit 64, no extension headers.
		b = append(b, 0x86, 0xdd)
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(l4+ip.seg.data))
		h[6], h[7] = proto, 64
		s16, d16 := ip.src.As16(), ip.dst.As16()
		copy(h[8:], s16[:])
		copy(h[24:], d16[:])
		b = append(b, h...)
		reply = ip.conn != nil && ip.src == ip.conn.f.cfg.To.Addr
	} else {
		b = append(b, 0x08, 0x00)
		total := 20 + l4 + ip.seg.data
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(total))
		h[6] = 0x40 // DF
		h[8] = 64
		h[9] = proto
		s4, d4 := ip.src.As4(), ip.dst.As4()
		copy(h[12:], s4[:])
		copy(h[16:], d4[:])
		binary.BigEndian.PutUint16(h[10:], checksum(h))
		b = append(b, h...)
		reply = ip.conn != nil && ip.dst == ip.conn.f.h.ifs[0].dev.Addrs[0].Addr()
	}
	if ip.udp {
		u := make([]byte, 8)
		binary.BigEndian.PutUint16(u[0:], 40000)
		binary.BigEndian.PutUint16(u[2:], 5000)
		binary.BigEndian.PutUint16(u[4:], uint16(8+ip.seg.data))
		b = append(b, u...)
	} else {
		t := make([]byte, 20)
		sport, dport := uint16(40000+connPort(ip.conn)), uint16(22)
		if reply {
			sport, dport = dport, sport
		}
		binary.BigEndian.PutUint16(t[0:], sport)
		binary.BigEndian.PutUint16(t[2:], dport)
		binary.BigEndian.PutUint32(t[4:], ip.seg.seq)
		binary.BigEndian.PutUint32(t[8:], ip.seg.ackNo)
		t[12] = 5 << 4
		var fl byte
		if ip.seg.syn() {
			fl |= 0x02
		}
		if ip.seg.ack() {
			fl |= 0x10
		}
		if ip.seg.data > 0 {
			fl |= 0x08
		}
		t[13] = fl
		binary.BigEndian.PutUint16(t[14:], 65535)
		b = append(b, t...)
	}
	return append(b, make([]byte, ip.seg.data)...)
}

func connPort(c *conn) int {
	if c == nil {
		return 0
	}
	return c.f.attempts%1000 + 1000*len(c.f.name)%20000
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
