package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"arplab/internal/trace"
)

// TestDigestBounded: however many lines an entry gets, the Digest keeps
// a bounded number of marks, spans and windows per entry, and still draws
// the entry's whole time range.
func TestDigestBounded(t *testing.T) {
	d := NewDigest(DigestOptions{})
	ip := netip.MustParseAddr("10.0.0.5")
	states := []string{"REACHABLE", "STALE", "DELAY"}
	const n = 200_000
	for i := range n {
		at := float64(i) * 0.001
		m := trace.Mark{Kind: trace.KindARP, Time: at, Host: "h", IP: ip, Effect: trace.EffectNoop,
			State: states[i/50%3], LLAddr: [6]byte{2, 0, 0, 0, 0, byte(i / 10000)}, HasLL: true, LockUntil: at + 0.0005}
		d.Mark(&m)
		c := trace.Mark{Kind: trace.KindConfirm, Time: at, Host: "h", IP: ip, State: m.State, LLAddr: m.LLAddr, HasLL: true}
		d.Mark(&c)
	}
	e := d.list[0]
	if len(d.list) != 1 || e.marks.len() > 8*digestBuckets || len(e.spans) > 2*digestBuckets || len(e.locks) > 2*digestBuckets {
		t.Fatalf("%d entries; kept %d marks, %d spans, %d windows after %d lines", len(d.list), e.marks.len(), len(e.spans), len(e.locks), 2*n)
	}
	var b bytes.Buffer
	if err := d.Timeline(&b, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, ln := range strings.Split(b.String(), "\n") {
		for _, k := range []string{"h 10.0.0.5", "  arp/lock", "  probe/conf"} {
			if strings.HasPrefix(ln, k) {
				rows[k] = ln
			}
		}
	}
	// every column of a row that had a mark in each column keeps one
	for k, want := range map[string]string{"  arp/lock": "o", "  probe/conf": "c"} {
		cells := strings.TrimSpace(strings.TrimPrefix(rows[k], k))
		if len(cells) < 80 || strings.Trim(cells, want) != "" {
			t.Errorf("row %q = %q, want a %s in every column", k, cells, want)
		}
	}
	if st := strings.TrimSpace(strings.TrimPrefix(rows["h 10.0.0.5"], "h 10.0.0.5")); strings.Trim(st, "RSD") != "" || !strings.Contains(st, "R") || !strings.Contains(st, "D") {
		t.Errorf("state row %q", st)
	}
}

// TestDigestRanks: entries are drawn by what matters: the longest
// dead-MAC span first, then frames ignored while the entry kept another
// MAC, then lladdr changes; the rest are counted, and --all draws them.
func TestDigestRanks(t *testing.T) {
	d := NewDigest(DigestOptions{Top: 3})
	line := func(ip string, ev trace.Event) {
		ev.Host, ev.IP = "h", ip
		d.Emit(ev)
	}
	for i := range 8 {
		ip := fmt.Sprintf("10.0.0.%d", 10+i)
		line(ip, trace.Event{Time: float64(i), Kind: trace.KindState, OldState: "NONE", State: "REACHABLE", LLAddr: "02:00:00:00:00:01"})
	}
	line("10.0.0.17", trace.Event{Time: 10, Kind: trace.KindState, OldState: "REACHABLE", State: "STALE", OldLLAddr: "02:00:00:00:00:01", LLAddr: "02:00:00:00:00:02"})
	line("10.0.0.16", trace.Event{Time: 11, Kind: trace.KindARP, Verdict: trace.Ignored, State: "REACHABLE", LLAddr: "02:00:00:00:00:01",
		ARP: &trace.ARPFrame{SHA: "02:00:00:00:00:09", SIP: "10.0.0.16", TIP: "10.0.0.16"}})
	line("10.0.0.15", trace.Event{Time: 12, Kind: trace.KindNote, Cause: "dead-mac-end", Attrs: map[string]string{"since": "2"}})
	var b bytes.Buffer
	if err := d.Timeline(&b, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var order []string
	for _, ln := range strings.Split(out, "\n") {
		if strings.HasPrefix(ln, "h 10.0.0.") {
			order = append(order, strings.Fields(ln)[1])
		}
	}
	if strings.Join(order, " ") != "10.0.0.15 10.0.0.16 10.0.0.17" || !strings.Contains(out, "… 5 more entries not drawn") {
		t.Errorf("drew %v:\n%s", order, out)
	}
}
