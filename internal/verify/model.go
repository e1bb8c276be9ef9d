package verify

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"arplab/internal/kernel"
	"arplab/internal/lab"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

// input is one recorded input of the host (lab.Input, placed on the
// kernel's jiffies) and its place in the record, for stable ordering.
type input struct {
	lab.Input
	seq int
}

type entryKey struct {
	dev string
	ip  netip.Addr
}

// counts are the ARP frames a host sent for one entry.
type counts struct{ unicast, broadcast, replies int }

func (c counts) String() string {
	return fmt.Sprintf("%d unicast + %d broadcast probes, %d replies", c.unicast, c.broadcast, c.replies)
}

// transition is a timer-driven state change: its time is predicted (model)
// or observed (kernel), so a checkpoint near it is near a boundary.
type transition struct {
	ns            int64
	what          string
	before, after string // the entry as a table read shows it (stateString)
	probe         bool   // a probe sent, not a state change
	reply         bool   // an ARP reply or NA sent, not a state change
	input         bool   // caused by an input, not by a timer
}

// stateString is how a table read shows an entry: "STALE 02:…", "FAILED",
// "no entry".
func stateString(present bool, state string, valid bool, ll arp.MAC) string {
	switch {
	case !present:
		return "no entry"
	case valid:
		return state + " " + ll.String()
	}
	return state
}

// hostModel replays one observed host's recorded inputs into a model of
// it (a stack.Host) and records what it does, as the host's Observer.
type hostModel struct {
	v    *verifier
	name string
	rh   *lab.RunHost
	st   *stack.Host
	tbl  *neigh.Table // st.Table, read only
	devs map[string]*stack.Device

	// curNs is the time of the input being fed; frameDecision the
	// decision on the last received ARP frame.
	curNs         int64
	frameDecision *neigh.Decision
	credits       map[entryKey]int
	model         map[entryKey]*counts
	kern          map[entryKey]*counts
	last          map[entryKey]neigh.Decision
	lastNs        map[entryKey]int64
	mTrans        map[entryKey][]transition
	kTrans        map[entryKey][]transition
	checks        []checkpoint
	obs           []observation
	mFires        map[entryKey][]fire
	now           vtime.Jiffies
	// reported remembers the last disagreement per entry and aspect, so a
	// lasting one is printed once, when it appears or changes.
	reported map[string]string
}

