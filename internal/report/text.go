package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"arplab/internal/trace"
)

// TextOptions controls Timeline.
type TextOptions struct {
	// Width is the number of columns every line fits in (default 100).
	Width int
	// Color adds ANSI colours; callers decide with ColorWanted so that
	// pipes and NO_COLOR get plain text.
	Color bool
	// From and To zoom to a range of seconds; nil means the trace's start
	// or end.
	From, To *float64
}

// minWidth is the narrowest timeline that still has room for a label and a
// readable plot.
const minWidth = 40

// maxKeyEvents bounds the event list: a terminal page, not a log. Urgent
// events (frames, moves, failures) are kept first when it overflows.
const maxKeyEvents = 40

// Timeline writes a compact ASCII timeline of evs: per entry a row of NUD
// state letters, the lladdr in force, the received ARP frames over the
// locktime windows, and probes/confirmations; then flows, an axis in
// seconds, a legend and the key events, every line within opt.Width
// columns. It is the terminal twin of HTML and derives the same lanes.
func Timeline(w io.Writer, evs []trace.Event, opt TextOptions) error {
	return timelineOf(w, derive(evs), opt)
}

// timelineOf writes the timeline of a derived trace (Timeline, Digest).
func timelineOf(w io.Writer, tl *timeline, opt TextOptions) error {
	width := opt.Width
	if width == 0 {
		width = 100
	}
	if width < minWidth {
		return fmt.Errorf("report: a timeline needs at least %d columns, got %d", minWidth, width)
	}
	v, err := viewOf(tl, opt.From, opt.To)
	if err != nil {
		return err
	}
	tp := &textPlot{tl: tl, v: v, width: width, color: opt.Color}
	tp.layout()
	var b bytes.Buffer
	tp.head(&b)
	tp.plot(&b)
	tp.legend(&b)
	tp.events(&b)
	_, err = w.Write(b.Bytes())
	return err
}

