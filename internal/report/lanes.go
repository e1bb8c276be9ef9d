package report

import (
	"fmt"
	"math"
	"sort"

	"arplab/internal/trace"
)

// This file derives, once, what both renderers draw: per neighbour entry the
// NUD state and lladdr over time, the frames and confirmations that landed on
// it and the locktime windows it went through. HTML and Timeline share it so
// the page and the terminal can never tell two different stories about the
// same trace.

// laneKey identifies one lane: a neighbour entry (host, IP) as seen by one
// side. Side is empty unless the trace mixes sources (a verify trace holds
// "kernel" and "model" events for the same entry), in which case each side
// gets its own lane and the two are drawn one above the other.
type laneKey struct{ Host, IP, Side string }

// span is a stretch of time during which an entry had one state and lladdr.
// State "" means the entry's state is not known yet (before the first event
// that tells us); "NONE" means the entry did not exist.
type span struct {
	From, To      float64
	State, LLAddr string
}

// window is a locktime window opened by event Ev: an ARP frame arriving in
// [From, To] cannot override the entry's lladdr (neigh_update without
// NEIGH_UPDATE_F_OVERRIDE).
type window struct {
	From, To float64
	Ev       int
}

// lane is one entry's history.
type lane struct {
	Key laneKey
	// Spans cover [timeline.Start, timeline.End] without gaps once the
	// first state is known; before that the lane is blank.
	Spans []span
	// Events are indices into timeline.Evs of everything drawn on the
	// lane (ARP, state, touch, probe, confirm), in time order.
	Events    []int
	Locktimes []window
	// cur is the state being extended while deriving.
	cur   span
	known bool
}

// group is the set of lanes for one (host, IP): one lane per side.
type group struct {
	Host, IP string
	Lanes    []*lane
	// Disagree lists events (indices) whose Attrs["disagree"] is "1".
	Disagree []int
}

// row is a named sequence of events on a lane of their own: an upper-layer
// flow (KindFlow) or a sender's transmissions (KindSend).
type row struct {
	Name   string
	Events []int
	First  float64
	Last   float64
	// Failed is true when any event of the row says it failed (OK false,
	// cause "failed"); Succeeded when one says OK true.
	Failed, Succeeded bool
}

// timeline is the derived view of a whole trace.
type timeline struct {
	// Evs are the events in time order (a stable sort of the input).
	Evs []trace.Event
	// Header and Verdict index Evs, or are -1.
	Header, Verdict int
	// Start and End bound every event time and locktime window, so the
	// full view shows everything.
	Start, End float64
	Groups     []*group
	Flows      []*row
	Senders    []*row
	Moves      []int
	Checks     []int
	Notes      []int
	// MACs numbers the link-layer addresses seen (see macTable).
	MACs *macTable
	// MultiSide is true when entry events come from more than one source.
	MultiSide bool
	// Origin is the absolute time subtracted from every event so the
	// page and the terminal count from the start: 0 for the simulator
	// and the lab (they count from their epoch already), the first
	// frame's stamp for a capture's Unix clock (replay).
	Origin float64
}

// absoluteClock is the smallest time read as a wall clock rather than as
// seconds since a run's start: no simulated or lab run lasts 11 days, and
// no capture was taken in January 1970.
const absoluteClock = 1e6

// macTable numbers link-layer addresses in order of first appearance, so
// the first (usually the old) MAC always gets the first colour and digit.
// A Matrix shares one table between its rows so a MAC has one colour on
// the whole page.
type macTable struct {
	List  []string
	index map[string]int
}

func newMACTable() *macTable { return &macTable{index: map[string]int{}} }

// add numbers m if it is new.
func (t *macTable) add(m string) {
	if m == "" {
		return
	}
	if _, ok := t.index[m]; !ok {
		t.index[m] = len(t.List)
		t.List = append(t.List, m)
	}
}

// onLane reports whether events of kind k belong to an entry lane.
func onLane(k trace.Kind) bool {
	switch k {
	case trace.KindState, trace.KindTouch, trace.KindARP, trace.KindND, trace.KindProbe, trace.KindConfirm:
		return true
	}
	return false
}

// entryIP is the IP of the entry an event is about. A received ARP frame
// without an explicit IP is about its sender protocol address: that is the
// entry arp_process looks up.
func entryIP(ev *trace.Event) string {
	if ev.IP == "" && ev.Kind == trace.KindARP && ev.ARP != nil {
		return ev.ARP.SIP
	}
	return ev.IP
}

// derive builds the timeline of evs. It never fails: events it cannot place
// (an entry event without a host) are kept as notes, because a renderer
// that silently drops what it does not understand hides exactly the
// surprises a trace is for.
func derive(evs []trace.Event) *timeline { return deriveWith(evs, newMACTable()) }

