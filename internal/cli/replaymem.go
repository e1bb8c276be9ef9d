package cli

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// replayHeapBudget is the memory a text or HTML replay lets the heap grow
// to before the garbage collector runs (debug.SetMemoryLimit with the
// percentage collector off), unless the live heap needs more (heapBudget).
//
// Why not the default (GOGC=100: collect when the heap doubles the live
// heap of the last collection): the report.Digest keeps bounded state per
// entry, but its spans, locktime windows and key events fill their bounds
// over minutes of capture, so the live heap of a busy segment's replay
// grows with the capture until they are full (1,000 neighbours: 20 MB
// live after 2 M frames, 30 MB after 20 M), and the default target, twice
// that, made the peak grow with it (63 MB and 100 MB). With a fixed
// budget the peak is the budget, whatever the capture's length; the
// collector runs about as often as before (every 25–40 MB allocated).
const replayHeapBudget = 64 << 20

// heapBudget holds the process's collector to budget bytes (the Go
// runtime's memory limit, collection by growth off) until the returned
// function is called. While the live heap is over two thirds of the
// budget, the limit follows one and a half times the live heap (GOGC=50),
// so a replay whose bounded state is larger (many thousands of entries)
// keeps room to allocate between collections. A user's GOGC or GOMEMLIMIT is left in force.
// Nested and concurrent holders (tests run commands side by side) share
// the settings: the last release restores the previous ones.
func heapBudget(budget int64) (release func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	budgetMu.Lock()
	defer budgetMu.Unlock()
	if budgetHolders == 0 {
		budgetStop = make(chan struct{})
		budgetPercent = debug.SetGCPercent(-1)
		budgetLimit = debug.SetMemoryLimit(budget)
		go followLive(budget, budgetStop)
	}
	budgetHolders++
	var once sync.Once
	return func() {
		once.Do(func() {
			budgetMu.Lock()
			defer budgetMu.Unlock()
			if budgetHolders--; budgetHolders == 0 {
				close(budgetStop)
				debug.SetMemoryLimit(budgetLimit)
				debug.SetGCPercent(budgetPercent)
			}
		})
	}
}

var (
	budgetMu      sync.Mutex
	budgetHolders int
	budgetStop    chan struct{}
	budgetPercent int
	budgetLimit   int64
)

// budgetCheck is how often followLive reads the live heap.
const budgetCheck = 50 * time.Millisecond

// followLive holds the memory limit at one and a half times the live heap
// whenever that is over budget, and at the budget otherwise (the live heap of a replay
// with --profile auto is larger while the ranking holds its frames), until
// stop is closed.
func followLive(budget int64, stop chan struct{}) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	limit := budget
	t := time.NewTicker(budgetCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 {
			continue
		}
		want := max(budget, 3*int64(s[0].Value.Uint64())/2)
		if want > limit || want < limit-limit/8 { // not for every small change
			limit = want
			budgetMu.Lock()
			select {
			case <-stop: // released meanwhile: the old limit is back
			default:
				debug.SetMemoryLimit(limit)
			}
			budgetMu.Unlock()
		}
	}
}
