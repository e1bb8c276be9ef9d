package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"

	"arplab/internal/trace"
)

// These tests check the page's structure, not its bytes: a golden file
// would break on every styling change, while these assertions only break
// when the page stops telling the story (a lane, a verdict mark, a locktime
// window goes missing) or stops being safe to open offline.

// node is a parsed SVG element, enough to query by class and attribute.
type node struct {
	Name     string
	Attr     map[string]string
	Children []*node
	Text     string
}

func (n *node) hasClass(c string) bool {
	for _, f := range strings.Fields(n.Attr["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

// find returns every descendant (and n itself) for which ok is true, in
// document order.
func (n *node) find(ok func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		if ok(m) {
			out = append(out, m)
		}
		for _, c := range m.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

func byClass(c string) func(*node) bool { return func(n *node) bool { return n.hasClass(c) } }

// parseXML parses one SVG fragment strictly with encoding/xml: an
// unescaped '<' or '&', an unclosed element or a duplicate attribute fails.
func parseXML(t *testing.T, frag string) *node {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(frag))
	dec.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG fragment is not well-formed XML: %v\n%s", err, excerpt(frag, dec.InputOffset()))
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tk.Name.Local, Attr: map[string]string{}}
			for _, a := range tk.Attr {
				n.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	if root == nil {
		t.Fatalf("empty SVG fragment")
	}
	return root
}

func excerpt(s string, off int64) string {
	a, b := max(0, int(off)-120), min(len(s), int(off)+120)
	return s[a:b]
}

var svgRE = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)

// svgs returns every SVG fragment in page, parsed, failing on any that is
// not well-formed.
func svgs(t *testing.T, page string) []*node {
	t.Helper()
	var out []*node
	for _, frag := range svgRE.FindAllString(page, -1) {
		out = append(out, parseXML(t, frag))
	}
	return out
}

// timelines returns the parsed timeline SVGs (class "tl").
func timelines(t *testing.T, page string) []*node {
	t.Helper()
	var out []*node
	for _, s := range svgs(t, page) {
		if s.hasClass("tl") {
			out = append(out, s)
		}
	}
	return out
}

func render(t *testing.T, evs []trace.Event, opt HTMLOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, evs, opt); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	return b.String()
}

func TestHTMLTellsTheFailure(t *testing.T) {
	page := render(t, failureTrace(), HTMLOptions{})
	tls := timelines(t, page)
	if len(tls) != 1 {
		t.Fatalf("got %d timeline SVGs, want 1", len(tls))
	}
	svg := tls[0]

	t.Run("verdict first", func(t *testing.T) {
		verdict := esc(failureTrace()[len(failureTrace())-1].Explanation)
		at := strings.Index(page, verdict)
		if at < 0 {
			t.Fatalf("verdict text %q not in the page", verdict)
		}
		if s := strings.Index(page, "<svg"); s < at {
			t.Errorf("verdict at byte %d comes after the first SVG at %d; want it on top", at, s)
		}
		if !strings.Contains(page, `<span class="badge fail">FAIL</span>`) {
			t.Errorf("no FAIL badge")
		}
		for _, kv := range []string{"failed_flows=<b>1</b>", "seed=7"} {
			if !strings.Contains(page, kv) {
				t.Errorf("page lacks %q", kv)
			}
		}
	})

	lanes := svg.find(func(n *node) bool {
		return n.hasClass("lane") && n.Attr["data-host"] == host && n.Attr["data-ip"] == fip
	})
	if len(lanes) != 1 {
		t.Fatalf("got %d lanes for %s %s, want 1", len(lanes), host, fip)
	}
	lane := lanes[0]

	t.Run("states in order", func(t *testing.T) {
		var got []string
		for _, s := range lane.find(byClass("span")) {
			got = append(got, s.Attr["data-state"])
		}
		want := []string{"STALE", "DELAY", "REACHABLE", "STALE", "DELAY", "REACHABLE"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("state spans = %v, want %v", got, want)
		}
		// STALE is known from the first event's old state, so the lane
		// starts at the trace's start, not at the first event.
		if first := lane.find(byClass("span"))[0]; first.Attr["data-t0"] != "0" || first.Attr["data-t1"] != "2" {
			t.Errorf("first span covers %s..%s, want 0..2", first.Attr["data-t0"], first.Attr["data-t1"])
		}
	})

	t.Run("old MAC stays in force", func(t *testing.T) {
		macs := lane.find(byClass("mac"))
		if len(macs) == 0 {
			t.Fatal("no lladdr band")
		}
		for _, m := range macs {
			if m.Attr["data-lladdr"] != oldMAC {
				t.Errorf("lladdr band with %s, want only the old MAC %s in this failure", m.Attr["data-lladdr"], oldMAC)
			}
		}
		if !strings.Contains(page, "new: 10.0.0.100 moved to it at 10 s") {
			t.Errorf("legend does not name the new MAC's role")
		}
	})

	t.Run("three ignored GARPs with details", func(t *testing.T) {
		marks := lane.find(byClass("verdict-ignored"))
		if len(marks) != 3 {
			t.Fatalf("got %d marks with class verdict-ignored, want 3", len(marks))
		}
		for i, m := range marks {
			if got, want := m.Attr["data-t0"], []string{"10.2", "11.2", "12.2"}[i]; got != want {
				t.Errorf("ignored mark %d at %s s, want %s", i, got, want)
			}
			if !m.hasClass("arp") || m.Attr["data-verdict"] != trace.Ignored {
				t.Errorf("ignored mark %d: class %q data-verdict %q", i, m.Attr["class"], m.Attr["data-verdict"])
			}
			titles := m.find(func(n *node) bool { return n.Name == "title" })
			if len(titles) == 0 || !strings.Contains(titles[0].Text, "ignored §2.2") {
				t.Errorf("ignored mark %d has no tooltip naming the verdict and rule", i)
			}
			id := m.Attr["data-detail"]
			d, ok := storeOf(t, page)[id]
			if !ok {
				t.Fatalf("mark %d points at detail %q, which is not in the page", i, id)
			}
			if d.E.ARP == nil || d.E.ARP.SHA != newMAC || d.E.Rule != "§2.2" || !strings.Contains(d.E.Explanation, "locktime window") || d.X != "ignored" {
				t.Errorf("detail %s: %+v", id, d)
			}
		}
	})

	t.Run("locktime windows", func(t *testing.T) {
		locks := lane.find(byClass("locktime"))
		got := map[string]string{}
		for _, l := range locks {
			got[l.Attr["data-t0"]] = l.Attr["data-t1"]
			if !strings.HasPrefix(l.Attr["fill"], "url(#") {
				t.Errorf("locktime rect fill %q, want the hatch pattern", l.Attr["fill"])
			}
		}
		// Each ignored GARP opened the window the next one fell into.
		for from, to := range map[string]string{"9.5": "10.5", "10.2": "11.2", "11.2": "12.2", "12.2": "13.2"} {
			if got[from] != to {
				t.Errorf("locktime window from %s s ends at %q, want %s", from, got[from], to)
			}
		}
		if len(locks) != 8 {
			t.Errorf("got %d locktime windows, want 8 (one per event with locktime_until)", len(locks))
		}
	})

	t.Run("confirmations probes flows moves", func(t *testing.T) {
		conf := lane.find(byClass("confirm"))
		if len(conf) != 2 || conf[0].Attr["data-flow"] != "ssh-3" {
			t.Errorf("got %d confirmations (first flow %q), want 2 from ssh-3", len(conf), attr(conf, "data-flow"))
		}
		if n := len(svg.find(byClass("probe"))); n != 1 {
			t.Errorf("got %d probe marks, want 1", n)
		}
		rows := svg.find(func(n *node) bool { return n.hasClass("flowrow") && n.Attr["data-flow"] == "ssh-9" })
		if len(rows) != 1 || rows[0].Attr["data-outcome"] != "failed" {
			t.Fatalf("flow ssh-9: %d rows, outcome %q; want 1 failed", len(rows), attr(rows, "data-outcome"))
		}
		if n := len(rows[0].find(byClass("cause-syn-lost"))); n != 2 {
			t.Errorf("ssh-9 has %d lost SYN marks, want 2", n)
		}
		moves := svg.find(byClass("move"))
		if len(moves) != 1 || moves[0].Attr["data-ip"] != fip || moves[0].Attr["data-t0"] != "10" {
			t.Errorf("moves: %d (ip %q), want one for %s at 10 s", len(moves), attr(moves, "data-ip"), fip)
		}
		if n := len(svg.find(byClass("send"))); n != 3 {
			t.Errorf("got %d send marks, want 3", n)
		}
	})

	t.Run("axis", func(t *testing.T) {
		var labels []string
		for _, n := range svg.find(byClass("tick")) {
			labels = append(labels, n.Text)
		}
		if strings.Join(labels, " ") != "0s 5s 10s 15s 20s 25s 30s 35s 40s" {
			t.Errorf("tick labels = %v", labels)
		}
	})

	t.Run("every detail link resolves", func(t *testing.T) {
		ids := map[string]bool{}
		for _, m := range regexp.MustCompile(`\bid="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			if ids[m[1]] {
				t.Errorf("duplicate id %q", m[1])
			}
			ids[m[1]] = true
		}
		st := storeOf(t, page)
		for _, m := range regexp.MustCompile(`data-detail="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			if _, ok := st[m[1]]; !ok {
				t.Errorf("data-detail %q has no entry in the event table", m[1])
			}
		}
		if strings.Contains(page, "<dl>") || strings.Contains(page, "<dt>") {
			t.Error("details are pre-rendered; they belong in the event table")
		}
	})
}

