package report

// A Digest's timeline: the entries ranked, the top ones drawn from their
// kept rows and words by the same code as Timeline.

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"

	"arplab/internal/trace"
)

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
	ranked, shown := d.shown()
	tl := d.timeline(shown)
	if err := timelineOf(w, tl, opt); err != nil {
		return err
	}
	if left := len(ranked) - len(shown); left > 0 {
		if _, err := fmt.Fprintf(w, "\n… %d more entries not drawn (ranked by dead-MAC time, ignored GARPs, lladdr changes, probe mismatches); --all draws every entry\n", left); err != nil {
			return err
		}
	}
	if d.dropped > 0 {
		_, err := fmt.Fprintf(w, "… %d entries dropped unranked: the report follows at most %d entries at once, and dropped the least telling to take new ones\n", d.dropped, d.maxEntries)
		return err
	}
	return nil
}

// Dropped is how many entries the digest dropped to stay under its
// bound (digestEntries).
func (d *Digest) Dropped() int { return d.dropped }

// shown is the entries ranked, and the ones drawn (Top, or All).
func (d *Digest) shown() (ranked, shown []*dEntry) {
	ranked = d.ranked()
	shown = ranked
	if !d.opt.All && len(shown) > d.opt.Top {
		shown = shown[:d.opt.Top]
	}
	return ranked, shown
}

// HTML writes the page HTML writes for a whole trace from what the digest
// kept, in memory bounded as the digest is: the entries the text timeline
// draws (Top, or All), their kept rows, and the key events it kept; the
// marks merged into buckets are drawn without details.
func (d *Digest) HTML(w io.Writer, opt HTMLOptions) error {
	_, shown := d.shown()
	return htmlPage(w, d.timeline(shown), opt)
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
	// an event per kept mark: room for all of them at once, not grown by
	// doubling (ten busy entries keep ten thousand)
	marks := 0
	for _, e := range shown {
		marks += e.marks.len()
	}
	for _, s := range d.senderList {
		marks += s.marks.len()
	}
	tl.Evs = slices.Grow(tl.Evs, marks)
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
			l.Locktimes = append(l.Locktimes, window{From: w.from - origin, To: w.to - origin, Ev: -1})
		}
		l.Events = slices.Grow(l.Events, e.marks.len())
		for i := range e.marks.len() {
			m := e.marks.at(i)
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
		if r == nil && s.marks.len() > 0 {
			r = &row{Name: s.name}
			tl.Senders = append(tl.Senders, r)
		}
		for j := range s.marks.len() {
			m := s.marks.at(j)
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
		for _, sha := range r.marks.sha {
			if sha >= 0 {
				keep[d.macs.List[sha]] = true
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
