package neigh

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"pgregory.net/rapid"

	"arplab/internal/kernel"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// program is a random sequence of inputs for one table.
type step struct {
	Gap    int // ticks before the input
	Kind   int // 0 rx, 1 send, 2 confirm, 3 admin
	IP     int // which of three neighbours
	MAC    int // which of three MACs
	Op     int
	PT     int
	THA    int
	Accept int
}

var (
	propIPs  = []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.4")}
	propMACs = []arp.MAC{{2, 0, 0, 0, 0, 0xa}, {2, 0, 0, 0, 0, 0xb}, {2, 0, 0, 0, 0, 0xc}}
)

func genProgram(t *rapid.T) (string, []step) {
	prof := rapid.SampledFrom(kernel.Names()).Draw(t, "profile")
	steps := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) step {
		return step{
			Gap:    rapid.IntRange(0, 7000).Draw(t, "gap"),
			Kind:   rapid.IntRange(0, 3).Draw(t, "kind"),
			IP:     rapid.IntRange(0, 2).Draw(t, "ip"),
			MAC:    rapid.IntRange(0, 2).Draw(t, "mac"),
			Op:     rapid.IntRange(1, 2).Draw(t, "op"),
			PT:     rapid.IntRange(0, 1).Draw(t, "pt"),
			THA:    rapid.IntRange(0, 2).Draw(t, "tha"),
			Accept: rapid.IntRange(0, 1).Draw(t, "accept"),
		}
	}), 1, 60).Draw(t, "steps")
	return prof, steps
}

// observer is called before and after every input.
type observer func(before, after map[netip.Addr]Snapshot, r *Result, s step, tb *Table)

func runProgram(t interface{ Fatal(...any) }, prof string, seed uint64, steps []step, obs observer) []string {
	p, _ := kernel.Lookup(prof)
	tb, err := NewTable(Config{Profile: p, Rand: rand.New(rand.NewPCG(seed, seed)), Now: base})
	if err != nil {
		t.Fatal(err)
	}
	dev := tb.AddDevice("eth0", macSelf, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")})
	routes := &Route{Name: "r"}
	socks := []*Socket{{Name: "a", Route: routes}, {Name: "b", Route: routes}, {Name: "c", Route: routes}}
	snap := func() map[netip.Addr]Snapshot {
		m := map[netip.Addr]Snapshot{}
		for _, s := range tb.Entries() {
			m[s.IP] = s
		}
		return m
	}
	var log []string
	keep := func(r *Result) {
		for i := range r.Decisions {
			log = append(log, r.Decisions[i].Explain())
		}
		for _, a := range r.Actions {
			log = append(log, fmt.Sprintf("%d %v %v %v", a.Kind, a.Target, a.DstMAC, a.Unicast))
		}
	}
	now := vtime.Jiffies(base)
	for _, s := range steps {
		end := now + vtime.Jiffies(s.Gap)
		// run timers one deadline at a time so observers see each
		for {
			next := tb.NextDeadline()
			if vtime.After(next, end) {
				break
			}
			before := snap()
			r := tb.Tick(next)
			if obs != nil {
				obs(before, snap(), r, step{Kind: -1}, tb)
			}
			keep(r)
		}
		now = end
		before := snap()
		var r *Result
		ip, mac := propIPs[s.IP], propMACs[s.MAC]
		switch s.Kind {
		case 0:
			tb.All.ARPAccept = s.Accept
			tha := []arp.MAC{arp.Zero, arp.Broadcast, mac}[s.THA]
			tip := ip
			if s.THA == 0 {
				tip = netip.MustParseAddr("10.0.0.1")
			}
			pkt := arp.NewPacket(arp.Op(s.Op), mac, ip, tha, tip)
			r = tb.ReceiveARP(now, dev, &pkt, PktType(s.PT))
		case 1:
			_, _, r = tb.Output(now, dev, ip, socks[s.IP], 1, 100)
		case 2:
			r = tb.Confirm(now, socks[s.MAC])
		case 3:
			st := []State{Stale, Permanent, Reachable}[s.MAC]
			r, _ = tb.Admin(now, dev, AdminReplace, ip, &mac, st)
		}
		if obs != nil {
			obs(before, snap(), r, s, tb)
		}
		keep(r)
	}
	return log
}

// TestPropertyStaticEntriesChangeOnlyThroughAdmin: PERMANENT (and NOARP)
// entries are never changed by frames, packets or timers (§5 step 2).
func TestPropertyStaticEntriesChangeOnlyThroughAdmin(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prof, steps := genProgram(t)
		runProgram(t, prof, 1, steps, func(before, after map[netip.Addr]Snapshot, r *Result, s step, tb *Table) {
			if s.Kind == 3 {
				return
			}
			for ip, b := range before {
				if b.State != Permanent && b.State != NoARP {
					continue
				}
				a, ok := after[ip]
				if !ok || a.State != b.State || a.LLAddr != b.LLAddr || a.Updated != b.Updated {
					t.Fatalf("%s: static entry %v changed by input kind %d: %+v → %+v", prof, ip, s.Kind, b, a)
				}
			}
		})
	})
}