func attr(ns []*node, k string) string {
	if len(ns) == 0 {
		return ""
	}
	return ns[0].Attr[k]
}

// TestHTMLSelfContained checks the page fetches nothing: it must open from
// a bug attachment on a machine without network.
func TestHTMLSelfContained(t *testing.T) {
	pages := map[string]string{
		"failure": render(t, failureTrace(), HTMLOptions{}),
		"verify":  render(t, verifyTrace(), HTMLOptions{}),
		"matrix":  renderMatrix(t, HTMLOptions{}),
	}
	fetch := regexp.MustCompile(`(?i)\b(src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:|//)`)
	for name, page := range pages {
		if m := fetch.FindString(page); m != "" {
			t.Errorf("%s: page fetches from the network: %q", name, m)
		}
		for _, bad := range []string{"<link", "@import", "url(http", "url(//", "<iframe", "<img", "fetch(", "XMLHttpRequest", "<script src"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: page contains %q", name, bad)
			}
		}
		if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(page, "</html>\n") {
			t.Errorf("%s: not a complete HTML document", name)
		}
		if n := strings.Count(page, "<script>"); n != 1 {
			t.Errorf("%s: %d inline scripts, want 1", name, n)
		}
	}
}

func TestHTMLDeterministic(t *testing.T) {
	for name, evs := range map[string]func() []trace.Event{"failure": failureTrace, "verify": verifyTrace} {
		a := render(t, evs(), HTMLOptions{Title: "x"})
		b := render(t, evs(), HTMLOptions{Title: "x"})
		if a != b {
			t.Errorf("%s: two renderings of the same trace differ", name)
		}
	}
	if renderMatrix(t, HTMLOptions{}) != renderMatrix(t, HTMLOptions{}) {
		t.Errorf("matrix: two renderings differ")
	}
}