// ColorWanted reports whether output to f should be coloured: only when f
// is a terminal and NO_COLOR (no-color.org) is unset or empty. Without an
// ioctl the test is "f is a character device that is not /dev/null", which
// is what a terminal looks like to os.Stat.
func ColorWanted(f *os.File) bool {
	if f == nil || os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// cell is one character of a plot row with its colour.
type cell struct {
	ch  rune
	sgr string
	// rank decides which of several marks in one column is shown;
	// backgrounds (blank, locktime, flow in progress) have rank -1.
	rank int
}

// textRow is a labelled plot row.
type textRow struct {
	label string
	cells []cell
}

// textPlot lays out one timeline.
type textPlot struct {
	tl     *timeline
	v      view
	width  int
	color  bool
	labelW int
	cols   int
	dt     float64
	rows   []*textRow
	nd     bool // an nd_tbl lane is drawn: the legend names its row
}

// layout sizes the label column and fills the plot rows.
func (tp *textPlot) layout() {
	labels := []string{"moves"}
	for _, g := range tp.tl.Groups {
		for _, l := range g.Lanes {
			labels = append(labels, laneLabel(l))
		}
	}
	for _, r := range tp.tl.Flows {
		labels = append(labels, "flow "+r.Name)
	}
	for _, r := range tp.tl.Senders {
		labels = append(labels, "sent "+r.Name)
	}
	tp.labelW = 14 // fits the sub-row labels ("  probe/conf")
	for _, s := range labels {
		tp.labelW = max(tp.labelW, utf8.RuneCountInString(s))
	}
	tp.labelW = min(tp.labelW, tp.width*35/100)
	tp.cols = tp.width - tp.labelW - 1
	tp.dt = (tp.v.To - tp.v.From) / float64(tp.cols)

	if len(tp.tl.Moves) > 0 {
		r := tp.newRow("moves")
		for _, i := range tp.tl.Moves {
			tp.mark(r, tp.tl.Evs[i].Time, 'M', "1;33", 1)
		}
	}
	for _, s := range tp.tl.Senders {
		r := tp.newRow("sent " + s.Name)
		for _, i := range s.Events {
			tp.mark(r, tp.tl.Evs[i].Time, '^', macSGR(tp.tl.senderMAC(s, &tp.tl.Evs[i])), 1)
		}
	}
	for _, g := range tp.tl.Groups {
		for _, l := range g.Lanes {
			tp.laneRows(l)
		}
		if len(g.Disagree) > 0 {
			r := tp.newRow("  disagree")
			for _, i := range g.Disagree {
				tp.mark(r, tp.tl.Evs[i].Time, '!', "1;31", 1)
			}
		}
	}
	for _, f := range tp.tl.Flows {
		tp.flowRow(f)
	}
}

// laneLabel names a lane: "client 10.0.0.5", plus the side in a verify
// trace.
func laneLabel(l *lane) string {
	s := l.Key.Host + " " + l.Key.IP
	if l.Key.Side != "" {
		s += " " + l.Key.Side
	}
	return s
}

func sha(ev *trace.Event) string {
	if ev.ARP != nil && ev.ARP.SHA != "" {
		return ev.ARP.SHA
	}
	return ev.LLAddr
}

// newRow appends an empty row.
func (tp *textPlot) newRow(label string) *textRow {
	cells := make([]cell, tp.cols)
	for i := range cells {
		cells[i] = cell{ch: ' ', rank: -1}
	}
	r := &textRow{label: label, cells: cells}
	tp.rows = append(tp.rows, r)
	return r
}

// col maps a time to its column, or -1 outside the view.
func (tp *textPlot) col(t float64) int {
	if t < tp.v.From || t > tp.v.To {
		return -1
	}
	c := int((t - tp.v.From) / tp.dt)
	return min(c, tp.cols-1)
}

// mark puts ch at t unless the column already holds a mark of higher rank;
// equal ranks let the later event show.
func (tp *textPlot) mark(r *textRow, t float64, ch rune, sgr string, rank int) {
	c := tp.col(t)
	if c < 0 || r.cells[c].rank > rank {
		return
	}
	r.cells[c] = cell{ch: ch, sgr: sgr, rank: rank}
}

// markRank orders marks competing for one column (see verdictRank).
func markRank(ch rune) int {
	switch ch {
	case 'x', 'X', 'L', '!':
		return 4
	case '-', 'F', 'D':
		return 3
	case '+', 'p', 'E':
		return 2
	case 'c', 'S':
		return 1
	}
	return 0
}

// laneRows adds the rows of one entry lane.
func (tp *textPlot) laneRows(l *lane) {
	st := tp.newRow(laneLabel(l))
	// The lladdr row is the one that shows the old MAC outliving a move;
	// an entry that never had one (a probe target that never answered)
	// does not need it.
	ll := &textRow{cells: make([]cell, tp.cols)}
	for _, s := range l.Spans {
		if s.LLAddr != "" {
			ll = tp.newRow("  lladdr")
			break
		}
	}
	for c := 0; c < tp.cols; c++ {
		t0 := tp.v.From + float64(c)*tp.dt
		s := dominant(l.Spans, t0, t0+tp.dt)
		info := stateOf(s.State)
		st.cells[c] = cell{ch: rune(info.Letter), sgr: info.ANSI}
		if !absent(s.State) && s.LLAddr != "" {
			i := tp.tl.mac(s.LLAddr)
			ll.cells[c] = cell{ch: macDigit(i), sgr: macSGR(i)}
		} else {
			ll.cells[c] = cell{ch: '.'}
		}
	}
	// nd_tbl entries get the same marks for NAs and NSs; IPv6 has no
	// locktime (ndisc §5.5), so their row never shows a window.
	frameRow := "  arp/lock"
	if strings.Contains(l.Key.IP, ":") {
		frameRow, tp.nd = "  nd", true
	}
	arp := tp.newRow(frameRow)
	for _, w := range l.Locktimes {
		c0, c1 := tp.col(math.Max(w.From, tp.v.From)), tp.col(math.Min(w.To, tp.v.To))
		if w.To < tp.v.From || w.From > tp.v.To || c0 < 0 {
			continue
		}
		for c := c0; c <= c1; c++ {
			arp.cells[c] = cell{ch: '=', sgr: "90", rank: -1}
		}
	}
	var pc *textRow
	for _, i := range l.Events {
		ev := &tp.tl.Evs[i]
		switch ev.Kind {
		case trace.KindARP, trace.KindND:
			e := effectOf(ev)
			tp.mark(arp, ev.Time, rune(verdictMark[e]), verdictSGR(e), verdictRank(e))
		case trace.KindProbe, trace.KindConfirm, trace.KindTouch:
			if pc == nil {
				pc = tp.newRow("  probe/conf")
			}
			switch ev.Kind {
			case trace.KindProbe:
				tp.mark(pc, ev.Time, 'p', "35", 2)
			case trace.KindConfirm:
				tp.mark(pc, ev.Time, 'c', "36", 1)
			default:
				tp.mark(pc, ev.Time, 't', "90", 0)
			}
		}
	}
}

// dominant returns the span covering most of [a, b); later wins ties, so a
// change at a column boundary shows in the column it starts.
func dominant(spans []span, a, b float64) span {
	var best span
	bestLen := 0.0
	for _, s := range spans {
		ov := math.Min(s.To, b) - math.Max(s.From, a)
		if ov > 0 && ov >= bestLen {
			best, bestLen = s, ov
		}
	}
	return best
}

// macDigit is the Timeline symbol of the i-th MAC: 1-9, then a-z.
func macDigit(i int) rune {
	switch {
	case i < 0:
		return '?'
	case i < 9:
		return rune('1' + i)
	case i < 9+26:
		return rune('a' + i - 9)
	}
	return '*'
}

// macSGR colours MACs so the old and the new one differ at a glance.
func macSGR(i int) string {
	pal := []string{"34", "35", "36", "33", "32"}
	if i < 0 {
		return ""
	}
	return pal[i%len(pal)]
}

func verdictSGR(v string) string {
	switch v {
	case trace.Honoured:
		return "32"
	case trace.Ignored:
		return "1;31"
	case trace.Created:
		return "34"
	}
	return "90"
}

// flowSymbol is how a flow event reads in its row.
// flowCause is a cause flowSymbol draws as ch (for the HTML key).
func flowCause(ch rune) string {
	return map[rune]string{'S': "syn", 'L': "lost", 'E': "established", 'X': "failed", 'D': "data-lost"}[ch]
}

func flowSymbol(ev *trace.Event) (rune, string) {
	switch ev.Cause {
	case "syn", "connect", "start":
		return 'S', ""
	case "syn-lost", "lost":
		return 'L', "31"
	case "established", "ok", "done":
		return 'E', "32"
	case "failed":
		return 'X', "1;31"
	case "data-lost":
		return 'D', "33"
	}
	if ev.OK != nil && !*ev.OK {
		return 'X', "1;31"
	}
	if ev.OK != nil {
		return 'E', "32"
	}
	return '*', ""
}

// flowRow draws a flow: its marks joined by '-' while it is in progress.
func (tp *textPlot) flowRow(f *row) {
	r := tp.newRow("flow " + f.Name)
	a, b := tp.col(math.Max(f.First, tp.v.From)), tp.col(math.Min(f.Last, tp.v.To))
	if a >= 0 && b >= 0 && f.Last >= tp.v.From && f.First <= tp.v.To {
		for c := a; c <= b; c++ {
			r.cells[c] = cell{ch: '-', sgr: "90", rank: -1}
		}
	}
	for _, i := range f.Events {
		ch, sgr := flowSymbol(&tp.tl.Evs[i])
		tp.mark(r, tp.tl.Evs[i].Time, ch, sgr, markRank(ch))
	}
}

// head writes the run line and the verdict.
func (tp *textPlot) head(b *bytes.Buffer) {
	title := "arplab timeline"
	if hw := headerWords(tp.tl); len(hw) > 0 {
		title += "  " + strings.Join(hw, " ")
	}
	tp.wrap(b, title, 2, "")
	text, ok, have := verdictText(tp.tl)
	word, sgr := "PASS", "1;32"
	if !ok {
		word, sgr = "FAIL", "1;31"
	}
	if !have {
		word, sgr = "----", "90"
	}
	tp.wrapLead(b, word, sgr, text)
	if tp.tl.Verdict >= 0 {
		if x := tp.tl.Evs[tp.tl.Verdict].Attrs["expectation"]; x != "" {
			tp.wrap(b, "expectation "+x, 2, "")
		}
	}
	for _, i := range tp.tl.Checks {
		ev := &tp.tl.Evs[i]
		w, s := "  ok", "32"
		if ev.OK != nil && !*ev.OK {
			w, s = "  FAILED", "31"
		}
		tp.wrapLead(b, w, s, "check: "+orDash(ev.Explanation))
	}
	b.WriteString("\n")
}

// plot writes the axis and the rows.
func (tp *textPlot) plot(b *bytes.Buffer) {
	tp.axis(b)
	for _, r := range tp.rows {
		lead := padRight(truncate(r.label, tp.labelW), tp.labelW) + " "
		var row bytes.Buffer
		tp.writeCells(&row, r.cells)
		if row.Len() == 0 {
			lead = strings.TrimRight(lead, " ")
		}
		b.WriteString(lead)
		b.Write(row.Bytes())
		b.WriteString("\n")
	}
	if len(tp.rows) > 12 {
		tp.axis(b) // a second axis saves scrolling back on a long page
	}
}

// axis writes the tick labels and the tick marks.
func (tp *textPlot) axis(b *bytes.Buffer) {
	step := niceStep(tp.v.To-tp.v.From, max(1, tp.cols/10))
	lbl := []rune(strings.Repeat(" ", tp.cols))
	mk := []rune(strings.Repeat("-", tp.cols))
	next := 0
	for _, t := range ticks(tp.v, step) {
		c := tp.col(t)
		if c < 0 {
			continue
		}
		mk[c] = '|'
		s := []rune(tickLabel(t, step))
		if c < next || c+len(s) > tp.cols {
			continue
		}
		copy(lbl[c:], s)
		next = c + len(s) + 1
	}
	pad := strings.Repeat(" ", tp.labelW+1)
	b.WriteString(strings.TrimRight(pad+string(lbl), " ") + "\n")
	b.WriteString(padRight("seconds", tp.labelW) + " " + string(mk) + "\n")
}

// legend explains the symbols and the MAC digits.
func (tp *textPlot) legend(b *bytes.Buffer) {
	var parts []string
	for _, s := range stateOrder {
		parts = append(parts, string(states[s].Letter)+"="+s)
	}
	parts = append(parts, ".=absent")
	tp.wrap(b, "state: "+strings.Join(parts, " "), 7, "")
	tp.wrap(b, "arp/lock: + honoured, x ignored (kept another MAC), o no-op (same MAC), c created, - dropped, = locktime window;"+
		" probe/conf: p probe sent, c confirmation, t touch", 4, "")
	if tp.nd {
		tp.wrap(b, "nd: the same marks for neighbour advertisements and solicitations (IPv6 has no locktime)", 4, "")
	}
	tp.wrap(b, "flow: S syn, L syn lost, E established, X failed, D data lost; moves: M", 4, "")
	drawn := tp.tl.drawnMACs()
	for i, m := range tp.tl.MACs.List {
		if !drawn[m] {
			continue // only in frames (the host's own MAC): nothing shows its digit
		}
		line := fmt.Sprintf("lladdr %c=%s", macDigit(i), m)
		if r := tp.tl.macRole(m); r != "" {
			line += " (" + r + ")"
		}
		tp.wrap(b, line, 4, "")
	}
}
