package sim

import (
	"math/rand/v2"
	"slices"
	"testing"

	"arplab/internal/vtime"
)

// TestSchedulerOrder: events run in (time, insertion) order whatever the
// queue's size, with the ring full (the rest going to the heap) or not,
// events beyond the ring's horizon (the heap), events due now (the next
// slot) and events pushed while others run.
func TestSchedulerOrder(t *testing.T) {
	for _, n := range []int{1, 5, ringSize - 1, ringSize, ringSize + 1, 200, 3000} {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		w := &world{}
		w.sch.w = w
		s := &w.sch
		type rec struct {
			at  vtime.Time
			seq int
		}
		var want, got []rec
		seq := 0
		var add func(t vtime.Time)
		add = func(t vtime.Time) {
			seq++
			me := rec{max(t, s.now), seq}
			want = append(want, me)
			s.at(t, func() {
				got = append(got, me)
				// some events schedule more: now, soon, or at a time
				// already taken
				if len(want) < 3*n {
					switch r.IntN(4) {
					case 0:
						add(s.now)
					case 1:
						add(s.now.Add(vtime.Duration(r.IntN(3))))
					case 2:
						add(s.now.Add(vtime.Duration(r.IntN(1000))))
					case 3:
						// about the ring's horizon: either side of it
						add(s.now.Add(vtime.Duration(nearHorizon) - 2 + vtime.Duration(r.IntN(5))))
					}
				}
			})
		}
		for i := 0; i < n; i++ {
			add(vtime.Time(r.IntN(50))) // many equal times
		}
		if err := s.run(nil, vtime.Time(1<<40), -1); err != nil {
			t.Fatal(err)
		}
		slices.SortStableFunc(want, func(a, b rec) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return a.seq - b.seq
		})
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: %d events ran in another order than (time, insertion)", n, len(got))
		}
	}
}