// deriveWith is derive with a MAC numbering shared with other timelines.
func deriveWith(evs []trace.Event, macs *macTable) *timeline {
	tl := &timeline{Header: -1, Verdict: -1, MACs: macs}
	tl.Evs = make([]trace.Event, len(evs))
	copy(tl.Evs, evs)
	// Producers emit in time order, but a verify trace interleaves two
	// sides; a stable sort keeps same-instant events in emission order.
	sort.SliceStable(tl.Evs, func(i, j int) bool { return tl.Evs[i].Time < tl.Evs[j].Time })
	tl.relative()

	sides := map[string]bool{}
	for i := range tl.Evs {
		ev := &tl.Evs[i]
		if onLane(ev.Kind) && ev.Source != "" {
			sides[ev.Source] = true
		}
	}
	tl.MultiSide = len(sides) > 1

	tl.Start, tl.End = math.Inf(1), math.Inf(-1)
	widen := func(t float64) {
		tl.Start = math.Min(tl.Start, t)
		tl.End = math.Max(tl.End, t)
	}
	groups := map[[2]string]*group{}
	lanes := map[laneKey]*lane{}
	flows := map[string]*row{}
	senders := map[string]*row{}
	for i := range tl.Evs {
		ev := &tl.Evs[i]
		// The header's time may be a zero epoch while a replayed capture
		// runs on the capture's clock; it must not stretch the axis.
		if ev.Kind != trace.KindHeader {
			widen(ev.Time)
			if ev.LocktimeUntil != nil {
				widen(*ev.LocktimeUntil)
			}
		}
		tl.noteMACs(ev)
		switch {
		case ev.Kind == trace.KindHeader:
			if tl.Header < 0 {
				tl.Header = i
			}
		case ev.Kind == trace.KindVerdict:
			tl.Verdict = i // the last one wins: it closes the run
		case onLane(ev.Kind) && ev.Host != "":
			k := laneKey{Host: ev.Host, IP: entryIP(ev)}
			if tl.MultiSide {
				k.Side = ev.Source
			}
			gk := [2]string{k.Host, k.IP}
			g := groups[gk]
			if g == nil {
				g = &group{Host: k.Host, IP: k.IP}
				groups[gk] = g
				tl.Groups = append(tl.Groups, g)
			}
			l := lanes[k]
			if l == nil {
				l = &lane{Key: k}
				lanes[k] = l
				g.Lanes = append(g.Lanes, l)
			}
			l.Events = append(l.Events, i)
			if ev.Attrs["disagree"] == "1" {
				g.Disagree = append(g.Disagree, i)
			}
		case ev.Kind == trace.KindFlow:
			tl.Flows = addRow(&tl.Flows, flows, flowName(ev), i, ev)
		case ev.Kind == trace.KindSend:
			tl.Senders = addRow(&tl.Senders, senders, ev.Host, i, ev)
		case ev.Kind == trace.KindMove:
			tl.Moves = append(tl.Moves, i)
		case ev.Kind == trace.KindCheck:
			tl.Checks = append(tl.Checks, i)
		default:
			tl.Notes = append(tl.Notes, i)
		}
	}
	if math.IsInf(tl.Start, 1) {
		tl.Start, tl.End = 0, 1
	}
	if tl.Header >= 0 {
		// The header marks the run's epoch (0 for the simulator and the
		// lab), and the axis should start there so "STALE since the
		// start" is drawn from the start. A replayed capture runs on the
		// capture's clock, though, and its zero header would squash the
		// run into a sliver; so the header only counts when the gap it
		// adds is no longer than the run itself.
		if h := tl.Evs[tl.Header].Time; h < tl.Start && tl.Start-h <= tl.End-tl.Start {
			tl.Start = h
		}
	}
	if tl.End <= tl.Start {
		// A one-instant trace still needs a non-empty axis.
		tl.End = tl.Start + 1
	}
	tl.orderGroups()
	for _, g := range tl.Groups {
		// Keep the kernel above its model: the kernel is the ground truth
		// the model is checked against, so it reads first.
		sort.SliceStable(g.Lanes, func(i, j int) bool {
			return sideRank(g.Lanes[i].Key.Side) < sideRank(g.Lanes[j].Key.Side)
		})
		for _, l := range g.Lanes {
			l.build(tl)
		}
	}
	return tl
}