// TestHTMLVerifyPairsLanes checks a verify trace draws the kernel lane
// above the model lane and marks where they disagree.
func TestHTMLVerifyPairsLanes(t *testing.T) {
	page := render(t, verifyTrace(), HTMLOptions{})
	svg := timelines(t, page)[0]
	entries := svg.find(func(n *node) bool {
		return n.hasClass("entry") && n.Attr["data-host"] == host && n.Attr["data-ip"] == fip
	})
	if len(entries) != 1 {
		t.Fatalf("got %d entry groups for %s, want 1", len(entries), fip)
	}
	var sides []string
	for _, l := range entries[0].find(byClass("lane")) {
		sides = append(sides, l.Attr["data-side"])
	}
	if strings.Join(sides, ",") != "kernel,model" {
		t.Errorf("lane sides = %v, want [kernel model]", sides)
	}
	if n := len(entries[0].find(byClass("disagree-band"))); n != 2 {
		t.Errorf("got %d disagreement bands, want 2 (one per side's event)", n)
	}
	dis := entries[0].find(func(n *node) bool { return n.hasClass("arp") && n.hasClass("disagree") })
	if len(dis) != 2 || dis[0].Attr["data-verdict"] != trace.Ignored || dis[1].Attr["data-verdict"] != trace.Honoured {
		t.Errorf("disagreeing marks: %d, want the kernel's ignored then the model's honoured", len(dis))
	}
	if !strings.Contains(page, `class="k-arp verdict-honoured disagree"`) {
		t.Errorf("event table does not flag the disagreement")
	}
}

