package sim

import (
	"math"
	"math/rand/v2"
	"testing"

	"arplab/internal/vtime"
)

// TestJiffiesAsClock: the host's jiffies is Clock.Jiffies for every HZ,
// phases and bases, at times before the epoch, around it, in a run and
// where its product would overflow.
func TestJiffiesAsClock(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, hz := range []int{100, 250, 300, 1000} {
		tick := int64(1e9 / hz)
		for _, phase := range []int64{0, 1, tick / 2, tick - 1} {
			c, err := vtime.NewClock(hz, vtime.Jiffies(uint64(int64(-300*hz))), vtime.Duration(phase))
			if err != nil {
				t.Fatal(err)
			}
			times := []int64{0, -1, -phase, -phase - 1, 1e9 - 1, 1e9, 330e9, math.MaxInt64 - phase, math.MaxInt64 / int64(hz), math.MaxInt64/int64(hz) + 1, math.MinInt64 + 1e9}
			for i := 0; i < 20000; i++ {
				times = append(times, r.Int64N(400e9)-40e9, r.Int64())
			}
			for _, ns := range times {
				if got, want := jiffies(c, vtime.Time(ns)), c.Jiffies(vtime.Time(ns)); got != want {
					t.Fatalf("HZ=%d phase %d t=%d: jiffies %d, Clock.Jiffies %d", hz, phase, ns, got, want)
				}
			}
		}
	}
}