// relative moves a trace on an absolute clock (a capture's Unix seconds)
// to seconds since its first event, keeping the absolute start in Origin
// for the header: "1700000020.05s" is unreadable on an axis, and cut off
// in a zoom box. The header keeps time 0, the run's start.
func (tl *timeline) relative() {
	first := math.Inf(1)
	for i := range tl.Evs {
		if tl.Evs[i].Kind != trace.KindHeader {
			first = math.Min(first, tl.Evs[i].Time)
		}
	}
	if math.IsInf(first, 1) || first < absoluteClock {
		return
	}
	tl.Origin = first
	for i := range tl.Evs {
		ev := &tl.Evs[i]
		if ev.Kind == trace.KindHeader && ev.Time < first {
			ev.Time = 0
			continue
		}
		ev.Time -= first
		if ev.LocktimeUntil != nil {
			ev.LocktimeUntil = trace.F64(*ev.LocktimeUntil - first)
		}
	}
}

// orderGroups puts the entries the verdict is about first: an entry for
// an IP that moved, then one that ignored a frame for another MAC, then
// the rest in order of appearance. A reader looks at the top lane first,
// and an unrelated entry there sends them the wrong way.
func (tl *timeline) orderGroups() {
	moved := map[string]bool{}
	for _, i := range tl.Moves {
		moved[tl.Evs[i].IP] = true
	}
	rank := func(g *group) int {
		if moved[g.IP] {
			return 0
		}
		for _, l := range g.Lanes {
			for _, i := range l.Events {
				if tl.Evs[i].Effect() == trace.EffectIgnored {
					return 1
				}
			}
		}
		return 2
	}
	sort.SliceStable(tl.Groups, func(i, j int) bool { return rank(tl.Groups[i]) < rank(tl.Groups[j]) })
}

// sideRank orders the sides of a verify trace: what the kernel did first.
func sideRank(side string) int {
	switch side {
	case "kernel":
		return 0
	case "lab":
		return 1
	}
	return 2
}

// flowName names a flow's row; flows without a name share one row.
func flowName(ev *trace.Event) string {
	if ev.Flow != "" {
		return ev.Flow
	}
	return "flow"
}

// addRow appends event i to the row called name, creating it in first-seen
// order (the slice keeps the order, the map only finds the row).
func addRow(list *[]*row, byName map[string]*row, name string, i int, ev *trace.Event) []*row {
	r := byName[name]
	if r == nil {
		r = &row{Name: name, First: ev.Time}
		byName[name] = r
		*list = append(*list, r)
	}
	r.Events = append(r.Events, i)
	r.Last = ev.Time
	if (ev.OK != nil && !*ev.OK) || ev.Cause == "failed" {
		r.Failed = true
	}
	if ev.OK != nil && *ev.OK {
		r.Succeeded = true
	}
	return *list
}

// noteMACs records the link-layer addresses an event mentions, old before
// new, so the MAC the entry started with gets index 0.
func (tl *timeline) noteMACs(ev *trace.Event) {
	tl.MACs.add(ev.OldLLAddr)
	tl.MACs.add(ev.LLAddr)
	if ev.ARP != nil {
		tl.MACs.add(ev.ARP.SHA)
	}
}

// drawnMACs are the MACs a timeline draws: the lladdr of an entry's span
// and the address a sender advertises. The others (the observed host's
// own MAC, a request's target) only appear in frames, and a key for them
// would name a colour nothing has.
func (tl *timeline) drawnMACs() map[string]bool {
	out := map[string]bool{}
	for _, g := range tl.Groups {
		for _, l := range g.Lanes {
			for _, s := range l.Spans {
				if s.LLAddr != "" && !absent(s.State) {
					out[s.LLAddr] = true
				}
			}
		}
	}
	for _, r := range tl.Senders {
		if tl.observed(r.Name) {
			continue
		}
		for _, i := range r.Events {
			if m := sha(&tl.Evs[i]); m != "" {
				out[m] = true
			}
		}
	}
	return out
}

// observed reports whether host is one whose entries the trace follows
// (it has a lane). A sender row of such a host is its own frames (replay
// writes what the host sent): they carry its own MAC, which is not an
// lladdr any entry holds, so they are drawn without a MAC colour.
func (tl *timeline) observed(host string) bool {
	for _, g := range tl.Groups {
		if g.Host == host {
			return true
		}
	}
	return false
}

// senderMAC is the MAC index a sender's frame is coloured by: -1 (grey)
// for the observed host's own frames.
func (tl *timeline) senderMAC(r *row, ev *trace.Event) int {
	if tl.observed(r.Name) {
		return -1
	}
	return tl.mac(sha(ev))
}

// mac returns the index of m in MACs, or -1.
func (tl *timeline) mac(m string) int {
	if i, ok := tl.MACs.index[m]; ok {
		return i
	}
	return -1
}

