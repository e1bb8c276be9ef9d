package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"arplab/internal/trace"
)

// HTMLOptions controls HTML and Matrix.
type HTMLOptions struct {
	// Title is the page title; empty means one made from the header.
	Title string
	// From and To are the initial zoom in seconds (nil: the trace's start
	// or end). The whole trace is still in the page, so the reader can
	// zoom out with the reset button.
	From, To *float64
	// Fixes are the candidate fixes tried for a failed run, listed under
	// the verdict as "what would have fixed it" (HTML only).
	Fixes []Fix
}

// Fix is one candidate fix of a failed run, as the simulator tried it.
type Fix struct {
	Label string
	// OK: the run passed with it; Stale is then the longest stale time.
	OK    bool
	Stale float64
	// Err says why the fix could not be tried ("" when it ran); Why why
	// a fix that passed is not credited.
	Err, Why string
}

// HTML writes evs as one self-contained page: the verdict on top, then per
// neighbour entry a swimlane of NUD states, the lladdr in force, received
// frames by their effect, locktime windows, probes and confirmations, flows
// and moves on one time axis, and a table of the key events. Styles and the
// zoom/detail script are inline and nothing is fetched, so the file can be
// attached to a bug and opened offline. The details of an event are built
// on click from a compact table of the marked events' JSON (the trace's own
// lines), so a long run stays small. Output is a pure function of evs and
// opt.
func HTML(w io.Writer, evs []trace.Event, opt HTMLOptions) error {
	return htmlPage(w, derive(evs), opt)
}

// htmlPage writes the page of a derived timeline: a whole trace's (HTML)
// or what a Digest kept (Digest.HTML).
func htmlPage(w io.Writer, tl *timeline, opt HTMLOptions) error {
	full := view{From: tl.Start, To: tl.End}
	v, err := viewOf(tl, opt.From, opt.To)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	title := opt.Title
	if title == "" {
		title = defaultTitle(tl)
	}
	pageHead(&b, title)
	verdictBlock(&b, tl)
	fixesBlock(&b, opt.Fixes)
	d := newDrawn()
	var plot bytes.Buffer
	need := writeSVG(&plot, tl, svgOpts{
		ID: "tl", Groups: tl.Groups, Flows: true, Senders: true,
		View: v, Full: full, Label: "timeline of " + title, Drawn: d,
	})
	controls(&b, v)
	legend(&b, tl.MACs, tl.macRole, d)
	b.WriteString(`<div class="plot">` + "\n")
	// the page goes out in parts, the plot as it was drawn: a page of
	// megabytes is not copied into one buffer grown by doubling
	pw := pageWriter{w: w}
	pw.flush(&b)
	pw.flush(&plot)
	b.WriteString("</div>\n")
	detailPanel(&b)
	table := eventTable(&b, tl, "tl")
	pw.flush(&b)
	st := newStore()
	st.add(tl, "tl", union(need.list(), table), need.runs)
	st.write(&b)
	pageTail(&b)
	pw.flush(&b)
	return pw.err
}

// pageWriter writes a page's parts, keeping the first error.
type pageWriter struct {
	w   io.Writer
	err error
}

// flush writes b's bytes and empties it.
func (p *pageWriter) flush(b *bytes.Buffer) {
	if p.err == nil {
		_, p.err = p.w.Write(b.Bytes())
	}
	b.Reset()
}

// fixesBlock lists the fixes tried, the ones that worked first (the order
// sim.Fixes returns), as the text output's "What would have fixed it".
func fixesBlock(b *bytes.Buffer, fixes []Fix) {
	if len(fixes) == 0 {
		return
	}
	b.WriteString(`<section class="fixes"><h2>What would have fixed it</h2><p class="hint">each tried in the simulator with the same seed</p><ul>`)
	for _, f := range fixes {
		switch {
		case f.Err != "":
			fmt.Fprintf(b, `<li class="fix err"><span class="mark">?</span> %s: %s</li>`, esc(f.Label), esc(f.Err))
		case f.OK:
			fmt.Fprintf(b, `<li class="fix ok"><span class="mark">✓</span> %s — stale %.1f s</li>`, esc(f.Label), f.Stale)
		case f.Why != "":
			fmt.Fprintf(b, `<li class="fix fail"><span class="mark">✗</span> %s — not credited: %s</li>`, esc(f.Label), esc(f.Why))
		default:
			fmt.Fprintf(b, `<li class="fix fail"><span class="mark">✗</span> %s — still fails</li>`, esc(f.Label))
		}
	}
	b.WriteString("</ul></section>\n")
}

