package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"arplab/internal/trace"
)

// This file holds the words both renderers use for events, so a frame reads
// the same in a terminal, in a tooltip and in the HTML event table.

// fmtTime prints seconds with at most millisecond precision and no trailing
// zeros: the simulator's clock is exact, and "12" reads better than
// "12.000000".
func fmtTime(t float64) string {
	s := strconv.FormatFloat(t, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// stateInfo is how one NUD state is drawn.
type stateInfo struct {
	Letter byte   // Timeline letter
	Color  string // HTML fill
	ANSI   string // Timeline colour (SGR parameters)
}

// states maps the kernel's state names (as `ip neigh` prints them) to how
// they are drawn. REACHABLE is green because traffic flows without checks;
// STALE amber and DELAY orange because the next use will (or did) start a
// check; FAILED red. Absent entries are blank.
var states = map[string]stateInfo{
	"REACHABLE":  {'R', "#2e7d32", "32"},
	"STALE":      {'S', "#f2a900", "33"},
	"DELAY":      {'D', "#ef6c00", "38;5;208"},
	"PROBE":      {'P', "#7b1fa2", "35"},
	"INCOMPLETE": {'I', "#9e9e9e", "90"},
	"FAILED":     {'F', "#c62828", "31"},
	"PERMANENT":  {'#', "#1565c0", "34"},
	"NOARP":      {'n', "#546e7a", "36"},
}

// stateOrder lists the states in legend order.
var stateOrder = []string{"REACHABLE", "STALE", "DELAY", "PROBE", "INCOMPLETE", "FAILED", "PERMANENT", "NOARP"}

// absent reports whether state means "no entry" (or "not known yet").
func absent(state string) bool { return state == "" || state == "NONE" }

// stateOf returns how to draw state; unknown names get a neutral look and
// '?' so a new kernel state is visible rather than dropped.
func stateOf(state string) stateInfo {
	if absent(state) {
		return stateInfo{Letter: '.', Color: "none"}
	}
	if s, ok := states[strings.ToUpper(state)]; ok {
		return s
	}
	return stateInfo{Letter: '?', Color: "#bdbdbd", ANSI: "37"}
}

// verdictMark is how a received frame's effect (trace.FrameEffect) is
// drawn in Timeline: a GARP repeating the MAC the entry already has is a
// no-op, not an ignored update, and must not look like the failure.
var verdictMark = map[string]byte{
	string(trace.EffectHonoured): '+',
	string(trace.EffectIgnored):  'x',
	string(trace.EffectNoop):     'o',
	string(trace.EffectCreated):  'c',
	string(trace.EffectDropped):  '-',
}

// effectOf is the word both renderers draw a received frame by: its
// trace.FrameEffect ("" for other kinds).
func effectOf(ev *trace.Event) string { return string(ev.Effect()) }

// verdictRank orders effects by how much a reader needs to see them when
// several frames share one text column: an ignored GARP is the failure.
func verdictRank(v string) int {
	switch v {
	case trace.Ignored:
		return 4
	case trace.Dropped:
		return 3
	case trace.Honoured:
		return 2
	case trace.Created:
		return 1
	}
	return 0
}

// arpWords describes a frame: "reply garp 10.0.0.5 is-at fa:…:02 (broadcast)".
func arpWords(a *trace.ARPFrame) string {
	if a == nil {
		return "arp"
	}
	var b strings.Builder
	b.WriteString(orDash(a.Op))
	if a.GARP || (a.SIP != "" && a.SIP == a.TIP) {
		b.WriteString(" garp")
	}
	b.WriteString(" " + orDash(a.SIP) + " is-at " + orDash(a.SHA))
	if a.TIP != "" && a.TIP != a.SIP {
		b.WriteString(" for " + a.TIP)
	}
	if a.PktType != "" {
		b.WriteString(" (" + a.PktType + ")")
	}
	return b.String()
}

// ndWords is an ND message in a few words: "NA S=0 O=1 2001:db8::10 is-at
// 02:… (multicast)".
func ndWords(n *trace.NDFrame) string {
	if n == nil {
		return "nd"
	}
	var b strings.Builder
	b.WriteString(orDash(n.Type))
	if n.Type == "NA" {
		fmt.Fprintf(&b, " S=%d O=%d", b2i(n.Solicited), b2i(n.Override))
		if n.Router {
			b.WriteString(" R=1")
		}
		b.WriteString(" " + orDash(n.Target) + " is-at " + orDash(n.LLAddr))
	} else {
		b.WriteString(" for " + orDash(n.Target) + " from " + orDash(n.Src))
		if n.LLAddr != "" {
			b.WriteString(" at " + n.LLAddr)
		}
	}
	if n.PktType != "" {
		b.WriteString(" (" + n.PktType + ")")
	}
	return b.String()
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// what is the short description of an event used in lists and tooltips.
func what(ev *trace.Event) string {
	switch ev.Kind {
	case trace.KindARP:
		return "arp " + arpWords(ev.ARP)
	case trace.KindND:
		return "nd " + ndWords(ev.ND)
	case trace.KindState:
		s := orDash(ev.OldState) + "→" + orDash(ev.State)
		switch {
		case ev.OldLLAddr != "" && ev.LLAddr != "" && ev.OldLLAddr != ev.LLAddr:
			s += " lladdr " + ev.OldLLAddr + "→" + ev.LLAddr
		case ev.LLAddr != "":
			s += " lladdr " + ev.LLAddr
		}
		return s + paren(ev.Cause)
	case trace.KindTouch:
		return "touch" + paren(ev.Cause)
	case trace.KindProbe:
		to := ev.Attrs["to"]
		if to == "" {
			to = "?"
		}
		return "probe to " + to + paren(ev.Cause)
	case trace.KindConfirm:
		return "confirm from " + orDash(ev.Flow) + paren(ev.Cause)
	case trace.KindSend:
		if ev.ARP != nil {
			return "sent " + arpWords(ev.ARP)
		}
		return "sent" + paren(ev.Cause)
	case trace.KindFlow:
		s := "flow " + flowName(ev) + " " + orDash(ev.Cause)
		if ev.OK != nil {
			s += okWord(*ev.OK)
		}
		return s
	case trace.KindMove:
		return "move " + ev.IP + " " + orDash(ev.OldLLAddr) + "→" + orDash(ev.LLAddr)
	case trace.KindCheck:
		s := "check"
		if ev.OK != nil {
			s += okWord(*ev.OK)
		}
		return s
	case trace.KindVerdict:
		s := "verdict"
		if ev.OK != nil {
			s += okWord(*ev.OK)
		}
		return s
	}
	return string(ev.Kind) + paren(ev.Cause)
}

func okWord(ok bool) string {
	if ok {
		return " ok"
	}
	return " FAILED"
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// sortedAttrs returns the attrs as key=value pairs in key order.
func sortedAttrs(m map[string]string) [][2]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]string, len(keys))
	for i, k := range keys {
		out[i] = [2]string{k, m[k]}
	}
	return out
}

// headerWords describes the run: seed first (habit 8: the seed reproduces
// it), then scenario and profile, then the remaining attributes sorted.
func headerWords(tl *timeline) []string {
	if tl.Header < 0 {
		return nil
	}
	h := &tl.Evs[tl.Header]
	var out []string
	first := []string{"seed", "scenario", "profile", "source"}
	for _, k := range first {
		if v, ok := h.Attrs[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	if _, ok := h.Attrs["source"]; !ok && h.Source != "" {
		out = append(out, "source="+h.Source)
	}
	if tl.Origin != 0 {
		out = append(out, "start="+absTime(tl.Origin))
	}
	for _, kv := range sortedAttrs(h.Attrs) {
		if !contains(first, kv[0]) && !internalAttr(kv[0]) {
			out = append(out, kv[0]+"="+kv[1])
		}
	}
	return out
}

// internalAttr tells header attributes kept for tools, not readers: the
// simulator's per-host clock (HZ, jiffies at 0, phase), which a replay of
// its --pcap reads from the JSON.
func internalAttr(k string) bool { return strings.HasPrefix(k, "clock.") }

// absTime prints an absolute start (a capture's Unix seconds) as UTC with
// the seconds value it came from, so the reader can match it with tcpdump.
func absTime(t float64) string {
	sec := math.Floor(t)
	// captures stamp microseconds (pcapng may stamp finer, but a float of
	// Unix seconds holds no more than that)
	ts := time.Unix(int64(sec), int64(math.Round((t-sec)*1e6))*1000).UTC()
	return ts.Format("2006-01-02T15:04:05.000000Z") + " (" + strconv.FormatFloat(t, 'f', -1, 64) + ")"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// verdictText is the run's one-sentence verdict with its outcome word.
func verdictText(tl *timeline) (text string, ok, have bool) {
	if tl.Verdict < 0 {
		return "no verdict in this trace", true, false
	}
	v := &tl.Evs[tl.Verdict]
	ok = v.OK == nil || *v.OK
	// the renderers print the word themselves: "PASS PASS: …" reads as a
	// stutter
	text = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(v.Explanation, "PASS:"), "FAIL:"))
	if text == "" {
		text = "(the verdict has no explanation)"
	}
	return text, ok, true
}

// keyKinds are the events the text list and the HTML table show; touches,
// confirmations and sends are summarised on the lanes instead, because a
// busy flow confirms its entry many times a second.
func keyEvent(ev *trace.Event) bool {
	switch ev.Kind {
	case trace.KindARP, trace.KindND, trace.KindState, trace.KindMove, trace.KindFlow, trace.KindCheck,
		trace.KindNote, trace.KindProbe:
		return true
	}
	return ev.Attrs["disagree"] == "1"
}

// urgent events are never left out of a shortened list: they are what the
// verdict is about.
func urgent(ev *trace.Event) bool {
	switch {
	case ev.Attrs["disagree"] == "1":
		return true
	case ev.Kind == trace.KindARP, ev.Kind == trace.KindND:
		return true
	case ev.Kind == trace.KindMove, ev.Kind == trace.KindNote:
		return true
	case ev.Kind == trace.KindFlow && ev.Cause != "syn" && ev.Cause != "established":
		return true
	case ev.Kind == trace.KindCheck && ev.OK != nil && !*ev.OK:
		return true
	case ev.Kind == trace.KindState && ev.LLAddr != ev.OldLLAddr:
		return true
	}
	return false
}
