package verify

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"

	"arplab/internal/kernel"
	"arplab/internal/ktrace"
	"arplab/internal/lab"
	"arplab/internal/labnet"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// inKind is a kind of recorded input (or observation) of one host.
type inKind uint8

const (
	inARP      inKind = iota // an ARP frame the host received
	inIPRx                   // an IPv4 frame the host received
	inIPTx                   // an IPv4 frame the host sent
	inARPTx                  // an ARP frame the host sent (compared, not fed)
	inQueued                 // a packet the kernel queued or dropped at output
	inAdmin                  // an ip neigh command
	inSysctl                 // a sysctl write
	inPeriodic               // the table's periodic work ran
	inSnapshot               // the table was read
)

// input is one recorded event, placed on the kernel's jiffies.
type input struct {
	ns    int64
	j     uint64
	exact bool // j is the kernel's own stamp, not the fitted clock's
	seq   int
	kind  inKind

	frame    int // index into LabRun.Frames
	verdict  *lab.FrameVerdict
	admin    *lab.RunAdmin
	sysctl   *lab.RunSysctl
	periodic *lab.RunPeriodic
	snap     *lab.RunSnapshot
	ev       *ktrace.Event
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

// hostModel replays one observed host's recorded inputs into a model table.
type hostModel struct {
	v    *verifier
	name string
	rh   *lab.RunHost
	tbl  *neigh.Table
	devs map[string]*neigh.Device

	tcp     map[sockKey]*tcpSock
	udp     map[sockKey]*neigh.Socket
	routes  map[string]*neigh.Route
	credits map[entryKey]int
	model   map[entryKey]*counts
	kern    map[entryKey]*counts
	last    map[entryKey]neigh.Decision
	lastNs  map[entryKey]int64
	mTrans  map[entryKey][]transition
	kTrans  map[entryKey][]transition
	checks  []checkpoint
	obs     []observation
	mFires  map[entryKey][]fire
	pktID   uint64
	now     vtime.Jiffies
	started bool
	// reported remembers the last disagreement per entry and aspect, so a
	// lasting one is printed once, when it appears or changes.
	reported map[string]string
}

func ticksOf(d time.Duration, hz int) vtime.Ticks { return vtime.MsToTicks(d.Milliseconds(), hz) }

// applyParams puts a parameter set read from the kernel into a device.
func applyParams(d *neigh.Device, p labnet.NeighParams, hz int) { p.Apply(d, hz) }

// applyConf sets conf/all and conf/<dev> as read from the kernel.
func applyConf(t *neigh.Table, dev string, conf map[string]string) {
	for _, k := range sortedKeys(conf) {
		t.SetConf(dev, k, conf[k]) // a setting this profile lacks is simply absent
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
	cfg := neigh.Config{Profile: prof, HZ: run.HZ, Rand: rand.New(rand.NewPCG(v.opt.Seed, 0x5eed)), Now: vtime.Jiffies(startJ),
		PeriodicPhase: vtime.Ticks(periodicAt - startJ)}
	tbl, err := neigh.NewTable(cfg)
	if err != nil {
		return nil, err
	}
	tbl.GCThresh1, tbl.GCThresh2, tbl.GCThresh3 = run.Table.Thresh1, run.Table.Thresh2, run.Table.Thresh3
	if run.Table.Default.BaseReachableTime > 0 {
		tbl.Default.BaseReachableTime = ticksOf(run.Table.Default.BaseReachableTime, run.HZ)
	}
	m := &hostModel{v: v, name: rh.Name, rh: rh, tbl: tbl, devs: map[string]*neigh.Device{},
		tcp: map[sockKey]*tcpSock{}, udp: map[sockKey]*neigh.Socket{}, routes: map[string]*neigh.Route{},
		credits: map[entryKey]int{}, model: map[entryKey]*counts{}, kern: map[entryKey]*counts{},
		last: map[entryKey]neigh.Decision{}, lastNs: map[entryKey]int64{},
		mTrans: map[entryKey][]transition{}, kTrans: map[entryKey][]transition{}, mFires: map[entryKey][]fire{},
		now: vtime.Jiffies(startJ), reported: map[string]string{}}
	for _, d := range rh.Devs {
		dev := tbl.AddDevice(d.Name, d.MAC, d.Addrs)
		applyParams(dev, d.Params, run.HZ)
		m.devs[d.Name] = dev
		m.routes[d.Name] = &neigh.Route{Name: d.Name + " subnet route cpu0"}
	}
	applyConf(tbl, "all", rh.ConfAll)
	for _, d := range rh.Devs {
		applyConf(tbl, d.Name, d.Conf)
	}
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

// absorb records what a model call did: trace events, transitions, the
// probes and replies it sent, queued packets it released.
func (m *hostModel) absorb(r *neigh.Result, ns int64, frame int) {
	for i := range r.Decisions {
		d := r.Decisions[i]
		t := ns
		timer := timerRules[d.Rule]
		if timer {
			t = m.v.run.Clock.StartNs(uint64(d.Now))
		}
		if ev, ok := d.Event(m.name, m.v.run.Seconds(t), m.seconds); ok {
			ev.Source = "model"
			if d.Frame {
				ev.Frame = frame + 1
			}
			m.v.res.Events = append(m.v.res.Events, ev)
		}
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
			c := m.count(m.model, k)
			kind := "broadcast"
			if a.Unicast {
				c.unicast++
				kind = "unicast"
			} else {
				c.broadcast++
			}
			t := ns
			if a.At != 0 && a.At != m.now {
				t = m.v.run.Clock.StartNs(uint64(a.At)) // a timer's probe, at its own tick
			}
			ev := trace.Event{Time: m.v.run.Seconds(t), Kind: trace.KindProbe, Source: "model", Host: m.name, Dev: a.Dev.Name,
				IP: a.Target.String(), Cause: kind, Explanation: fmt.Sprintf("probe %d: %s request for %v", a.Probe, kind, a.Target)}
			if a.Unicast {
				ev.LLAddr = a.DstMAC.String()
			}
			m.v.res.Events = append(m.v.res.Events, ev)
		case neigh.ActReply:
			m.count(m.model, k).replies++
		case neigh.ActTransmit:
			m.credits[k]++
		}
	}
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
		j := vtime.Jiffies(in.j)
		if vtime.Before(j, m.now) {
			// The fitted clock put this input before one the kernel
			// stamped: keep the model's time monotonic.
			j = m.now
		}
		if in.kind == inPeriodic {
			m.periodicBefore(in)
		}
		m.absorb(m.tbl.Tick(j), in.ns, -1)
		m.now = j
		switch in.kind {
		case inARP:
			m.receiveARP(in)
		case inIPRx:
			m.receiveIP(in)
		case inIPTx:
			m.sendIP(in)
		case inARPTx:
			m.sentARP(in)
		case inQueued:
			m.queued(in)
		case inAdmin:
			m.admin(in)
		case inSysctl:
			m.sysctl(in)
		case inPeriodic:
			m.periodicAfter(in)
		case inSnapshot:
			m.compareSnapshot(in)
		}
	}
}

func pktType(t labnet.PacketType) neigh.PktType {
	switch t {
	case labnet.PacketBroadcast:
		return neigh.PktBroadcast
	case labnet.PacketMulticast:
		return neigh.PktMulticast
	case labnet.PacketOtherHost:
		return neigh.PktOtherHost
	}
	return neigh.PktHost
}

func (m *hostModel) receiveARP(in *input) {
	f := &m.v.run.Frames[in.frame]
	dev := m.devs[f.Dev]
	p, _, _ := lab.FrameARP(f.Data)
	r := m.tbl.ReceiveARP(m.now, dev, &p, pktType(f.Type))
	var d *neigh.Decision
	for i := range r.Decisions {
		if r.Decisions[i].Frame {
			dd := r.Decisions[i]
			d = &dd
		}
	}
	m.absorb(r, in.ns, in.frame)
	m.v.res.Stats.Frames++
	if d == nil {
		return
	}
	m.locktimeMargin(in, d, &p)
	v := in.verdict
	if v == nil || v.Verdict == "" {
		return // no oracle
	}
	m.v.res.Stats.Verdicts++
	after, has := m.tbl.Lookup(dev, p.SIP)
	model := describe(d.Verdict, has, after.State.String(), after.LLAddr, after.State.Valid())
	kern := v.Verdict
	if kn, kll, ok := v.After(); ok {
		kern = describe(v.Verdict, true, kn.String(), kll, kn.Valid())
	} else {
		kern = describe(v.Verdict, false, "", arp.MAC{}, false)
	}
	if d.Verdict != v.Verdict || (v.Done != nil && kern != model) {
		m.v.diff(Diff{Time: m.v.run.Seconds(f.AtNs), Host: m.name, Dev: f.Dev, IP: p.SIP, What: "frame",
			Frame: in.frame + 1, FrameDesc: frameDesc(&p, f), Kernel: kern, Model: model, Explanation: d.Explain()}, "")
		return
	}
	m.v.res.Stats.VerdictsAgree++
}

func describe(verdict string, has bool, state string, ll arp.MAC, valid bool) string {
	switch {
	case !has && verdict == trace.Dropped:
		return "dropped"
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
	if v := in.verdict; v != nil && v.Update != nil {
		updated = v.Update.Updated // the kernel's own anchor
	}
	dev := m.devs[d.Dev]
	flip := m.v.run.Clock.StartNs(updated + uint64(dev.Params.Locktime) + 1)
	f := &m.v.run.Frames[in.frame]
	dist := time.Duration(f.AtNs - flip)
	if dist < 0 {
		dist = -dist
	}
	m.v.margin(Margin{Kind: MarginLocktime, D: dist, Time: m.v.run.Seconds(f.AtNs), Host: m.name, Dev: d.Dev, IP: p.SIP,
		Detail: fmt.Sprintf("frame #%d %v, locktime ends at %.4fs (updated=%d + %d ticks)", in.frame+1, p.Op, m.v.run.Seconds(flip), updated, dev.Params.Locktime)})
}

func (m *hostModel) socket(p ipv4, tx bool) (*tcpSock, *neigh.Socket) {
	k := sockKey{proto: p.proto, lport: p.sport, raddr: p.dst, rport: p.dport}
	if !tx {
		k = sockKey{proto: p.proto, lport: p.dport, raddr: p.src, rport: p.sport}
	}
	switch p.proto {
	case 6:
		c := m.tcp[k]
		if c == nil {
			if !tx {
				return nil, nil
			}
			c = &tcpSock{sock: &neigh.Socket{Name: fmt.Sprintf("tcp %d→%v:%d", k.lport, k.raddr, k.rport)}}
			m.tcp[k] = c
		}
		return c, c.sock
	case 17:
		s := m.udp[k]
		if s == nil {
			s = &neigh.Socket{Name: fmt.Sprintf("udp %d→%v:%d", k.lport, k.raddr, k.rport)}
			m.udp[k] = s
		}
		return nil, s
	}
	return nil, nil
}

func (m *hostModel) receiveIP(in *input) {
	f := &m.v.run.Frames[in.frame]
	p, ok := parseIPv4(f.Data)
	if !ok || p.proto != 6 || f.Type != labnet.PacketHost {
		return
	}
	c, sock := m.socket(p, false)
	if c == nil {
		return
	}
	if sock.Route == nil {
		sock.Route = m.routes[f.Dev]
	}
	if c.received(p) {
		m.absorb(m.tbl.Confirm(m.now, sock), in.ns, -1)
		m.v.res.Stats.Confirms++
	}
}

// nexthop is the on-link neighbour a packet to dst goes to, if any.
func (m *hostModel) nexthop(dev *neigh.Device, dst netip.Addr) (netip.Addr, bool) {
	if dst.IsMulticast() || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return dst, false
	}
	for _, p := range dev.Addrs {
		if p.Masked().Contains(dst) {
			if p.Bits() < 31 {
				b := p.Masked().Addr().As4()
				host := uint32(1)<<(32-p.Bits()) - 1
				v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
				if dst == netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}) {
					return dst, false
				}
			}
			return dst, true
		}
	}
	return dst, false
}

