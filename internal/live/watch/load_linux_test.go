//go:build linux

package watch

import (
	"testing"
	"time"

	sched "arplab/internal/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/trace"
)

// TestReadFramesStopsWithoutLoop: once the loop has stopped taking
// batches, the frame reader holding one returns when told to stop instead
// of blocking on the channel for ever (which held a stopped watcher's
// cleanup, waiting for it, until a second signal).
func TestReadFramesStopsWithoutLoop(t *testing.T) {
	p := livetest.NewPair(t)
	conn, err := listenARP(p.Observer)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	batches := make(chan []input) // nobody takes them: the loop is gone
	done := make(chan struct{})
	ret := make(chan error, 1)
	go func() { ret <- readFrames(conn, batches, done) }()
	sendPreset(t, p, "arping-U", sched.Options{Count: 1})
	// the reader has the frame in hand and is waiting to hand it over
	select {
	case b := <-batches:
		if len(b) == 0 {
			t.Fatal("readFrames handed over an empty batch")
		}
	case err := <-ret:
		t.Fatalf("readFrames returned before stop: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("readFrames read no frame in 10 s")
	}
	sendPreset(t, p, "arping-U", sched.Options{Count: 1})
	time.Sleep(200 * time.Millisecond) // let it block on the channel
	close(done)
	select {
	case err := <-ret:
		if err != nil {
			t.Errorf("readFrames after stop: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("readFrames still blocked 10 s after stop, holding a batch nobody takes")
	}
}

// TestWatchLateNetlinkReader: with every netlink notification reaching the
// loop 400 ms after the kernel queued it (a reader descheduled on a loaded
// machine, longer than the 250 ms hold and far beyond the 50 ms window),
// a GARP that changes the entry is still judged honoured and the change
// still attributed to it. Without the barriers the frame was judged
// before its change was read, as ignored.
func TestWatchLateNetlinkReader(t *testing.T) {
	saved := readerLag
	readerLag = 400 * time.Millisecond
	t.Cleanup(func() { readerLag = saved })
	p := livetest.NewPair(t)
	freshEntry(t, p, "stale")
	w := startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{p.ObserverDev}})
	time.Sleep(time.Second) // the first barriers are through: the watcher is in its steady state
	sendPreset(t, p, "arping-U", sched.Options{Count: 1})

	vip, bb := livetest.VIP.String(), livetest.SenderMAC.String()
	fr := w.wait(t, "the GARP frame", func(e trace.Event) bool { return e.Kind == trace.KindARP && e.IP == vip })
	if fr.Verdict != trace.Honoured || fr.LLAddr != bb {
		t.Errorf("frame event = %+v, want honoured, the entry taking %s", fr, bb)
	}
	st := w.wait(t, "the state change to bb", func(e trace.Event) bool {
		return e.Kind == trace.KindState && e.IP == vip && e.LLAddr == bb
	})
	if st.Cause != "garp-request" || st.Frame != fr.Frame {
		t.Errorf("state event = %+v, want caused by the garp-request, frame %d", st, fr.Frame)
	}
}