// TestPropertyProbeNeverExceedsMax: between entering PROBE (or INCOMPLETE)
// and leaving it, no more than max_probes solicitations go out.
func TestPropertyProbeNeverExceedsMax(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prof, steps := genProgram(t)
		sent := map[netip.Addr]int{}
		runProgram(t, prof, 2, steps, func(before, after map[netip.Addr]Snapshot, r *Result, s step, tb *Table) {
			for ip := range sent {
				if a := after[ip]; a.State != Probe && a.State != Incomplete {
					delete(sent, ip)
				}
			}
			for _, d := range r.Decisions {
				if d.Rule == RuleDelayToProbe || d.Rule == RuleStartResolution {
					sent[d.IP] = 0
				}
			}
			for _, a := range r.Actions {
				if a.Kind == ActProbe {
					sent[a.Target]++
					max := 3 + 3 // ucast + mcast (INCOMPLETE); PROBE: 3
					if after[a.Target].State == Probe {
						max = 3
					}
					if sent[a.Target] > max {
						t.Fatalf("%s: %d probes for %v in %v, max %d", prof, sent[a.Target], a.Target, after[a.Target].State, max)
					}
				}
			}
		})
	})
}

// TestPropertySameSeedSameSequence: the model is deterministic.
func TestPropertySameSeedSameSequence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prof, steps := genProgram(t)
		seed := rapid.Uint64().Draw(t, "seed")
		a := runProgram(t, prof, seed, steps, nil)
		b := runProgram(t, prof, seed, steps, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("two runs of the same program differ")
		}
	})
}

// TestPropertyIgnoredUpdateChangesOnlyStamps: a frame judged "ignored"
// leaves state and lladdr alone and moves `updated` only on kernels
// without 77d7123342dc, `confirmed` only for a unicast reply where F5 holds.
func TestPropertyIgnoredUpdateChangesOnlyStamps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prof, steps := genProgram(t)
		runProgram(t, prof, 3, steps, func(before, after map[netip.Addr]Snapshot, r *Result, s step, tb *Table) {
			for _, d := range r.Decisions {
				if !d.Frame || d.Verdict != VerdictIgnored {
					continue
				}
				b, a := before[d.IP], after[d.IP]
				if a.State != b.State || a.LLAddr != b.LLAddr {
					t.Fatalf("%s: ignored frame changed %v: %+v → %+v", prof, d.IP, b, a)
				}
				if a.Updated != b.Updated && tb.F.TimestampsOnChange {
					t.Fatalf("%s: ignored frame moved updated with F4", prof)
				}
				if a.Confirmed != b.Confirmed && !(tb.F.ConfirmIneffective && d.Requested == Reachable) {
					t.Fatalf("%s: ignored frame moved confirmed (requested %v)", prof, d.Requested)
				}
			}
		})
	})
}
