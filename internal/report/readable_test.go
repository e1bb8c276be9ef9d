package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"arplab/internal/trace"
)

// captureTrace is a replay-like trace on a capture's Unix clock: the host
// 10.0.0.1 (MAC ownMAC) sends a request, its entry for fip is honoured by a
// GARP for newMAC, then a repeat of that GARP is a no-op.
const ownMAC = "52:54:00:00:00:01"

func captureTrace() []trace.Event {
	const t0 = 1700000020.05
	garp := &trace.ARPFrame{Op: "request", SHA: newMAC, SIP: fip, THA: "ff:ff:ff:ff:ff:ff", TIP: fip, GARP: true}
	return []trace.Event{
		{Time: 0, Kind: trace.KindHeader, Source: "replay", Attrs: map[string]string{"host_mac": ownMAC, "clock.h": "250,1,0"}},
		{Time: t0, Kind: trace.KindSend, Source: "replay", Host: "10.0.0.1", IP: fip, Cause: "request",
			ARP: &trace.ARPFrame{Op: "request", SHA: ownMAC, SIP: "10.0.0.1", THA: "00:00:00:00:00:00", TIP: fip}},
		{Time: t0 + 1, Kind: trace.KindARP, Source: "replay", Host: "10.0.0.1", IP: fip, Verdict: trace.Honoured, ARP: garp,
			OldState: "REACHABLE", OldLLAddr: oldMAC, State: "STALE", LLAddr: newMAC, LocktimeUntil: trace.F64(t0 + 2)},
		{Time: t0 + 1.5, Kind: trace.KindARP, Source: "replay", Host: "10.0.0.1", IP: fip, Verdict: trace.Ignored, ARP: garp,
			State: "STALE", LLAddr: newMAC},
		{Time: t0 + 30, Kind: trace.KindVerdict, Source: "replay", OK: trace.Bool(true), Explanation: "PASS: nothing stale"},
	}
}

// TestReadableCaptureTrace: a capture's trace reads from 0 with the
// absolute start in the header, the repeated GARP is a no-op (not a red
// cross), the key names no MAC that nothing is drawn in (the host's own),
// the header has no internal clock line, and the verdict word is not
// doubled.
func TestReadableCaptureTrace(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, captureTrace(), HTMLOptions{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	svg := timelines(t, page)[0]
	if svg.Attr["data-full-from"] != "0" || svg.Attr["data-full-to"] != "30" {
		t.Errorf("axis %s..%s, want 0..30", svg.Attr["data-full-from"], svg.Attr["data-full-to"])
	}
	if !strings.Contains(page, `id="zf" type="number" step="any" value="0"`) || strings.Contains(page, "value=\"1700000") {
		t.Error("zoom boxes do not count from the start")
	}
	if !strings.Contains(page, "start=2023-11-14T22:13:40.050000Z (1700000020.05)") {
		t.Error("the absolute start is not in the header")
	}
	if strings.Contains(page, "clock.h") {
		t.Error("internal clock attribute in the header")
	}
	if n := len(svg.find(byClass("verdict-no-op"))); n != 1 {
		t.Errorf("%d no-op marks, want 1", n)
	}
	if n := len(svg.find(byClass("verdict-ignored"))); n != 0 {
		t.Errorf("%d ignored marks for a GARP that repeated the entry's MAC", n)
	}
	legend := regexp.MustCompile(`(?s)<div class="legend">.*?</div>\n`).FindString(page)
	if strings.Contains(legend, ownMAC) || !strings.Contains(legend, newMAC) || !strings.Contains(legend, oldMAC) {
		t.Errorf("legend MACs wrong (want %s and %s, not the host's %s): %s", oldMAC, newMAC, ownMAC, legend)
	}
	if strings.Contains(legend, "created") || strings.Contains(legend, "dropped") || !strings.Contains(legend, "no-op") {
		t.Errorf("legend keys marks that are not drawn, or misses the no-op: %s", legend)
	}
	if strings.Contains(page, "PASS PASS") || strings.Contains(page, `PASS</span> <span class="vtext">PASS`) {
		t.Error("doubled PASS")
	}

	var tb bytes.Buffer
	if err := Timeline(&tb, captureTrace(), TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	text := tb.String()
	if strings.Count(text, "1700000") != 1 || !strings.Contains(text, "start=2023-11-14T22:13:40.050000Z") {
		t.Errorf("text times are not relative to the start:\n%s", text)
	}
	if strings.Contains(text, "lladdr 1="+ownMAC) || strings.Contains(text, "PASS PASS") || strings.Contains(text, "clock.h") {
		t.Errorf("text legend names the host's own MAC, or the header is noisy:\n%s", text)
	}
	if !strings.Contains(text, "NO-OP") || strings.Contains(text, "IGNORED") {
		t.Errorf("the repeated GARP is not a no-op in the key events:\n%s", text)
	}
}

// TestFixesSection: the run page says what would have fixed it, the
// fixes that worked first, as the text output does.
func TestFixesSection(t *testing.T) {
	var b bytes.Buffer
	err := HTML(&b, failureTrace(), HTMLOptions{Fixes: []Fix{
		{Label: "kernel 4.12", OK: true, Stale: 0.2}, {Label: "arp_accept=1", OK: false}, {Label: "bad", Err: "no such patch"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	sec := regexp.MustCompile(`(?s)<section class="fixes">.*?</section>`).FindString(page)
	for _, want := range []string{"What would have fixed it", "✓</span> kernel 4.12 — stale 0.2 s", "✗</span> arp_accept=1 — still fails", "bad: no such patch"} {
		if !strings.Contains(sec, want) {
			t.Errorf("fixes section lacks %q: %s", want, sec)
		}
	}
	if strings.Index(page, sec) > strings.Index(page, "<svg") {
		t.Error("the fixes come after the timeline; they belong under the verdict")
	}
}

// TestFailingEntryFirst: an unrelated entry that appears first in the
// trace is drawn below the entry of the IP that moved.
func TestFailingEntryFirst(t *testing.T) {
	evs := append([]trace.Event{{Time: 0.5, Kind: trace.KindState, Host: host, IP: "10.0.0.7", OldState: "NONE", State: "REACHABLE", LLAddr: "02:00:00:00:00:07"}},
		failureTrace()...)
	tl := derive(evs)
	if tl.Groups[0].IP != fip {
		t.Errorf("first entry drawn is %s, want the moved IP %s", tl.Groups[0].IP, fip)
	}
}
