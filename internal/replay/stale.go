package replay

import (
	"cmp"
	"net/netip"
	"slices"

	"arplab/internal/addrmap"

	"arplab/internal/wire/arp"
)

// answerWindow is how soon after the host sends to a MAC a frame from that
// MAC must appear for the send to count as answered.
const answerWindow int64 = 1e9

// StaleSpan is a time during which the host's entry for IP pointed at a MAC
// that had stopped answering: frames the host sent there got nothing back.
type StaleSpan struct {
	IP  netip.Addr `json:"ip"`
	MAC string     `json:"mac"`
	// From is the capture time (seconds) of the first unanswered send,
	// To when the span ended, Seconds the difference.
	From    float64 `json:"from"`
	To      float64 `json:"to"`
	Seconds float64 `json:"seconds"`
	// Sends is how many frames the host sent to MAC for IP in the span.
	Sends int `json:"sends"`
	// End says what ended it: "lladdr changed" (the host now sends to
	// another MAC, or the model changed the entry), "heard again" (a frame
	// from MAC), or "capture ended".
	End string `json:"end"`
	// Open is true when the capture ended with the span still open.
	Open bool `json:"open"`
}

// ipTrack follows the host's sends to one next hop.
type ipTrack struct {
	ip      netip.Addr
	mac     arp.MAC
	pending bool  // a send awaits its answer window
	at      int64 // time of the pending send
	open    bool
	from    int64
	sends   int // sends to mac since the pending one
}

// macTrack is what we know of one destination MAC.
type macTrack struct {
	heard int64 // time of the last frame from the MAC; -1: never
	ips   []*ipTrack
}

type check struct {
	t  *ipTrack
	at int64
}

// staleTracker finds StaleSpans. Only MACs the host sent to are tracked,
// so the per-frame cost for everything else is one map lookup.
type staleTracker struct {
	ips   *addrmap.Map[*ipTrack]
	macs  addrmap.Words[*macTrack] // by macKey
	queue []check
	// The spans: how many ended (count, open, total seconds, the longest),
	// the first few in the order they ended (the verdict names them) and
	// the keep longest (kept, a heap with the least telling on top). A
	// segment with flapping MACs has one span per flap, so keeping every
	// one would grow with the capture.
	count, open    int
	total, longest float64
	first          []StaleSpan
	kept           []keptSpan
	keep           int
	// maxTracks bounds the tracks kept (staleTracks; tests set fewer).
	maxTracks int
	ending    []*ipTrack // heard's, reused
	forgotten int        // idle tracks forgotten (nothing found is lost)
	// off: nothing is tracked (profile ranking: spans never change the
	// model, and tracking is a map lookup per frame).
	off bool
	// opened and closed report span changes to the replayer.
	opened, closed func(t *ipTrack, now int64, why string)
}

func newStaleTracker() *staleTracker {
	return &staleTracker{ips: addrmap.New[*ipTrack](), keep: StaleKeep, maxTracks: staleTracks}
}

// staleTracks is how many next hops the tracker follows before it forgets
// the idle ones (no span open, no send awaiting its answer window), the
// longest idle half first. Forgetting an idle track changes nothing it
// finds: the next send to that next hop starts a track as an idle one
// would (a send awaiting its window), and a MAC is only asked about for
// tracks that send to it. A host that sends to ever new next hops (a
// scan, a pool of clients turning over) would otherwise add a track and
// a MAC for as long as the capture runs. Tracks with a span open or a
// send pending are never forgotten: there are at most as many as the
// host has neighbours in use at once.
const staleTracks = 1 << 14

