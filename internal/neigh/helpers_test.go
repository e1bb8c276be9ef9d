package neigh

import (
	"arplab/internal/testkit"
	"math/rand/v2"
	"net/netip"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

var (
	macOld, macNew, macSelf = testkit.MACOld, testkit.MACNew, testkit.MACHost

	ipSelf  = netip.MustParseAddr("172.24.4.1")
	ipF     = netip.MustParseAddr("172.24.4.10")
	ipOther = netip.MustParseAddr("172.24.4.20")
)

// base is where test clocks start: far from 0 so that `now - 2×base` and
// similar arithmetic never goes below zero by accident.
const base vtime.Jiffies = 1_000_000

// harness drives one table the way the simulator does.
type harness struct {
	t   *testing.T
	tb  *Table
	dev *Device
	now vtime.Jiffies
	log []Decision
	act []Action
}

func newHarness(t *testing.T, profile string, edits ...string) *harness {
	t.Helper()
	p, err := kernel.Lookup(profile)
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) > 0 {
		if p, err = p.WithPatches(edits); err != nil {
			t.Fatal(err)
		}
	}
	tb, err := NewTable(Config{Profile: p, HZ: 1000, Rand: rand.New(rand.NewPCG(1, 2)), Now: base})
	if err != nil {
		t.Fatal(err)
	}
	d := tb.AddDevice("eth2", macSelf, []netip.Prefix{netip.MustParsePrefix("172.24.4.1/24")})
	d.ReachableTime = 30 * 1000 // make reachable_time exact for tests
	return &harness{t: t, tb: tb, dev: d, now: base}
}

func (h *harness) record(r *Result) {
	h.log = append(h.log, r.Decisions...)
	h.act = append(h.act, r.Actions...)
}

// at advances to tick now, running every timer on the way.
func (h *harness) at(now vtime.Jiffies) {
	h.t.Helper()
	if vtime.Before(now, h.now) {
		h.t.Fatalf("harness: time going backwards %d < %d", now, h.now)
	}
	h.record(h.tb.Tick(now))
	h.now = now
}

// seed puts ip in state st with mac, all stamps at the current tick.
func (h *harness) seed(ip netip.Addr, mac arp.MAC, st State) {
	h.t.Helper()
	r, err := h.tb.Admin(h.now, h.dev, AdminReplace, ip, &mac, st)
	if err != nil {
		h.t.Fatal(err)
	}
	h.record(r)
}

func (h *harness) entry(ip netip.Addr) Snapshot {
	h.t.Helper()
	s, ok := h.tb.Lookup(h.dev, ip)
	if !ok {
		h.t.Fatalf("no entry for %v", ip)
	}
	return s
}

func (h *harness) want(ip netip.Addr, st State, mac arp.MAC) {
	h.t.Helper()
	s := h.entry(ip)
	if s.State != st || s.LLAddr != mac {
		h.t.Fatalf("entry %v = %v %v, want %v %v", ip, s.State, s.LLAddr, st, mac)
	}
}

var garpReply = testkit.GARPReply

func garpRequest(ip netip.Addr, mac arp.MAC) arp.Packet {
	return arp.NewPacket(arp.OpRequest, mac, ip, arp.Broadcast, ip)
}

// rx delivers a frame at the current tick and returns its decision.
func (h *harness) rx(p arp.Packet, pt PktType) Decision {
	h.t.Helper()
	r := h.tb.ReceiveARP(h.now, h.dev, &p, pt)
	h.record(r)
	for _, d := range r.Decisions {
		if d.Frame {
			return d
		}
	}
	h.t.Fatalf("no frame decision")
	return Decision{}
}

// send is a packet from sock to ip at the current tick.
func (h *harness) send(ip netip.Addr, sock *Socket) (TxVerdict, arp.MAC) {
	v, mac, r := h.tb.Output(h.now, h.dev, ip, sock, 1, 100)
	h.record(r)
	return v, mac
}

func (h *harness) probes() (unicast, broadcast int) {
	for _, a := range h.act {
		if a.Kind == ActProbe {
			if a.Unicast {
				unicast++
			} else {
				broadcast++
			}
		}
	}
	return
}

func netIP(s string) netip.Addr { return netip.MustParseAddr(s) }

func newReply() arp.Packet { return arp.NewPacket(arp.OpReply, macNew, ipF, macSelf, ipSelf) }
