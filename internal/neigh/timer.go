package neigh

import (
	"container/heap"
	"math"
	"net/netip"
	"sort"

	"arplab/internal/vtime"
	"arplab/internal/wire/ndisc"
)

// timerHeap orders armed entries by (fire tick, arming order), so entries
// due in the same tick run in the order their timers were armed.
type timerHeap []*Entry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if d := vtime.Since(h[i].fire, h[j].fire); d != 0 {
		return d < 0
	}
	return h[i].timerSeq < h[j].timerSeq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*Entry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

// fireTick is when a timer armed at now for expires actually runs.
//
// Before 4.8 (cascading wheel) a timer runs at its expiry tick, or at the
// next tick if that one has already been processed. From 4.8 the wheel
// puts a timer in a bucket whose expiry is the next multiple of the level's
// granularity strictly after expires (spec §12.2).
func (t *Table) fireTick(now, expires vtime.Jiffies) vtime.Jiffies {
	delta := vtime.Since(expires, now)
	if delta <= 0 {
		return now + 1
	}
	if !t.F.TimerWheel {
		return expires
	}
	// Level starts: 63 << 3(n-1) ticks; granularity 8^n (LVL_CLK_SHIFT 3).
	shift := uint(0)
	for lvl, start := 0, int64(63); lvl < 8 && delta >= start; lvl++ {
		shift += 3
		start <<= 3
	}
	if t.wheelLatest {
		return expires + 1<<shift
	}
	return ((expires >> shift) + 1) << shift
}

// RunTimerAt runs the timer of ip's entry on dev at now, earlier than the
// model placed it, when the host showed that its timer ran then: it sent
// the probe that timer sends. It does so only for a timer that sends one
// (DELAY, PROBE, INCOMPLETE) whose expiry has come, give or take slack
// ticks, and that the model would run later than now. by is how many
// ticks earlier than the model's placement it ran.
func (t *Table) RunTimerAt(now vtime.Jiffies, dev *Device, ip netip.Addr, slack vtime.Jiffies) (r *Result, by vtime.Jiffies, ok bool) {
	e := t.get(dev, ip)
	if e == nil || e.idx < 0 || (e.state != Delay && e.state != Probe && e.state != Incomplete) {
		return nil, 0, false
	}
	if vtime.After(e.expires, now+slack) || !vtime.After(e.fire, now) {
		return nil, 0, false
	}
	by = e.fire - now
	e.fire = now
	heap.Fix(&t.timers, e.idx)
	return t.Tick(now), by, true
}

// armTimer is neigh_add_timer / mod_timer: (re)arm e for expires.
func (t *Table) armTimer(e *Entry, now, expires vtime.Jiffies) {
	e.expires = expires
	e.fire = t.fireTick(now, expires)
	t.seq++
	e.timerSeq = t.seq
	if e.idx >= 0 {
		heap.Fix(&t.timers, e.idx)
		return
	}
	heap.Push(&t.timers, e)
}

// addTimer is neigh_add_timer: arming from the output path or from
// neigh_update (the timer handler re-arms with armTimer alone). Since 6.3
// (c1d2ecdf5e38, F16) it first clamps `confirmed` into the last
// LONG_MAX − 86400·HZ ticks and raises `used` to `confirmed`, so a fresh
// confirmation also counts as a use at the next REACHABLE expiry (spec §1.2).
func (t *Table) addTimer(e *Entry, now, expires vtime.Jiffies) {
	if t.F.ClampTimestamps {
		mint := now - vtime.Jiffies(math.MaxInt64-int64(86400*t.HZ))
		if !(vtime.AfterEq(e.confirmed, mint) && vtime.BeforeEq(e.confirmed, now)) {
			e.confirmed = mint
		}
		if vtime.Before(e.used, e.confirmed) {
			e.used = e.confirmed
		}
	}
	t.armTimer(e, now, expires)
}

// stopTimer is neigh_del_timer.
func (t *Table) stopTimer(e *Entry) {
	if e.idx >= 0 {
		heap.Remove(&t.timers, e.idx)
	}
}

// minRearm is the smallest timer delay the handler re-arms with:
// HZ/2 until 5.7, HZ/100 after (spec §2.2 step 6, F13).
func (t *Table) minRearm() vtime.Jiffies {
	if t.F.SmallRetrans {
		return vtime.Jiffies(max(t.HZ/100, 1))
	}
	return vtime.Jiffies(t.HZ / 2)
}

// NextDeadline returns the next tick at which Tick has work to do.
func (t *Table) NextDeadline() vtime.Jiffies {
	next := t.periodicAt
	if len(t.timers) > 0 && vtime.Before(t.timers[0].fire, next) {
		next = t.timers[0].fire
	}
	return next
}

