package report

// The streaming timeline: a Sink that keeps, per entry, what the text
// timeline draws and ranks (spans, marks, locktime windows, counters, the
// first and last few key events, the worst dead-MAC span) in bounded
// memory, however long the trace. Timeline needs every event in memory; a
// replay of a day's capture has hundreds of millions, so `arplab replay`
// draws from a Digest instead.

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"

	"arplab/internal/trace"
)

// Bounds of a Digest's memory per entry and overall.
const (
	// digestBuckets is how finely an entry's marks, spans and locktime
	// windows are kept once there are many: the time so far in this many
	// buckets (or as many as the timeline has columns, if more), at most
	// three marks per row (mergeMarks), one span and one window per
	// bucket. Merging starts at twice that for spans and windows and
	// eight times for marks (two rows), so the next merge is as many
	// lines away again.
	// A timeline draws a column from what falls in it, so merging within
	// a fraction of a column changes little that is drawn.
	digestBuckets = 128
	// digestWords is how many key events an entry keeps from its start
	// and from its end.
	digestWords = 3
	// digestImportant is how many important key events (important) an
	// entry keeps from its start and from its end.
	digestImportant = 6
	// digestNotes is how many events of no entry (notes, moves, flows,
	// checks) the digest keeps from the start and from the end.
	digestNotes = 20
)

// DigestOptions say how much a Digest's timeline shows.
type DigestOptions struct {
	// Width is the timeline's width in columns (default 100): a wide
	// timeline keeps finer detail per entry.
	Width int
	// Top is how many entries the timeline draws, most telling first
	// (default 10); the rest are counted. All draws every entry.
	Top int
	All bool
}

// Digest is a trace.Sink (and trace.Marker) that keeps what the text
// timeline of a trace draws, in memory bounded by the number of entries
// and independent of the number of events. Entries are ranked by what
// matters: the longest time an entry pointed at a MAC that stopped
// answering, then frames ignored while the entry kept another MAC, then
// lladdr changes, then probe mismatches.
type Digest struct {
	opt     DigestOptions
	header  *trace.Event
	verdict *trace.Event
	// first and last bound every time seen (last includes locktime ends).
	first, last float64
	seen        bool
	events      int
	entries     map[string]map[netip.Addr]*dEntry
	lastName    string // the host of the last entry looked up, and its map
	lastHost    map[netip.Addr]*dEntry
	lastIP      netip.Addr // and the last entry
	lastEntry   *dEntry
	byText      map[[2]string]*dEntry // entries whose IP is no address
	list        []*dEntry
	senders     map[string]*dRow
	senderList  []*dRow
	notes       wordRing // events of no entry
	macs        *macTable
	macText     map[[6]byte]string
	buckets     int // per entry (digestBuckets)
	// states numbers the state names of compacted spans
	states   []string
	stateIdx map[string]uint8
	// words: the next Emit carries the words of a Mark (not drawn again).
	words bool
}

// NewDigest returns an empty Digest.
func NewDigest(opt DigestOptions) *Digest {
	if opt.Top <= 0 {
		opt.Top = 10
	}
	return &Digest{opt: opt, buckets: max(digestBuckets, opt.Width), stateIdx: map[string]uint8{}, entries: map[string]map[netip.Addr]*dEntry{}, byText: map[[2]string]*dEntry{},
		senders: map[string]*dRow{}, macs: newMACTable(), macText: map[[6]byte]string{},
		first: math.Inf(1), last: math.Inf(-1)}
}

// dEntry is one entry's bounded history.
type dEntry struct {
	host, ip string
	seq      int
	// drawing (as lane.build derives it, but compacted)
	known bool
	cur   span
	spans []dSpan // closed spans, each ending where the next (or cur) starts
	locks []window
	marks []dMark
	// ranking
	ignored, changes, mismatches, lines int
	worstStale                          float64
	// words: important ones (see important) and the others apart, so
	// that a busy entry's routine lines never push out its lladdr change
	words, imp wordRing
	worst      *word
	// the MAC last spelt for the entry (macOf)
	lastMAC  [2][6]byte
	lastText [2]string
}

// dMark is one mark on an entry's rows or a sender's row, in 16 bytes:
// a busy entry keeps up to 8×digestBuckets of them.
type dMark struct {
	t    float64
	kind uint8 // index in markKinds
	eff  uint8 // index in markEffects
	sha  int32 // a sent frame's sender MAC: index in Digest.macs, -1 none
}