// applyConf writes net/ipv{4,6}/conf/<dev> (dev may be all) as read from
// the kernel through the host's sysctl input; prefix is the key up to the
// name. A setting this profile lacks is refused there and left out: the
// model does not read it.
func applyConf(st *stack.Host, prefix string, conf map[string]string) {
	for _, k := range sortedKeys(conf) {
		st.Sysctl(prefix+k, conf[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// newHostModel builds the model of an observed host with the kernel's
// parameters in force.
func (v *verifier) newHostModel(rh *lab.RunHost, prof kernel.Profile, startJ uint64, periodicAt uint64) (*hostModel, error) {
	run := v.run
	st, err := stack.New(stack.Config{Name: rh.Name, Profile: prof, HZ: run.HZ, Rand: rand.New(rand.NewPCG(v.opt.Seed, 0x5eed)),
		Start: vtime.Jiffies(startJ), PeriodicPhase: vtime.Ticks(periodicAt - startJ)})
	if err != nil {
		return nil, err
	}
	tbl := st.Table
	for i, v := range []int{run.Table.Thresh1, run.Table.Thresh2, run.Table.Thresh3} {
		if err := st.Sysctl(fmt.Sprintf("neigh.default.gc_thresh%d", i+1), strconv.Itoa(v)); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	if ms := run.Table.Default.BaseReachableTime.Milliseconds(); ms > 0 {
		if err := st.Sysctl("neigh.default.base_reachable_time_ms", strconv.FormatInt(ms, 10)); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	m := &hostModel{v: v, name: rh.Name, rh: rh, st: st, tbl: tbl, devs: map[string]*stack.Device{},
		credits: map[entryKey]int{}, model: map[entryKey]*counts{}, kern: map[entryKey]*counts{},
		last: map[entryKey]neigh.Decision{}, lastNs: map[entryKey]int64{},
		mTrans: map[entryKey][]transition{}, kTrans: map[entryKey][]transition{}, mFires: map[entryKey][]fire{},
		now: vtime.Jiffies(startJ), reported: map[string]string{}}
	for i := range rh.Devs {
		d := &rh.Devs[i]
		dev := st.AddDevice(d.Name, d.MAC, addrsWithLinkLocal(d))
		d.Params.Apply(dev.Device, run.HZ)
		m.devs[d.Name] = dev
	}
	st.Obs = m
	applyConf(st, "net.ipv4.conf.all.", rh.ConfAll)
	for _, d := range rh.Devs {
		applyConf(st, "net.ipv4.conf."+d.Name+".", d.Conf)
	}
	m.setupND(rh)
	return m, nil
}

func (m *hostModel) count(t map[entryKey]*counts, k entryKey) *counts {
	c := t[k]
	if c == nil {
		c = &counts{}
		t[k] = c
	}
	return c
}

// seconds converts a model jiffies value to trace seconds.
func (m *hostModel) seconds(j vtime.Jiffies) float64 {
	return m.v.run.Seconds(m.v.run.Clock.StartNs(uint64(j)))
}

var timerRules = map[neigh.Rule]bool{
	neigh.RuleReachableStillConfirmed: true, neigh.RuleReachableToDelay: true, neigh.RuleReachableToStale: true,
	neigh.RuleDelayToReachable: true, neigh.RuleDelayToProbe: true, neigh.RuleRetransmit: true,
	neigh.RuleProbesExhausted: true, neigh.RuleRerandomise: true, neigh.RuleGCPeriodic: true,
}

// Observe records what a model call did: trace lines, transitions, the
// probes and replies it sent, queued packets it released.
func (m *hostModel) Observe(_ *stack.Host, in *stack.Input, r *neigh.Result) {
	ns := m.curNs
	for i := range r.Decisions {
		d := r.Decisions[i]
		if d.Frame && (in.Kind == stack.InARP || in.Kind == stack.InND) {
			m.frameDecision = &r.Decisions[i]
		}
		t := ns
		timer := timerRules[d.Rule]
		if timer {
			t = m.v.run.Clock.StartNs(uint64(d.Now))
		}
		m.st.Lines(in, &d, m.v.run.Seconds(t), m.seconds, m.emit)
		if d.Dev == "" {
			continue
		}
		k := entryKey{d.Dev, d.IP}
		m.last[k] = d
		m.lastNs[k] = t
		if timer && d.Old != d.New {
			m.mFires[k] = append(m.mFires[k], fire{uint64(d.Now), d.New.String()})
		}
		if !timer && (d.Old != d.New || d.MACChanged) {
			// An input's change: causally before any read that follows
			// it, but a read running while the input arrived (a flow's
			// first packet) may have caught either side.
			m.mTrans[k] = append(m.mTrans[k], transition{ns: t, what: fmt.Sprintf("model %v→%v (%s)", d.Old, d.New, d.Rule.Name()),
				before: stateString(d.Old != neigh.None, d.Old.String(), d.Old.Valid(), d.OldMAC), // NONE: just created
				after:  stateString(true, d.New.String(), d.New.Valid(), d.NewMAC), input: true})
		}
		if timer && (d.Old != d.New || d.MACChanged || d.Rule == neigh.RuleGCPeriodic || d.Rule == neigh.RuleRetransmit) {
			tr := transition{ns: t, what: fmt.Sprintf("model %v→%v", d.Old, d.New),
				before: stateString(true, d.Old.String(), d.Old.Valid(), d.OldMAC),
				after:  stateString(true, d.New.String(), d.New.Valid(), d.NewMAC)}
			switch d.Rule {
			case neigh.RuleRetransmit:
				tr.what, tr.probe = fmt.Sprintf("model probe %d of %d", d.Probes+1, d.MaxProbes), true
			case neigh.RuleDelayToProbe:
				tr.probe = true // the first unicast probe goes out in the same run
			case neigh.RuleGCPeriodic:
				tr.what, tr.after = "model GC removed it", "no entry"
			}
			m.mTrans[k] = append(m.mTrans[k], tr)
		}
		m.timerMargin(&d, t)
	}
	for _, a := range r.Actions {
		if a.Dev == nil {
			continue
		}
		k := entryKey{a.Dev.Name, a.Target}
		switch a.Kind {
		case neigh.ActProbe:
			if c := m.count(m.model, k); a.Unicast {
				c.unicast++
			} else {
				c.broadcast++
			}
			t := ns
			if a.At != 0 && a.At != m.now {
				t = m.v.run.Clock.StartNs(uint64(a.At)) // a timer's probe, at its own tick
			}
			m.emit(m.st.ProbeLine(&a, m.v.run.Seconds(t)))
		case neigh.ActReply:
			m.count(m.model, k).replies++
			// a read that ran while the request arrived may or may not
			// have seen the reply leave
			m.mTrans[k] = append(m.mTrans[k], transition{ns: ns, what: "model reply", reply: true, input: true})
		case neigh.ActTransmit:
			m.credits[k]++
		}
	}
}

// emit keeps one of the model's trace lines.
func (m *hostModel) emit(ev trace.Event) {
	ev.Source = "model"
	m.v.res.Events = append(m.v.res.Events, ev)
}

// timerMargin records how close a timer decision that compared a stamp
// set by an input came to going the other way.
func (m *hostModel) timerMargin(d *neigh.Decision, ns int64) {
	var limit vtime.Jiffies
	switch d.Rule {
	case neigh.RuleDelayToReachable, neigh.RuleDelayToProbe, neigh.RuleReachableToDelay:
		limit = d.Limit
	case neigh.RuleReachableToStale:
		dev := m.devs[d.Dev]
		if dev == nil {
			return
		}
		limit = d.Used + vtime.Jiffies(dev.Params.DelayProbeTime)
	default:
		return
	}
	// now ≤ limit takes one branch, now ≥ limit+1 the other: the boundary
	// sits between the two ticks.
	gap := vtime.Since(d.Now, limit)
	ticks := gap
	if gap <= 0 {
		ticks = -gap + 1
	}
	tick := time.Duration(m.v.run.Clock.TickNs())
	mg := Margin{Kind: MarginTimer, D: time.Duration(ticks) * tick, Ticks: int(ticks), Time: m.v.run.Seconds(ns), Host: m.name, Dev: d.Dev, IP: d.IP,
		Detail: fmt.Sprintf("%s at jiffy %d against limit %d", d.Rule.Name(), d.Now, limit)}
	m.v.margin(mg)
}

// feed runs the host's inputs through the model and compares at every
// frame and every snapshot.
func (m *hostModel) feed(ins []input) {
	for i := range ins {
		in := &ins[i]
		j := vtime.Jiffies(in.J)
		if vtime.Before(j, m.now) {
			// The fitted clock put this input before one the kernel
			// stamped: keep the model's time monotonic.
			j = m.now
		}
		if in.Kind == lab.InPeriodic {
			m.periodicBefore(in)
		}
		m.curNs = in.Ns
		m.st.Advance(j)
		m.now = m.st.Now()
		switch in.Kind {
		case lab.InARP:
			m.receiveARP(in)
		case lab.InIPRx:
			m.receiveIP(in)
		case lab.InIPTx:
			m.sendIP(in)
		case lab.InARPTx:
			m.sentARP(in)
		case lab.InND:
			m.receiveND(in)
		case lab.InNDTx:
			m.sentND(in)
		case lab.InQueued:
			m.queued(in)
		case lab.InAdmin:
			m.admin(in)
		case lab.InSysctl:
			m.sysctl(in)
		case lab.InPeriodic:
			m.periodicAfter(in)
		case lab.InSnapshot:
			m.compareSnapshot(in)
		}
	}
}

func (m *hostModel) receiveARP(in *input) {
	f := &m.v.run.Frames[in.Frame]
	dev := m.devs[f.Dev]
	p, dst, _ := lab.FrameARP(f.Data)
	m.frameDecision = nil
	m.st.ReceiveARP(dev, &p, f.Type, in.Frame+1, dst, true)
	var d *neigh.Decision
	if m.frameDecision != nil {
		dd := *m.frameDecision
		d = &dd
	}
	m.v.res.Stats.Frames++
	if d == nil {
		return
	}
	m.locktimeMargin(in, d, &p)
	v := in.Verdict
	if v == nil || v.Verdict == "" {
		return // no oracle
	}
	m.v.res.Stats.Verdicts++
	after, has := m.tbl.Lookup(dev.Device, p.SIP)
	model := describe(d.Verdict, has, after.State.String(), after.LLAddr, after.State.Valid())
	m.compareVerdict(in, p.SIP, d.Verdict, model, frameDesc(&p, f), d)
}

// compareVerdict holds the model's verdict on a received frame and the
// entry it left (model, as describe writes it) against the kernel's.
func (m *hostModel) compareVerdict(in *input, ip netip.Addr, verdict, model, desc string, d *neigh.Decision) {
	f := &m.v.run.Frames[in.Frame]
	v := in.Verdict
	kern := describe(v.Verdict, false, "", arp.MAC{}, false)
	if kn, kll, ok := v.After(); ok {
		kern = describe(v.Verdict, true, kn.String(), kll, kn.Valid())
	}
	if verdict != v.Verdict || (v.Done != nil && kern != model) {
		m.v.diff(Diff{Time: m.v.run.Seconds(f.AtNs), Host: m.name, Dev: f.Dev, IP: ip, What: "frame",
			Frame: in.Frame + 1, FrameDesc: desc, Kernel: kern, Model: model, Explanation: d.Explain()}, "")
		return
	}
	m.v.res.Stats.VerdictsAgree++
}

func describe(verdict string, has bool, state string, ll arp.MAC, valid bool) string {
	switch {
	case !has && verdict == trace.Dropped:
		return trace.Dropped
	case !has:
		return verdict + " (no entry)"
	case valid:
		return fmt.Sprintf("%s → %s %v", verdict, state, ll)
	}
	return fmt.Sprintf("%s → %s", verdict, state)
}

func frameDesc(p *arp.Packet, f *lab.RunFrame) string {
	var dst arp.MAC
	copy(dst[:], f.Data[:6])
	return fmt.Sprintf("%v sha %v sip %v tha %v tip %v, eth dst %v (%v)", p.Op, p.SHA, p.SIP, p.THA, p.TIP, dst, f.Type)
}

// locktimeMargin records how far a frame whose verdict depended on the
// locktime test was from the tick where the test flips.
func (m *hostModel) locktimeMargin(in *input, d *neigh.Decision, p *arp.Packet) {
	if d.Rule != neigh.RuleARPUpdate || !d.HadMAC || p.SHA == d.OldMAC || d.IsGARP() {
		return // no address to replace, the same address, or a GARP: locktime did not decide
	}
	updated := uint64(d.UpdatedBefore)
	if v := in.Verdict; v != nil && v.Update != nil {
		updated = v.Update.Updated // the kernel's own anchor
	}
	dev := m.devs[d.Dev]
	flip := m.v.run.Clock.StartNs(updated + uint64(dev.Params.Locktime) + 1)
	f := &m.v.run.Frames[in.Frame]
	dist := time.Duration(f.AtNs - flip)
	if dist < 0 {
		dist = -dist
	}
	m.v.margin(Margin{Kind: MarginLocktime, D: dist, Time: m.v.run.Seconds(f.AtNs), Host: m.name, Dev: d.Dev, IP: p.SIP,
		Detail: fmt.Sprintf("frame #%d %v, locktime ends at %.4fs (updated=%d + %d ticks)", in.Frame+1, p.Op, m.v.run.Seconds(flip), updated, dev.Params.Locktime)})
}

// ipv4Of decodes the IPv4 datagram a recorded frame carries.
var ipv4Of = ipv4.OfEthernet

func (m *hostModel) receiveIP(in *input) {
	f := &m.v.run.Frames[in.Frame]
	h, payload, ok := ipv4Of(f.Data)
	if !ok || f.Type != ether.PktHost {
		return
	}
	if m.st.ReceiveIPv4(&h, payload, in.Frame+1) {
		m.v.res.Stats.Confirms++
	}
}

// nexthop is the on-link neighbour a packet to dst goes to, if any.
func (m *hostModel) nexthop(dev *stack.Device, dst netip.Addr) (netip.Addr, bool) {
	if dst.IsMulticast() || dev.IsBroadcast(dst) {
		return dst, false
	}
	for _, p := range dev.Addrs {
		if p.Masked().Contains(dst) {
			return dst, true
		}
	}
	return dst, false
}

func (m *hostModel) sendIP(in *input) {
	f := &m.v.run.Frames[in.Frame]
	h, payload, ok := ipv4Of(f.Data)
	if !ok {
		if dst, ok6 := lab.FrameIPDst(f.Data); ok6 && dst.Is6() {
			m.sendIP6(in, dst)
		}
		return
	}
	dev := m.devs[f.Dev]
	nh, ok := m.nexthop(dev, h.DstAddr())
	if !ok {
		m.v.notef("host %s: IPv4 to %v not modelled (not an on-link unicast neighbour)", m.name, h.DstAddr())
		return
	}
	sock := m.st.SentIPv4(&h, payload, dev.Routes[0])
	k := entryKey{f.Dev, nh}
	if m.credits[k] > 0 {
		m.credits[k]-- // a packet the model had queued, now released
		return
	}
	if sp, _ := ipv4.Ports(&h, payload); h.Proto == ipv4.ProtoUDP && m.v.confirmUDP(m.name, sp) {
		m.st.Confirm(sock, in.Frame+1) // MSG_CONFIRM marks this datagram
	}
	m.st.Output(dev, nh, sock, 0, f.Len, in.Frame+1)
	m.v.res.Stats.Outputs++
}

// queued feeds a packet the kernel could not send at once (INCOMPLETE, or
// FAILED without probes): its frame leaves later, if ever.
func (m *hostModel) queued(in *input) {
	_, d := m.v.run.DevByIfName(in.Event.Dev)
	m.st.Output(m.devs[d.Name], in.Event.IP, nil, 0, 100, 0)
	m.v.res.Stats.Outputs++
}

func (m *hostModel) sentARP(in *input) {
	f := &m.v.run.Frames[in.Frame]
	p, dst, ok := lab.FrameARP(f.Data)
	if !ok {
		return
	}
	if !m.v.run.TraceOK && p.Op == arp.OpRequest && dst.IsBroadcast() {
		// Without tracepoints a queued packet leaves no trace of its own;
		// the broadcast request that starts a resolution is its evidence.
		if e, ok := m.tbl.Lookup(m.devs[f.Dev].Device, p.TIP); !ok || e.State == neigh.Failed || e.State == neigh.None {
			m.st.Output(m.devs[f.Dev], p.TIP, nil, 0, 100, in.Frame+1)
			m.v.res.Stats.Outputs++
			m.v.notef("no tracepoints: packets queued for resolution are inferred from the kernel's first broadcast request")
		}
	}
	switch p.Op {
	case arp.OpRequest:
		c := m.count(m.kern, entryKey{f.Dev, p.TIP})
		if dst.IsBroadcast() {
			c.broadcast++
		} else {
			c.unicast++
		}
	case arp.OpReply:
		m.count(m.kern, entryKey{f.Dev, p.TIP}).replies++
	}
}

func (m *hostModel) admin(in *input) {
	a := in.Admin
	c, err := scenario.ParseNeighCmd(a.Cmd)
	if err != nil {
		return
	}
	dev := m.devs[c.Dev]
	if dev == nil {
		return
	}
	merr := m.st.Admin(dev, c.Op, c.IP, c.LLAddr, c.State)
	m.v.res.Stats.Admin++
	if (merr == nil) != (a.Err == "") {
		ke, me := "ok", "ok"
		if a.Err != "" {
			ke = "error: " + a.Err
		}
		if merr != nil {
			me = "error: " + merr.Error()
		}
		m.v.diff(Diff{Time: m.v.run.Seconds(a.BeforeNs), Host: m.name, Dev: c.Dev, IP: c.IP, What: "ip neigh " + c.Op.String(),
			Kernel: ke, Model: me, Explanation: "ip neigh " + a.Cmd}, "")
	}
}

func (m *hostModel) sysctl(in *input) {
	s := in.Sysctl
	for dev, p := range s.Params {
		if d := m.devs[dev]; d != nil {
			p.Apply(d.Device, m.v.run.HZ)
		}
	}
	if s.ConfAll != nil {
		applyConf(m.st, "net.ipv4.conf.all.", s.ConfAll)
	}
	for dev, c := range s.Conf {
		applyConf(m.st, "net.ipv4.conf."+dev+".", c)
	}
	if m.st.ND != nil {
		for dev, p := range s.Params6 {
			if d := m.devs[dev]; d != nil && d.ND != nil {
				p.Apply(d.ND, m.v.run.HZ)
			}
		}
		applyConf(m.st, "net.ipv6.conf.all.", s.ConfAll6)
		for dev, c := range s.Conf6 {
			if d := m.devs[dev]; d != nil && d.ND != nil {
				applyConf(m.st, "net.ipv6.conf."+dev+".", c)
			}
		}
	}
	m.v.res.Stats.Sysctls++
}

// periodicBefore aligns the model's gc_thresh1 test with the kernel's,
// which counts the entries of every namespace on the machine: the others
// are the machine-wide count read just before the work ran, less this
// host's own (the model's, which agree with the kernel's until a read says
// otherwise). The count after the run would do only on a quiet machine:
// the work removes old entries of every namespace.
func (m *hostModel) periodicBefore(in *input) {
	p := in.Periodic
	others := max(p.EntriesBefore-m.tbl.Len(), 0)
	m.tbl.GCThresh1 = max(m.v.run.Table.Thresh1-others, 0)
}

// periodicAfter applies what the periodic work changed in the kernel: a
// re-randomised reachable_time.
func (m *hostModel) periodicAfter(in *input) {
	for dev, p := range in.Periodic.Params[m.name] {
		if d := m.devs[dev]; d != nil {
			d.ReachableTime = vtime.MsToTicks(p.ReachableTime.Milliseconds(), m.v.run.HZ)
		}
	}
}
