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
	for _, stepped := range []bool{false, true} {
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
			var late []vtime.Time // events run after their step's end
			stepEnd := vtime.Time(1 << 40)
			seq := 0
			var add func(t vtime.Time)
			add = func(t vtime.Time) {
				seq++
				me := rec{max(t, s.now), seq}
				want = append(want, me)
				s.at(t, func() {
					got = append(got, me)
					if s.now > stepEnd {
						late = append(late, s.now)
					}
					// some events schedule more (one to three: a later
					// push may be due before an earlier one): now, soon,
					// or at a time already taken
					for j := r.IntN(3); j >= 0 && len(want) < 3*n; j-- {
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
			if stepped {
				// in short steps, as StaleSpansUntilHealed runs: an event
				// waiting in next past a step's end waits for the next step
				for end := vtime.Time(7); s.hasNext || s.ringLen > 0 || len(s.q) > 0; end += vtime.Time(r.IntN(400)) {
					stepEnd = end
					if err := s.run(nil, end, -1); err != nil {
						t.Fatal(err)
					}
					if s.now != end {
						t.Fatalf("n=%d: a step to %v left the clock at %v", n, end, s.now)
					}
				}
			} else if err := s.run(nil, vtime.Time(1<<40), -1); err != nil {
				t.Fatal(err)
			}
			slices.SortStableFunc(want, func(a, b rec) int {
				if a.at != b.at {
					return int(a.at - b.at)
				}
				return a.seq - b.seq
			})
			if len(late) > 0 {
				t.Fatalf("n=%d: %d events ran after the end of their step (the first at %v)", n, len(late), late[0])
			}
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d stepped=%v: %d events ran in another order than (time, insertion)", n, stepped, len(got))
			}
		}
	}
}

// TestInt64NAsRand: int64n draws what rand.Rand's Int64N draws from the
// same generator, value for value, for sizes that are and are not powers
// of two, small and close to the top (where redraws are frequent).
func TestInt64NAsRand(t *testing.T) {
	for _, n := range []int64{1, 2, 3, 7, 100, 1 << 10, 100_000, 1e9, 1<<62 + 1, 1<<63 - 1, 3 << 61} {
		a, b := rand.NewPCG(5, uint64(n)), rand.NewPCG(5, uint64(n))
		r := rand.New(a)
		for i := 0; i < 20000; i++ {
			if want, got := r.Int64N(n), int64n(b, n); got != want {
				t.Fatalf("n=%d draw %d: int64n %d, rand.Rand %d", n, i, got, want)
			}
		}
	}
}
