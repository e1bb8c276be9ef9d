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
		if n := len(e.locks); n > 0 && t <= e.locks[n-1].to {
			e.locks[n-1].to = math.Max(e.locks[n-1].to, lock)
		} else {
			e.locks = append(room(e.locks, 2*buckets+1), dWindow{from: t, to: lock})
		}
		if len(e.locks) > 2*buckets {
			e.locks = mergeWindows(e.locks, bucketOf(origin, t, buckets))
		}
	}
	switch k {
	case trace.KindARP, trace.KindProbe, trace.KindConfirm, trace.KindTouch:
		e.marks.add(newMark(t, k, eff, -1), false, 8*buckets+1)
		if e.marks.len() > 8*buckets {
			e.marks.merge(bucketOf(origin, t, buckets))
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
		e.spans = append(room(e.spans, 2*buckets+1), d.compact(e.cur))
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

// merge keeps, per bucket and row, the first mark, the last and the one
// that would win a column (highest rank, latest among equals): with
// buckets narrower than columns, every column that had a mark keeps one,
// and the mark that matters most is never lost.
func (l *markList) merge(bucket func(float64) int64) {
	keep := make([]bool, l.len())
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
	for i := range l.t {
		m := l.at(i)
		a, b := &rows[markRow(m.Kind())], bucket(m.t)
		if !a.ok || a.b != b {
			flush(a)
			*a = acc{b: b, first: i, last: i, best: i, ok: true}
			continue
		}
		a.last = i
		if markRankOf(m) >= markRankOf(l.at(a.best)) {
			a.best = i
		}
	}
	flush(&rows[0])
	flush(&rows[1])
	n := 0
	for i := range l.t {
		if keep[i] {
			l.t[n], l.ke[n] = l.t[i], l.ke[i]
			if l.sha != nil {
				l.sha[n] = l.sha[i]
			}
			n++
		}
	}
	l.t, l.ke = l.t[:n], l.ke[:n]
	if l.sha != nil {
		l.sha = l.sha[:n]
	}
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

// dWindow is a locktime window in 16 bytes.
type dWindow struct{ from, to float64 }

// mergeWindows joins windows closer than a bucket.
func mergeWindows(ws []dWindow, bucket func(float64) int64) []dWindow {
	out := ws[:0]
	for _, w := range ws {
		if n := len(out); n > 0 && bucket(out[n-1].to) >= bucket(w.from) {
			out[n-1].to = math.Max(out[n-1].to, w.to)
			continue
		}
		out = append(out, w)
	}
	return out
}

func (r *dRow) add(m dMark, buckets int) {
	r.marks.add(m, true, 8*buckets+1)
	if r.marks.len() > 8*buckets {
		// sends are all one mark: keep one per bucket
		r.marks.merge(bucketOf(r.marks.t[0], m.t, buckets))
	}
}

// markList is a row's marks as parallel slices, 9 bytes a mark (its time,
// and its kind and effect in one byte) and 4 more on a sender's row (the
// sender MAC's number), where a slice of dMark takes 16: a busy entry
// keeps up to 8×digestBuckets+1 of them, and a thousand busy entries keep
// that many each.
type markList struct {
	t   []float64
	ke  []uint8 // kind<<4 | effect
	sha []int32 // sender rows only (add with sha)
}

func (l *markList) len() int { return len(l.t) }

func (l *markList) at(i int) dMark {
	m := dMark{t: l.t[i], kind: l.ke[i] >> 4, eff: l.ke[i] & 15, sha: -1}
	if l.sha != nil {
		m.sha = l.sha[i]
	}
	return m
}

// add appends m, growing the slices to at most limit marks.
func (l *markList) add(m dMark, sha bool, limit int) {
	l.t = append(room(l.t, limit), m.t)
	l.ke = append(room(l.ke, limit), m.kind<<4|m.eff)
	if sha {
		l.sha = append(room(l.sha, limit), m.sha)
	}
}

// room makes room for one more element in s, growing its capacity by
// doubling but never past limit (while len(s) < limit): the Digest's
// slices reach their bound without the quarter more capacity append
// would give them, a thousand entries over.
func room[T any](s []T, limit int) []T {
	if len(s) < cap(s) {
		return s
	}
	c := min(max(2*cap(s), 4), limit)
	if c <= len(s) {
		return s // past the limit: append grows it
	}
	out := make([]T, len(s), c)
	copy(out, s)
	return out
}
