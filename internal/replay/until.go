package replay

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"arplab/internal/neigh"
)

// netip0 is "no address" for notes about the whole replay.
var netip0 netip.Addr

// until is Options.Until parsed: an absolute capture time, or a duration
// after the last frame.
type until struct {
	set      bool
	relative bool
	ns       int64 // absolute capture time, or the duration when relative
}

// parseUntil reads "+DURATION" (after the last frame: "+30s", "+2m") or a
// time on the capture's clock in seconds ("1700000020.5").
func parseUntil(s string) (until, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return until{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return until{}, fmt.Errorf("replay: --until %q: want +DURATION after the last frame (+30s, +5m) or a capture time in seconds", s)
		}
		return until{set: true, relative: true, ns: int64(d)}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > math.MaxInt64/1e9 || math.IsNaN(f) {
		return until{}, fmt.Errorf("replay: --until %q: want a capture time in seconds (1700000020.5) or +DURATION after the last frame", s)
	}
	return until{set: true, ns: int64(math.Round(f * 1e9))}, nil
}

// endOf is when the replay's timers run to: --until, else the capture's
// own end time (pcapng isb_endtime) when it is after the last frame. ok is
// false when neither says more than the last frame does.
func (r *replayer) endOf(rd frameSource) (ns int64, how string, ok bool) {
	last := r.capAnchor
	switch u := r.until; {
	case u.set && u.relative:
		return last + u.ns, fmt.Sprintf("--until +%v", time.Duration(u.ns)), true
	case u.set:
		if u.ns < last {
			r.note(last, "until-before-end", netip0, fmt.Sprintf("--until %.6f is before the last frame (%.6f s): the replay ends at the last frame", seconds(u.ns), seconds(last)), nil)
			return last, "", false
		}
		return u.ns, fmt.Sprintf("--until %.6f", seconds(u.ns)), true
	}
	if end, ok := rd.EndTime(); ok && end > last {
		return end, "the capture's end time (pcapng isb_endtime)", true
	}
	return last, "", false
}

// runOn runs the model's timers from the last frame to the end the user
// (or the capture) gave, and says so in the trace.
func (r *replayer) runOn(rd frameSource) {
	end, how, ok := r.endOf(rd)
	if !ok {
		return
	}
	from := r.capAnchor
	r.stopMatching()
	r.advance(end)
	r.sum.RanUntil = seconds(end)
	r.note(end, "until", netip0, fmt.Sprintf("timers ran %.3f s past the last frame, to %s", float64(end-from)/1e9, how), nil)
}

// PendingTimer is a timer of the model still to run when the replay ended:
// what the host will do by itself unless a frame arrives first.
type PendingTimer struct {
	IP    string  `json:"ip"`
	State string  `json:"state"`
	In    float64 `json:"in"` // seconds after the replay's end
	What  string  `json:"what"`
}

// pending lists the timers still to run at the end, soonest first.
func (r *replayer) pending(endNs int64) {
	if r.opt.noPending {
		return
	}
	for _, e := range r.tbl.Entries() {
		if !e.HasTimer {
			continue
		}
		in := float64(r.capOf(e.Timer)-endNs) / 1e9
		if in < 0 {
			in = 0
		}
		var what string
		switch e.State {
		case neigh.Reachable:
			what = "REACHABLE expires: STALE (DELAY if used since), unless confirmed"
		case neigh.Delay:
			what = "PROBE (a unicast probe), unless confirmed"
		case neigh.Probe, neigh.Incomplete:
			max := r.tbl.MaxProbes(r.dev, e.IP)
			if e.Probes >= max {
				what = fmt.Sprintf("FAILED (%d of %d probes sent), unless a reply arrives", e.Probes, max)
			} else {
				what = fmt.Sprintf("probe %d of %d; FAILED after the last unless a reply arrives", e.Probes+1, max)
			}
		default:
			what = "timer"
		}
		r.sum.Pending = append(r.sum.Pending, PendingTimer{IP: e.IP.String(), State: e.State.String(), In: in, What: what})
	}
	sortPending(r.sum.Pending)
	if r.quiet {
		return // the notes' words would go nowhere
	}
	for _, p := range r.sum.Pending {
		r.note(endNs, "pending", netip0, fmt.Sprintf("%s %s: %s at +%.3f s", p.IP, p.State, p.What, p.In),
			map[string]string{"in": fmt.Sprintf("%.3f", p.In), "state": p.State})
	}
}

func sortPending(ps []PendingTimer) {
	slices.SortStableFunc(ps, func(a, b PendingTimer) int { return cmp.Compare(a.In, b.In) })
}

// stopMatching ends probe matching at the last frame: probes still waiting
// for a partner, and those the model sends from here on, fall where the
// capture shows nothing: unverified, not missing.
func (r *replayer) stopMatching() {
	if r.pastCapture {
		return
	}
	r.unverified += len(r.match.pred) + len(r.match.obs)
	r.match.pred, r.match.obs = r.match.pred[:0], r.match.obs[:0]
	r.pastCapture = true
}
