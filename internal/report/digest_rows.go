package report

// A Digest's rows: what lane.build and laneRows make of an entry's lines,
// kept in bounded memory by merging in time buckets.

import (
	"math"

	"arplab/internal/trace"
)

// draw adds one line to the entry's rows: what lane.build and laneRows
// make of an event, kept in bounded memory.
func (d *Digest) draw(e *dEntry, k trace.Kind, t float64, eff trace.Effect, state, old, ll, oll string, lock, origin float64, buckets int) {
	if lock > t {
		if n := len(e.locks); n > 0 && t <= e.locks[n-1].To {
			e.locks[n-1].To = math.Max(e.locks[n-1].To, lock)
		} else {
			e.locks = append(e.locks, window{From: t, To: lock})
		}
		if len(e.locks) > 2*buckets {
			e.locks = mergeWindows(e.locks, bucketOf(origin, t, buckets))
		}
	}
	switch k {
	case trace.KindARP, trace.KindProbe, trace.KindConfirm, trace.KindTouch:
		e.marks = append(e.marks, newMark(t, k, eff, -1))
		if len(e.marks) > 8*buckets {
			e.marks = mergeMarks(e.marks, bucketOf(origin, t, buckets))
		}
	}
	if state == "" && old == "" {
		return
	}
	if !e.known {
		before, bll := old, oll
		if before == "" && k != trace.KindState {
			before, bll = state, ll
		}
		if before != "" {
			e.cur = span{From: math.Inf(-1), State: before, LLAddr: bll}
			e.known = true
		}
	}
	if state == "" {
		return
	}
	if k != trace.KindState && ll == "" {
		ll = e.cur.LLAddr
	}
	if e.known && e.cur.State == state && e.cur.LLAddr == ll {
		return
	}
	if e.known && t > e.cur.From {
		e.spans = append(e.spans, d.compact(e.cur))
		if len(e.spans) > 2*buckets {
			e.spans = mergeSpans(e.spans, t, bucketOf(origin, t, buckets))
		}
	}
	e.cur = span{From: t, State: state, LLAddr: ll}
	e.known = true
}

// bucketOf maps a time to its merge bucket, the time from origin to now
// in n.
func bucketOf(origin, now float64, n int) func(t float64) int64 {
	w := (now - origin) / float64(n)
	if w <= 0 || math.IsInf(origin, 0) {
		return func(t float64) int64 { return int64(math.Float64bits(t)) }
	}
	return func(t float64) int64 { return int64(math.Floor((t - origin) / w)) }
}

// mergeMarks keeps, per bucket and row, the first mark, the last and the
// one that would win a column (highest rank, latest among equals): with
// buckets narrower than columns, every column that had a mark keeps one,
// and the mark that matters most is never lost.
func mergeMarks(ms []dMark, bucket func(float64) int64) []dMark {
	keep := make([]bool, len(ms))
	type acc struct {
		b                 int64
		first, last, best int
		ok                bool
	}
	var rows [2]acc
	flush := func(a *acc) {
		if a.ok {
			keep[a.first], keep[a.last], keep[a.best] = true, true, true
		}
	}
	for i, m := range ms {
		a, b := &rows[markRow(m.Kind())], bucket(m.t)
		if !a.ok || a.b != b {
			flush(a)
			*a = acc{b: b, first: i, last: i, best: i, ok: true}
			continue
		}
		a.last = i
		if markRankOf(m) >= markRankOf(ms[a.best]) {
			a.best = i
		}
	}
	flush(&rows[0])
	flush(&rows[1])
	out := ms[:0]
	for i, m := range ms {
		if keep[i] {
			out = append(out, m)
		}
	}
	return out
}

// markRow: marks on one row compete for a column.
func markRow(k trace.Kind) int {
	if k == trace.KindARP {
		return 0
	}
	return 1
}

func markRankOf(m dMark) int {
	switch m.Kind() {
	case trace.KindARP:
		return verdictRank(string(m.Effect()))
	case trace.KindProbe:
		return 2
	case trace.KindConfirm:
		return 1
	}
	return 0
}

// dSpan is a closed span in 16 bytes: where it starts, its state and
// lladdr as indices (Digest.states, Digest.macs); it ends where the next
// one starts.
type dSpan struct {
	from  float64
	state uint8
	ll    int32 // -1: none
}

// compact is s as a dSpan.
func (d *Digest) compact(s span) dSpan {
	i, ok := d.stateIdx[s.State]
	if !ok && len(d.states) < 256 {
		i = uint8(len(d.states))
		d.stateIdx[s.State] = i
		d.states = append(d.states, s.State)
	}
	return dSpan{from: s.From, state: i, ll: d.macIndex(s.LLAddr)}
}

// spanOf is ss[i] as a span; end is where the last one ends.
func (d *Digest) spanOf(ss []dSpan, i int, end float64) span {
	s := span{From: ss[i].from, To: end, State: d.states[ss[i].state]}
	if i+1 < len(ss) {
		s.To = ss[i+1].from
	}
	if ss[i].ll >= 0 {
		s.LLAddr = d.macs.List[ss[i].ll]
	}
	return s
}

// mergeSpans keeps, where several spans start in one bucket, the longest
// one's state over their union; end is where the last span ends.
func mergeSpans(ss []dSpan, end float64, bucket func(float64) int64) []dSpan {
	to := func(i int) float64 {
		if i+1 < len(ss) {
			return ss[i+1].from
		}
		return end
	}
	out := ss[:0]
	longest := 0.0 // of the spans merged into the last of out
	for i := range ss {
		s, l := ss[i], to(i)-ss[i].from
		if n := len(out); n > 0 {
			p := &out[n-1]
			if bucket(p.from) == bucket(s.from) || (p.state == s.state && p.ll == s.ll) {
				if l > longest && !math.IsInf(p.from, -1) {
					p.state, p.ll, longest = s.state, s.ll, l
				}
				continue
			}
		}
		out = append(out, s)
		longest = l
	}
	return out
}

// mergeWindows joins windows closer than a bucket.
func mergeWindows(ws []window, bucket func(float64) int64) []window {
	out := ws[:0]
	for _, w := range ws {
		if n := len(out); n > 0 && bucket(out[n-1].To) >= bucket(w.From) {
			out[n-1].To = math.Max(out[n-1].To, w.To)
			continue
		}
		out = append(out, w)
	}
	return out
}

func (r *dRow) add(m dMark, buckets int) {
	r.marks = append(r.marks, m)
	if len(r.marks) > 8*buckets {
		// sends are all one mark: keep one per bucket
		r.marks = mergeMarks(r.marks, bucketOf(r.marks[0].t, m.t, buckets))
	}
}