// MatrixRow is one configuration of a what-if table: its label ("locktime
// 0, arp_accept 1"), the verdict (OK: every flow survived), the longest
// stale time, whether the scenario's expectation held, a one-line summary
// and the run's trace.
type MatrixRow struct {
	Label   string
	OK      bool
	Stale   float64
	Expect  bool   // the expectation was met
	Expects string // the expectation's sentence ("met: …", "not met: …")
	// RowExpect is the row's own expectation ("ok", "failed", "" none),
	// Mismatch true when the run disagreed with it.
	RowExpect string
	Mismatch  bool
	Summary   string
	Events    []trace.Event
}

// Matrix writes a what-if table: first a summary table, one row per
// configuration (verdict, stale seconds, expectation), then each
// configuration's lanes for the key entry behind a disclosure, all on one
// shared time axis so the reader can see where the runs diverge. Zooming
// applies to every timeline at once for the same reason.
func Matrix(w io.Writer, rows []MatrixRow, opt HTMLOptions) error {
	tls := make([]*timeline, len(rows))
	full := view{From: math.Inf(1), To: math.Inf(-1)}
	macs := newMACTable()
	for i, r := range rows {
		tls[i] = deriveWith(r.Events, macs)
		full.From = math.Min(full.From, tls[i].Start)
		full.To = math.Max(full.To, tls[i].End)
	}
	if len(rows) == 0 {
		full = view{From: 0, To: 1}
	}
	v := full
	if opt.From != nil {
		v.From = *opt.From
	}
	if opt.To != nil {
		v.To = *opt.To
	}
	if _, err := viewOf(&timeline{Start: v.From, End: v.To}, nil, nil); err != nil {
		return err
	}
	title := opt.Title
	if title == "" {
		title = "arplab what-if matrix"
	}
	var b bytes.Buffer
	pageHead(&b, title)
	pass, met := 0, 0
	for _, r := range rows {
		if r.OK {
			pass++
		}
		if r.Expect {
			met++
		}
	}
	fmt.Fprintf(&b, "<header class=\"verdict matrix\"><h1>%s</h1><p class=\"text\">%d configurations: every flow survived in %d, the scenario's expectation was met in %d.</p></header>\n",
		esc(title), len(rows), pass, met)
	b.WriteString(`<table class="msum"><thead><tr><th>configuration</th><th>verdict</th><th>stale s</th><th>expectation</th><th>row expects</th><th>timeline</th></tr></thead><tbody>` + "\n")
	for i, r := range rows {
		word, class := verdictWord(r.OK)
		exp := "met"
		if !r.Expect {
			exp = "not met"
		}
		link := "-" // a row saved without its trace (render of matrix --json)
		if len(r.Events) > 0 {
			link = fmt.Sprintf(`<a href="#m%d" data-open="m%d">show</a>`, i, i)
		}
		rowExp := r.RowExpect
		switch {
		case rowExp != "" && r.Mismatch:
			rowExp += " ✗ MISMATCH"
		case rowExp != "":
			rowExp += " ✓"
		}
		fmt.Fprintf(&b, `<tr class="mrow %s" data-label="%s" data-ok="%t" data-expect="%t"><td class="mhead">%s<div class="summary">%s</div></td><td><span class="badge %s">%s</span></td><td class="num">%.1f</td><td class="exp" title="%s">%s</td><td>%s</td><td>%s</td></tr>`+"\n",
			class, esc(r.Label), r.OK, r.Expect, esc(r.Label), esc(strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(r.Summary, "PASS:"), "FAIL:"))),
			class, word, r.Stale, esc(r.Expects), exp, esc(rowExp), link)
	}
	b.WriteString("</tbody></table>\n")
	d := newDrawn()
	var plots bytes.Buffer
	st := newStore()
	for i, r := range rows {
		if len(r.Events) == 0 {
			continue
		}
		tl := tls[i]
		id := fmt.Sprintf("m%d", i)
		word, class := verdictWord(r.OK)
		fmt.Fprintf(&plots, `<details class="mtl %s" id="%s"><summary><span class="badge %s">%s</span> <b>%s</b></summary><div class="plot">`,
			class, id, class, word, esc(r.Label))
		ip := keyIP(tl)
		var groups []*group
		for _, g := range tl.Groups {
			if g.IP == ip {
				groups = append(groups, g)
			}
		}
		need := writeSVG(&plots, tl, svgOpts{
			ID: id, Groups: groups, Flows: true, FlowIP: ip, Light: true, View: v, Full: full,
			Label: r.Label + ": " + word, Drawn: d,
		})
		plots.WriteString("</div></details>\n")
		st.add(tl, id, need.list(), need.runs)
	}
	b.WriteString(`<h2>Timelines</h2><p class="hint">open a configuration (or use "show" in the table) for its lanes of the key entry</p>` + "\n")
	controls(&b, v)
	legend(&b, macs, func(m string) string {
		for _, tl := range tls {
			if r := tl.macRole(m); r != "" {
				return r
			}
		}
		return ""
	}, d)
	b.Write(plots.Bytes())
	detailPanel(&b)
	st.write(&b)
	pageTail(&b)
	_, err := w.Write(b.Bytes())
	return err
}