func TestHTMLZoom(t *testing.T) {
	page := render(t, failureTrace(), HTMLOptions{From: trace.F64(9), To: trace.F64(14)})
	svg := timelines(t, page)[0]
	for k, want := range map[string]string{"data-from": "9", "data-to": "14", "data-full-from": "0", "data-full-to": "40"} {
		if svg.Attr[k] != want {
			t.Errorf("%s = %q, want %q", k, svg.Attr[k], want)
		}
	}
	// The first ignored GARP at 10.2 s sits 1.2/5 of the way across.
	m := svg.find(byClass("verdict-ignored"))[0]
	if want := "translate(" + num(gutter+1.2/5*plotWidth) + ","; !strings.HasPrefix(m.Attr["transform"], want) {
		t.Errorf("zoomed mark transform %q, want prefix %q", m.Attr["transform"], want)
	}
	if !strings.Contains(page, `id="zf" type="number" step="any" value="9"`) {
		t.Errorf("zoom inputs do not start at the requested range")
	}
	var b bytes.Buffer
	if err := HTML(&b, failureTrace(), HTMLOptions{From: trace.F64(14), To: trace.F64(9)}); err == nil {
		t.Errorf("HTML accepted an empty zoom range")
	}
}

func TestHTMLEscapes(t *testing.T) {
	evs := failureTrace()
	evs = append(evs, trace.Event{Time: 5, Kind: trace.KindARP, Host: `h<1>&"x"`, IP: "10.0.0.9", Verdict: trace.Dropped,
		Explanation: `</svg><script>alert(1)</script> & "quotes" 'single'`, Attrs: map[string]string{"k<": `v"&`}},
		trace.Event{Time: 6, Kind: trace.KindState, Host: "h2", IP: `1"2`, State: `ST"ALE<&`, LLAddr: `m"<`},
		trace.Event{Time: 7, Kind: trace.KindFlow, Flow: `f"<`, Cause: `c" onclick="x`})
	page := render(t, evs, HTMLOptions{Title: `<title> & "x"`})
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "</svg><script>") {
		t.Fatalf("explanation reached the page unescaped")
	}
	svg := timelines(t, page)[0] // parses strictly
	if n := len(svg.find(byClass("verdict-dropped"))); n != 1 {
		t.Errorf("got %d dropped marks, want 1", n)
	}
}

func renderMatrix(t *testing.T, opt HTMLOptions) string {
	t.Helper()
	var b bytes.Buffer
	fixed := failureTrace()
	for i := range fixed {
		if fixed[i].Kind == trace.KindVerdict {
			fixed[i].OK = trace.Bool(true)
			fixed[i].Explanation = "ok"
		}
	}
	rows := []MatrixRow{
		{Label: "rhel7 3.10, arp_accept=0", OK: false, Summary: "three GARPs ignored; ssh fails for 30 s", Events: failureTrace()},
		{Label: "4.12 (locktime fix)", OK: true, Summary: "second GARP honoured", Events: fixed},
		{Label: "verify", OK: false, Summary: "model and kernel disagree", Events: verifyTrace()},
	}
	if err := Matrix(&b, rows, opt); err != nil {
		t.Fatalf("Matrix: %v", err)
	}
	return b.String()
}

