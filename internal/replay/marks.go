package replay

// Lines for a trace.Marker (the streaming text report): every line the
// model writes is handed over as a fixed-size trace.Mark, built from the
// decision without formatting a word, and the line's event (its
// explanation, the frame's fields) is built only when the Marker asks for
// it. This is what lets `arplab replay` draw its timeline of a capture of
// millions of frames at the speed of the quiet replay.

import (
	"net/netip"

	"arplab/internal/neigh"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// lineKind is the kind of the line neigh.Decision.Event writes for d, and
// whether it writes one; the two must agree (TestMarksMatchEvents).
func lineKind(d *neigh.Decision) (trace.Kind, bool) {
	switch {
	case d.Frame:
		return trace.KindARP, true
	case d.Rule == neigh.RuleConfirmRoute || d.Rule == neigh.RuleConfirmSocket || d.Rule == neigh.RuleConfirmImmediate:
		return trace.KindConfirm, true
	case d.Rule == neigh.RuleReachableStillConfirmed || d.Rule == neigh.RuleRetransmit || d.Rule == neigh.RuleRerandomise:
		return "", false
	case d.Old != d.New || d.MACChanged:
		return trace.KindState, true
	case d.UpdatedMoved || d.ConfirmedMoved:
		return trace.KindTouch, true
	}
	return "", false
}

// markDecision hands the Marker the lines of one decision (the marks of
// what stack.Host.Lines and emitLine write), and their events when it
// asks. It reports whether the decision has a line.
func (r *replayer) markDecision(in *stack.Input, d *neigh.Decision, ns int64) bool {
	kind, ok := lineKind(d)
	if !ok {
		return false
	}
	// the marks live in the replayer: handed to an interface, a local
	// would escape to the heap on every line
	m := &r.marks[0]
	*m = trace.Mark{Kind: kind, Time: seconds(ns), Host: r.hostStr, IP: d.IP, State: d.New.String()}
	if d.New.Valid() {
		m.LLAddr, m.HasLL = d.NewMAC, true
	}
	if d.Old != d.New || d.MACChanged {
		m.OldState = d.Old.String()
		if d.Old.Valid() {
			m.OldLLAddr, m.HasOldLL = d.OldMAC, true
		}
	}
	if d.UpdatedMoved && d.Locktime > 0 {
		m.LockUntil = r.tickSeconds(d.Updated + vtime.Jiffies(d.Locktime))
	}
	// the state line of a frame that changed the state is the frame's
	// line before emitLine's stamps (the only decision with two lines)
	state := &r.marks[1]
	twoLines := kind == trace.KindARP && d.StateChanged()
	if twoLines {
		*state = *m
	}
	if kind == trace.KindARP {
		if d.Verdict == neigh.VerdictDropped && d.Rule != neigh.RuleRequestForUs {
			m.State, m.OldState, m.HasLL, m.HasOldLL = "", "", false, false
			m.LLAddr, m.OldLLAddr = arp.MAC{}, arp.MAC{}
			if twoLines {
				*state = *m
			}
			// emitLine's stamps: the entry as it stands
			if s, ok := r.tbl.Lookup(r.dev, r.curIP); ok {
				m.State = s.State.String()
				m.LLAddr, m.HasLL = s.LLAddr, s.HasLLAddr
			}
		}
		var sha arp.MAC
		hasSHA := in != nil && in.ARP != nil
		if hasSHA {
			sha = in.ARP.SHA
			m.SHA, m.HasSHA = sha, true
		}
		m.Effect = trace.FrameEffect(d.Verdict, macText{sha, hasSHA}, macText{m.LLAddr, m.HasLL})
	}
	var evs []trace.Event
	if r.marker.Mark(m) {
		evs = r.lines(in, d, ns)
		r.wordsOf(evs[0])
	}
	if twoLines {
		state.Kind = trace.KindState
		if r.marker.Mark(state) {
			if evs == nil {
				evs = r.lines(in, d, ns)
			}
			r.wordsOf(evs[1])
		}
	}
	return true
}

// macText compares MACs as their trace text does: an absent one is "".
type macText struct {
	mac arp.MAC
	ok  bool
}

// lines builds the events of one decision.
func (r *replayer) lines(in *stack.Input, d *neigh.Decision, ns int64) []trace.Event {
	r.lineBuf = r.lineBuf[:0]
	r.st.Lines(in, d, seconds(ns), r.tickSeconds, r.collect)
	return r.lineBuf
}

func (r *replayer) collect(ev trace.Event) { r.lineBuf = append(r.lineBuf, ev) }

// wordsOf writes the event a Mark asked for (emitLine, not marked again).
func (r *replayer) wordsOf(ev trace.Event) {
	r.marked = true
	r.emitLine(ev)
	r.marked = false
}

// markable kinds go to a Marker as marks first.
func markable(k trace.Kind) bool {
	switch k {
	case trace.KindARP, trace.KindState, trace.KindTouch, trace.KindProbe, trace.KindConfirm, trace.KindSend:
		return true
	}
	return false
}

// markOf is the mark of an event built anyway (installs, predicted
// probes): the slow path, from the event's text.
func markOf(ev *trace.Event) trace.Mark {
	m := trace.Mark{Kind: ev.Kind, Time: ev.Time, Host: ev.Host, State: ev.State, OldState: ev.OldState, Effect: ev.Effect()}
	ip := ev.IP
	if ip == "" && ev.ARP != nil {
		ip = ev.ARP.SIP
	}
	m.IP, _ = netip.ParseAddr(ip)
	if mac, err := arp.ParseMAC(ev.LLAddr); err == nil {
		m.LLAddr, m.HasLL = mac, true
	}
	if mac, err := arp.ParseMAC(ev.OldLLAddr); err == nil {
		m.OldLLAddr, m.HasOldLL = mac, true
	}
	if ev.LocktimeUntil != nil {
		m.LockUntil = *ev.LocktimeUntil
	}
	if ev.ARP != nil {
		if mac, err := arp.ParseMAC(ev.ARP.SHA); err == nil {
			m.SHA, m.HasSHA = mac, true
		}
	}
	return m
}