var (
	markKinds   = []trace.Kind{trace.KindARP, trace.KindProbe, trace.KindConfirm, trace.KindTouch, trace.KindSend}
	markEffects = []trace.Effect{"", trace.EffectHonoured, trace.EffectIgnored, trace.EffectNoop, trace.EffectCreated, trace.EffectDropped}
)

func newMark(t float64, k trace.Kind, eff trace.Effect, sha int32) dMark {
	return dMark{t: t, kind: uint8(max(slices.Index(markKinds, k), 0)), eff: uint8(max(slices.Index(markEffects, eff), 0)), sha: sha}
}

func (m dMark) Kind() trace.Kind     { return markKinds[m.kind] }
func (m dMark) Effect() trace.Effect { return markEffects[m.eff] }

// dRow is a sender's row of sent frames.
type dRow struct {
	name  string
	marks []dMark
}

// wordRing keeps the first n and the last n events given to it.
type wordRing struct {
	first []word
	last  []word // ring
	next  int
	total int
}

// word is a kept event and its place in the input, which orders events
// of one instant as they came.
type word struct {
	seq int
	ev  trace.Event
}

func (w *wordRing) add(seq int, ev *trace.Event, n int) {
	w.total++
	if len(w.first) < n {
		w.first = append(w.first, word{seq, *ev})
		return
	}
	if len(w.last) < n {
		w.last = append(w.last, word{seq, *ev})
		return
	}
	w.last[w.next] = word{seq, *ev}
	w.next = (w.next + 1) % n
}

// all appends the kept events to out.
func (w *wordRing) all(out []word) []word {
	out = append(out, w.first...)
	out = append(out, w.last[w.next:]...)
	return append(out, w.last[:w.next]...)
}

// Emit takes an event with its words.
func (d *Digest) Emit(ev trace.Event) {
	d.events++
	words := d.words
	d.words = false
	switch {
	case ev.Kind == trace.KindHeader:
		if d.header == nil {
			d.header = &ev
		}
		return
	case ev.Kind == trace.KindVerdict:
		d.verdict = &ev
	}
	d.widen(ev.Time)
	if ev.LocktimeUntil != nil {
		d.widen(*ev.LocktimeUntil)
	}
	if ev.Kind == trace.KindVerdict {
		return
	}
	if ev.Kind == trace.KindSend {
		if !words {
			d.sender(ev.Host).add(newMark(ev.Time, trace.KindSend, "", d.macIndex(sha(&ev))), d.buckets)
		}
		return
	}
	e := d.entryOf(&ev)
	if e == nil {
		d.notes.add(d.events, &ev, digestNotes)
		return
	}
	if !words && onLane(ev.Kind) {
		d.macs.add(ev.OldLLAddr)
		d.macs.add(ev.LLAddr)
		if ev.ARP != nil {
			d.macs.add(ev.ARP.SHA)
		}
		lock := 0.0
		if ev.LocktimeUntil != nil {
			lock = *ev.LocktimeUntil
		}
		d.draw(e, ev.Kind, ev.Time, ev.Effect(), ev.State, ev.OldState, ev.LLAddr, ev.OldLLAddr, lock, d.first, d.buckets)
	}
	d.count(e, &ev)
}

// Mark takes a line without its words, and asks for them when the line
// is one the timeline lists (see entryWords).
func (d *Digest) Mark(m *trace.Mark) bool {
	d.events++
	d.widen(m.Time)
	if m.LockUntil > m.Time {
		d.widen(m.LockUntil)
	}
	if m.Kind == trace.KindSend {
		s := int32(-1)
		if m.HasSHA {
			s = d.macIndex(d.mac(m.SHA))
		}
		d.sender(m.Host).add(newMark(m.Time, trace.KindSend, "", s), d.buckets)
		return false
	}
	e := d.entry(m.Host, m.IP, "")
	var ll, oll string
	if m.HasOldLL {
		oll = d.macOf(e, m.OldLLAddr)
	}
	if m.HasLL {
		ll = d.macOf(e, m.LLAddr)
	}
	if m.HasSHA {
		d.macOf(e, m.SHA) // numbered as an event's frame numbers it
	}
	d.draw(e, m.Kind, m.Time, m.Effect, m.State, m.OldState, ll, oll, m.LockUntil, d.first, d.buckets)
	e.lines++
	d.words = entryWords(m.Kind, m.Effect, ll, oll, m.HasLL && m.HasOldLL, e)
	return d.words
}

// entryWords decides which lines of an entry the timeline may list: the
// important ones and the entry's first few lines.
func entryWords(k trace.Kind, eff trace.Effect, ll, oll string, both bool, e *dEntry) bool {
	switch {
	case k == trace.KindARP && (eff == trace.EffectIgnored || eff == trace.EffectCreated):
		return true
	case (k == trace.KindState || k == trace.KindARP) && both && ll != oll:
		return true
	}
	return len(e.words.first) < digestWords && k != trace.KindTouch && k != trace.KindConfirm
}