func (m *hostModel) sendIP(in *input) {
	f := &m.v.run.Frames[in.frame]
	p, ok := parseIPv4(f.Data)
	if !ok {
		return
	}
	dev := m.devs[f.Dev]
	nh, ok := m.nexthop(dev, p.dst)
	if !ok {
		m.v.notef("host %s: IPv4 to %v not modelled (not an on-link unicast neighbour)", m.name, p.dst)
		return
	}
	c, sock := m.socket(p, true)
	if c != nil {
		c.sent(p)
	}
	if sock != nil && sock.Route == nil {
		sock.Route = m.routes[f.Dev]
	}
	k := entryKey{f.Dev, nh}
	if m.credits[k] > 0 {
		m.credits[k]-- // a packet the model had queued, now released
		return
	}
	if p.proto == 17 && sock != nil && m.v.confirmUDP(m.name, p.sport) {
		m.absorb(m.tbl.Confirm(m.now, sock), in.ns, -1) // MSG_CONFIRM marks this datagram
	}
	m.pktID++
	_, _, r := m.tbl.Output(m.now, dev, nh, sock, m.pktID, f.Len)
	m.absorb(r, in.ns, -1)
	m.v.res.Stats.Outputs++
}

// queued feeds a packet the kernel could not send at once (INCOMPLETE, or
// FAILED without probes): its frame leaves later, if ever.
func (m *hostModel) queued(in *input) {
	_, d := m.v.run.DevByIfName(in.ev.Dev)
	dev := m.devs[d.Name]
	m.pktID++
	_, _, r := m.tbl.Output(m.now, dev, in.ev.IP, nil, m.pktID, 100)
	m.absorb(r, in.ns, -1)
	m.v.res.Stats.Outputs++
}