func verdictWord(ok bool) (word, class string) {
	if ok {
		return "PASS", "ok"
	}
	return "FAIL", "fail"
}

// keyIP picks the entry a matrix row shows: the floating IP that moved, or
// failing that the IP with the most received frames, because that is the
// entry a GARP what-if is about.
func keyIP(tl *timeline) string {
	if len(tl.Moves) > 0 {
		return tl.Evs[tl.Moves[0]].IP
	}
	best, n := "", -1
	for _, g := range tl.Groups {
		c := 0
		for _, l := range g.Lanes {
			for _, i := range l.Events {
				if k := tl.Evs[i].Kind; k == trace.KindARP || k == trace.KindND {
					c++
				}
			}
		}
		if c > n {
			best, n = g.IP, c
		}
	}
	return best
}

func defaultTitle(tl *timeline) string {
	if tl.Header >= 0 {
		if s := tl.Evs[tl.Header].Attrs["scenario"]; s != "" {
			return "arplab: " + s
		}
	}
	return "arplab trace"
}

// union merges two sorted index lists.
func union(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func pageHead(b *bytes.Buffer, title string) {
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n",
		esc(title), css)
}

func pageTail(b *bytes.Buffer) {
	b.WriteString("<script>\n" + script + "</script>\n</body>\n</html>\n")
}

// verdictBlock puts the run's verdict first: it is what the reader came for.
func verdictBlock(b *bytes.Buffer, tl *timeline) {
	text, ok, have := verdictText(tl)
	word, class := "PASS", "ok"
	if !ok {
		word, class = "FAIL", "fail"
	}
	if !have {
		word, class = "NO VERDICT", "none"
	}
	fmt.Fprintf(b, `<header class="verdict %s"><h1><span class="badge %s">%s</span> <span class="vtext">%s</span></h1>`,
		class, class, word, esc(text))
	if tl.Verdict >= 0 {
		a := tl.Evs[tl.Verdict].Attrs
		if x := a["expectation"]; x != "" {
			fmt.Fprintf(b, `<p class="expectation">expectation %s</p>`, esc(x))
		}
		if len(a) > 0 {
			b.WriteString(`<p class="attrs">`)
			for _, kv := range sortedAttrs(a) {
				if kv[0] != "expectation" {
					fmt.Fprintf(b, `<span class="kv">%s=<b>%s</b></span> `, esc(kv[0]), esc(kv[1]))
				}
			}
			b.WriteString("</p>")
		}
	}
	if hw := headerWords(tl); len(hw) > 0 {
		fmt.Fprintf(b, `<p class="run">%s</p>`, esc(strings.Join(hw, "  ")))
	}
	b.WriteString("</header>\n")
	if len(tl.Checks) > 0 {
		b.WriteString(`<ul class="checks">`)
		for _, i := range tl.Checks {
			ev := &tl.Evs[i]
			cok := ev.OK == nil || *ev.OK
			w, c := "ok", "ok"
			if !cok {
				w, c = "FAILED", "fail"
			}
			fmt.Fprintf(b, `<li class="check %s"><span class="badge %s">%s</span> %s</li>`, c, c, w, esc(orDash(ev.Explanation)))
		}
		b.WriteString("</ul>\n")
	}
}

// controls are the zoom inputs; drag on a timeline does the same.
func controls(b *bytes.Buffer, v view) {
	fmt.Fprintf(b, `<div class="controls">zoom from <input id="zf" type="number" step="any" value="%s"/> s to <input id="zt" type="number" step="any" value="%s"/> s `+
		`<button id="zgo" type="button">zoom</button> <button id="zreset" type="button">reset</button> <span class="hint">or drag across a timeline; click a mark for its details</span></div>`+"\n",
		num3(v.From), num3(v.To))
}