func TestMatrix(t *testing.T) {
	page := renderMatrix(t, HTMLOptions{})
	tls := timelines(t, page)
	if len(tls) != 3 {
		t.Fatalf("got %d timelines, want one per row (3)", len(tls))
	}
	for i, s := range tls {
		// Rows share one axis so they can be compared by eye.
		if s.Attr["data-full-from"] != "0" || s.Attr["data-full-to"] != "40" {
			t.Errorf("row %d range %s..%s, want the shared 0..40", i, s.Attr["data-full-from"], s.Attr["data-full-to"])
		}
		// Only the key entry (the IP that moved) is drawn.
		for _, l := range s.find(byClass("lane")) {
			if l.Attr["data-ip"] != fip {
				t.Errorf("row %d draws lane %s, want only the key entry %s", i, l.Attr["data-ip"], fip)
			}
		}
		if n := len(s.find(byClass("verdict-ignored"))); n < 2 {
			t.Errorf("row %d has %d ignored marks", i, n)
		}
	}
	// the summary table comes first: one row per configuration with its
	// verdict, stale seconds and expectation; the timelines follow, closed
	sum := regexp.MustCompile(`(?s)<table class="msum">.*?</table>`).FindString(page)
	if sum == "" || strings.Index(page, sum) > strings.Index(page, "<svg") {
		t.Fatalf("no summary table before the first timeline")
	}
	if n := strings.Count(sum, `<span class="badge fail">FAIL</span>`); n != 2 {
		t.Errorf("got %d FAIL badges in the summary, want 2", n)
	}
	if n := strings.Count(sum, `<tr class="mrow`); n != 3 {
		t.Errorf("summary has %d rows, want 3", n)
	}
	if strings.Contains(page, `<details class="mtl ok" id="m1" open`) {
		t.Errorf("timelines are open; they are on demand")
	}
	// rows that draw the same frames share their entries in the event table
	m := regexp.MustCompile(`(?s)<script type="application/json" id="store">(.*?)</script>`).FindStringSubmatch(page)
	var st struct {
		IDs     map[string]int    `json:"ids"`
		Entries []json.RawMessage `json:"entries"`
	}
	if m == nil || json.Unmarshal([]byte(m[1]), &st) != nil || len(st.Entries) >= len(st.IDs) {
		t.Errorf("event table not shared between rows: %d entries for %d marks", len(st.Entries), len(st.IDs))
	}
	if !strings.Contains(page, "3 configurations: every flow survived in 1") {
		t.Errorf("matrix header does not count passing rows")
	}
	if !strings.Contains(page, `data-label="4.12 (locktime fix)" data-ok="true"`) {
		t.Errorf("row attributes missing")
	}
}

// storeEntry is one entry of the page's event table.
type storeEntry struct {
	W string      `json:"w"`
	X string      `json:"x"`
	N int         `json:"n"`
	E trace.Event `json:"e"`
}

// storeOf parses the page's event table (the JSON data block).
func storeOf(t *testing.T, page string) map[string]storeEntry {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="store">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no event table in the page")
	}
	var st struct {
		IDs     map[string]int `json:"ids"`
		Entries []storeEntry   `json:"entries"`
	}
	if err := json.Unmarshal([]byte(m[1]), &st); err != nil {
		t.Fatalf("event table: %v", err)
	}
	out := map[string]storeEntry{}
	for id, k := range st.IDs {
		if k < 0 || k >= len(st.Entries) {
			t.Fatalf("detail %s points at entry %d of %d", id, k, len(st.Entries))
		}
		out[id] = st.Entries[k]
	}
	return out
}