// forget drops the longer idle half of the idle tracks, and the MACs no
// track sends to any more. Where few are idle, the bound doubles, so that
// a host with that many next hops in use does not pay a scan per send.
func (s *staleTracker) forget() {
	var idle []*ipTrack
	for _, t := range s.ips.All() {
		if !t.open && !t.pending {
			idle = append(idle, t)
		}
	}
	slices.SortFunc(idle, func(a, b *ipTrack) int { return cmp.Or(cmp.Compare(a.at, b.at), a.ip.Compare(b.ip)) })
	idle = idle[:len(idle)/2]
	if len(idle) < s.maxTracks/4 {
		s.maxTracks *= 2
	}
	gone := make(map[*ipTrack]bool, len(idle))
	for _, t := range idle {
		gone[t] = true
		s.ips.Delete(t.ip)
		s.forgotten++
	}
	var empty []uint64
	for k, m := range s.macs.All() {
		m.ips = slices.DeleteFunc(m.ips, func(t *ipTrack) bool { return gone[t] })
		if len(m.ips) == 0 {
			empty = append(empty, k)
		}
	}
	for _, k := range empty {
		s.macs.Delete(k)
	}
}

// StaleKeep is how many dead-MAC spans a replay keeps in Summary.Stale:
// the longest, in the order they ended; Summary.StaleDropped counts the
// others (each is still a dead-mac-end line in the trace).
const StaleKeep = 1000

// staleFirst is how many spans the verdict names.
const staleFirst = 5

// keptSpan is a span and its place in the order spans ended.
type keptSpan struct {
	seq int
	StaleSpan
}

// lessTelling orders kept spans: shorter first, and of equal length the
// later ended (the text lists the longest, earlier first among equals).
func lessTelling(a, b *keptSpan) bool {
	if a.Seconds != b.Seconds {
		return a.Seconds < b.Seconds
	}
	return a.seq > b.seq
}

