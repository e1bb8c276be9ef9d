package verify

// The judging half of a host's model: what a table read compared, ties at
// timer boundaries, and the margins that say how close each comparison
// came to going the other way.

import (
	"fmt"
	"sort"
	"time"

	"arplab/internal/lab"
	"arplab/internal/labnet"
	"arplab/internal/neigh"
)

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
	sn := in.Snapshot
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
	if m.st.ND != nil {
		for _, e := range m.st.ND.Entries() {
			if e.IP.IsMulticast() {
				continue // NOARP group mappings: the lab's reads leave them out (labnet.Host.Neighbours)
			}
			e := e
			get(entryKey{e.Dev, e.IP}).m = &e
		}
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
			o.ks = ndEntryString(stateString(true, p.k.State.String(), p.k.State.Valid(), p.k.LLAddr), k.ip, p.k.Router)
		}
		if p.m != nil {
			o.ms = ndEntryString(stateString(true, p.m.State.String(), p.m.State.Valid(), p.m.LLAddr), k.ip, p.m.Router)
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
	return m.nearIn(sn, m.mTrans[k], m.kTrans[k])
}

// nearIn is near over the given lists of changes.
func (m *hostModel) nearIn(sn *lab.RunSnapshot, lists ...[]transition) []transition {
	tol := m.tolerance()
	var out []transition
	for _, list := range lists {
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
// tolerance of the read, and records it. For an entry it is also a tie when
// the model passed through the kernel's reading in a run of changes near
// the read: a flow's first packet and the owner's reply can both land
// while a read runs on a loaded machine, and which of the states the read
// caught is then unknown (no entry → INCOMPLETE → REACHABLE).
func (m *hostModel) tie(o observation, probes bool) bool {
	near := m.near(o.sn, o.k)
	if !probes {
		if t, ok := m.chainTie(o, m.nearIn(o.sn, m.mTrans[o.k])); ok {
			near = []transition{t}
		}
	}
	for _, t := range near {
		ok := false
		if probes {
			d := o.kc.unicast + o.kc.broadcast - o.mc.unicast - o.mc.broadcast
			dr := o.kc.replies - o.mc.replies
			ok = t.probe && (d == 1 || d == -1) && dr == 0 ||
				t.reply && d == 0 && (dr == 1 || dr == -1)
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

// chainTie looks for the kernel's reading among the states the model went
// through in its changes near a read (near: the model's only). It returns the change that reached
// the kernel's reading (or left it) recast as a single transition between
// the two sides, so the caller records it as any other tie.
func (m *hostModel) chainTie(o observation, near []transition) (transition, bool) {
	var model []transition
	for _, t := range near {
		if !t.probe && t.before != t.after {
			model = append(model, t)
		}
	}
	if len(model) < 2 {
		return transition{}, false // one change: the plain rule covers it
	}
	sort.SliceStable(model, func(i, j int) bool { return model[i].ns < model[j].ns })
	seen := map[string]bool{}
	for _, t := range model {
		seen[t.before], seen[t.after] = true, true
	}
	if !seen[o.ks] || !seen[o.ms] {
		return transition{}, false
	}
	for _, t := range model {
		if t.after == o.ks || t.before == o.ks {
			return transition{ns: t.ns, what: t.what + " (in a run of changes during the read)", before: o.ms, after: o.ks}, true
		}
	}
	return transition{}, false
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
