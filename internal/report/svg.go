package report

import (
	"bytes"
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"

	"arplab/internal/trace"
)

// This file draws a timeline as one inline SVG. Every element that sits at a
// time carries data-t0 (and data-t1 for extents) next to its coordinates, so
// the page's script can re-place it when the reader zooms, using the same
// mapping Go used: the page works without the script, and zooming does not
// need a second copy of the layout logic.

// Geometry of the drawing, in pixels. The width is fixed (the page scrolls
// horizontally on a narrow screen) so that coordinates are stable numbers a
// golden file can hold.
const (
	svgWidth   = 1200
	gutter     = 210 // lane labels
	plotWidth  = svgWidth - gutter - 20
	axisY      = 14 // tick labels
	moveLabelY = 30
	lanesTop   = 40
	laneHeight = 52
	stateH     = 16 // the NUD state band
	macY       = 18 // the lladdr band, under the state band
	macH       = 6
	arpY       = 33 // centre line of received-frame marks
	smallY     = 45 // centre line of probes, confirmations, touches
	groupGap   = 10
	rowHeight  = 20 // flow and sender rows
	tickTarget = 10 // about this many ticks over the plot
)

// macColors give each distinct MAC its own hue; the first (usually the old
// one) is blue, the second (usually the new one) magenta, so "old MAC still
// in force" is visible without reading addresses.
var macColors = []string{"#1e88e5", "#d81b60", "#00acc1", "#8d6e63", "#c0ca33", "#5e35b1", "#6d4c41", "#43a047"}

func macColor(i int) string {
	if i < 0 {
		return "#9e9e9e"
	}
	return macColors[i%len(macColors)]
}

// svgOpts says what one SVG shows.
type svgOpts struct {
	// ID prefixes every id in the drawing, so several SVGs (a Matrix) can
	// share a page.
	ID string
	// Groups are the entries drawn, in order.
	Groups []*group
	// Flows and Senders add those rows.
	Flows, Senders bool
	// FlowIP, when set, keeps only the flows to that IP (a matrix row
	// shows the key entry and what talked to it).
	FlowIP string
	// Light leaves confirmations and lost segments without a detail
	// entry (their tooltip still says what they are): a matrix compares
	// many runs, and its details are the key events'.
	Light bool
	// View is the initial range; Full is where the page's reset goes.
	View, Full view
	// Label is read by screen readers.
	Label string
	// Drawn collects what the drawing shows, for the legend (nil: not
	// collected).
	Drawn *drawn
}

// drawn is what the page's drawings show: NUD states, mark kinds (the
// frame effects, "probe", "confirm", "confirm-run", "touch", "lock",
// "send", "move") and the MACs in lladdr bands and sender rows. The legend
// is made from it, so it keys exactly what is drawn.
type drawn struct {
	states, marks, macs map[string]bool
}

func newDrawn() *drawn {
	return &drawn{states: map[string]bool{}, marks: map[string]bool{}, macs: map[string]bool{}}
}

// run is a stretch of confirmations drawn as one mark: n of them, the
// last at until.
type run struct {
	n     int
	until float64
}

// needed is what a drawing links to the event table: every marked event,
// and the runs of confirmations keyed by their first event.
type needed struct {
	set  map[int]bool
	runs map[int]run
}