// Tick runs every timer and periodic work due at or before now, each at its
// own tick, in order. Callers that step exactly to NextDeadline get one
// event per call; callers that jump (replay) get all of them.
func (t *Table) Tick(now vtime.Jiffies) *Result {
	r := t.begin(now)
	for {
		next := t.NextDeadline()
		if vtime.After(next, now) {
			return r
		}
		t.cur = next // actions of this tick carry it
		if len(t.timers) > 0 && t.timers[0].fire == next {
			e := heap.Pop(&t.timers).(*Entry)
			t.timerHandler(next, e)
			continue
		}
		t.periodicWork(next)
	}
}

// timerHandler is neigh_timer_handler (spec §2.2).
func (t *Table) timerHandler(now vtime.Jiffies, e *Entry) {
	p := &e.dev.Params
	state := e.state
	next := now + vtime.Jiffies(t.HZ)
	d := Decision{Dev: e.dev.Name, IP: e.ip, Now: now, Old: state, New: state, OldMAC: e.ha, NewMAC: e.ha,
		UpdatedBefore: e.updated, Confirmed: e.confirmed, Locktime: p.Locktime}
	if !state.InTimer() {
		return // a timer of a state that no longer has one
	}
	switch state {
	case Reachable:
		if limit := e.confirmed + vtime.Jiffies(e.dev.ReachableTime); vtime.BeforeEq(now, limit) {
			next = limit
			d.Rule, d.Limit = RuleReachableStillConfirmed, limit
		} else if limit := e.used + vtime.Jiffies(p.DelayProbeTime); vtime.BeforeEq(now, limit) {
			t.setState(e, Delay)
			e.updated = now
			next = now + vtime.Jiffies(p.DelayProbeTime)
			d.Rule, d.Limit = RuleReachableToDelay, limit
		} else {
			t.setState(e, Stale)
			e.updated = now
			d.Rule, d.Limit = RuleReachableToStale, e.confirmed+vtime.Jiffies(e.dev.ReachableTime)
			d.Used = e.used
		}
	case Delay:
		if limit := e.confirmed + vtime.Jiffies(p.DelayProbeTime); vtime.BeforeEq(now, limit) {
			t.setState(e, Reachable)
			e.updated = now
			next = e.confirmed + vtime.Jiffies(e.dev.ReachableTime)
			d.Rule, d.Limit = RuleDelayToReachable, limit
		} else {
			t.setState(e, Probe)
			e.updated = now
			e.probes = 0
			next = now + t.retrans(p)
			d.Rule, d.Limit = RuleDelayToProbe, limit
		}
	default: // Probe, Incomplete
		next = now + t.retrans(p)
		d.Rule = RuleRetransmit
	}
	d.Probes, d.MaxProbes = e.probes, t.maxProbes(e)
	if state == Incomplete {
		d.Count = p.UcastProbes // where INCOMPLETE's counter starts
	}
	if (e.state == Incomplete || e.state == Probe) && e.probes >= t.maxProbes(e) {
		t.setState(e, Failed)
		d.Rule = RuleProbesExhausted
		t.invalidate(now, e)
		d.New, d.Updated, d.UpdatedMoved = e.state, e.updated, true
		t.decide(&d)
		return
	}
	d.New = e.state
	d.Updated = e.updated
	d.UpdatedMoved = e.updated != d.UpdatedBefore
	if e.state.InTimer() {
		if vtime.Before(next, now+t.minRearm()) {
			next = now + t.minRearm()
		}
		t.armTimer(e, now, next)
	}
	t.decide(&d)
	if e.state == Incomplete || e.state == Probe {
		t.solicit(now, e)
	}
}

// retrans is the PROBE/INCOMPLETE re-arm: retrans_time, at least HZ/100 on 5.7+.
func (t *Table) retrans(p *Params) vtime.Jiffies {
	r := vtime.Jiffies(p.RetransTime)
	if t.F.SmallRetrans && r < vtime.Jiffies(max(t.HZ/100, 1)) {
		r = vtime.Jiffies(max(t.HZ/100, 1))
	}
	return r
}

// maxProbes is neigh_max_probes (spec §2.3).
func (t *Table) maxProbes(e *Entry) int {
	p := &e.dev.Params
	if e.state == Probe && t.F.McastResolicit {
		return p.UcastProbes + p.AppProbes + p.McastReprobes
	}
	if e.state == Probe {
		return p.UcastProbes
	}
	return p.UcastProbes + p.AppProbes + p.McastProbes
}

