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
	// View is the initial range; Full is where the page's reset goes.
	View, Full view
	// Label is read by screen readers.
	Label string
}

// svgWriter accumulates one SVG and the events that need a detail panel.
type svgWriter struct {
	b    *bytes.Buffer
	tl   *timeline
	o    svgOpts
	need map[int]bool // events with a mark, hence a detail block
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
		y += float64(len(tl.Flows) * rowHeight)
	}
	return y + 8
}

// writeSVG draws tl with options o and returns the events that need a
// detail block, in index order.
func writeSVG(b *bytes.Buffer, tl *timeline, o svgOpts) []int {
	sw := &svgWriter{b: b, tl: tl, o: o, need: map[int]bool{}}
	h := svgHeight(tl, o)
	sw.p(`<svg class="tl" id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%s" viewBox="0 0 %d %s"`,
		esc(o.ID), svgWidth, num(h), svgWidth, num(h))
	sw.p(` data-left="%d" data-width="%d" data-from="%s" data-to="%s" data-full-from="%s" data-full-to="%s" role="img" aria-label="%s">`+"\n",
		gutter, plotWidth, num3(o.View.From), num3(o.View.To), num3(o.Full.From), num3(o.Full.To), esc(o.Label))
	sw.p(`<defs><pattern id="%s-lock" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
		`<rect width="2.5" height="6" fill="#263238" fill-opacity="0.45"/></pattern>`+
		`<clipPath id="%s-clip"><rect x="%d" y="0" width="%d" height="%s"/></clipPath></defs>`+"\n",
		esc(o.ID), esc(o.ID), gutter, plotWidth, num(h))
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
		for _, r := range tl.Flows {
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
	out := make([]int, 0, len(sw.need))
	for i := range sw.need {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

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
	sw.need[i] = true
	return fmt.Sprintf(` data-detail="%s" tabindex="0"`, esc(detailID(sw.o.ID, i)))
}

func detailID(prefix string, i int) string { return fmt.Sprintf("%s-d-%d", prefix, i) }

// group draws the lanes of one entry (one per side) and its disagreements.
func (sw *svgWriter) group(g *group, y float64, labels *bytes.Buffer) {
	h := float64(len(g.Lanes) * laneHeight)
	sw.p(`<g class="entry" data-host="%s" data-ip="%s">`+"\n", esc(g.Host), esc(g.IP))
	for _, i := range g.Disagree {
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
		ev := &tl.Evs[w.Ev]
		title := fmt.Sprintf("locktime window %s–%s s, opened by %s", fmtTime(w.From), fmtTime(w.To), what(ev))
		if ev.Verdict != "" {
			title += " " + ev.Verdict
		}
		sw.extent("locktime", w.From, w.To, y-2, stateH+4, "url(#"+sw.o.ID+"-lock)",
			fmt.Sprintf(` data-until="%s"`, num3(w.To)), title)
	}
	for _, i := range l.Events {
		sw.laneMark(i, y)
	}
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

// laneMark draws one event of a lane as a mark with a tooltip.
func (sw *svgWriter) laneMark(i int, y float64) {
	ev := &sw.tl.Evs[i]
	dis := ev.Attrs["disagree"] == "1"
	extra := ""
	if dis {
		extra = " disagree"
	}
	title := fmtTime(ev.Time) + " s " + what(ev)
	if ev.Verdict != "" {
		title += ": " + ev.Verdict
	}
	if ev.Rule != "" {
		title += " " + ev.Rule
	}
	if ev.Explanation != "" {
		title += " — " + ev.Explanation
	}
	var shape string
	switch ev.Kind {
	case trace.KindARP:
		sw.at("arp verdict-"+ev.Verdict+extra, ev.Time, y+arpY,
			fmt.Sprintf(` data-verdict="%s"`, esc(ev.Verdict))+sw.detail(i))
		shape = verdictShape(ev.Verdict)
	case trace.KindProbe:
		sw.at("probe"+extra, ev.Time, y+smallY, sw.detail(i))
		shape = `<path d="M0,-4L4,3L-4,3Z" fill="#7b1fa2"/>`
	case trace.KindConfirm:
		sw.at("confirm"+extra, ev.Time, y+smallY, fmt.Sprintf(` data-flow="%s"`, esc(ev.Flow))+sw.detail(i))
		shape = `<circle r="3" fill="#00897b"/>`
	case trace.KindTouch:
		sw.at("touch"+extra, ev.Time, y+smallY, sw.detail(i))
		shape = `<path d="M0,-4L0,4" stroke="#607d8b" stroke-width="2"/>`
	case trace.KindState:
		// The band shows the state; a small tick on the band edge makes
		// the change clickable for its cause and rule.
		sw.at("change"+extra, ev.Time, y, sw.detail(i))
		shape = `<rect x="-2" y="-3" width="4" height="3" fill="#37474f"/>`
	default:
		return
	}
	sw.p(`<title>%s</title>%s`, esc(title), shape)
	if dis {
		sw.p(`<circle r="8" fill="none" stroke="#e53935" stroke-width="2"/>`)
	}
	sw.p("</g>\n")
}

// verdictShape gives each verdict a shape as well as a colour, so the marks
// stay distinguishable in greyscale: a filled circle took the frame, a cross
// ignored it, a diamond created an entry, a hollow triangle dropped it.
func verdictShape(v string) string {
	const hit = `<circle r="7" fill="#fff" fill-opacity="0"/>`
	switch v {
	case trace.Honoured:
		return hit + `<circle r="5" fill="#2e7d32" stroke="#fff"/>`
	case trace.Ignored:
		return hit + `<path d="M-4.5,-4.5L4.5,4.5M-4.5,4.5L4.5,-4.5" stroke="#c62828" stroke-width="2.5"/>`
	case trace.Created:
		return hit + `<path d="M0,-5.5L5.5,0L0,5.5L-5.5,0Z" fill="#1565c0"/>`
	case trace.Dropped:
		return hit + `<path d="M0,-5L5,4L-5,4Z" fill="#fff" stroke="#616161" stroke-width="1.5"/>`
	}
	return hit + `<circle r="4" fill="#9e9e9e"/>`
}

// flowShape marks a flow event by what happened to it.
func flowShape(ev *trace.Event) string {
	ch, _ := flowSymbol(ev)
	switch ch {
	case 'S':
		return `<circle r="4" fill="#fff" stroke="#37474f" stroke-width="1.5"/>`
	case 'L':
		return `<path d="M-4,-4L4,4M-4,4L4,-4" stroke="#e53935" stroke-width="2"/>`
	case 'E':
		return `<path d="M-4,0L-1,4L5,-5" fill="none" stroke="#2e7d32" stroke-width="2.5"/>`
	case 'X':
		return `<rect x="-5" y="-5" width="10" height="10" fill="#c62828"/>`
	case 'D':
		return `<path d="M-4,-4L4,4M-4,4L4,-4" stroke="#ef6c00" stroke-width="2"/>`
	}
	return `<circle r="3" fill="#78909c"/>`
}

// flowRow draws one upper-layer flow: a bar while it is in progress,
// coloured by its outcome, and a mark per event.
func (sw *svgWriter) flowRow(r *row, y float64, labels *bytes.Buffer) {
	fill := "#b0bec5"
	switch {
	case r.Failed:
		fill = "#ef9a9a"
	case r.Succeeded:
		fill = "#a5d6a7"
	}
	outcome := "open"
	if r.Failed {
		outcome = "failed"
	} else if r.Succeeded {
		outcome = "ok"
	}
	sw.p(`<g class="flowrow" data-flow="%s" data-outcome="%s">`+"\n", esc(r.Name), outcome)
	sw.extent("flowbar", r.First, r.Last, y+6, 8, fill, "", "")
	for _, i := range r.Events {
		ev := &sw.tl.Evs[i]
		ok := ""
		if ev.OK != nil {
			ok = fmt.Sprintf(` data-ok="%t"`, *ev.OK)
		}
		sw.at("flow cause-"+ev.Cause, ev.Time, y+10, ok+sw.detail(i))
		title := fmtTime(ev.Time) + " s " + what(ev)
		if ev.Explanation != "" {
			title += " — " + ev.Explanation
		}
		sw.p(`<title>%s</title>%s</g>`+"\n", esc(title), flowShape(ev))
	}
	sw.p("</g>\n")
	fmt.Fprintf(labels, `<text x="6" y="%s" class="lab flowlab">%s</text>`+"\n", num(y+14), esc(truncate("flow "+r.Name, 30)))
}

// senderRow draws the frames a sender transmitted, coloured by the MAC they
// advertise.
func (sw *svgWriter) senderRow(r *row, y float64, labels *bytes.Buffer) {
	sw.p(`<g class="senderrow" data-host="%s">`+"\n", esc(r.Name))
	for _, i := range r.Events {
		ev := &sw.tl.Evs[i]
		sw.at("send", ev.Time, y+10, sw.detail(i))
		sw.p(`<title>%s</title><path d="M0,6L0,-5M-3,-2L0,-6L3,-2" fill="none" stroke="%s" stroke-width="2"/></g>`+"\n",
			esc(fmtTime(ev.Time)+" s "+what(ev)), macColor(sw.tl.mac(sha(ev))))
	}
	sw.p("</g>\n")
	fmt.Fprintf(labels, `<text x="6" y="%s" class="lab">%s</text>`+"\n", num(y+14), esc(truncate("sent by "+r.Name, 30)))
}

// moves draws each floating-IP move as a vertical line across the plot.
func (sw *svgWriter) moves(y0, y1 float64) {
	for _, i := range sw.tl.Moves {
		ev := &sw.tl.Evs[i]
		sw.at("move", ev.Time, 0, fmt.Sprintf(` data-ip="%s"`, esc(ev.IP))+sw.detail(i))
		sw.p(`<title>%s</title><line x1="0" y1="%s" x2="0" y2="%s" stroke="#d81b60" stroke-width="1.5" stroke-dasharray="5 3"/>`,
			esc(fmtTime(ev.Time)+" s "+what(ev)), num(y0), num(y1))
		sw.p(`<text x="3" y="%d" class="movelab">move %s</text></g>`+"\n", moveLabelY, esc(ev.IP))
	}
}