// list returns the marked events in index order.
func (n needed) list() []int {
	out := make([]int, 0, len(n.set))
	for i := range n.set {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// svgWriter accumulates one SVG and the events that need a detail panel.
type svgWriter struct {
	b    *bytes.Buffer
	tl   *timeline
	o    svgOpts
	need needed // events with a mark, hence a detail entry
	d    *drawn
}

// num prints a coordinate with at most two decimals: stable across
// platforms and short.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// esc escapes text for both HTML and XML (the SVG must parse as XML).
func esc(s string) string { return html.EscapeString(s) }

// x maps a time onto the plot.
func (sw *svgWriter) x(t float64) float64 {
	v := sw.o.View
	return gutter + (t-v.From)*plotWidth/(v.To-v.From)
}

func (sw *svgWriter) p(format string, args ...any) { fmt.Fprintf(sw.b, format, args...) }

// height returns the SVG height for the options.
func svgHeight(tl *timeline, o svgOpts) float64 {
	y := float64(lanesTop)
	if o.Senders && len(tl.Senders) > 0 {
		y += float64(len(tl.Senders)*rowHeight + groupGap)
	}
	for _, g := range o.Groups {
		y += float64(len(g.Lanes)*laneHeight + groupGap)
	}
	if o.Flows {
		y += float64(len(flowsOf(tl, o)) * rowHeight)
	}
	return y + 8
}

// writeSVG draws tl with options o and returns the events that need a
// detail entry. The SVG scales to the page's width (its viewBox keeps the
// coordinates fixed), so the timeline reaches the right edge.
func writeSVG(b *bytes.Buffer, tl *timeline, o svgOpts) needed {
	d := o.Drawn
	if d == nil {
		d = newDrawn()
	}
	sw := &svgWriter{b: b, tl: tl, o: o, need: needed{set: map[int]bool{}, runs: map[int]run{}}, d: d}
	h := svgHeight(tl, o)
	sw.p(`<svg class="tl" id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%s" viewBox="0 0 %d %s" preserveAspectRatio="xMinYMin meet"`,
		esc(o.ID), svgWidth, num(h), svgWidth, num(h))
	sw.p(` data-left="%d" data-width="%d" data-from="%s" data-to="%s" data-full-from="%s" data-full-to="%s" role="img" aria-label="%s">`+"\n",
		gutter, plotWidth, num3(o.View.From), num3(o.View.To), num3(o.Full.From), num3(o.Full.To), esc(o.Label))
	sw.p(`<defs><pattern id="%s-lock" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
		`<rect width="2.5" height="6" fill="#263238" fill-opacity="0.45"/></pattern>`+
		`<clipPath id="%s-clip"><rect x="%d" y="0" width="%d" height="%s"/></clipPath></defs>`+"\n",
		esc(o.ID), esc(o.ID), gutter-markPad, plotWidth+2*markPad, num(h))
	sw.axis(lanesTop-4, h-4)
	sw.p(`<g clip-path="url(#%s-clip)">`+"\n", esc(o.ID))
	y := float64(lanesTop)
	var labels bytes.Buffer
	if o.Senders {
		for _, r := range tl.Senders {
			sw.senderRow(r, y, &labels)
			y += rowHeight
		}
		if len(tl.Senders) > 0 {
			y += groupGap
		}
	}
	for _, g := range o.Groups {
		sw.group(g, y, &labels)
		y += float64(len(g.Lanes)*laneHeight + groupGap)
	}
	if o.Flows {
		for _, r := range flowsOf(tl, o) {
			sw.flowRow(r, y, &labels)
			y += rowHeight
		}
	}
	sw.moves(lanesTop-6, y)
	sw.p("</g>\n")
	sw.b.Write(labels.Bytes())
	sw.p(`<rect class="sel" x="0" y="%d" width="0" height="%s" fill="#1e88e5" fill-opacity="0.15" visibility="hidden"/>`+"\n",
		lanesTop-6, num(h-lanesTop))
	sw.p("</svg>\n")
	return sw.need
}

// flowsOf returns the flow rows o draws.
func flowsOf(tl *timeline, o svgOpts) []*row {
	if o.FlowIP == "" {
		return tl.Flows
	}
	var out []*row
	for _, r := range tl.Flows {
		for _, i := range r.Events {
			if tl.Evs[i].IP == o.FlowIP {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// detailIf links a mark to its detail unless the drawing is light and the
// mark is one of many (a confirmation, a lost segment).
func (sw *svgWriter) detailIf(i int) string {
	if ev := &sw.tl.Evs[i]; sw.o.Light && (ev.Kind == trace.KindConfirm || ev.Kind == trace.KindTouch ||
		(ev.Kind == trace.KindState && ev.LLAddr == ev.OldLLAddr) || (ev.Kind == trace.KindFlow && ev.Cause == "lost")) {
		return ""
	}
	return sw.detail(i)
}

// markPad is how far past the plot's edges a mark may show, so a frame at
// the very start or end is drawn whole rather than cut in half.
const markPad = 8

// num3 prints a time with millisecond precision for data attributes.
func num3(t float64) string { return fmtTime(t) }

// axis draws grid lines and tick labels; the script redraws the same group
// on zoom (data-y0/data-y1 tell it where the grid runs).
func (sw *svgWriter) axis(y0, y1 float64) {
	v := sw.o.View
	step := niceStep(v.To-v.From, tickTarget)
	sw.p(`<g class="axis" data-y0="%s" data-y1="%s">`, num(y0), num(y1))
	for _, t := range ticks(v, step) {
		x := num(sw.x(t))
		sw.p(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e0e0e0"/>`, x, num(y0), x, num(y1))
		sw.p(`<text x="%s" y="%d" text-anchor="middle" class="tick">%s</text>`, x, axisY, esc(tickLabel(t, step)))
	}
	sw.p("</g>\n")
}

// at opens a group placed at time t and height y, with the attributes the
// script needs to move it. class is escaped here; attrs must already be.
func (sw *svgWriter) at(class string, t, y float64, attrs string) {
	sw.p(`<g class="%s" data-t0="%s" data-y="%s" transform="translate(%s,%s)"%s>`,
		esc(class), num3(t), num(y), num(sw.x(t)), num(y), attrs)
}

// extent draws a rect over [t0, t1] (clamped to the plot by the clip path,
// not by arithmetic, so zooming out restores it). class and fill are
// escaped here; attrs must already be.
func (sw *svgWriter) extent(class string, t0, t1, y, h float64, fill, attrs, title string) {
	x0, x1 := sw.x(t0), sw.x(t1)
	sw.p(`<rect class="%s" data-t0="%s" data-t1="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"%s>`,
		esc(class), num3(t0), num3(t1), num(x0), num(y), num(max(0, x1-x0)), num(h), esc(fill), attrs)
	if title != "" {
		sw.p(`<title>%s</title>`, esc(title))
	}
	sw.p("</rect>\n")
}

// detail returns the attribute linking a mark to its detail block.
func (sw *svgWriter) detail(i int) string {
	if sw.tl.words > 0 && i >= sw.tl.words {
		return "" // a Digest's mark: drawn, without words to show
	}
	sw.need.set[i] = true
	return fmt.Sprintf(` data-detail="%s" tabindex="0"`, esc(detailID(sw.o.ID, i)))
}

func detailID(prefix string, i int) string { return fmt.Sprintf("%s-d-%d", prefix, i) }

// group draws the lanes of one entry (one per side) and its disagreements.
func (sw *svgWriter) group(g *group, y float64, labels *bytes.Buffer) {
	h := float64(len(g.Lanes) * laneHeight)
	sw.p(`<g class="entry" data-host="%s" data-ip="%s">`+"\n", esc(g.Host), esc(g.IP))
	for _, i := range g.Disagree {
		sw.d.marks["disagree"] = true
		ev := &sw.tl.Evs[i]
		sw.at("disagree-band", ev.Time, y-3, "")
		sw.p(`<rect x="-4" y="0" width="8" height="%s" fill="#e53935" fill-opacity="0.22"/><title>%s</title></g>`+"\n",
			num(h), esc("kernel and model disagree at "+fmtTime(ev.Time)+" s: "+what(ev)))
	}
	for k, l := range g.Lanes {
		sw.lane(l, y+float64(k*laneHeight), labels)
	}
	sw.p("</g>\n")
}

// lane draws one entry lane: state band, lladdr band, locktime windows,
// received frames, probes and confirmations.
func (sw *svgWriter) lane(l *lane, y float64, labels *bytes.Buffer) {
	tl := sw.tl
	sw.p(`<g class="lane" data-host="%s" data-ip="%s" data-side="%s">`+"\n",
		esc(l.Key.Host), esc(l.Key.IP), esc(l.Key.Side))
	sw.p(`<line class="base" x1="%d" y1="%s" x2="%d" y2="%s" stroke="#cfd8dc" stroke-dasharray="2 3"/>`+"\n",
		gutter, num(y+stateH/2), gutter+plotWidth, num(y+stateH/2))
	for _, s := range l.Spans {
		if absent(s.State) {
			continue
		}
		info := stateOf(s.State)
		sw.d.states[strings.ToUpper(s.State)] = true
		if s.LLAddr != "" {
			sw.d.macs[s.LLAddr] = true
		}
		title := fmt.Sprintf("%s %s–%s s", s.State, fmtTime(s.From), fmtTime(s.To))
		if s.LLAddr != "" {
			title += " lladdr " + s.LLAddr
		}
		sw.extent("span st-"+strings.ToLower(s.State), s.From, s.To, y, stateH, info.Color,
			fmt.Sprintf(` data-state="%s" data-lladdr="%s"`, esc(s.State), esc(s.LLAddr)), title)
		if s.LLAddr != "" {
			i := tl.mac(s.LLAddr)
			t := "lladdr " + s.LLAddr
			if r := tl.macRole(s.LLAddr); r != "" {
				t += " (" + r + ")"
			}
			sw.extent(fmt.Sprintf("mac mac-%d", i), s.From, s.To, y+macY, macH, macColor(i),
				fmt.Sprintf(` data-lladdr="%s"`, esc(s.LLAddr)), t)
		}
	}
	for _, w := range l.Locktimes {
		sw.d.marks["lock"] = true
		title := fmt.Sprintf("locktime window %s–%s s", fmtTime(w.From), fmtTime(w.To))
		if w.Ev >= 0 { // a Digest's windows have no event
			ev := &tl.Evs[w.Ev]
			title += ", opened by " + what(ev)
			if ev.Verdict != "" {
				title += " " + ev.Verdict
			}
		}
		if sw.o.Light {
			title = ""
		}
		sw.extent("locktime", w.From, w.To, y-2, stateH+4, "url(#"+sw.o.ID+"-lock)",
			fmt.Sprintf(` data-until="%s"`, num3(w.To)), title)
	}
	sw.laneMarks(l, y)
	sw.p("</g>\n")
	label := l.Key.Host + " " + l.Key.IP
	fmt.Fprintf(labels, `<text x="6" y="%s" class="lab">%s</text>`, num(y+12), esc(truncate(label, 28)))
	if l.Key.Side != "" {
		fmt.Fprintf(labels, `<text x="6" y="%s" class="side side-%s">%s</text>`,
			num(y+26), esc(l.Key.Side), esc(l.Key.Side))
	}
	fmt.Fprintf(labels, `<text x="%d" y="%s" class="sub" text-anchor="end">arp</text>`, gutter-6, num(y+arpY+3))
	fmt.Fprintf(labels, `<text x="%d" y="%s" class="sub" text-anchor="end">probe/conf</text>`+"\n", gutter-6, num(y+smallY+3))
}

// runMin is the fewest confirmations drawn as one run; runGapPx is the
// largest gap between two of them, in pixels of the full view, that still
// joins them. A busy flow confirms its entry many times a second: drawn one
// by one, the 8,000 confirmations of a five-minute run are a 4 MB page and
// a solid smear anyway.
const (
	runMin   = 4
	runGapPx = 3
)

// laneMarks draws a lane's events, joining runs of confirmations (no
// disagreement among them) into one mark whose detail gives the count.
func (sw *svgWriter) laneMarks(l *lane, y float64) {
	gap := sw.runGap()
	evs := l.Events
	for k := 0; k < len(evs); {
		i := evs[k]
		ev := &sw.tl.Evs[i]
		if ev.Kind == trace.KindConfirm && ev.Attrs["disagree"] != "1" {
			// every confirmation up to the next other mark or gap
			var members []int
			last := ev.Time
			j := k
			for ; j < len(evs); j++ {
				e := &sw.tl.Evs[evs[j]]
				if e.Kind == trace.KindState || e.Kind == trace.KindTouch {
					continue // drawn on another band; does not break the run
				}
				if e.Kind != trace.KindConfirm || e.Attrs["disagree"] == "1" || e.Time-last > gap {
					break
				}
				members = append(members, evs[j])
				last = e.Time
			}
			if len(members) >= runMin {
				sw.confirmRun(members, y)
				// the state and touch events skipped inside the run
				for m := k; m < j; m++ {
					if e := &sw.tl.Evs[evs[m]]; e.Kind != trace.KindConfirm {
						sw.laneMark(evs[m], y)
					}
				}
				k = j
				continue
			}
		}
		sw.laneMark(i, y)
		k++
	}
}

// runGap is the largest gap, in seconds, between two marks joined into a
// run: runGapPx of the full view, four times that in a light drawing.
func (sw *svgWriter) runGap() float64 {
	px := float64(runGapPx)
	if sw.o.Light {
		px *= 4
	}
	return px * (sw.o.Full.To - sw.o.Full.From) / plotWidth
}

// title writes a mark's tooltip; a light drawing keeps them for the key
// marks only (frames, state changes, probes), to stay small.
func (sw *svgWriter) title(t string) {
	if !sw.o.Light {
		sw.p(`<title>%s</title>`, esc(t))
	}
}

// confirmRun draws a run of confirmations as a bar from the first to the
// last; its detail is the first one's, with the count and the end.
func (sw *svgWriter) confirmRun(members []int, y float64) {
	first, last := &sw.tl.Evs[members[0]], &sw.tl.Evs[members[len(members)-1]]
	sw.d.marks["confirm-run"] = true
	sw.need.runs[members[0]] = run{n: len(members), until: last.Time}
	title := fmt.Sprintf("%d confirmations %s–%s s (first from %s)", len(members), fmtTime(first.Time), fmtTime(last.Time), orDash(first.Flow))
	sw.extent("confirm-run", first.Time, last.Time, y+smallY-2, 4, "#00897b",
		fmt.Sprintf(` data-count="%d"`, len(members))+sw.detailIf(members[0]), title)
}

// laneMark draws one event of a lane as a mark with a short tooltip; the
// explanation is in the detail panel.
func (sw *svgWriter) laneMark(i int, y float64) {
	ev := &sw.tl.Evs[i]
	dis := ev.Attrs["disagree"] == "1"
	extra := ""
	if dis {
		extra = " disagree"
	}
	title := fmtTime(ev.Time) + " s " + what(ev)
	if e := effectOf(ev); e != "" {
		title += ": " + e
	}
	if ev.Rule != "" {
		title += " " + ev.Rule
	}
	var shape string
	switch ev.Kind {
	case trace.KindARP, trace.KindND:
		e := effectOf(ev)
		sw.d.marks[e] = true
		sw.at("arp verdict-"+e+extra, ev.Time, y+arpY,
			fmt.Sprintf(` data-verdict="%s" data-effect="%s"`, esc(ev.Verdict), esc(e))+sw.detail(i))
		shape = verdictShape(e)
	case trace.KindProbe:
		sw.d.marks["probe"] = true
		sw.at("probe"+extra, ev.Time, y+smallY, sw.detail(i))
		shape = `<path d="M0,-4L4,3L-4,3Z" fill="#7b1fa2"/>`
	case trace.KindConfirm:
		sw.d.marks["confirm"] = true
		sw.at("confirm"+extra, ev.Time, y+smallY, fmt.Sprintf(` data-flow="%s"`, esc(ev.Flow))+sw.detailIf(i))
		shape = `<circle r="3" fill="#00897b"/>`
	case trace.KindTouch:
		sw.d.marks["touch"] = true
		sw.at("touch"+extra, ev.Time, y+smallY, sw.detail(i))
		shape = `<path d="M0,-4L0,4" stroke="#607d8b" stroke-width="2"/>`
	case trace.KindState:
		// The band shows the state; a small tick on the band edge makes
		// the change clickable for its cause and rule. A light drawing
		// keeps only the ticks where the lladdr changed: the band says
		// the rest.
		d := sw.detailIf(i)
		if d == "" {
			return
		}
		sw.at("change"+extra, ev.Time, y, d)
		shape = `<rect x="-2" y="-3" width="4" height="3" fill="#37474f"/>`
	default:
		return
	}
	if ev.Kind == trace.KindConfirm || ev.Kind == trace.KindTouch {
		sw.title(title)
	} else {
		sw.p(`<title>%s</title>`, esc(title))
	}
	sw.b.WriteString(shape)
	if dis {
		sw.p(`<circle r="8" fill="none" stroke="#e53935" stroke-width="2"/>`)
	}
	sw.p("</g>\n")
}
