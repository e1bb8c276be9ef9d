package sim

import (
	"fmt"

	"arplab/internal/trace"
)

// KeepEvents is how many trace events `arplab run` keeps for its timeline
// and HTML page, and KeepRowEvents how many each matrix row keeps for its
// lanes: enough for any failover story, while a day of a TCP flow is
// 288,000 confirmations nobody reads one by one (--json streams them all
// without keeping any).
const (
	KeepEvents    = 100_000
	KeepRowEvents = 10_000
)

// KeptTrace is a trace.Sink that keeps a run's events in memory up to Max,
// so that memory follows what the scenario holds rather than how long it
// runs. Routine events (touches, confirmations, flow segments) are kept
// only in the first half; the events that change or decide something
// fill the rest; the header and the verdict are always kept. It counts
// what it drops and Note says so.
type KeptTrace struct {
	Max     int
	Events  []trace.Event
	Dropped int
}

// Emit keeps e if there is room for its kind.
func (k *KeptTrace) Emit(e trace.Event) {
	n := len(k.Events)
	routine := e.Kind == trace.KindConfirm || e.Kind == trace.KindTouch || e.Kind == trace.KindFlow
	switch {
	case e.Kind == trace.KindVerdict || e.Kind == trace.KindHeader:
	case routine && n < k.Max/2, !routine && n < k.Max:
	default:
		k.Dropped++
		return
	}
	k.Events = append(k.Events, e)
}

// Note adds, before the verdict, a note saying how many events were
// dropped, if any, so that the timeline shows it.
func (k *KeptTrace) Note() {
	if k.Dropped == 0 {
		return
	}
	ev := trace.Event{Kind: trace.KindNote, Source: "sim",
		Explanation: fmt.Sprintf("%d later events (confirmations, touches and flow segments first) are not shown: the timeline keeps %d; --json writes every event",
			k.Dropped, len(k.Events))}
	if n := len(k.Events); n > 0 && k.Events[n-1].Kind == trace.KindVerdict {
		ev.Time = k.Events[n-1].Time
		k.Events = append(k.Events[:n-1], ev, k.Events[n-1])
		return
	}
	k.Events = append(k.Events, ev)
}