// record counts an ended span and keeps it if it is among the keep
// longest so far.
func (s *staleTracker) record(sp StaleSpan) {
	s.count++
	s.total += sp.Seconds
	s.longest = max(s.longest, sp.Seconds)
	if sp.Open {
		s.open++
	}
	if len(s.first) < staleFirst {
		s.first = append(s.first, sp)
	}
	k := keptSpan{s.count, sp}
	h := s.kept
	switch {
	case len(h) < s.keep:
		h = append(h, k)
		for i := len(h) - 1; i > 0; { // sift up
			p := (i - 1) / 2
			if !lessTelling(&h[i], &h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	case s.keep > 0 && lessTelling(&h[0], &k):
		h[0] = k
		for i := 0; ; { // sift down
			c := 2*i + 1
			if c >= len(h) {
				break
			}
			if c+1 < len(h) && lessTelling(&h[c+1], &h[c]) {
				c++
			}
			if !lessTelling(&h[c], &h[i]) {
				break
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	s.kept = h
}

// spans is the kept spans in the order they ended, and how many were not
// kept.
func (s *staleTracker) spans() ([]StaleSpan, int) {
	if len(s.kept) == 0 {
		return nil, s.count
	}
	k := slices.Clone(s.kept)
	slices.SortFunc(k, func(a, b keptSpan) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]StaleSpan, len(k))
	for i := range k {
		out[i] = k[i].StaleSpan
	}
	return out, s.count - len(out)
}

// send records that the host sent a frame for next hop ip to mac at now.
func (s *staleTracker) send(ip netip.Addr, mac arp.MAC, now int64) {
	if s.off {
		return
	}
	t, _ := s.ips.Get(ip)
	if t != nil && t.mac == mac && (t.open || t.pending) {
		t.sends++ // the usual case: the MAC's track exists and holds t
		return
	}
	if t == nil {
		if s.ips.Len() >= s.maxTracks {
			s.forget()
		}
		t = &ipTrack{ip: ip}
		s.ips.Set(ip, t)
	} else if t.mac != mac {
		s.end(t, now, "lladdr changed")
		t.pending = false
	}
	m, _ := s.macs.Get(macKey(mac))
	if m == nil {
		m = &macTrack{heard: -1}
		s.macs.Set(macKey(mac), m)
	}
	if t.mac != mac && !containsTrack(m.ips, t) {
		m.ips = append(m.ips, t)
	}
	t.mac = mac
	switch {
	case t.open, t.pending:
		t.sends++
	default:
		t.pending, t.at, t.sends = true, now, 1
		s.queue = append(s.queue, check{t, now})
	}
}

func containsTrack(ts []*ipTrack, t *ipTrack) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// heard records a frame from mac at now.
func (s *staleTracker) heard(mac arp.MAC, now int64) {
	m, _ := s.macs.Get(macKey(mac))
	if m == nil {
		return
	}
	m.heard = now
	ending := s.ending[:0]
	for _, t := range m.ips {
		if t.open && t.mac == mac {
			ending = append(ending, t)
		}
	}
	// in address order, as finish ends them: the order of m.ips is the
	// order tracks came, which forgetting idle ones changes
	sortTracks(ending)
	for _, t := range ending {
		s.end(t, now, "heard again")
	}
	clear(ending)
	s.ending = ending[:0]
}

// modelChanged records that the model moved ip's entry to mac. The entry
// no longer points at the old MAC, so an open span ends and a pending send
// is no longer evidence; if the host keeps sending to the old MAC anyway,
// the next send starts over (the capture then shows the model was wrong).
func (s *staleTracker) modelChanged(ip netip.Addr, mac arp.MAC, now int64) {
	if s.off {
		return
	}
	t, _ := s.ips.Get(ip)
	if t == nil || t.mac == mac {
		return
	}
	s.end(t, now, "lladdr changed")
	t.pending = false
}

// check decides every pending send whose answer window ended before now.
// Frames are processed in time order, so a MAC not heard by now was not
// heard within the window.
func (s *staleTracker) check(now int64) {
	n := 0
	for _, c := range s.queue {
		if now-c.at <= answerWindow {
			break
		}
		n++
		t := c.t
		if !t.pending || t.at != c.at {
			continue // superseded by a MAC change
		}
		t.pending = false
		if m, _ := s.macs.Get(macKey(t.mac)); m != nil && m.heard > c.at {
			continue
		}
		t.open, t.from = true, c.at
		if s.opened != nil {
			s.opened(t, now, "")
		}
	}
	if n > 0 {
		s.queue = append(s.queue[:0], s.queue[n:]...)
	}
}

func (s *staleTracker) end(t *ipTrack, now int64, why string) {
	s.endSpan(t, now, why, false)
}

// endSpan ends t's open span; open says the capture ended with it open.
func (s *staleTracker) endSpan(t *ipTrack, now int64, why string, open bool) {
	if !t.open {
		return
	}
	t.open = false
	s.record(StaleSpan{IP: t.ip, MAC: t.mac.String(), From: seconds(t.from), To: seconds(now),
		Seconds: float64(now-t.from) / 1e9, Sends: t.sends, End: why, Open: open})
	if s.closed != nil {
		s.closed(t, now, why)
	}
}

// finish closes every open span at the end of the capture.
func (s *staleTracker) finish(now int64) {
	s.check(now)
	var open []*ipTrack
	for _, t := range s.ips.All() {
		if t.open {
			open = append(open, t)
		}
	}
	sortTracks(open)
	for _, t := range open {
		s.endSpan(t, now, "capture ended", true)
	}
}

func sortTracks(ts []*ipTrack) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ip.Less(ts[j-1].ip); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// seconds converts capture ns to float seconds, whole seconds and fraction
// separately so that a stamp like 1700000001.101 prints as such rather
// than as the nearest double to the whole ns count.
func seconds(ns int64) float64 {
	s, f := ns/1e9, ns%1e9
	return float64(s) + float64(f)/1e9
}

// macKey packs a MAC into a map key the runtime hashes on its fast path:
// an [6]byte key costs a generic hash per frame.
func macKey(m arp.MAC) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}
