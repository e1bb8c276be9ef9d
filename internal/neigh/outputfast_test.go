package neigh

import (
	"fmt"
	"testing"
)

// TestOutputFastIsOutput: wherever OutputFast takes a packet, Output on an
// identical table sends it to the same MAC with an empty result and leaves
// the entry and the socket's confirmation flags as OutputFast left them;
// wherever it declines, it has changed nothing. Every entry state, with
// and without the cached header, a pending confirmation and QuietConfirm,
// on a shared-route (RHEL 7.3) and a per-socket (6.18) kernel.
func TestOutputFastIsOutput(t *testing.T) {
	states := []State{None, Incomplete, Reachable, Stale, Delay, Probe, Failed, Permanent, NoARP}
	taken := map[string]bool{}
	for _, prof := range []string{"rhel7.3", "6.18"} {
		for _, st := range states {
			for _, hh := range []bool{false, true} {
				for _, pending := range []bool{false, true} {
					for _, quiet := range []bool{false, true} {
						name := fmt.Sprintf("%s/%v/hh=%v/pending=%v/quiet=%v", prof, st, hh, pending, quiet)
						// build: the same steps on two tables
						build := func() (*harness, *Socket) {
							h := newHarness(t, prof)
							h.tb.QuietConfirm = quiet
							sock := &Socket{Name: "s", Route: &Route{}}
							if st != None {
								h.seed(ipF, macOld, st)
							}
							if hh {
								h.send(ipF, nil) // the slow path caches the header
								if st != None {
									h.seed(ipF, macOld, st) // and back to st
								}
							}
							h.now += 5
							if pending {
								h.tb.Confirm(h.now, sock)
							}
							return h, sock
						}
						a, sa := build()
						b, sb := build()
						before, had := a.tb.Lookup(a.dev, ipF)
						flags := func(s *Socket) [2]bool { return [2]bool{s.PendingConfirm, s.Route.PendingConfirm} }
						fl := flags(sa)
						mac, ok := a.tb.OutputFast(a.now, a.dev, ipF, sa)
						if !ok {
							after, has := a.tb.Lookup(a.dev, ipF)
							if has != had || after != before || flags(sa) != fl {
								t.Fatalf("%s: OutputFast declined but changed the entry or the socket", name)
							}
							continue
						}
						taken[prof] = true
						v, mac2, r := b.tb.Output(b.now, b.dev, ipF, sb, 1, 100)
						if v != TxSent || mac2 != mac || len(r.Decisions) != 0 || len(r.Actions) != 0 {
							t.Fatalf("%s: OutputFast sent to %v, Output %v to %v with %d decisions, %d actions",
								name, mac, v, mac2, len(r.Decisions), len(r.Actions))
						}
						ea, _ := a.tb.Lookup(a.dev, ipF)
						eb, _ := b.tb.Lookup(b.dev, ipF)
						if ea != eb || flags(sa) != flags(sb) {
							t.Fatalf("%s: entry or socket differ: fast %+v %v, Output %+v %v", name, ea, flags(sa), eb, flags(sb))
						}
					}
				}
			}
		}
	}
	for _, prof := range []string{"rhel7.3", "6.18"} {
		if !taken[prof] {
			t.Errorf("%s: OutputFast never took a packet", prof)
		}
	}
}
