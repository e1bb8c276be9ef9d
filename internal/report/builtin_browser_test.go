package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/sim"
	"arplab/internal/trace"
)

// TestBrowserRendersBuiltinFailure renders the simulator's built-in
// "failure" run as a person would see it: headless Chromium loads the page,
// its script runs without console errors, and the lanes, the three ignored
// GARP marks and the verdict are there. The screenshot stays in the test's
// temp dir (and in $ARPLAB_SCREENSHOT_DIR when set).
func TestBrowserRendersBuiltinFailure(t *testing.T) {
	s, err := scenario.Load("failure")
	if err != nil {
		t.Fatal(err)
	}
	var rec trace.Recorder
	if _, err := sim.Run(s, sim.Options{Sink: &rec}); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := HTML(&page, rec.Events, HTMLOptions{Title: "arplab run failure"}); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if n := strings.Count(html, `class="arp verdict-ignored"`); n != 3 {
		t.Errorf("%d ignored GARP marks in the page, want 3", n)
	}
	if !strings.Contains(html, `<span class="badge fail">FAIL</span> <span class="vtext">ssh-fip to 172.24.4.10 failed`) {
		t.Error("verdict missing from the page")
	}
	if strings.Contains(html, "FAIL FAIL") || strings.Contains(html, "FAIL</span> <span class=\"vtext\">FAIL") {
		t.Error("the verdict word is doubled")
	}
	if len(html) >= 1<<20 {
		t.Errorf("page is %d bytes, want under 1 MB", len(html))
	}
	bin := chromium()
	if bin == "" {
		t.Skip("chromium is not installed (Debian package \"chromium\"); skipping the headless-browser check")
	}
	if testing.Short() {
		t.Skip("-short: skipping the headless-browser check")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "failure.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, stderr := runChromium(t, bin, dir, "file://"+file, "--dump-dom")
	body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
	if !strings.Contains(body, `data-ready="1"`) || strings.Contains(body, "data-errors") {
		t.Errorf("script did not run cleanly: %q", body)
	}
	if c := consoleLines(stderr); len(c) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
	}
	if !strings.Contains(dom, `data-ip="172.24.4.10"`) {
		t.Error("no lane for 172.24.4.10 in the rendered DOM")
	}
	if n := strings.Count(dom, "verdict-ignored"); n < 3 {
		t.Errorf("%d ignored marks in the rendered DOM", n)
	}
	shot := filepath.Join(dir, "failure.png")
	runChromium(t, bin, dir, "file://"+file, "--screenshot="+shot)
	b, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no screenshot: %v", err)
	}
	t.Logf("screenshot: %s", shot)
	if keep := os.Getenv("ARPLAB_SCREENSHOT_DIR"); keep != "" {
		os.WriteFile(filepath.Join(keep, "builtin-failure.png"), b, 0o644)
	}
}
