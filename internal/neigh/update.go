package neigh

import (
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// UpdateFlags are neigh_update's flags (spec §5).
type UpdateFlags uint8

// Update flags.
const (
	// Override lets a different lladdr replace the cached one.
	Override UpdateFlags = 1 << iota
	// WeakOverride (IPv6 ND) demotes a CONNECTED entry instead.
	WeakOverride
	// Admin marks an administrative change (ip neigh, arp -s).
	Admin
	// OverrideIsRouter lets the update write the router flag (NTF_ROUTER)
	// from IsRouter (ndisc §5.3); IPv6 only.
	OverrideIsRouter
	// IsRouter is the new router flag (an NA's R bit, an RA).
	IsRouter
)

// updateOutcome says what neigh_update did.
type updateOutcome struct {
	effective      bool // state or lladdr changed
	rejected       bool // EPERM/EINVAL: nothing at all happened
	updatedMoved   bool
	confirmedMoved bool
	macChanged     bool
	stateKept      bool // a same-MAC STALE request kept the old state
	release        bool // queued packets wait to be released (step 11)
	weak           bool // WEAK_OVERRIDE demoted a CONNECTED entry to STALE, lladdr kept
	routerChanged  bool // the router flag was written and changed
}

// update is neigh_update (spec §5). lladdr nil means "no address given".
// It returns what changed; the caller turns it into a Decision.
func (t *Table) update(now vtime.Jiffies, e *Entry, lladdr *arp.MAC, newState State, flags UpdateFlags) (out updateOutcome) {
	old := e.state
	beforeU, beforeC := e.updated, e.confirmed
	defer func() {
		out.updatedMoved = e.updated != beforeU
		out.confirmedMoved = e.confirmed != beforeC
	}()
	// Step 2: static entries change only through admin commands.
	if flags&Admin == 0 && (old == NoARP || old == Permanent) {
		out.rejected = true
		return out
	}
	// Step 4: an invalid new state (delete → FAILED).
	if !newState.Valid() {
		t.stopTimer(e)
		t.setState(e, newState)
		if (old == Incomplete || old == Probe) && newState == Failed {
			t.invalidate(now, e)
		}
		out.effective = old != newState
		return out
	}
	// Step 5: resolve the address. When the old state is not VALID a
	// given address is always "new".
	different := false
	addr := e.ha
	if lladdr != nil {
		addr = *lladdr
		different = !old.Valid() || addr != e.ha
	} else if !old.Valid() {
		out.rejected = true // -EINVAL
		return out
	}
	// Step 6: before 77d7123342dc both stamps were written here, before
	// the override test could reject the update (the moving window).
	if t.F.ConfirmIneffective && newState.Connected() {
		e.confirmed = now
	}
	if !t.F.TimestampsOnChange {
		e.updated = now
	}
	// Step 7: override rules. The router flag (ndisc §5.3) is written on
	// the way out (writeRouter) unless a different lladdr came without
	// OVERRIDE.
	if old.Valid() {
		if different && flags&Override == 0 {
			flags &^= OverrideIsRouter
			if flags&WeakOverride != 0 && old.Connected() {
				addr, different, newState = e.ha, false, Stale
				out.weak = true
			} else {
				return out // ignored
			}
		} else if !different && newState == Stale {
			if t.F.SameMACKeepsState {
				if flags&Admin == 0 {
					newState, out.stateKept = old, true
				}
			} else if flags&WeakOverride != 0 || old.Connected() {
				newState, out.stateKept = old, true
			}
		}
	}
	// Step 8: 4.12+ stamps only effective updates.
	if t.F.TimestampsOnChange && (newState != old || different) {
		e.updated = now
		if !t.F.ConfirmIneffective && newState.Connected() {
			e.confirmed = now
		}
	}
	// Step 9: state change and timer.
	if newState != old {
		t.stopTimer(e)
		if newState == Probe && t.F.ProbeResetsCounter {
			e.probes = 0
		}
		if newState.InTimer() {
			exp := now
			if newState == Reachable {
				exp = now + vtime.Jiffies(e.dev.ReachableTime)
			}
			t.addTimer(e, now, exp)
		}
		t.setState(e, newState)
	}
	// Step 10: address change.
	if different {
		e.ha = addr
		out.macChanged = true
		if !newState.Connected() {
			e.confirmed = now - vtime.Jiffies(2*e.dev.Params.BaseReachableTime)
		}
	}
	out.effective = newState != old || different
	if flags&OverrideIsRouter != 0 {
		isr := flags&IsRouter != 0
		out.routerChanged = e.router != isr
		e.router = isr
	}
	if newState == old {
		return out
	}
	// Step 11: leaving an invalid state releases what was queued; the
	// caller does it (releaseQueue) after recording this decision.
	out.release = !old.Valid() && len(e.queue) > 0
	// Leaving CONNECTED (neigh_suspect) puts output back on the slow path;
	// the header cache itself survives, so Output needs no change here.
	return out
}

// releaseQueue sends the packets queued while the entry was unresolved.
// Each goes through the output path again (n->output is
// neigh_resolve_output): `used` is stamped, the header cache is built, and
// an entry the update left STALE turns DELAY at the first packet, exactly
// as a new packet would (divergences D1; spec §3, §5 step 11).
func (t *Table) releaseQueue(now vtime.Jiffies, e *Entry) {
	q := e.queue
	e.queue = nil
	e.queueBytes = 0
	for _, p := range q {
		e.used = now
		if e.state == Stale {
			d := t.stateDecision(now, e, RuleStaleToDelay)
			t.setState(e, Delay)
			e.updated = now
			t.addTimer(e, now, now+vtime.Jiffies(e.dev.Params.DelayProbeTime))
			t.finish(&d, e)
		}
		if e.state.Valid() {
			e.hh = true
		}
		if p.ID&replyBit != 0 {
			// nd_tbl's own NA reply, queued while the entry resolved.
			if a, ok := t.replies[p.ID]; ok {
				delete(t.replies, p.ID)
				a.DstMAC = e.ha
				t.act(a)
			}
			continue
		}
		t.act(Action{Kind: ActTransmit, Dev: e.dev, Target: e.ip, DstMAC: e.ha, Packet: p.ID})
	}
}
