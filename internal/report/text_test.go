package report

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"arplab/internal/trace"
)

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func renderText(t *testing.T, evs []trace.Event, opt TextOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := Timeline(&b, evs, opt); err != nil {
		t.Fatalf("Timeline: %v", err)
	}
	return b.String()
}

// rowOf returns the plot row whose label starts with label, after the row
// that starts with after (a lane label), without its label column.
func rowOf(t *testing.T, out, after, label string) string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, ln := range lines {
		if !strings.HasPrefix(ln, after) {
			continue
		}
		for _, l := range lines[i:] {
			if strings.HasPrefix(l, label) {
				return l
			}
		}
	}
	t.Fatalf("no row %q after %q in:\n%s", label, after, out)
	return ""
}

func TestTimelineFitsWidth(t *testing.T) {
	traces := map[string][]trace.Event{"failure": failureTrace(), "verify": verifyTrace()}
	for name, evs := range traces {
		for _, width := range []int{0, 40, 61, 100, 160} {
			for _, color := range []bool{false, true} {
				out := renderText(t, evs, TextOptions{Width: width, Color: color})
				limit := width
				if limit == 0 {
					limit = 100
				}
				for i, ln := range strings.Split(out, "\n") {
					plain := ansiRE.ReplaceAllString(ln, "")
					if n := utf8.RuneCountInString(plain); n > limit {
						t.Errorf("%s width=%d color=%v: line %d has %d columns:\n%s", name, width, color, i+1, n, plain)
					}
					if strings.HasSuffix(plain, " ") {
						t.Errorf("%s width=%d: line %d has trailing blanks: %q", name, width, i+1, plain)
					}
				}
				if !color && strings.Contains(out, "\x1b") {
					t.Errorf("%s width=%d: escape codes with Color=false", name, width)
				}
				if color && !strings.Contains(out, "\x1b[1;31mx") {
					t.Errorf("%s width=%d: Color=true but ignored GARPs are not red", name, width)
				}
			}
		}
	}
}

func TestTimelineRejectsNarrowWidth(t *testing.T) {
	if err := Timeline(&bytes.Buffer{}, failureTrace(), TextOptions{Width: 20}); err == nil {
		t.Errorf("Timeline accepted 20 columns")
	}
	if err := Timeline(&bytes.Buffer{}, failureTrace(), TextOptions{From: trace.F64(5), To: trace.F64(5)}); err == nil {
		t.Errorf("Timeline accepted an empty zoom range")
	}
}

func TestTimelineTellsTheFailure(t *testing.T) {
	out := renderText(t, failureTrace(), TextOptions{})
	lane := host + " " + fip
	state := rowOf(t, out, lane, lane)
	plot := strings.TrimSpace(strings.TrimPrefix(state, lane))
	if !regexp.MustCompile(`^S+D+R+S+D+R+$`).MatchString(plot) {
		t.Errorf("state row %q, want STALE, DELAY, REACHABLE, STALE, DELAY, REACHABLE", plot)
	}
	ll := strings.TrimSpace(strings.TrimPrefix(rowOf(t, out, lane, "  lladdr"), "  lladdr"))
	if strings.Trim(ll, "1") != "" {
		t.Errorf("lladdr row %q, want only the old MAC (1)", ll)
	}
	arp := rowOf(t, out, lane, "  arp/lock")
	if n := strings.Count(arp, "x"); n != 3 {
		t.Errorf("arp row %q has %d ignored marks, want 3", arp, n)
	}
	if !regexp.MustCompile(`=x=x=x=`).MatchString(arp) {
		t.Errorf("arp row %q: the three GARPs should sit inside one chain of locktime windows", arp)
	}
	if pc := strings.TrimPrefix(rowOf(t, out, lane, "  probe/conf"), "  probe/conf"); strings.Count(pc, "c") != 2 {
		t.Errorf("probe/conf row %q, want 2 confirmations", pc)
	}
	flow := rowOf(t, out, "flow ssh-9", "flow ssh-9")
	if !regexp.MustCompile(`S-+L-+L-+X$`).MatchString(flow) {
		t.Errorf("flow row %q, want syn, two lost SYNs, failure", flow)
	}
	for _, want := range []string{
		"FAIL tempest kept the old MAC",
		"seed=7 scenario=neutron-garp-locktime",
		"lladdr 2=fa:16:3e:00:00:02 (new: 10.0.0.100 moved to it at 10 s)",
		"x ignored",
		"R=REACHABLE",
		"10.2s tempest 10.0.0.100 arp reply garp 10.0.0.100 is-at fa:16:3e:00:00:02 (broadcast) IGNORED §2.2:",
		"20s flow ssh-9 failed FAILED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "FAIL ") > strings.Index(out, "seconds") {
		t.Errorf("verdict should come before the plot")
	}
}

func TestTimelineVerifyMergesAgreeingSides(t *testing.T) {
	out := renderText(t, verifyTrace(), TextOptions{Width: 120})
	if !strings.Contains(out, "10.2s tempest 10.0.0.100 kernel=model arp") {
		t.Errorf("agreeing kernel and model events should share a line:\n%s", out)
	}
	if !strings.Contains(out, "12.2s tempest 10.0.0.100 kernel arp") || !strings.Contains(out, "12.2s tempest 10.0.0.100 model arp") {
		t.Errorf("disagreeing events should have a line per side:\n%s", out)
	}
	if d := rowOf(t, out, host+" "+fip+" model", "  disagree"); strings.Count(d, "!") != 1 {
		t.Errorf("disagree row %q, want one mark", d)
	}
}

