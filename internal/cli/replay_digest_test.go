package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/replay"
	"arplab/internal/report"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// sinkOnly hides a Digest's Mark, so that the replay writes every event
// with its words (the slow path).
type sinkOnly struct{ trace.Sink }

// TestReplayMarksDrawAsEvents: the streaming text report of every
// built-in scenario's capture is the same whether the replay hands the
// Digest marks (building words only for the lines it asks for) or every
// event with its words: the marks are built from the model's decisions
// without the event, and must say what the event says.
func TestReplayMarksDrawAsEvents(t *testing.T) {
	latest, err := kernel.Lookup("latest")
	if err != nil {
		t.Fatal(err)
	}
	// and a busy segment, long enough for the digest to merge marks and
	// for MACs to move and die
	busy := filepath.Join(t.TempDir(), "busy.pcap")
	writeBusy(t, busy, 150_000)
	for _, top := range []int{3, 0} {
		marked, full := drawBoth(t, busy, "10.0.0.1/16", latest, report.DigestOptions{Top: top, All: top == 0})
		if marked != full {
			t.Errorf("busy segment, top %d: marks and events draw differently:\n%s", top, lineDiff(marked, full))
		}
		if top == 3 && !strings.Contains(marked, "more entries not drawn") {
			t.Errorf("busy segment, top 3: no count of the entries left out:\n%s", marked)
		}
	}
	for _, name := range scenario.Builtins() {
		t.Run(name, func(t *testing.T) {
			pcap := filepath.Join(t.TempDir(), name+".pcap")
			if _, errs, code := run(t, "run", name, "--pcap", pcap); code != ExitOK && code != ExitExpected {
				t.Fatalf("run %s: exit %d: %s", name, code, errs)
			}
			cands, err := replay.Candidates(pcap)
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) == 0 {
				t.Skipf("no host sends in %s's capture", name)
			}
			for i, c := range cands {
				if i == 3 {
					break
				}
				host := strings.Split(c.String(), " ")[0]
				marked, full := drawBoth(t, pcap, host, latest, report.DigestOptions{All: true})
				if marked != full {
					t.Errorf("host %s: marks draw\n%s\nevents draw\n%s", host, marked, full)
				}
				if !strings.Contains(marked, "seconds") {
					t.Errorf("host %s: no timeline:\n%s", host, marked)
				}
			}
		})
	}
}

// drawBoth replays pcap into a Digest twice, as a Marker and as a plain
// Sink, and returns both timelines.
func drawBoth(t *testing.T, pcap, host string, prof kernel.Profile, opt report.DigestOptions) (marked, full string) {
	t.Helper()
	draw := func(sink func(*report.Digest) trace.Sink) string {
		dg := report.NewDigest(opt)
		if _, err := replay.Replay(pcap, replay.Options{Host: host, Profile: prof}, sink(dg)); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := dg.Timeline(&b, report.TextOptions{Width: 100}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	return draw(func(d *report.Digest) trace.Sink { return d }), draw(func(d *report.Digest) trace.Sink { return sinkOnly{d} })
}

// lineDiff shows the first lines where a and b differ.
func lineDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(la), len(lb)) && len(out) < 20; i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}

// TestReplayAutoRedoesTheReplay: with --profile auto the text replay
// starts beside the ranking under the fallback profile; when the ranking
// picks another (the Failure's host: a 3.x/4.x kernel), the report is the
// chosen profile's, as if it had been named.
func TestReplayAutoRedoesTheReplay(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "failure.pcap")
	if _, errs, code := run(t, "run", "failure", "--pcap", pcap); code != ExitOK && code != ExitExpected {
		t.Fatalf("run failure: exit %d: %s", code, errs)
	}
	auto, errs, code := run(t, "replay", pcap, "--host", "172.24.4.1")
	best := ""
	if _, rest, ok := strings.Cut(errs, "profile auto: "); ok {
		best, _, _ = strings.Cut(rest, " ")
	}
	if code != ExitOK || best == "" || best == "6.18" {
		t.Fatalf("exit %d, ranking picked %q: %s", code, best, errs)
	}
	named, _, _ := run(t, "replay", pcap, "--host", "172.24.4.1", "--profile", best)
	if auto != named {
		t.Errorf("--profile auto (picked %s) and --profile %s differ:\n%s", best, best, lineDiff(auto, named))
	}
	if !strings.Contains(auto, "profile "+best+" HZ=") {
		t.Errorf("the report is not %s's:\n%s", best, auto)
	}
}

// TestReplayHTMLStreams: `replay --html` draws the entries the text
// report draws, from the same bounded Digest: a capture three times as
// long gives a page of about the same size.
func TestReplayHTMLStreams(t *testing.T) {
	dir := t.TempDir()
	size := map[int]int64{}
	for _, n := range []int{60_000, 180_000} {
		pcap := filepath.Join(dir, fmt.Sprintf("busy-%d.pcap", n))
		writeBusy(t, pcap, n)
		page := filepath.Join(dir, fmt.Sprintf("busy-%d.html", n))
		out, errs, code := run(t, "replay", pcap, "--host", "10.0.0.1/16", "--profile", "6.18", "--top", "3", "--html", page)
		if code != ExitOK {
			t.Fatalf("replay --html: exit %d: %s", code, errs)
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		size[n] = int64(len(b))
		var text []string
		for _, ln := range strings.Split(out, "\n") {
			if strings.HasPrefix(ln, "10.0.0.1 10.0.") {
				text = append(text, strings.Fields(ln)[1])
			}
		}
		html := regexp.MustCompile(`class="entry" data-host="[^"]*" data-ip="([^"]*)"`).FindAllStringSubmatch(string(b), -1)
		var drawn []string
		for _, m := range html {
			drawn = append(drawn, m[1])
		}
		if len(text) != 3 || strings.Join(drawn, " ") != strings.Join(text, " ") {
			t.Errorf("%d frames: the page draws %v, the text %v", n, drawn, text)
		}
	}
	if size[180_000] > size[60_000]*3/2 {
		t.Errorf("page of 60,000 frames %d bytes, of 180,000 frames %d: it grows with the capture", size[60_000], size[180_000])
	}
}
