package neigh

import (
	"arplab/internal/trace"
	"arplab/internal/vtime"
)

// Event turns a decision into the trace vocabulary. at is the decision's
// time in seconds on the producer's clock; seconds converts a jiffies value
// of the same host to that clock (for locktime_until). It returns false for
// decisions that change nothing worth a trace line (a REACHABLE entry whose
// timer found it still confirmed, a retransmission tick).
func (d *Decision) Event(host string, at float64, seconds func(vtime.Jiffies) float64) (trace.Event, bool) {
	ev := trace.Event{
		Time: at, Host: host, Dev: d.Dev, IP: d.IP.String(),
		Cause: d.Rule.Name(), Rule: d.Rule.Section(), Explanation: d.Explain(),
		Jiffies: trace.U64(uint64(d.Now)),
	}
	ev.State = d.New.String()
	if d.New.Valid() {
		ev.LLAddr = d.NewMAC.String()
	}
	if d.Old != d.New || d.MACChanged {
		ev.OldState = d.Old.String()
		if d.Old.Valid() {
			ev.OldLLAddr = d.OldMAC.String()
		}
	}
	if d.UpdatedMoved || d.Frame {
		ev.Updated = trace.U64(uint64(d.Updated))
	}
	if d.ConfirmedMoved {
		ev.Confirmed = trace.U64(uint64(d.Confirmed))
	}
	if d.UpdatedMoved && seconds != nil && d.Locktime > 0 {
		ev.LocktimeUntil = trace.F64(seconds(d.Updated + vtime.Jiffies(d.Locktime)))
	}
	switch {
	case d.Frame:
		ev.Kind = trace.KindARP
		if d.NDType != 0 {
			ev.Kind = trace.KindND
		}
		ev.Verdict = d.Verdict
		if d.Verdict == VerdictDropped && d.Rule != RuleRequestForUs {
			ev.State, ev.LLAddr, ev.OldState, ev.OldLLAddr = "", "", "", ""
			ev.Updated = nil
		}
	case d.Rule == RuleConfirmRoute || d.Rule == RuleConfirmSocket || d.Rule == RuleConfirmImmediate || d.Rule == RuleConfirmClone:
		ev.Kind = trace.KindConfirm
		ev.Flow = d.Flow
	case d.Rule == RuleReachableStillConfirmed || d.Rule == RuleRetransmit || d.Rule == RuleRerandomise:
		return ev, false
	case d.Old != d.New || d.MACChanged:
		ev.Kind = trace.KindState
	case d.UpdatedMoved || d.ConfirmedMoved:
		ev.Kind = trace.KindTouch
	default:
		return ev, false
	}
	return ev, true
}
