//go:build linux

package watch

import (
	"slices"
	"sync"
	"testing"
	"time"

	"arplab/internal/live/livetest"
)

// goneRecorder is an Observer that records LinkGone only.
type goneRecorder struct {
	nopObserver
	mu   sync.Mutex
	gone []string
}

func (g *goneRecorder) LinkGone(dev string) { g.mu.Lock(); g.gone = append(g.gone, dev); g.mu.Unlock() }

func (g *goneRecorder) list() []string { g.mu.Lock(); defer g.mu.Unlock(); return slices.Clone(g.gone) }

// TestLinkGone: watching every interface, one deleted is reported gone
// with its veth peer (once each, after two link checks) and the others are not; watching named
// interfaces, a deleted one is never reported (it is expected back).
func TestLinkGone(t *testing.T) {
	saved := linkCheckEvery
	t.Cleanup(func() { linkCheckEvery = saved })
	linkCheckEvery = 100 * time.Millisecond
	p := livetest.NewPair(t)
	// a veth pair inside the observer namespace: deleting d9 takes d9p
	livetest.IP(t, p.Observer, "link", "add", "d9", "type", "veth", "peer", "name", "d9p")
	all, named := &goneRecorder{}, &goneRecorder{}
	startWatch(t, WatchOptions{Netns: p.Observer, Observer: all})
	startWatch(t, WatchOptions{Netns: p.Observer, Interfaces: []string{"d9"}, Observer: named})
	time.Sleep(3 * linkCheckEvery) // a check or more with d9 present: nothing gone
	if g := all.list(); len(g) != 0 {
		t.Fatalf("gone before any deletion: %v", g)
	}
	livetest.IP(t, p.Observer, "link", "del", "d9")
	deadline := time.Now().Add(5 * time.Second)
	for len(all.list()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * linkCheckEvery) // any second report would come now
	g := all.list()
	slices.Sort(g)
	if !slices.Equal(g, []string{"d9", "d9p"}) {
		t.Errorf("watching every interface: gone %v, want d9 and d9p once each (not o0)", g)
	}
	if g := named.list(); len(g) != 0 {
		t.Errorf("watching d9 by name: gone %v, want nothing (a named interface is expected back)", g)
	}
}
