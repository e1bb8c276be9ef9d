package stack

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"
)

// recorder is an Observer that keeps the decisions and the inputs behind
// them.
type recorder struct {
	kinds []InputKind
	rules []neigh.Rule
	lines []trace.Event
}

func (r *recorder) Observe(h *Host, in *Input, res *neigh.Result) {
	for i := range res.Decisions {
		r.kinds = append(r.kinds, in.Kind)
		r.rules = append(r.rules, res.Decisions[i].Rule)
		h.Lines(in, &res.Decisions[i], 0, nil, func(ev trace.Event) { r.lines = append(r.lines, ev) })
	}
}

// fataler is the part of testing.T newHost uses (rapid.T has it too).
type fataler interface {
	Helper()
	Fatal(...any)
}

func newHost(t fataler, profile string) (*Host, *Device, *recorder) {
	t.Helper()
	prof, err := kernel.Lookup(profile)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	h, err := New(Config{Name: "h", Profile: prof, Rand: rand.New(rand.NewPCG(1, 2)), Start: 1_000_000, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	d := h.AddDevice("eth0", testkit.MACHost, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")})
	return h, d, rec
}

var (
	ipHost = netip.MustParseAddr("10.0.0.1")
	ipF    = netip.MustParseAddr("10.0.0.10")
	ipG    = netip.MustParseAddr("10.0.0.20")
)

// TestRouting: connected subnets first, then the longest gateway route,
// with the gateway as next hop; broadcasts are told apart.
func TestRouting(t *testing.T) {
	h, d, _ := newHost(t, "6.18")
	def := h.AddGateway(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.0.0.254"))
	narrow := h.AddGateway(netip.MustParsePrefix("192.0.2.0/24"), netip.MustParseAddr("10.0.0.253"))
	if dev, nh, rs, ok := h.Route(ipF); !ok || dev != d || nh != ipF || rs[0] != d.Routes[0] {
		t.Errorf("on-link: %v %v %v %v", dev, nh, rs, ok)
	}
	if _, nh, rs, ok := h.Route(netip.MustParseAddr("192.0.2.9")); !ok || nh != narrow.Via || rs[0] != narrow.Routes[0] {
		t.Errorf("longest prefix: %v %v", nh, ok)
	}
	if _, nh, _, ok := h.Route(netip.MustParseAddr("198.51.100.1")); !ok || nh != def.Via {
		t.Errorf("default route: %v %v", nh, ok)
	}
	if !h.IsBroadcast(netip.MustParseAddr("10.0.0.255")) || !h.IsBroadcast(netip.MustParseAddr("255.255.255.255")) || h.IsBroadcast(ipF) {
		t.Error("broadcast detection")
	}
}

// TestInputsReachTheObserver: each input's result comes to the observer
// with its kind, and a frame that changes an entry writes its decision
// line then a state line.
func TestInputsReachTheObserver(t *testing.T) {
	h, d, rec := newHost(t, "6.18")
	if err := h.Install(d, ipF, testkit.MACOld, neigh.Stale, 999_000); err != nil {
		t.Fatal(err)
	}
	h.Advance(1_000_100)
	p := testkit.GARPRequest(ipF, testkit.MACNew)
	h.ReceiveARP(d, &p, neigh.PktBroadcast, 7, arp.Broadcast, true)
	if e, _ := h.Table.Lookup(d.Device, ipF); e.LLAddr != testkit.MACNew {
		t.Fatalf("the GARP did not move the entry: %+v", e)
	}
	n := len(rec.lines)
	if n < 2 || rec.lines[n-2].Kind != trace.KindARP || rec.lines[n-2].Frame != 7 || rec.lines[n-2].ARP == nil ||
		rec.lines[n-1].Kind != trace.KindState || rec.lines[n-1].LLAddr != testkit.MACNew.String() {
		t.Fatalf("lines: %+v", rec.lines)
	}
	if rec.kinds[len(rec.kinds)-1] != InARP || rec.kinds[0] != InInstall {
		t.Errorf("input kinds %v", rec.kinds)
	}
	// the TCP-ACK rule confirms through the host's socket
	syn := testkit.TCP(ipHost, ipG, 40000, 80, 100, 0, ipv4.FlagSYN, 0)
	hd, _ := ipv4.Parse(syn)
	sock := h.SentIPv4(&hd, hd.Payload(syn), d.Routes[0])
	if v, _, _ := h.Output(d, ipG, sock, 0, len(syn), 0); v != neigh.TxQueued {
		t.Fatalf("first packet to G: %v, want queued while G resolves", v)
	}
	synack := testkit.TCP(ipG, ipHost, 80, 40000, 900, 101, ipv4.FlagSYN|ipv4.FlagACK, 0)
	hd, _ = ipv4.Parse(synack)
	if !h.ReceiveIPv4(&hd, hd.Payload(synack), 9) {
		t.Error("the SYN-ACK did not confirm")
	}
	if h.ReceiveIPv4(&hd, hd.Payload(synack), 10) {
		t.Error("a second SYN-ACK with nothing in flight confirmed")
	}
}

// TestSysctlSyntax: one key syntax, with or without net.ipv4., dots or
// slashes; anything else is refused with the key named.
func TestSysctlSyntax(t *testing.T) {
	h, d, _ := newHost(t, "6.18")
	for _, k := range []string{"neigh.eth0.locktime", "net.ipv4.neigh.eth0.locktime", "net/ipv4/neigh/eth0/locktime"} {
		if err := h.Sysctl(k, "50"); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if d.Params.Locktime != vtime.Ticks(50*h.Table.HZ/100) {
		t.Errorf("locktime %d ticks", d.Params.Locktime)
	}
	if err := h.Sysctl("locktime", "50"); err == nil {
		t.Error("a bare key was accepted")
	}
}

// TestUnwiredInputs: the inputs no driver feeds yet (ConfirmNeighbour,
// CarrierDown) reach the model, the Observer and the trace lines through
// the same path as the others, so wiring one is a call in the driver's
// source of it and nothing else.
func TestUnwiredInputs(t *testing.T) {
	h, d, rec := newHost(t, "6.18")
	if err := h.Install(d, ipF, testkit.MACOld, neigh.Stale, 999_000); err != nil {
		t.Fatal(err)
	}
	h.Advance(1_000_100)
	rec.kinds, rec.rules, rec.lines = nil, nil, nil
	h.ConfirmNeighbour(d, ipF, "udp MSG_CONFIRM")
	if e, _ := h.Lookup(d, ipF); e.Confirmed != 1_000_100 {
		t.Errorf("ConfirmNeighbour: confirmed=%d, want 1000100", e.Confirmed)
	}
	if len(rec.kinds) != 1 || rec.kinds[0] != InConfirm || rec.rules[0] != neigh.RuleConfirmImmediate {
		t.Errorf("ConfirmNeighbour observed as %v %v", rec.kinds, rec.rules)
	}
	rec.kinds, rec.rules, rec.lines = nil, nil, nil
	h.CarrierDown(d)
	if _, ok := h.Lookup(d, ipF); ok {
		t.Error("CarrierDown left the entry (6.18 evicts on carrier loss, spec §7.3)")
	}
	if len(rec.kinds) != 1 || rec.kinds[0] != InCarrierDown || rec.rules[0] != neigh.RuleCarrierFlush {
		t.Errorf("CarrierDown observed as %v %v", rec.kinds, rec.rules)
	}
	if len(rec.lines) != 1 || rec.lines[0].IP != ipF.String() || rec.lines[0].OldState != "STALE" {
		t.Errorf("CarrierDown's trace lines: %+v", rec.lines)
	}
}
