package cli

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressAfter is how long a replay runs before its progress bar shows:
// a short capture finishes before a bar would help.
const progressAfter = 2 * time.Second

// progressBar draws a replay's progress on one terminal line (frames,
// megabytes read of the file's size, rate), redrawn at most ten times a
// second, from progressAfter on; done clears it. Only for a terminal: a
// piped stderr gets nothing (replayProgress).
type progressBar struct {
	mu    sync.Mutex // a background replay updates it while the CLI writes
	w     io.Writer
	size  int64 // the capture file's size; 0 when unknown (gzip, stdin)
	start time.Time
	last  time.Time
	shown bool
	now   func() time.Time
}

func newProgressBar(w io.Writer, size int64) *progressBar {
	p := &progressBar{w: w, size: size, now: time.Now}
	p.start = p.now()
	return p
}

// update is replay.Options.Progress.
func (p *progressBar) update(frames int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.now()
	if t.Sub(p.start) < progressAfter || t.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = t, true
	rate := float64(frames) / t.Sub(p.start).Seconds()
	read := fmt.Sprintf("%.0f MB", float64(bytes)/1e6)
	bar := ""
	if p.size > 0 && bytes <= p.size {
		frac := float64(bytes) / float64(p.size)
		const width = 24
		n := int(frac * width)
		bar = "[" + repeat('#', n) + repeat('.', width-n) + "] "
		read = fmt.Sprintf("%.0f/%.0f MB %3.0f%%", float64(bytes)/1e6, float64(p.size)/1e6, 100*frac)
	}
	fmt.Fprintf(p.w, "\r%sreplay: %.1fM frames, %s, %.2fM frames/s\x1b[K", bar, float64(frames)/1e6, read, rate/1e6)
}

// clear clears the bar's line, so that a message can take it; the next
// update draws the bar again. A nil bar does nothing.
func (p *progressBar) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// done clears the bar for good.
func (p *progressBar) done() {
	if p == nil {
		return
	}
	p.clear()
	p.mu.Lock()
	p.start = p.now().Add(24 * 365 * time.Hour) // no more drawing
	p.mu.Unlock()
}

func repeat(c byte, n int) string {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = c
	}
	return string(b)
}
