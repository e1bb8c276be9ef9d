package report

// The streaming timeline: a Sink that keeps, per entry, what the text
// timeline draws and ranks (spans, marks, locktime windows, counters, the
// first and last few key events, the worst dead-MAC span) in bounded
// memory, however long the trace. Timeline needs every event in memory; a
// replay of a day's capture has hundreds of millions, so `arplab replay`
// draws from a Digest instead.

import (
	"fmt"
	"math"
	"net/netip"
	"slices"

	"arplab/internal/addrmap"
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
	// digestEntries is how many entries a Digest follows at once: each
	// keeps up to some 35 kB once its bounds are full, and a capture
	// whose host meets ever new neighbours (a scan, a DHCP pool turning
	// over) would otherwise add entries for as long as it runs. A new
	// entry past it first drops the least telling quarter (the last in
	// rank order); the timeline says how many went. A host's table holds
	// gc_thresh3 entries (1,024 by default), so a digest drops only where
	// the host's neighbours turn over.
	digestEntries = 4096
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
	entries     map[string]*addrmap.Map[*dEntry]
	lastName    string // the host of the last entry looked up, and its map
	lastHost    *addrmap.Map[*dEntry]
	lastIP      netip.Addr // and the last entry
	lastEntry   *dEntry
	byText      map[[2]string]*dEntry // entries whose IP is no address
	list        []*dEntry
	// maxEntries is digestEntries (tests set fewer); seq numbers entries
	// as they came; dropped counts those dropped to stay under it.
	maxEntries int
	seq        int
	dropped    int
	senders    map[string]*dRow
	senderList []*dRow
	lastSender *dRow
	notes      wordRing // events of no entry
	macs       *macTable
	macText    map[[6]byte]string
	buckets    int // per entry (digestBuckets)
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
	return &Digest{opt: opt, maxEntries: digestEntries, buckets: max(digestBuckets, opt.Width), stateIdx: map[string]uint8{}, entries: map[string]*addrmap.Map[*dEntry]{}, byText: map[[2]string]*dEntry{},
		senders: map[string]*dRow{}, macs: newMACTable(), macText: map[[6]byte]string{},
		first: math.Inf(1), last: math.Inf(-1)}
}

// dEntry is one entry's bounded history.
type dEntry struct {
	host, ip string
	addr     netip.Addr // the IP, if it is an address (else ip is the key in byText)
	seq      int
	// drawing (as lane.build derives it, but compacted)
	known bool
	cur   span
	spans []dSpan // closed spans, each ending where the next (or cur) starts
	locks []dWindow
	marks markList
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

// dMark is one mark on an entry's rows or a sender's row, as a markList
// hands it out.
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
	marks markList
	// the sender MAC of its last mark, and its number
	lastSHA [6]byte
	lastIdx int32
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
		w.first = append(room(w.first, n), word{seq, *ev})
		return
	}
	if len(w.last) < n {
		w.last = append(room(w.last, n), word{seq, *ev})
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
		r := d.sender(m.Host)
		s := int32(-1)
		if m.HasSHA {
			if r.lastSHA != m.SHA || r.lastIdx < 0 {
				r.lastSHA, r.lastIdx = m.SHA, d.macIndex(d.mac(m.SHA))
			}
			s = r.lastIdx // a host sends from its own MAC
		}
		r.add(newMark(m.Time, trace.KindSend, "", s), d.buckets)
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
	if r := d.lastSender; r != nil && r.name == host {
		return r
	}
	r := d.senders[host]
	if r == nil {
		r = &dRow{name: host, lastIdx: -1}
		d.senders[host] = r
		d.senderList = append(d.senderList, r)
	}
	d.lastSender = r
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
			h = addrmap.New[*dEntry]()
			d.entries[host] = h
		}
		d.lastName, d.lastHost = host, h
	}
	e, _ := h.Get(ip)
	if e == nil {
		e = d.add(host, ip.String())
		e.addr = ip
		h.Set(ip, e)
	}
	d.lastIP, d.lastEntry = ip, e
	return e
}

func (d *Digest) add(host, ip string) *dEntry {
	if len(d.list) >= d.maxEntries {
		d.drop(len(d.list) - d.maxEntries*3/4)
	}
	e := &dEntry{host: host, ip: ip, seq: d.seq}
	d.seq++
	d.list = append(d.list, e)
	return e
}

// drop forgets the n least telling entries (the last n in rank order):
// an entry seen again later starts over.
func (d *Digest) drop(n int) {
	ranked := d.ranked()
	gone := map[*dEntry]bool{}
	for _, e := range ranked[len(ranked)-n:] {
		gone[e] = true
		if e.addr.IsValid() {
			d.entries[e.host].Delete(e.addr)
		} else {
			delete(d.byText, [2]string{e.host, e.ip})
		}
	}
	d.list = slices.DeleteFunc(d.list, func(e *dEntry) bool { return gone[e] })
	d.lastEntry, d.lastHost, d.lastName = nil, nil, ""
	d.dropped += n
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
		d.share(e, ev)
		e.imp.add(d.events, ev, digestImportant)
	case keyEvent(ev) && len(e.words.first) < digestWords:
		// the first few routine lines only: a Marker's producer builds
		// no words for the others (entryWords), and both paths must
		// draw the same
		d.share(e, ev)
		e.words.add(d.events, ev, digestWords)
	}
}

// share makes a word about to be kept hold the strings the digest holds
// already (the entry's IP, the MACs it numbered) rather than copies of
// its own: a thousand busy entries keep some fifteen thousand words.
func (d *Digest) share(e *dEntry, ev *trace.Event) {
	same := func(s string) string {
		if s == e.ip {
			return e.ip
		}
		if i, ok := d.macs.index[s]; ok {
			return d.macs.List[i]
		}
		return s
	}
	ev.IP, ev.LLAddr, ev.OldLLAddr = same(ev.IP), same(ev.LLAddr), same(ev.OldLLAddr)
	if ev.ARP != nil {
		a := *ev.ARP
		a.SHA, a.SIP, a.THA, a.TIP, a.EthDst = same(a.SHA), same(a.SIP), same(a.THA), same(a.TIP), same(a.EthDst)
		ev.ARP = &a
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