func TestTimelineZoom(t *testing.T) {
	out := renderText(t, failureTrace(), TextOptions{From: trace.F64(9), To: trace.F64(14)})
	if strings.Contains(out, "\n   2s ") || strings.Contains(out, "20s flow") {
		t.Errorf("zoomed list shows events outside 9..14 s:\n%s", out)
	}
	if !strings.Contains(out, "10.2s tempest") {
		t.Errorf("zoomed list lacks the first GARP")
	}
	axis := rowOf(t, out, "", "seconds")
	if strings.Count(axis, "|") < 5 {
		t.Errorf("axis %q has too few ticks for a 5 s zoom", axis)
	}
}

func TestTimelineDeterministic(t *testing.T) {
	for _, evs := range [][]trace.Event{failureTrace(), verifyTrace()} {
		a := renderText(t, evs, TextOptions{Color: true})
		b := renderText(t, evs, TextOptions{Color: true})
		if a != b {
			t.Errorf("two renderings differ")
		}
	}
}

// TestTimelineShortensLongLists checks a long run keeps the frames and
// failures and drops routine state changes first.
func TestTimelineShortensLongLists(t *testing.T) {
	evs := failureTrace()
	for i := 0; i < 100; i++ {
		st, old := "STALE", "REACHABLE"
		if i%2 == 1 {
			st, old = old, st
		}
		evs = append(evs, trace.Event{Time: 20 + float64(i)*0.1, Kind: trace.KindState, Host: "other", IP: "10.0.0.7",
			State: st, OldState: old, LLAddr: oldMAC, OldLLAddr: oldMAC, Cause: "timer"})
	}
	out := renderText(t, evs, TextOptions{})
	if !strings.Contains(out, "routine events left out") {
		t.Errorf("no note about left-out events")
	}
	if strings.Count(out, "IGNORED") != 3 || !strings.Contains(out, "flow ssh-9 failed") {
		t.Errorf("shortened list lost the GARPs or the failure:\n%s", out)
	}
}

func TestColorWanted(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ColorWanted(f) {
		t.Errorf("ColorWanted(regular file) = true")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if ColorWanted(w) {
		t.Errorf("ColorWanted(pipe) = true")
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer null.Close()
		if ColorWanted(null) {
			t.Errorf("ColorWanted(%s) = true", os.DevNull)
		}
	}
	if ColorWanted(nil) {
		t.Errorf("ColorWanted(nil) = true")
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		t.Logf("no controlling terminal (%v); skipping the terminal cases", err)
		return
	}
	defer tty.Close()
	t.Setenv("NO_COLOR", "")
	if !ColorWanted(tty) {
		t.Errorf("ColorWanted(/dev/tty) = false with NO_COLOR empty")
	}
	t.Setenv("NO_COLOR", "1")
	if ColorWanted(tty) {
		t.Errorf("ColorWanted(/dev/tty) = true with NO_COLOR=1")
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		name        string
		text        string
		first, rest int
		want        []string
	}{
		{"fits", "a bc", 10, 10, []string{"a bc"}},
		{"breaks", "aa bb cc", 5, 5, []string{"aa bb", "cc"}},
		{"hanging", "aa bb cc dd", 5, 2, []string{"aa bb", "cc", "dd"}},
		{"long word", "abcdefgh", 3, 3, []string{"abc", "def", "gh"}},
		{"runes", "§2.2 ééé", 4, 4, []string{"§2.2", "ééé"}},
		{"empty", "", 5, 5, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapWords(tt.text, tt.first, tt.rest)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("wrapWords(%q, %d, %d) = %q, want %q", tt.text, tt.first, tt.rest, got, tt.want)
			}
		})
	}
}

// TestTimelineNDLane: an nd_tbl entry's frame row is "nd", not "arp/lock"
// (IPv6 has no locktime, ndisc §5.5), and the legend says so; an ARP-only
// timeline's legend does not mention it.
func TestTimelineNDLane(t *testing.T) {
	evs := []trace.Event{
		{Time: 1, Kind: trace.KindState, Source: "sim", Host: "h", IP: "2001:db8::5", State: "STALE", OldState: "NONE", LLAddr: "02:00:00:00:00:05"},
		{Time: 3, Kind: trace.KindState, Source: "sim", Host: "h", IP: "2001:db8::5", State: "REACHABLE", OldState: "STALE", LLAddr: "02:00:00:00:00:05"},
	}
	out := renderText(t, evs, TextOptions{})
	rowOf(t, out, "h 2001:db8::5", "  nd")
	if strings.Contains(out, "arp/lock ") && !strings.Contains(out, "arp/lock:") {
		t.Errorf("an nd_tbl lane drew an arp/lock row:\n%s", out)
	}
	if !strings.Contains(out, "IPv6 has no locktime") {
		t.Errorf("the legend does not explain the nd row:\n%s", out)
	}
	if plain := renderText(t, failureTrace(), TextOptions{}); strings.Contains(plain, "IPv6 has no locktime") {
		t.Errorf("an ARP-only timeline explains the nd row")
	}
}