// macRole says what the moves in the trace make of m ("old: moved away at
// 12 s"), so a legend can name the stale MAC without the reader matching
// hex digits.
func (tl *timeline) macRole(m string) string {
	role := ""
	for _, i := range tl.Moves {
		ev := &tl.Evs[i]
		switch m {
		case ev.OldLLAddr:
			role = fmt.Sprintf("old: %s left it at %s s", ev.IP, fmtTime(ev.Time))
		case ev.LLAddr:
			role = fmt.Sprintf("new: %s moved to it at %s s", ev.IP, fmtTime(ev.Time))
		}
	}
	return role
}

// build derives the lane's spans and locktime windows from its events.
//
// KindState is authoritative. Other lane events that carry the entry's
// state "after" (an ARP verdict, a touch) only fill in what is not known
// yet, or correct a state the producer changed without a KindState line,
// so a replay that only sees frames still draws a lane.
func (l *lane) build(tl *timeline) {
	for _, i := range l.Events {
		ev := &tl.Evs[i]
		if ev.LocktimeUntil != nil && *ev.LocktimeUntil > ev.Time {
			l.Locktimes = append(l.Locktimes, window{From: ev.Time, To: *ev.LocktimeUntil, Ev: i})
		}
		if ev.State == "" && ev.OldState == "" {
			continue
		}
		if !l.known {
			// What the entry was before its first event, if the event
			// says: the lane then starts at the trace's start, which is
			// how "the entry was STALE all along" becomes visible.
			before, ll := ev.OldState, ev.OldLLAddr
			if before == "" && ev.Kind != trace.KindState {
				before, ll = ev.State, ev.LLAddr
			}
			if before != "" {
				l.cur = span{From: tl.Start, State: before, LLAddr: ll}
				l.known = true
			}
		}
		if ev.State == "" {
			continue
		}
		ll := ev.LLAddr
		if ev.Kind != trace.KindState && ll == "" {
			ll = l.cur.LLAddr // a frame's event may omit an unchanged lladdr
		}
		l.enter(ev.Time, ev.State, ll)
	}
	if l.known {
		l.cur.To = tl.End
		l.push(l.cur)
	}
}

// enter closes the current span at t and opens one with state and ll.
func (l *lane) enter(t float64, state, ll string) {
	if l.known && l.cur.State == state && l.cur.LLAddr == ll {
		return
	}
	if l.known {
		l.cur.To = t
		l.push(l.cur)
	}
	l.cur = span{From: t, State: state, LLAddr: ll}
	l.known = true
}

// push appends s unless it is empty; a state entered and left in the same
// instant stays in the event list but has no width to draw.
func (l *lane) push(s span) {
	if s.To <= s.From {
		return
	}
	l.Spans = append(l.Spans, s)
}

// view is the visible time range and its mapping onto a width.
type view struct{ From, To float64 }

// viewOf applies the --from/--to zoom to the trace's full range.
func viewOf(tl *timeline, from, to *float64) (view, error) {
	v := view{From: tl.Start, To: tl.End}
	if from != nil {
		v.From = *from
	}
	if to != nil {
		v.To = *to
	}
	if math.IsNaN(v.From) || math.IsNaN(v.To) || math.IsInf(v.From, 0) || math.IsInf(v.To, 0) {
		return v, fmt.Errorf("report: the zoom range must be finite numbers of seconds")
	}
	if v.To <= v.From {
		return v, fmt.Errorf("report: the zoom range %s..%s s is empty: --from must be before --to", fmtTime(v.From), fmtTime(v.To))
	}
	return v, nil
}

// niceStep returns a tick spacing of 1, 2 or 5 times a power of ten that
// gives about n ticks over span seconds. The page's script uses the same
// rule so zooming in the browser draws the same ticks Go drew.
func niceStep(span float64, n int) float64 {
	if n < 1 {
		n = 1
	}
	raw := span / float64(n)
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	m := raw / p
	switch {
	case m <= 1:
		return p
	case m <= 2:
		return 2 * p
	case m <= 5:
		return 5 * p
	}
	return 10 * p
}

// ticks returns the multiples of step inside v.
func ticks(v view, step float64) []float64 {
	var out []float64
	first := math.Ceil(v.From/step-1e-9) * step
	for k := 0; ; k++ {
		t := first + float64(k)*step
		if t > v.To+step*1e-9 || k > 1000 {
			break
		}
		// Avoid printing "-0" and float noise like 0.30000000000000004.
		t = math.Round(t/step) * step
		if t == 0 {
			t = 0
		}
		out = append(out, t)
	}
	return out
}

// tickLabel prints t with as many decimals as step needs.
func tickLabel(t, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return fmt.Sprintf("%.*fs", dec, t)
}
