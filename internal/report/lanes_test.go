package report

import (
	"fmt"
	"strings"
	"testing"

	"arplab/internal/trace"
)

func spansString(l *lane) string {
	var parts []string
	for _, s := range l.Spans {
		parts = append(parts, fmt.Sprintf("%s@%s-%s/%s", s.State, fmtTime(s.From), fmtTime(s.To), s.LLAddr))
	}
	return strings.Join(parts, " ")
}

func TestDeriveSpans(t *testing.T) {
	tests := []struct {
		name string
		evs  []trace.Event
		want string
	}{
		{
			name: "old state fills from the start",
			evs: []trace.Event{
				{Time: 0, Kind: trace.KindHeader},
				{Time: 2, Kind: trace.KindState, Host: "h", IP: "ip", OldState: "STALE", State: "DELAY", OldLLAddr: "m1", LLAddr: "m1"},
				{Time: 4, Kind: trace.KindState, Host: "h", IP: "ip", OldState: "DELAY", State: "REACHABLE", LLAddr: "m1"},
			},
			// REACHABLE starts at the trace end: it has no width to draw.
			want: "STALE@0-2/m1 DELAY@2-4/m1",
		},
		{
			name: "unknown until the first state",
			evs: []trace.Event{
				{Time: 0, Kind: trace.KindHeader},
				{Time: 1, Kind: trace.KindProbe, Host: "h", IP: "ip"},
				{Time: 2, Kind: trace.KindState, Host: "h", IP: "ip", State: "INCOMPLETE"},
				{Time: 3, Kind: trace.KindState, Host: "h", IP: "ip", OldState: "INCOMPLETE", State: "REACHABLE", LLAddr: "m1"},
				{Time: 5, Kind: trace.KindNote},
			},
			want: "INCOMPLETE@2-3/ REACHABLE@3-5/m1",
		},
		{
			name: "frames alone draw a lane (replay)",
			evs: []trace.Event{
				{Time: 1, Kind: trace.KindARP, Host: "h", Verdict: trace.Ignored, State: "STALE", LLAddr: "m1",
					ARP: &trace.ARPFrame{Op: "reply", SIP: "ip", SHA: "m2", TIP: "ip"}},
				{Time: 3, Kind: trace.KindARP, Host: "h", Verdict: trace.Honoured, OldState: "STALE", State: "STALE", LLAddr: "m2",
					ARP: &trace.ARPFrame{Op: "reply", SIP: "ip", SHA: "m2", TIP: "ip"}},
				{Time: 4, Kind: trace.KindNote},
			},
			want: "STALE@1-3/m1 STALE@3-4/m2",
		},
		{
			name: "deleted entry is absent",
			evs: []trace.Event{
				{Time: 0, Kind: trace.KindState, Host: "h", IP: "ip", State: "FAILED"},
				{Time: 1, Kind: trace.KindState, Host: "h", IP: "ip", OldState: "FAILED", State: "NONE"},
				{Time: 2, Kind: trace.KindNote},
			},
			want: "FAILED@0-1/ NONE@1-2/",
		},
		{
			name: "out of order input is sorted stably",
			evs: []trace.Event{
				{Time: 3, Kind: trace.KindState, Host: "h", IP: "ip", OldState: "DELAY", State: "REACHABLE", LLAddr: "m1"},
				{Time: 1, Kind: trace.KindState, Host: "h", IP: "ip", OldState: "STALE", State: "DELAY", LLAddr: "m1"},
			},
			// STALE before the first event has no width once sorted.
			want: "DELAY@1-3/m1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := derive(tt.evs)
			if len(tl.Groups) != 1 || len(tl.Groups[0].Lanes) != 1 {
				t.Fatalf("got %d groups, want one entry with one lane", len(tl.Groups))
			}
			l := tl.Groups[0].Lanes[0]
			if got := spansString(l); got != tt.want {
				t.Errorf("spans = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDeriveAxis(t *testing.T) {
	t.Run("run epoch", func(t *testing.T) {
		tl := derive(failureTrace())
		if tl.Start != 0 || tl.End != 40 {
			t.Errorf("axis %v..%v, want 0..40 (the header is the run's epoch)", tl.Start, tl.End)
		}
	})
	t.Run("capture clock", func(t *testing.T) {
		// A replayed capture runs on the capture's Unix clock; the axis
		// counts from its first frame, and the absolute start is kept.
		lt := 1700000001.5
		in := []trace.Event{
			{Time: 0, Kind: trace.KindHeader},
			{Time: 1700000000, Kind: trace.KindNote},
			{Time: 1700000001, Kind: trace.KindTouch, Host: "h", IP: "ip", LocktimeUntil: &lt},
			{Time: 1700000060, Kind: trace.KindNote},
		}
		tl := derive(in)
		if tl.Start != 0 || tl.End != 60 || tl.Origin != 1700000000 {
			t.Errorf("axis %v..%v origin %v, want 0..60 from 1700000000", tl.Start, tl.End, tl.Origin)
		}
		if w := tl.Groups[0].Lanes[0].Locktimes; len(w) != 1 || w[0].From != 1 || w[0].To != 1.5 {
			t.Errorf("locktime windows %+v, want 1..1.5", w)
		}
		if lt != 1700000001.5 || in[1].Time != 1700000000 {
			t.Error("derive changed its input")
		}
	})
	t.Run("locktime extends the end", func(t *testing.T) {
		tl := derive([]trace.Event{{Time: 1, Kind: trace.KindTouch, Host: "h", IP: "ip", LocktimeUntil: trace.F64(2)}})
		if tl.Start != 1 || tl.End != 2 {
			t.Errorf("axis %v..%v, want 1..2", tl.Start, tl.End)
		}
	})
	t.Run("empty trace", func(t *testing.T) {
		tl := derive(nil)
		if tl.End <= tl.Start {
			t.Errorf("empty trace has an empty axis %v..%v", tl.Start, tl.End)
		}
	})
}

func TestDeriveSides(t *testing.T) {
	tl := derive(verifyTrace())
	if !tl.MultiSide {
		t.Fatal("verify trace not seen as two-sided")
	}
	g := tl.Groups[0]
	if g.Host != host || g.IP != fip || len(g.Lanes) != 2 {
		t.Fatalf("first group %s %s with %d lanes, want %s %s with kernel and model", g.Host, g.IP, len(g.Lanes), host, fip)
	}
	if g.Lanes[0].Key.Side != "kernel" || g.Lanes[1].Key.Side != "model" {
		t.Errorf("sides %q, %q, want kernel above model", g.Lanes[0].Key.Side, g.Lanes[1].Key.Side)
	}
	if len(g.Disagree) != 2 {
		t.Errorf("got %d disagreeing events, want 2", len(g.Disagree))
	}
	if derive(failureTrace()).MultiSide {
		t.Errorf("a single-source trace is not two-sided")
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		from, to float64
		want     string
	}{
		{0, 40, "0s 5s 10s 15s 20s 25s 30s 35s 40s"},
		{9, 14, "9.0s 9.5s 10.0s 10.5s 11.0s 11.5s 12.0s 12.5s 13.0s 13.5s 14.0s"},
		{0.1, 0.35, "0.10s 0.15s 0.20s 0.25s 0.30s 0.35s"},
		{-2, 2, "-2.0s -1.5s -1.0s -0.5s 0.0s 0.5s 1.0s 1.5s 2.0s"},
	}
	for _, tt := range tests {
		v := view{tt.from, tt.to}
		step := niceStep(tt.to-tt.from, tickTarget)
		var got []string
		for _, x := range ticks(v, step) {
			got = append(got, tickLabel(x, step))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("ticks %v..%v = %v, want %s", tt.from, tt.to, got, tt.want)
		}
	}
}
