package cli

import (
	"fmt"

	"arplab/internal/trace"
)

// keepEvents bounds the trace `arplab run` holds in memory for its
// timeline and HTML page, so that a run's memory follows what the scenario
// holds rather than how long it runs: a day of a TCP flow is 288,000
// confirmations nobody reads one by one (--json streams them all).
const keepEvents = 100_000

// boundedRecorder keeps a run's trace up to max events; past that it keeps
// only the events that change or decide something, dropping routine ones
// (touches, confirmations, flow segments), and past 2·max it keeps only the
// verdict. It counts what it drops, and note says so.
type boundedRecorder struct {
	max     int
	Events  []trace.Event
	dropped int
}

func (r *boundedRecorder) Emit(e trace.Event) {
	n := len(r.Events)
	switch {
	case n < r.max, e.Kind == trace.KindVerdict || e.Kind == trace.KindHeader:
	case n < 2*r.max && e.Kind != trace.KindConfirm && e.Kind != trace.KindTouch && e.Kind != trace.KindFlow:
	default:
		r.dropped++
		return
	}
	r.Events = append(r.Events, e)
}

// note appends a note event saying what was dropped, if anything, before
// the verdict so that the timeline shows it.
func (r *boundedRecorder) note() {
	if r.dropped == 0 {
		return
	}
	ev := trace.Event{Kind: trace.KindNote, Source: "sim",
		Explanation: fmt.Sprintf("the timeline holds %d events; %d later routine events (confirmations, touches, flow segments, then all but the verdict) are not shown: --json writes every event",
			len(r.Events), r.dropped)}
	if n := len(r.Events); n > 0 && r.Events[n-1].Kind == trace.KindVerdict {
		ev.Time = r.Events[n-1].Time
		r.Events = append(r.Events[:n-1], ev, r.Events[n-1])
		return
	}
	r.Events = append(r.Events, ev)
}