func (m *hostModel) sentARP(in *input) {
	f := &m.v.run.Frames[in.frame]
	p, dst, ok := lab.FrameARP(f.Data)
	if !ok {
		return
	}
	if !m.v.run.TraceOK && p.Op == arp.OpRequest && dst.IsBroadcast() {
		// Without tracepoints a queued packet leaves no trace of its own;
		// the broadcast request that starts a resolution is its evidence.
		if e, ok := m.tbl.Lookup(m.devs[f.Dev], p.TIP); !ok || e.State == neigh.Failed || e.State == neigh.None {
			m.pktID++
			_, _, r := m.tbl.Output(m.now, m.devs[f.Dev], p.TIP, nil, m.pktID, 100)
			m.absorb(r, in.ns, -1)
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
	a := in.admin
	c, err := scenario.ParseNeighCmd(a.Cmd)
	if err != nil {
		return
	}
	dev := m.devs[c.Dev]
	if dev == nil {
		return
	}
	r, merr := m.tbl.Admin(m.now, dev, c.Op, c.IP, c.LLAddr, c.State)
	m.absorb(r, in.ns, -1)
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
	s := in.sysctl
	for dev, p := range s.Params {
		if d := m.devs[dev]; d != nil {
			applyParams(d, p, m.v.run.HZ)
		}
	}
	if s.ConfAll != nil {
		applyConf(m.tbl, "all", s.ConfAll)
	}
	for dev, c := range s.Conf {
		applyConf(m.tbl, dev, c)
	}
	m.v.res.Stats.Sysctls++
}

// periodicBefore aligns the model's gc_thresh1 test with the kernel's,
// which counts the entries of every namespace on the machine.
func (m *hostModel) periodicBefore(in *input) {
	p := in.periodic
	others := p.Table.Entries - p.HostEntries[m.name]
	if others < 0 {
		others = 0
	}
	m.tbl.GCThresh1 = max(m.v.run.Table.Thresh1-others, 0)
}

// periodicAfter applies what the periodic work changed in the kernel: a
// re-randomised reachable_time.
func (m *hostModel) periodicAfter(in *input) {
	for dev, p := range in.periodic.Params[m.name] {
		if d := m.devs[dev]; d != nil {
			d.ReachableTime = ticksOf(p.ReachableTime, m.v.run.HZ)
		}
	}
}

// observation is one entry compared at one table read; it is judged
// after the whole run is replayed, when the transitions on both sides of
// the read are known.
type observation struct {
	sn      *lab.RunSnapshot
	k       entryKey
	ks, ms  string // kernel and model entry (stateString)
	entry   bool   // at least one side has the entry
	kc, mc  counts
	explain string
}

// compareSnapshot records the kernel's table and the model's at a read.
func (m *hostModel) compareSnapshot(in *input) {
	sn := in.snap
	if sn.Err != "" {
		m.v.notef("host %s: table read at %s failed: %s", m.name, sn.Reason, sn.Err)
		return
	}
	m.v.res.Stats.Checkpoints++
	type pair struct {
		k *labnet.Neigh
		m *neigh.Snapshot
	}
	all := map[entryKey]*pair{}
	var keys []entryKey
	get := func(k entryKey) *pair {
		p := all[k]
		if p == nil {
			p = &pair{}
			all[k] = p
			keys = append(keys, k)
		}
		return p
	}
	for i := range sn.Entries {
		n := &sn.Entries[i]
		get(entryKey{n.Dev, n.IP}).k = n
	}
	for _, e := range m.tbl.Entries() {
		e := e
		get(entryKey{e.Dev, e.IP}).m = &e
	}
	for k := range m.kern {
		get(k)
	}
	for k := range m.model {
		get(k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].dev != keys[j].dev {
			return keys[i].dev < keys[j].dev
		}
		return keys[i].ip.Less(keys[j].ip)
	})
	for _, k := range keys {
		p := all[k]
		o := observation{sn: sn, k: k, entry: p.k != nil || p.m != nil, ks: "no entry", ms: "no entry"}
		if p.k != nil {
			o.ks = stateString(true, p.k.State.String(), p.k.State.Valid(), p.k.LLAddr)
		}
		if p.m != nil {
			o.ms = stateString(true, p.m.State.String(), p.m.State.Valid(), p.m.LLAddr)
		}
		if c := m.kern[k]; c != nil {
			o.kc = *c
		}
		if c := m.model[k]; c != nil {
			o.mc = *c
		}
		if !o.entry && o.kc == (counts{}) && o.mc == (counts{}) {
			continue
		}
		if o.ks != o.ms || o.kc != o.mc {
			o.explain = m.explain(k)
		}
		m.obs = append(m.obs, o)
	}
}

// tolerance is how close to a read a timer-driven change may be for the
// read to have caught either side of it: two jiffies (timer latency and the
// read's own jiffy) plus the clock's uncertainty.
func (m *hostModel) tolerance() int64 {
	return 2*m.v.run.Clock.TickNs() + int64(m.v.run.Clock.Uncertainty())
}

// near returns the changes of an entry, model's and kernel's, that a read
// may have caught on either side: timer-driven ones within the tolerance,
// input-driven ones only while the read ran.
func (m *hostModel) near(sn *lab.RunSnapshot, k entryKey) []transition {
	tol := m.tolerance()
	var out []transition
	for _, list := range [][]transition{m.mTrans[k], m.kTrans[k]} {
		for _, t := range list {
			lo, hi := tol, tol
			if t.input {
				// Only an input the read ran into: a flow's first packet
				// changes the entry a few microseconds before its probe
				// or frame leaves, which is what places it.
				lo, hi = int64(20*time.Microsecond), int64(500*time.Microsecond)
			}
			if t.ns >= sn.BeforeNs-lo && t.ns <= sn.AfterNs+hi {
				out = append(out, t)
			}
		}
	}
	return out
}

// judge compares the recorded observations. A difference the read may
// have caught on either side of a timer-driven change — one side shows
// the state just before it, the other just after — is a tie at a
// boundary, counted and reported among the margins, not a disagreement.
func (m *hostModel) judge() {
	for _, o := range m.obs {
		at := m.v.run.Seconds(o.sn.BeforeNs)
		if o.entry {
			m.v.res.Stats.Entries++
			m.checks = append(m.checks, checkpoint{o.sn, o.k})
			switch {
			case o.ks == o.ms:
				m.v.res.Stats.EntriesAgree++
				delete(m.reported, m.repKey(o.k, "entry"))
			case m.tie(o, false):
				m.v.res.Stats.EntriesAgree++
			default:
				m.v.diff(Diff{Time: at, Host: m.name, Dev: o.k.dev, IP: o.k.ip, What: "entry", Checkpoint: o.sn.Reason,
					Kernel: o.ks, Model: o.ms, Explanation: o.explain}, m.repKey(o.k, "entry"))
			}
		}
		if o.kc == (counts{}) && o.mc == (counts{}) {
			continue
		}
		switch {
		case o.kc == o.mc:
			delete(m.reported, m.repKey(o.k, "probes"))
		case m.tie(o, true):
		default:
			m.v.diff(Diff{Time: at, Host: m.name, Dev: o.k.dev, IP: o.k.ip, What: "probes", Checkpoint: o.sn.Reason,
				Kernel: o.kc.String(), Model: o.mc.String(), Explanation: o.explain}, m.repKey(o.k, "probes"))
		}
	}
}

// tie reports whether a difference is explained by a change within the
// tolerance of the read, and records it.
func (m *hostModel) tie(o observation, probes bool) bool {
	for _, t := range m.near(o.sn, o.k) {
		ok := false
		if probes {
			d := o.kc.unicast + o.kc.broadcast - o.mc.unicast - o.mc.broadcast
			ok = t.probe && (d == 1 || d == -1) && o.kc.replies == o.mc.replies
		} else {
			sides := map[string]bool{t.before: true, t.after: true}
			ok = t.before != t.after && sides[o.ks] && sides[o.ms]
		}
		if ok {
			m.v.res.Ties++
			var dist int64
			switch {
			case t.ns < o.sn.BeforeNs:
				dist = o.sn.BeforeNs - t.ns
			case t.ns > o.sn.AfterNs:
				dist = t.ns - o.sn.AfterNs
			}
			m.v.margin(Margin{Kind: MarginTie, D: time.Duration(dist), Time: m.v.run.Seconds(o.sn.BeforeNs), Host: m.name, Dev: o.k.dev, IP: o.k.ip,
				Detail: fmt.Sprintf("%s read kernel %s / model %s, %s at %.4fs", o.sn.Reason, o.ks, o.ms, t.what, m.v.run.Seconds(t.ns))})
			return true
		}
	}
	return false
}

func (m *hostModel) repKey(k entryKey, what string) string {
	return m.name + "|" + k.dev + "|" + k.ip.String() + "|" + what
}

// explain is the model's last word on an entry.
func (m *hostModel) explain(k entryKey) string {
	d, ok := m.last[k]
	if !ok {
		return "the model never touched this entry"
	}
	return fmt.Sprintf("last model decision at %.4fs: %s", m.v.run.Seconds(m.lastNs[k]), d.Explain())
}

// fire is a state change made by a timer, at the jiffy it ran.
type fire struct {
	j     uint64
	state string
}

// timerFires pairs the kernel's timer-driven state changes with the
// model's, in order per entry and new state, and records how many ticks
// later the kernel's timer ran than the model's timer wheel predicts.
func (m *hostModel) timerFires(stamps []lab.Stamp) {
	kf := map[entryKey][]fire{}
	for _, s := range stamps {
		e := s.Event
		if e.Event != "neigh_timer_handler" {
			continue
		}
		_, d := m.v.run.DevByIfName(e.Dev)
		if d == nil || m.rh.Dev(d.Name) == nil {
			continue
		}
		k := entryKey{d.Name, e.IP}
		kf[k] = append(kf[k], fire{s.J, e.State.String()})
	}
	for k, ks := range kf {
		ms := m.mFires[k]
		used := make([]bool, len(ms))
		for _, f := range ks {
			for i, g := range ms {
				if used[i] || g.state != f.state {
					continue
				}
				used[i] = true
				late := int64(f.j - g.j)
				st := &m.v.res.TimerFires
				st.Matched++
				if late != 0 {
					st.Off++
				}
				if abs(late) > abs(st.Max) {
					st.Max = late
					st.Where = fmt.Sprintf("%s %s %v → %s", m.name, k.dev, k.ip, f.state)
				}
				break
			}
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// checkpoint is an entry compared at a table read.
type checkpoint struct {
	sn *lab.RunSnapshot
	k  entryKey
}

// checkpointMargins records, once the whole run is replayed, how far each
// table read was from the nearest timer-driven change of each entry it
// compared, before or after it, in the model or in the kernel.
func (m *hostModel) checkpointMargins() {
	for _, cp := range m.checks {
		m.checkpointMargin(cp.sn, cp.k)
	}
}

func (m *hostModel) checkpointMargin(sn *lab.RunSnapshot, k entryKey) {
	best := Margin{Kind: MarginCheckpoint, D: -1}
	for _, list := range [][]transition{m.mTrans[k], m.kTrans[k]} {
		for _, t := range list {
			if t.input {
				continue
			}
			var d int64
			switch {
			case t.ns < sn.BeforeNs:
				d = sn.BeforeNs - t.ns
			case t.ns > sn.AfterNs:
				d = t.ns - sn.AfterNs
			}
			if best.D < 0 || time.Duration(d) < best.D {
				best = Margin{Kind: MarginCheckpoint, D: time.Duration(d), Time: m.v.run.Seconds(sn.BeforeNs), Host: m.name,
					Dev: k.dev, IP: k.ip, Detail: fmt.Sprintf("%s; %s at %.4fs", sn.Reason, t.what, m.v.run.Seconds(t.ns))}
			}
		}
	}
	if best.D >= 0 {
		m.v.margin(best)
	}
}
