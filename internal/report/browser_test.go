package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The structural tests prove the page is well-formed; this one proves a real
// browser runs its script without errors, which no Go parser can. It needs
// Debian's "chromium" package and skips cleanly without it.

// chromium returns the path of a Chromium binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs headless Chromium on url with extra flags and returns
// its stdout and stderr. Flags keep it offline and quiet: no first-run UI,
// no background fetches, no component updates, logging (and so console
// messages) to stderr.
func runChromium(t *testing.T, bin, dir, url string, extra ...string) (stdout, stderr string) {
	t.Helper()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0",
		"--window-size=1400,900",
	}
	args = append(append(args, extra...), url)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// A root CI machine may have no usable HOME; keep Chromium's files in
	// the test's directory.
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", bin, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleLines returns Chromium's log lines for page console messages; our
// script logs nothing, so any is an error or a warning worth failing on.
func consoleLines(stderr string) []string {
	var out []string
	for _, ln := range strings.Split(stderr, "\n") {
		if strings.Contains(ln, ":CONSOLE") {
			out = append(out, ln)
		}
	}
	return out
}

func TestBrowserRunsThePage(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("chromium is not installed (Debian package \"chromium\"); skipping the headless-browser check")
	}
	if testing.Short() {
		t.Skip("-short: skipping the headless-browser check")
	}
	dir := t.TempDir()
	page := render(t, failureTrace(), HTMLOptions{})
	file := filepath.Join(dir, "failure.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`class="arp verdict-ignored"[^>]*data-detail="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no ignored GARP mark to pick")
	}
	// The fragment makes the script zoom and open a detail, so the DOM
	// shows that place() and show() ran, not only that the script parsed.
	url := "file://" + file + "#zoom=9,14&pick=" + m[1]

	t.Run("script runs", func(t *testing.T) {
		dom, stderr := runChromium(t, bin, dir, url, "--dump-dom")
		body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
		if !strings.Contains(body, `data-ready="1"`) {
			t.Errorf("script did not finish: body tag %q", body)
		}
		if strings.Contains(body, "data-errors") {
			t.Errorf("script reported errors: %s", body)
		}
		if c := consoleLines(stderr); len(c) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
		}
		if !regexp.MustCompile(`<svg class="tl"[^>]* data-from="9" data-to="14"`).MatchString(dom) {
			t.Errorf("the #zoom fragment did not re-place the timeline")
		}
		if !strings.Contains(dom, `class="tick">9.0s</text>`) {
			t.Errorf("zoomed axis has no 9.0s tick")
		}
		panel := regexp.MustCompile(`(?s)<div id="detail" class="detail">.*?</dl>`).FindString(dom)
		if !strings.Contains(panel, "arrived at 10.2 s") {
			t.Errorf("detail panel does not show the picked frame's explanation: %q", panel)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(dir, "shot.png")
		runChromium(t, bin, dir, url, "--screenshot="+shot)
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 10_000 {
			t.Errorf("screenshot is not a plausible PNG (%d bytes)", len(b))
		}
		t.Logf("screenshot: %s", shot)
		// t.TempDir vanishes with the test; ARPLAB_SCREENSHOT_DIR keeps a
		// copy for a person (or a CI artifact) to look at.
		if keep := os.Getenv("ARPLAB_SCREENSHOT_DIR"); keep != "" {
			dst := filepath.Join(keep, "report-failure.png")
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Errorf("keeping the screenshot: %v", err)
			} else {
				t.Logf("screenshot kept at %s", dst)
			}
		}
	})

	t.Run("matrix", func(t *testing.T) {
		file := filepath.Join(dir, "matrix.html")
		if err := os.WriteFile(file, []byte(renderMatrix(t, HTMLOptions{})), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, stderr := runChromium(t, bin, dir, "file://"+file+"#zoom=10,13", "--dump-dom")
		body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
		if !strings.Contains(body, `data-ready="1"`) || strings.Contains(body, "data-errors") {
			t.Errorf("matrix script: body tag %q", body)
		}
		if c := consoleLines(stderr); len(c) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
		}
		if n := len(regexp.MustCompile(`<svg class="tl"[^>]* data-from="10" data-to="13"`).FindAllString(dom, -1)); n != 3 {
			t.Errorf("zoom reached %d of 3 matrix rows", n)
		}
	})
}