// solicit is neigh_probe → arp_solicit: the probe type follows the probe
// counter before it is incremented (spec §2.3).
func (t *Table) solicit(now vtime.Jiffies, e *Entry) {
	p := &e.dev.Params
	n := e.probes
	e.probes++
	a := Action{Kind: ActProbe, Dev: e.dev, Target: e.ip, Probe: n + 1}
	if t.Family == IPv6 {
		a.Src = t.ndSource(e)
	} else {
		a.Src = e.dev.sourceFor(e.ip)
	}
	switch k := n - p.UcastProbes; {
	case k < 0:
		a.Unicast, a.DstMAC = true, e.ha
		a.Nth = n + 1
		t.Stats.UnicastProbes++
	case k-p.AppProbes < 0:
		a.Kind = ActAppProbe // a netlink request to a user-space daemon: no frame
		a.Nth = k + 1
	default:
		a.Nth = k - p.AppProbes + 1
		t.Stats.BroadcastProbes++
		if t.Family == IPv6 {
			// ndisc §2.3: to the solicited-node group of the target.
			a.DstMAC = ndisc.MulticastMAC(ndisc.SolicitedNode(e.ip))
		}
	}
	if a.Kind == ActProbe && !a.Src.IsValid() {
		// ndisc §2.3: no usable source (no link-local address): the
		// counter moved, but no NS goes out.
		t.Stats.NDNoSource++
		return
	}
	if a.Kind == ActProbe {
		t.Stats.ProbesSent++
	}
	t.act(a)
}

// invalidate is neigh_invalidate: stamp `updated` and fail every queued
// packet back to its sender (spec §2.2 step 5).
func (t *Table) invalidate(now vtime.Jiffies, e *Entry) {
	e.updated = now
	t.Stats.Failed++
	for _, q := range e.queue {
		if q.ID&replyBit != 0 {
			delete(t.replies, q.ID) // our own NA reply: nobody to tell
			continue
		}
		t.act(Action{Kind: ActUnreachable, Dev: e.dev, Target: e.ip, Packet: q.ID})
	}
	e.queue = e.queue[:0]
	e.queueBytes = 0
}

// periodicWork is neigh_periodic_work (spec §2.4, §7.1).
func (t *Table) periodicWork(now vtime.Jiffies) {
	t.periodicAt = now + vtime.Jiffies(t.Default.BaseReachableTime/2)
	below := t.nEntries < t.GCThresh1
	if below && !t.F.RerandomiseAlways {
		return // ≤3.13: the whole work is skipped below gc_thresh1
	}
	if vtime.After(now, t.lastRand+vtime.Jiffies(300*t.HZ)) {
		t.lastRand = now
		for _, d := range t.devs {
			d.ReachableTime = t.randReachable(d.Params.BaseReachableTime)
		}
		t.decide(&Decision{Rule: RuleRerandomise, Now: now})
	}
	if below {
		return
	}
	var victims []*Entry
	t.each(func(e *Entry) {
		if e.state == Permanent || e.state.InTimer() {
			return
		}
		if vtime.Before(e.used, e.confirmed) && (!t.F.ClampTimestamps || !vtime.After(e.confirmed, now)) {
			e.used = e.confirmed
		}
		stale := vtime.After(now, e.used+vtime.Jiffies(e.dev.Params.GCStaleTime))
		if t.F.ClampTimestamps {
			// 6.3+: stale unless used ≤ now < used + gc_stale_time
			stale = !(vtime.BeforeEq(e.used, now) && vtime.Before(now, e.used+vtime.Jiffies(e.dev.Params.GCStaleTime)))
		}
		if e.state == Failed || stale {
			victims = append(victims, e)
		}
	})
	sortEntries(victims)
	for _, e := range victims {
		t.decide(&Decision{Rule: RuleGCPeriodic, Dev: e.dev.Name, IP: e.ip, Now: now, Old: e.state, New: None, OldMAC: e.ha, Used: e.used})
		t.remove(e)
		t.Stats.PeriodicGCRemoved++
	}
}

// forcedGC is neigh_forced_gc (spec §7.2); it returns how many it removed.
func (t *Table) forcedGC(now vtime.Jiffies) int {
	t.Stats.ForcedGC++
	var all []*Entry
	t.each(func(e *Entry) {
		all = append(all, e)
	})
	// Creation order: the 5.0+ gc_list walks oldest first; the old
	// algorithm's order does not matter but sorting keeps output stable.
	sort.Slice(all, func(i, j int) bool { return all[i].created < all[j].created })
	removed := 0
	maxClean := t.nGC - t.GCThresh2
	for _, e := range all {
		if e.state == Permanent || e.state.InTimer() {
			continue // the timer holds a reference (refcnt > 1)
		}
		if t.F.GCList {
			young := vtime.After(e.updated, now-vtime.Jiffies(5*t.HZ))
			if t.F.ClampTimestamps {
				young = vtime.BeforeEq(now-vtime.Jiffies(5*t.HZ), e.updated) && vtime.BeforeEq(e.updated, now)
			}
			if e.state != Failed && young {
				continue
			}
		}
		t.decide(&Decision{Rule: RuleGCForced, Dev: e.dev.Name, IP: e.ip, Now: now, Old: e.state, New: None, OldMAC: e.ha, Updated: e.updated})
		t.remove(e)
		removed++
		if t.F.GCList && removed >= maxClean {
			break
		}
	}
	t.lastFlush = now
	return removed
}

func sortEntries(es []*Entry) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].dev.Index != es[j].dev.Index {
			return es[i].dev.Index < es[j].dev.Index
		}
		return es[i].ip.Less(es[j].ip)
	})
}