// legend explains the colours and shapes drawn on this page, and only
// those: a key for marks the page does not have sends the reader looking
// for them. Each MAC drawn in an lladdr band or a sender row is named with
// its role; a MAC that only appears in frames (the host's own, as a
// request's target) is not drawn, so it is not in the key.
func legend(b *bytes.Buffer, macs *macTable, role func(string) string, d *drawn) {
	b.WriteString(`<div class="legend"><div class="lrow"><b>state</b> `)
	for _, s := range stateOrder {
		if d.states[s] {
			fmt.Fprintf(b, `<span class="sw" data-key="state" style="background:%s"></span>%s `, states[s].Color, s)
		}
	}
	if d.marks["lock"] {
		b.WriteString(`<span class="sw lock" data-key="lock"></span>locktime window`)
	}
	b.WriteString(`</div><div class="lrow">`)
	words := map[string]string{
		string(trace.EffectHonoured): "honoured", string(trace.EffectIgnored): "ignored (kept another MAC)",
		string(trace.EffectNoop): "no-op (repeated the MAC it had)", string(trace.EffectCreated): "created",
		string(trace.EffectDropped): "dropped",
	}
	first := true
	for _, e := range []trace.Effect{trace.EffectHonoured, trace.EffectIgnored, trace.EffectNoop, trace.EffectCreated, trace.EffectDropped} {
		if !d.marks[string(e)] {
			continue
		}
		if first {
			b.WriteString(`<b>received ARP</b> `)
			first = false
		}
		fmt.Fprintf(b, `<svg class="key" data-key="%s" width="16" height="16" viewBox="-8 -8 16 16">%s</svg>%s `, esc(string(e)), verdictShape(string(e)), esc(words[string(e)]))
	}
	other := []struct{ key, svg, word string }{
		{"probe", `<path d="M0,-4L4,3L-4,3Z" fill="#7b1fa2"/>`, "probe sent"},
		{"confirm", `<circle r="3" fill="#00897b"/>`, "confirmation"},
		{"confirm-run", `<rect x="-7" y="-2" width="14" height="4" fill="#00897b"/>`, "run of confirmations (click for the count)"},
		{"touch", `<path d="M0,-4L0,4" stroke="#607d8b" stroke-width="2"/>`, "touch"},
		{"send", `<path d="M0,6L0,-5M-3,-2L0,-6L3,-2" fill="none" stroke="#37474f" stroke-width="2"/>`, "frame sent by a station (in the colour of the MAC it announces)"},
		{"send-own", `<path d="M0,6L0,-5M-3,-2L0,-6L3,-2" fill="none" stroke="#9e9e9e" stroke-width="2"/>`, "frame the observed host sent"},
		{"move", `<path d="M0,-7L0,7" stroke="#d81b60" stroke-width="1.5" stroke-dasharray="3 2"/>`, "IP moved"},
		{"disagree", `<rect x="-4" y="-7" width="8" height="14" fill="#e53935" fill-opacity="0.22"/><circle r="6" fill="none" stroke="#e53935" stroke-width="2"/>`, "kernel and model disagree"},
	}
	for _, o := range other {
		if d.marks[o.key] {
			fmt.Fprintf(b, `<svg class="key" data-key="%s" width="16" height="16" viewBox="-8 -8 16 16">%s</svg>%s `, o.key, o.svg, o.word)
		}
	}
	b.WriteString("</div>")
	flowKeys := []struct {
		ch   rune
		word string
	}{{'S', "flow start/SYN"}, {'L', "SYN lost"}, {'E', "established"}, {'X', "failed"}, {'D', "data lost"}, {'*', "other flow event"}}
	first = true
	for _, f := range flowKeys {
		if !d.marks["flow-"+string(f.ch)] {
			continue
		}
		if first {
			b.WriteString(`<div class="lrow"><b>flow</b> `)
			first = false
		}
		fmt.Fprintf(b, `<svg class="key" data-key="flow-%c" width="16" height="16" viewBox="-8 -8 16 16">%s</svg>%s `, f.ch, flowShape(&trace.Event{Cause: flowCause(f.ch)}), f.word)
	}
	if d.marks["lost-run"] {
		if first {
			b.WriteString(`<div class="lrow"><b>flow</b> `)
			first = false
		}
		b.WriteString(`<svg class="key" data-key="lost-run" width="16" height="16" viewBox="-8 -8 16 16"><rect x="-7" y="-2" width="14" height="4" fill="#ef6c00"/></svg>run of lost segments `)
	}
	if !first {
		b.WriteString("</div>")
	}
	var drawnMACs []string
	for _, m := range macs.List {
		if d.macs[m] {
			drawnMACs = append(drawnMACs, m)
		}
	}
	if len(drawnMACs) > 0 {
		b.WriteString(`<div class="lrow"><b>lladdr</b> `)
		for _, m := range drawnMACs {
			r := role(m)
			if r != "" {
				r = " (" + r + ")"
			}
			fmt.Fprintf(b, `<span class="sw" data-key="mac" data-lladdr="%s" style="background:%s"></span><code>%s</code>%s `, esc(m), macColor(macs.index[m]), esc(m), esc(r))
		}
		b.WriteString("</div>")
	}
	b.WriteString("</div>\n")
}

func detailPanel(b *bytes.Buffer) {
	b.WriteString(`<div id="detail" class="detail"><p class="hint">Click a mark or an event row to see the frame, the verdict, the rule and the explanation.</p></div>` + "\n")
}