// important lines of an entry are what its story turns on: notes (a dead
// MAC, a probe mismatch), a frame that created the entry or was ignored
// while it kept another MAC, and an lladdr change. entryWords asks for
// the words of every one of them.
func important(ev *trace.Event) bool {
	switch {
	case ev.Kind == trace.KindNote:
		return true
	case ev.Kind == trace.KindARP && (ev.Effect() == trace.EffectIgnored || ev.Effect() == trace.EffectCreated):
		return true
	case ev.Kind == trace.KindState || ev.Kind == trace.KindARP:
		return ev.OldLLAddr != "" && ev.LLAddr != "" && ev.OldLLAddr != ev.LLAddr
	}
	return false
}

func (d *Digest) widen(t float64) {
	d.seen = true
	d.first = math.Min(d.first, t)
	d.last = math.Max(d.last, t)
}

// macIndex numbers a MAC spelt as text; -1 for none.
func (d *Digest) macIndex(m string) int32 {
	if m == "" {
		return -1
	}
	d.macs.add(m)
	return int32(d.macs.index[m])
}

// macOf is mac with the entry's last MAC remembered: most lines of an
// entry name the MAC it had.
func (d *Digest) macOf(e *dEntry, m [6]byte) string {
	for i := range e.lastMAC {
		if e.lastText[i] != "" && e.lastMAC[i] == m {
			return e.lastText[i]
		}
	}
	// the older slot goes: an entry's MAC and the one it moved to
	e.lastMAC[1], e.lastText[1] = e.lastMAC[0], e.lastText[0]
	e.lastMAC[0], e.lastText[0] = m, d.mac(m)
	return e.lastText[0]
}

// mac spells a MAC once.
func (d *Digest) mac(m [6]byte) string {
	s, ok := d.macText[m]
	if !ok {
		s = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
		d.macText[m] = s
		d.macs.add(s)
	}
	return s
}

func (d *Digest) sender(host string) *dRow {
	r := d.senders[host]
	if r == nil {
		r = &dRow{name: host}
		d.senders[host] = r
		d.senderList = append(d.senderList, r)
	}
	return r
}

// entryOf finds the entry an event is about; nil for none.
func (d *Digest) entryOf(ev *trace.Event) *dEntry {
	ip := entryIP(ev)
	if ev.Host == "" || ip == "" {
		return nil
	}
	if !onLane(ev.Kind) && ev.Kind != trace.KindNote {
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return d.entry(ev.Host, netip.Addr{}, ip)
	}
	return d.entry(ev.Host, a, "")
}

// entry finds or adds the entry (host, ip); text names an entry whose IP
// is not an address.
func (d *Digest) entry(host string, ip netip.Addr, text string) *dEntry {
	if text != "" {
		k := [2]string{host, text}
		e := d.byText[k]
		if e == nil {
			e = d.add(host, text)
			d.byText[k] = e
		}
		return e
	}
	if d.lastEntry != nil && ip == d.lastIP && host == d.lastName {
		return d.lastEntry // a decision's lines come one after another
	}
	h := d.lastHost
	if h == nil || host != d.lastName {
		h = d.entries[host]
		if h == nil {
			h = map[netip.Addr]*dEntry{}
			d.entries[host] = h
		}
		d.lastName, d.lastHost = host, h
	}
	e := h[ip]
	if e == nil {
		e = d.add(host, ip.String())
		h[ip] = e
	}
	d.lastIP, d.lastEntry = ip, e
	return e
}

func (d *Digest) add(host, ip string) *dEntry {
	e := &dEntry{host: host, ip: ip, seq: len(d.list)}
	d.list = append(d.list, e)
	return e
}

// count ranks an entry by an event with words and keeps the words.
func (d *Digest) count(e *dEntry, ev *trace.Event) {
	if ev.Kind == trace.KindNote {
		switch ev.Cause {
		case "dead-mac-end":
			if s := deadSeconds(ev); s > e.worstStale || e.worst == nil {
				e.worstStale = max(e.worstStale, s)
				e.worst = &word{d.events, *ev}
			}
		case "probe-missing", "probe-unexpected":
			e.mismatches++
		}
	}
	switch {
	case ev.Effect() == trace.EffectIgnored:
		e.ignored++
	case ev.Kind == trace.KindState && ev.OldLLAddr != "" && ev.LLAddr != "" && ev.OldLLAddr != ev.LLAddr:
		e.changes++
	}
	switch {
	case important(ev):
		e.imp.add(d.events, ev, digestImportant)
	case keyEvent(ev) && len(e.words.first) < digestWords:
		// the first few routine lines only: a Marker's producer builds
		// no words for the others (entryWords), and both paths must
		// draw the same
		e.words.add(d.events, ev, digestWords)
	}
}

