package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
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
	// and the slices hold no more room than their bounds
	if c, lim := cap(e.marks.t), 8*digestBuckets+1; c > lim || cap(e.marks.ke) > lim || cap(e.spans) > 2*digestBuckets+1 || cap(e.locks) > 2*digestBuckets+1 {
		t.Errorf("room for %d marks (%d kinds), %d spans, %d windows; bounds %d, %d", c, cap(e.marks.ke), cap(e.spans), cap(e.locks), lim, 2*digestBuckets+1)
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

// TestDigestEntriesBounded: a host meeting ever new neighbours does not
// grow the digest past its bound: the least telling entries go, are
// counted, and the timeline says so; the telling ones stay.
func TestDigestEntriesBounded(t *testing.T) {
	d := NewDigest(DigestOptions{Top: 3})
	d.maxEntries = 8
	mark := func(i int, m trace.Mark) {
		m.Host, m.IP, m.Time = "h", netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), float64(i)
		if d.Mark(&m) {
			d.Emit(trace.Event{Kind: m.Kind, Time: m.Time, Host: m.Host, IP: m.IP.String(), Verdict: trace.Ignored,
				State: m.State, LLAddr: "02:00:00:00:00:01", ARP: &trace.ARPFrame{SHA: "02:00:00:00:00:09", SIP: m.IP.String(), TIP: m.IP.String()}})
		}
	}
	const n = 100
	for i := range n {
		m := trace.Mark{Kind: trace.KindConfirm, State: "REACHABLE", LLAddr: [6]byte{2, 0, 0, 0, 0, 1}, HasLL: true}
		if i == 5 { // the one telling entry: an ignored GARP
			m = trace.Mark{Kind: trace.KindARP, State: "REACHABLE", LLAddr: m.LLAddr, HasLL: true, Effect: trace.EffectIgnored,
				SHA: [6]byte{2, 0, 0, 0, 0, 9}, HasSHA: true}
		}
		mark(i, m)
		if len(d.list) > d.maxEntries {
			t.Fatalf("after %d entries the digest follows %d, bound %d", i+1, len(d.list), d.maxEntries)
		}
	}
	if got := d.Dropped() + len(d.list); got != n {
		t.Errorf("%d dropped + %d kept = %d, want the %d entries seen", d.Dropped(), len(d.list), got, n)
	}
	n4 := 0
	for _, h := range d.entries {
		n4 += h.Len()
	}
	if n4 != len(d.list) {
		t.Errorf("%d entries in the address maps, %d in the list", n4, len(d.list))
	}
	if r := d.ranked(); r[0].ip != "10.0.0.5" {
		t.Errorf("first ranked %s, want 10.0.0.5 (the ignored GARP) kept", r[0].ip)
	}
	var b bytes.Buffer
	if err := d.Timeline(&b, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("… %d entries dropped unranked: the report follows at most 8 entries at once", d.Dropped())
	if !strings.Contains(b.String(), want) {
		t.Errorf("timeline does not say %q:\n%s", want, b.String())
	}
	// an entry seen again after it was dropped starts over
	gone := -1
	for i := range n {
		if _, ok := d.entries["h"].Get(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})); !ok {
			gone = i
		}
	}
	if gone < 0 {
		t.Fatal("no entry was dropped")
	}
	mark(gone, trace.Mark{Kind: trace.KindConfirm, State: "STALE", LLAddr: [6]byte{2, 0, 0, 0, 0, 1}, HasLL: true})
	e, ok := d.entries["h"].Get(netip.AddrFrom4([4]byte{10, 0, 0, byte(gone)}))
	if !ok || e.lines != 1 || !slices.Contains(d.list, e) {
		t.Errorf("10.0.0.%d seen again: not followed again as a new entry with one line", gone)
	}
}
