package report

// The text timeline's event list: one line per event that matters, repeats
// folded, long text wrapped to the width.

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"arplab/internal/trace"
)

// events writes the key events in the view, one wrapped line each. In a
// verify trace, a kernel event and a model event that say the same thing
// share a line ("kernel=model"); the ones that differ are flagged.
func (tp *textPlot) events(b *bytes.Buffer) {
	var idx []int
	n := len(tp.tl.Evs)
	if tp.tl.words > 0 {
		n = tp.tl.words // a Digest's marks follow its words
	}
	for i := range tp.tl.Evs[:n] {
		ev := &tp.tl.Evs[i]
		if keyEvent(ev) && ev.Time >= tp.v.From && ev.Time <= tp.v.To {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	var lines []*eventLine
	for _, i := range idx {
		ev := &tp.tl.Evs[i]
		key := eventKey(ev)
		if ln := sameLine(lines, ev, key); tp.tl.MultiSide && ln != nil {
			ln.sides = append(ln.sides, ev.Source)
			continue
		}
		var sides []string
		if tp.tl.MultiSide && ev.Source != "" {
			sides = []string{ev.Source}
		}
		lines = append(lines, &eventLine{ev: ev, sides: sides, key: key})
	}
	keepIdx := make([]int, len(lines))
	evIdx := make([]trace.Event, len(lines))
	for j, ln := range lines {
		keepIdx[j] = j
		evIdx[j] = *ln.ev
	}
	keep, left := shorten(&timeline{Evs: evIdx}, keepIdx, maxKeyEvents)
	b.WriteString("\nkey events\n")
	tw := 1
	for _, j := range keep {
		tw = max(tw, len(fmtTime(lines[j].ev.Time)))
	}
	for _, j := range keep {
		ev := lines[j].ev
		who := strings.TrimSpace(ev.Host + " " + entryIP(ev))
		if ev.Kind == trace.KindMove || ev.Kind == trace.KindFlow || ev.Kind == trace.KindCheck {
			who = ev.Host
		}
		if len(lines[j].sides) > 0 {
			who = strings.TrimSpace(who + " " + strings.Join(lines[j].sides, "="))
		}
		lead := fmt.Sprintf("%*s", tw+1, fmtTime(ev.Time)+"s")
		text := strings.TrimSpace(who + "  " + what(ev))
		var sgr string
		if e := effectOf(ev); e != "" {
			text += "  " + strings.ToUpper(e)
			sgr = verdictSGR(e)
		} else if ev.Verdict != "" {
			text += "  " + strings.ToUpper(ev.Verdict)
			sgr = verdictSGR(ev.Verdict)
		}
		if ev.Rule != "" {
			text += " " + ev.Rule
		}
		if ev.Attrs["disagree"] == "1" {
			text += "  DISAGREE"
			sgr = "1;31"
		}
		if ev.Explanation != "" {
			text += ": " + ev.Explanation
		}
		tp.wrapLead(b, lead, sgr, text)
	}
	if left > 0 {
		tp.wrap(b, fmt.Sprintf("… %d routine events left out; zoom with --from/--to to see them", left), 2, "")
	}
}

// eventLine is one line of the key-event list: an event and the sides
// that reported it identically.
type eventLine struct {
	ev    *trace.Event
	sides []string
	key   string
}

// sameLine finds an earlier line at the same instant saying what ev says,
// from a side it does not list yet. Same-instant events of two sides need
// not be adjacent (the kernel's and the model's may interleave with a send).
func sameLine(lines []*eventLine, ev *trace.Event, key string) *eventLine {
	if ev.Source == "" {
		return nil
	}
	for j := len(lines) - 1; j >= 0 && lines[j].ev.Time == ev.Time; j-- {
		if lines[j].key == key && len(lines[j].sides) > 0 && !contains(lines[j].sides, ev.Source) {
			return lines[j]
		}
	}
	return nil
}

// eventKey is what two sides must agree on to share a line.
func eventKey(ev *trace.Event) string {
	return strings.Join([]string{fmtTime(ev.Time), string(ev.Kind), ev.Host, entryIP(ev), what(ev),
		ev.Verdict, ev.Rule, ev.Explanation, ev.Attrs["disagree"]}, "\x00")
}

// shorten keeps at most n of idx, urgent ones first, in time order.
func shorten(tl *timeline, idx []int, n int) (keep []int, left int) {
	if len(idx) <= n {
		return idx, 0
	}
	take := make([]bool, len(idx))
	count := 0
	for pass := 0; pass < 2; pass++ {
		for j, i := range idx {
			if count < n && !take[j] && (pass == 1 || urgent(&tl.Evs[i])) {
				take[j] = true
				count++
			}
		}
	}
	for j, i := range idx {
		if take[j] {
			keep = append(keep, i)
		}
	}
	return keep, len(idx) - len(keep)
}

// writeCells writes a row, grouping runs of one colour into one escape.
func (tp *textPlot) writeCells(b *bytes.Buffer, cells []cell) {
	end := len(cells)
	for end > 0 && cells[end-1].ch == ' ' {
		end-- // no trailing blanks: they only make diffs noisy
	}
	cur := ""
	for _, c := range cells[:end] {
		if tp.color && c.sgr != cur {
			if cur != "" {
				b.WriteString("\x1b[0m")
			}
			if c.sgr != "" {
				b.WriteString("\x1b[" + c.sgr + "m")
			}
			cur = c.sgr
		}
		b.WriteRune(c.ch)
	}
	if tp.color && cur != "" {
		b.WriteString("\x1b[0m")
	}
}

// wrapLead writes lead (coloured) then text, wrapped under the text.
func (tp *textPlot) wrapLead(b *bytes.Buffer, lead, sgr, text string) {
	indent := utf8.RuneCountInString(lead) + 1
	if indent > tp.width/2 {
		indent = 4
	}
	lines := wrapWords(text, tp.width-indent, tp.width-indent)
	for i, ln := range lines {
		if i == 0 {
			b.WriteString(tp.paint(lead, sgr) + " " + ln + "\n")
			continue
		}
		b.WriteString(strings.Repeat(" ", indent) + ln + "\n")
	}
}

// wrap writes text wrapped to the width, continuation lines indented.
func (tp *textPlot) wrap(b *bytes.Buffer, text string, indent int, sgr string) {
	for i, ln := range wrapWords(text, tp.width, tp.width-indent) {
		if i > 0 {
			ln = strings.Repeat(" ", indent) + ln
		}
		b.WriteString(tp.paint(ln, sgr) + "\n")
	}
}

func (tp *textPlot) paint(s, sgr string) string {
	if !tp.color || sgr == "" {
		return s
	}
	return "\x1b[" + sgr + "m" + s + "\x1b[0m"
}

// wrapWords breaks text into lines of at most first runes (the first line)
// and rest runes (the others), breaking inside words that do not fit.
func wrapWords(text string, first, rest int) []string {
	var lines []string
	limit := first
	var cur []rune
	flush := func() {
		lines = append(lines, string(cur))
		cur = cur[:0]
		limit = rest
	}
	for _, w := range strings.Fields(text) {
		r := []rune(w)
		for len(r) > 0 {
			sep := 0
			if len(cur) > 0 {
				sep = 1
			}
			if len(cur)+sep+len(r) <= limit {
				if sep == 1 {
					cur = append(cur, ' ')
				}
				cur = append(cur, r...)
				r = nil
				continue
			}
			if len(cur) > 0 {
				flush()
				continue
			}
			cur = append(cur, r[:limit]...)
			r = r[limit:]
			flush()
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// truncate shortens s to n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

func padRight(s string, n int) string {
	if c := utf8.RuneCountInString(s); c < n {
		return s + strings.Repeat(" ", n-c)
	}
	return s
}
