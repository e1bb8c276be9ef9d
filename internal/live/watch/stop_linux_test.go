//go:build linux

package watch

import (
	"testing"
	"time"

	sched "arplab/internal/garp"
	"arplab/internal/live/livetest"
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
