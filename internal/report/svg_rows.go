package report

// The SVG timeline's flow and sender rows and the moves drawn across lanes.

import (
	"bytes"
	"fmt"

	"arplab/internal/trace"
)

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
	case string(trace.EffectNoop):
		return hit + `<circle r="3.5" fill="#fff" stroke="#78909c" stroke-width="1.5"/>`
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
	gap := sw.runGap()
	for k := 0; k < len(r.Events); k++ {
		i := r.Events[k]
		ev := &sw.tl.Evs[i]
		if ev.Cause == "lost" {
			// a run of lost segments is one bar, like confirmations
			j := k + 1
			for j < len(r.Events) && sw.tl.Evs[r.Events[j]].Cause == "lost" && sw.tl.Evs[r.Events[j]].Time-sw.tl.Evs[r.Events[j-1]].Time <= gap {
				j++
			}
			if j-k >= runMin {
				last := &sw.tl.Evs[r.Events[j-1]]
				sw.need.runs[i] = run{n: j - k, until: last.Time}
				sw.d.marks["lost-run"] = true
				sw.extent("lost-run", ev.Time, last.Time, y+8, 4, "#ef6c00", fmt.Sprintf(` data-count="%d"`, j-k)+sw.detailIf(i),
					fmt.Sprintf("%d segments lost %s–%s s", j-k, fmtTime(ev.Time), fmtTime(last.Time)))
				k = j - 1
				continue
			}
		}
		ok := ""
		if ev.OK != nil {
			ok = fmt.Sprintf(` data-ok="%t"`, *ev.OK)
		}
		ch, _ := flowSymbol(ev)
		sw.d.marks["flow-"+string(ch)] = true
		sw.at("flow cause-"+ev.Cause, ev.Time, y+10, fmt.Sprintf(` data-key="flow-%c"`, ch)+ok+sw.detailIf(i))
		sw.title(fmtTime(ev.Time) + " s " + what(ev))
		sw.p("%s</g>\n", flowShape(ev))
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
		mi := sw.tl.senderMAC(r, ev)
		if mi >= 0 {
			sw.d.marks["send"] = true
		} else {
			sw.d.marks["send-own"] = true
		}
		if mi >= 0 {
			sw.d.macs[sha(ev)] = true
		}
		ll := ""
		if mi >= 0 {
			ll = fmt.Sprintf(` data-lladdr="%s"`, esc(sha(ev)))
		}
		class := "send"
		if mi < 0 {
			class = "send own"
		}
		sw.at(class, ev.Time, y+10, ll+sw.detail(i))
		sw.p(`<title>%s</title><path d="M0,6L0,-5M-3,-2L0,-6L3,-2" fill="none" stroke="%s" stroke-width="2"/></g>`+"\n",
			esc(fmtTime(ev.Time)+" s "+what(ev)), macColor(mi))
	}
	sw.p("</g>\n")
	fmt.Fprintf(labels, `<text x="6" y="%s" class="lab">%s</text>`+"\n", num(y+14), esc(truncate("sent by "+r.Name, 30)))
}

// moves draws each floating-IP move as a vertical line across the plot.
func (sw *svgWriter) moves(y0, y1 float64) {
	for _, i := range sw.tl.Moves {
		ev := &sw.tl.Evs[i]
		sw.d.marks["move"] = true
		sw.at("move", ev.Time, 0, fmt.Sprintf(` data-ip="%s"`, esc(ev.IP))+sw.detail(i))
		sw.p(`<title>%s</title><line x1="0" y1="%s" x2="0" y2="%s" stroke="#d81b60" stroke-width="1.5" stroke-dasharray="5 3"/>`,
			esc(fmtTime(ev.Time)+" s "+what(ev)), num(y0), num(y1))
		sw.p(`<text x="3" y="%d" class="movelab">move %s</text></g>`+"\n", moveLabelY, esc(ev.IP))
	}
}
