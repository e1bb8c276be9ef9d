package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestHeapBudgetRestores: the budget holds while any holder has it (the
// percentage collector off, the memory limit at the budget), and the last
// release restores the settings in force before, whatever the order.
func TestHeapBudgetRestores(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: heapBudget leaves the user's settings alone")
	}
	pct := debug.SetGCPercent(-1)
	debug.SetGCPercent(pct)
	lim := debug.SetMemoryLimit(-1) // -1 reads it
	a := heapBudget(replayHeapBudget)
	b := heapBudget(replayHeapBudget)
	if got := debug.SetMemoryLimit(-1); got != replayHeapBudget {
		t.Errorf("memory limit %d while held, want %d", got, replayHeapBudget)
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent %d while held, want -1 (off)", got)
	}
	a()
	a() // twice: counted once
	if got := debug.SetMemoryLimit(-1); got != replayHeapBudget {
		t.Errorf("memory limit %d after one of two releases, want %d", got, replayHeapBudget)
	}
	b()
	if got := debug.SetMemoryLimit(-1); got != lim {
		t.Errorf("memory limit %d after the last release, want %d", got, lim)
	}
	if got := debug.SetGCPercent(pct); got != pct {
		t.Errorf("GC percent %d after the last release, want %d", got, pct)
	}
}

// TestHeapBudgetUserSettings: a user's GOGC keeps the runtime's settings.
func TestHeapBudgetUserSettings(t *testing.T) {
	t.Setenv("GOGC", "50")
	pct := debug.SetGCPercent(-1)
	debug.SetGCPercent(pct)
	release := heapBudget(replayHeapBudget)
	defer release()
	if got := debug.SetGCPercent(pct); got != pct {
		t.Errorf("GC percent %d with GOGC set, want %d (untouched)", got, pct)
	}
}

// TestHeapBudgetFollowsLive: a live heap over two thirds of the budget
// raises the limit to one and a half times the live heap, so a replay
// with more bounded state than the budget keeps room to allocate.
func TestHeapBudgetFollowsLive(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: heapBudget leaves the user's settings alone")
	}
	const small = 1 << 20
	keep := make([]byte, 4<<20) // live: more than half of small
	release := heapBudget(small)
	defer release()
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) < 3*int64(len(keep))/2 {
		if time.Now().After(deadline) {
			t.Fatalf("memory limit %d with %d bytes live, want at least one and a half times that", debug.SetMemoryLimit(-1), len(keep))
		}
		time.Sleep(budgetCheck)
		runtime.GC()
	}
	runtime.KeepAlive(keep)
}