// deadSeconds reads a dead-mac-end note's span length from its since
// attribute and time.
func deadSeconds(ev *trace.Event) float64 {
	var since float64
	if _, err := fmt.Sscanf(ev.Attrs["since"], "%g", &since); err != nil {
		return 0
	}
	return max(ev.Time-since, 0)
}

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

// Entries is how many entries the digest follows, and Events how many
// events (lines and marks) it was given.
func (d *Digest) Entries() int { return len(d.list) }
func (d *Digest) Events() int  { return d.events }

// ranked returns the entries, most telling first.
func (d *Digest) ranked() []*dEntry {
	out := slices.Clone(d.list)
	slices.SortStableFunc(out, func(a, b *dEntry) int {
		if c := cmp.Compare(b.worstStale, a.worstStale); c != 0 {
			return c
		}
		if c := cmp.Compare(b.ignored, a.ignored); c != 0 {
			return c
		}
		if c := cmp.Compare(b.changes, a.changes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.mismatches, a.mismatches); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return out
}

// Timeline writes the text timeline of what the digest kept (see the
// package's Timeline): the top entries' rows, then how many entries were
// left out, and the key events of the entries drawn.
func (d *Digest) Timeline(w io.Writer, opt TextOptions) error {
	ranked := d.ranked()
	shown := ranked
	if !d.opt.All && len(shown) > d.opt.Top {
		shown = shown[:d.opt.Top]
	}
	tl := d.timeline(shown)
	if err := timelineOf(w, tl, opt); err != nil {
		return err
	}
	if left := len(ranked) - len(shown); left > 0 {
		_, err := fmt.Fprintf(w, "\n… %d more entries not drawn (ranked by dead-MAC time, ignored GARPs, lladdr changes, probe mismatches); --all draws every entry\n", left)
		return err
	}
	return nil
}

// timeline builds the derived view Timeline draws from the kept state of
// the entries shown: their words go through derive as a short trace
// would; their spans, windows and marks replace what derive made of the
// words alone.
func (d *Digest) timeline(shown []*dEntry) *timeline {
	origin := 0.0
	if d.seen && d.first >= absoluteClock {
		origin = d.first
	}
	var ws []word
	if d.header != nil {
		h := *d.header
		if origin != 0 && h.Time < d.first {
			h.Time = 0
		} else {
			h.Time -= origin
		}
		ws = append(ws, word{-1, h})
	}
	ws = d.notes.all(ws)
	for _, e := range shown {
		n := len(ws)
		ws = e.imp.all(e.words.all(ws))
		if e.worst != nil && !slices.ContainsFunc(ws[n:], func(w word) bool { return w.seq == e.worst.seq }) {
			ws = append(ws, *e.worst)
		}
	}
	if d.verdict != nil {
		ws = append(ws, word{math.MaxInt, *d.verdict})
	}
	for i := range ws {
		ev := &ws[i].ev
		if ev.Kind == trace.KindHeader {
			continue
		}
		ev.Time -= origin
		if ev.LocktimeUntil != nil {
			ev.LocktimeUntil = trace.F64(*ev.LocktimeUntil - origin)
		}
	}
	slices.SortStableFunc(ws, func(a, b word) int {
		if a.ev.Kind == trace.KindHeader || b.ev.Kind == trace.KindHeader {
			return cmp.Compare(a.seq, b.seq)
		}
		return cmp.Or(cmp.Compare(a.ev.Time, b.ev.Time), cmp.Compare(a.seq, b.seq))
	})
	evs := make([]trace.Event, len(ws))
	for i := range ws {
		evs[i] = ws[i].ev
	}
	tl := deriveWith(evs, d.macsFor(shown, evs))
	tl.Origin = origin
	if d.seen {
		// as derive bounds a whole trace
		tl.Start, tl.End = d.first-origin, d.last-origin
		if tl.Header >= 0 {
			if h := tl.Evs[tl.Header].Time; h < tl.Start && tl.Start-h <= tl.End-tl.Start {
				tl.Start = h
			}
		}
		if tl.End <= tl.Start {
			tl.End = tl.Start + 1
		}
	}
	tl.words = len(tl.Evs)
	// the entries drawn, in rank order, with their kept rows
	groups := map[[2]string]*group{}
	for _, g := range tl.Groups {
		groups[[2]string{g.Host, g.IP}] = g
	}
	tl.Groups = tl.Groups[:0]
	for _, e := range shown {
		g := groups[[2]string{e.host, e.ip}]
		if g == nil {
			g = &group{Host: e.host, IP: e.ip}
		}
		if len(g.Lanes) == 0 {
			g.Lanes = []*lane{{Key: laneKey{Host: e.host, IP: e.ip}}}
		}
		l := g.Lanes[0]
		g.Lanes = g.Lanes[:1]
		l.Spans, l.Locktimes, l.Events = nil, nil, nil
		for i := range e.spans {
			if s := shiftSpan(d.spanOf(e.spans, i, e.cur.From), origin, tl); s.To > s.From {
				l.Spans = append(l.Spans, s)
			}
		}
		if e.known {
			c := e.cur
			c.To = tl.End + origin
			if s := shiftSpan(c, origin, tl); s.To > s.From {
				l.Spans = append(l.Spans, s)
			}
		}
		for _, w := range e.locks {
			l.Locktimes = append(l.Locktimes, window{From: w.From - origin, To: w.To - origin, Ev: -1})
		}
		for _, m := range e.marks {
			l.Events = append(l.Events, len(tl.Evs))
			tl.Evs = append(tl.Evs, markEvent(m, e, origin))
		}
		tl.Groups = append(tl.Groups, g)
	}
	for _, r := range tl.Senders {
		r.Events = nil
	}
	for _, s := range d.senderList {
		var r *row
		for _, x := range tl.Senders {
			if x.Name == s.name {
				r = x
			}
		}
		if r == nil && len(s.marks) > 0 {
			r = &row{Name: s.name}
			tl.Senders = append(tl.Senders, r)
		}
		for j, m := range s.marks {
			if j == 0 {
				r.First = m.t - origin
			}
			r.Last = m.t - origin
			r.Events = append(r.Events, len(tl.Evs))
			ev := trace.Event{Time: m.t - origin, Kind: trace.KindSend, Host: s.name}
			if m.sha >= 0 {
				ev.ARP = &trace.ARPFrame{SHA: d.macs.List[m.sha]}
			}
			tl.Evs = append(tl.Evs, ev)
		}
	}
	return tl
}

// macsFor numbers the MACs for a timeline of the entries shown: every MAC
// seen, in order of appearance, when the digits and letters suffice;
// otherwise only those of the entries shown and of their events, in the
// same order, so that a thousand entries' MACs do not use up the symbols.
func (d *Digest) macsFor(shown []*dEntry, evs []trace.Event) *macTable {
	if len(d.macs.List) <= 9+26 {
		return d.macs
	}
	keep := map[string]bool{}
	for _, e := range shown {
		for _, s := range e.spans {
			if s.ll >= 0 {
				keep[d.macs.List[s.ll]] = true
			}
		}
		keep[e.cur.LLAddr] = true
	}
	for i := range evs {
		keep[evs[i].OldLLAddr], keep[evs[i].LLAddr] = true, true
		if evs[i].ARP != nil {
			keep[evs[i].ARP.SHA] = true
		}
	}
	for _, r := range d.senderList {
		for _, m := range r.marks {
			if m.sha >= 0 {
				keep[d.macs.List[m.sha]] = true
			}
		}
	}
	t := newMACTable()
	for _, m := range d.macs.List {
		if keep[m] {
			t.add(m)
		}
	}
	return t
}

func shiftSpan(s span, origin float64, tl *timeline) span {
	s.From -= origin
	s.To -= origin
	if math.IsInf(s.From, -1) {
		s.From = tl.Start
	}
	return s
}

// markEvent is a mark as the event laneRows draws it.
func markEvent(m dMark, e *dEntry, origin float64) trace.Event {
	ev := trace.Event{Time: m.t - origin, Kind: m.Kind(), Host: e.host, IP: e.ip}
	if ev.Kind == trace.KindARP {
		switch m.Effect() {
		case trace.EffectHonoured:
			ev.Verdict = trace.Honoured
		case trace.EffectCreated:
			ev.Verdict = trace.Created
		case trace.EffectNoop:
			ev.Verdict, ev.LLAddr, ev.ARP = trace.Ignored, "same", &trace.ARPFrame{SHA: "same"}
		case trace.EffectIgnored:
			ev.Verdict, ev.ARP = trace.Ignored, &trace.ARPFrame{SHA: "other"}
		default:
			ev.Verdict = trace.Dropped
		}
	}
	return ev
}
