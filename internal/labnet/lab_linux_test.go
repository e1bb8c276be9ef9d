package labnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/labsys"
	"arplab/internal/neigh"
	"arplab/internal/testkit"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

const skipMsg = "lab tests need root (CAP_NET_ADMIN, CAP_NET_RAW): run as root"

// childEnv makes the test binary act as a lab run that gets killed
// (TestCleanStaleRemovesKilledRun).
const childEnv = "ARPLAB_LAB_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "killed":
		os.Exit(runKilledChild(false))
	case "signal":
		os.Exit(runKilledChild(true))
	case "noperm":
		_, err := New(DefaultPrefix())
		fmt.Printf("%v|%v\n", errors.Is(err, labsys.ErrNotPermitted), err)
		os.Exit(0)
	}
	os.Exit(2)
}

var labSeq atomic.Int32

// needRoot skips unless the test can build namespaces.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip(skipMsg)
	}
}

// newTestLab returns a lab that is closed when the test ends; it skips
// the test when namespaces cannot be created.
func newTestLab(t *testing.T) *Lab {
	t.Helper()
	needRoot(t)
	l, err := New(fmt.Sprintf("%s-t%d", DefaultPrefix(), labSeq.Add(1)))
	if errors.Is(err, labsys.ErrNotPermitted) {
		t.Skipf("%s (%v)", skipMsg, err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// addHost adds a host and skips the test if the kernel refuses a netns.
func addHost(t *testing.T, l *Lab, name string) *Host {
	t.Helper()
	h, err := l.AddHost(name)
	if errors.Is(err, labsys.ErrNotPermitted) || errors.Is(err, unix.EPERM) {
		t.Skipf("%s (%v)", skipMsg, err)
	}
	if err != nil {
		t.Fatalf("AddHost(%q): %v", name, err)
	}
	return h
}

var (
	macObs    = arp.MAC{0x02, 0, 0, 0, 0, 0x01}
	macOld    = arp.MAC{0x02, 0, 0, 0, 0, 0xaa}
	macNew    = arp.MAC{0x02, 0, 0, 0, 0, 0xbb}
	macOther  = arp.MAC{0x02, 0, 0, 0, 0, 0xcc}
	ipObs     = netip.MustParsePrefix("10.99.0.1/24")
	ipSnd     = netip.MustParsePrefix("10.99.0.2/24")
	ipOther   = netip.MustParsePrefix("10.99.0.3/24")
	vip       = netip.MustParseAddr("10.99.0.100")
	testLimit = 5 * time.Second
)

// pair is the §G topology: an observer and a sender (owning macNew) on
// one segment.
type pair struct {
	lab            *Lab
	obs, snd       *Host
	obsIf, sndIf   string
	sndPort        *RawPort
	seg            *Segment
	tracer         *ktrace.Tracer
	tracerDisabled string
}

func newPair(t *testing.T, opts SegmentOptions, trace bool) *pair {
	t.Helper()
	l := newTestLab(t)
	p := &pair{lab: l, obsIf: l.IfName("o"), sndIf: l.IfName("s")}
	p.obs = addHost(t, l, "obs")
	p.snd = addHost(t, l, "snd")
	var err error
	if p.seg, err = l.AddSegmentWith("lan", opts); err != nil {
		t.Fatalf("AddSegment: %v", err)
	}
	if err := l.Attach(p.obs, p.obsIf, p.seg, macObs, []netip.Prefix{ipObs}); err != nil {
		t.Fatalf("Attach obs: %v", err)
	}
	if err := l.Attach(p.snd, p.sndIf, p.seg, macNew, []netip.Prefix{ipSnd}); err != nil {
		t.Fatalf("Attach snd: %v", err)
	}
	if p.sndPort, err = p.snd.OpenRaw(p.sndIf); err != nil {
		t.Fatalf("OpenRaw: %v", err)
	}
	if trace {
		p.tracer, err = l.StartTracer(ktrace.TracerOptions{Devs: []string{p.obsIf}})
		if err != nil {
			t.Fatalf("StartTracer: %v", err)
		}
	}
	return p
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testLimit)
	t.Cleanup(cancel)
	return ctx
}

func (p *pair) setEntry(t *testing.T, ll arp.MAC, state neigh.State) {
	t.Helper()
	err := p.obs.NeighSet(neigh.AdminReplace, NeighSpec{Dev: p.obsIf, IP: vip, LLAddr: ll, HasLLAddr: true, State: state})
	if err != nil {
		t.Fatalf("NeighSet: %v", err)
	}
}

func (p *pair) entry(t *testing.T) Neigh {
	t.Helper()
	n, ok, err := p.obs.Neighbour(p.obsIf, vip)
	if err != nil || !ok {
		t.Fatalf("Neighbour(%v) = %v, %v, %v", vip, n, ok, err)
	}
	return n
}

// updateFor waits for the neigh_update of vip that asked for lladdr.
func (p *pair) updateFor(t *testing.T, ll arp.MAC, after int64) ktrace.Event {
	t.Helper()
	ev, err := p.tracer.WaitFor(ctxT(t), func(e ktrace.Event) bool {
		return e.Event == "neigh_update" && e.IP == vip && e.NewLLAddr == ll && e.TimestampNs >= after && e.UpdateFlags&ktrace.UpdateAdmin == 0
	})
	if err != nil {
		t.Fatalf("no neigh_update for %v -> %v: %v\nevents: %v", vip, ll, err, p.tracer.Events())
	}
	return ev
}

func TestGARPRequestOverridesStaleEntry(t *testing.T) {
	p := newPair(t, SegmentOptions{}, true)
	obsPort, err := p.obs.OpenRaw(p.obsIf)
	if err != nil {
		t.Fatal(err)
	}
	p.setEntry(t, macOld, neigh.Stale)
	before := kclock.MonoNs(time.Now())

	frame := testkit.ARPFrame(arp.Broadcast, macNew, arp.NewPacket(arp.OpRequest, macNew, vip, arp.Broadcast, vip))
	sentAt, err := p.sndPort.Send(frame)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := p.obs.WaitNeighbour(ctxT(t), p.obsIf, vip, 5*time.Millisecond, func(n Neigh, ok bool) bool {
		return ok && n.LLAddr == macNew
	})
	if err != nil {
		t.Fatalf("entry never changed to %v: last %v: %v", macNew, n, err)
	}
	if n.State != neigh.Stale {
		t.Errorf("state after GARP request = %s, want STALE", n.State)
	}

	// The observer's raw port saw the frame as a broadcast.
	f, err := obsPort.Recv(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Data[:len(frame)]) != string(frame) || f.Type != ether.PktBroadcast {
		t.Errorf("observer got %x type %v, want %x broadcast", f.Data, f.Type, frame)
	}

	ev := p.updateFor(t, macNew, before)
	if ev.UpdateFlags != ktrace.UpdateOverride || ev.Ignored() {
		t.Errorf("GARP request: update_flags %02x (ignored %v), want 01: %s", ev.UpdateFlags, ev.Ignored(), ev.Raw)
	}
	if ev.NetlinkPID != 0 || ev.Dev != p.obsIf || ev.LLAddr != macOld || ev.NewState != neigh.Stale {
		t.Errorf("unexpected event %+v", ev)
	}
	// The trace clock is CLOCK_MONOTONIC; on a veth the kernel handles
	// the frame inside sendto, so the event precedes sentAt slightly.
	d := time.Duration(kclock.MonoNs(sentAt) - ev.TimestampNs)
	t.Logf("trace event %v before Send returned; line: %s", d, ev.Raw)
	if d < -time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("trace timestamp %d is %v away from sentAt %d", ev.TimestampNs, d, kclock.MonoNs(sentAt))
	}
}

// TestMetalLBReplyIgnoredWithinLocktime reproduces field notes §G cases C
// and D: a broadcast reply with THA ff:ff:ff:ff:ff:ff is not a GARP on
// Linux, so inside locktime of the last update it is ignored, and the
// only trace of that is a neigh_update with update_flags 00.
func TestMetalLBReplyIgnoredWithinLocktime(t *testing.T) {
	p := newPair(t, SegmentOptions{}, true)
	if err := p.obs.SetSysctl("net/ipv4/neigh/"+p.obsIf+"/locktime", "100"); err != nil {
		t.Fatal(err)
	}
	frame := testkit.ARPFrame(arp.Broadcast, macNew, arp.NewPacket(arp.OpReply, macNew, vip, arp.Broadcast, vip))

	p.setEntry(t, macOld, neigh.Reachable)
	before := kclock.MonoNs(time.Now())
	if _, err := p.sndPort.Send(frame); err != nil {
		t.Fatal(err)
	}
	ev := p.updateFor(t, macNew, before)
	if ev.UpdateFlags != 0 || !ev.Ignored() {
		t.Errorf("reply within locktime: update_flags %02x ignored %v, want 00 and ignored: %s", ev.UpdateFlags, ev.Ignored(), ev.Raw)
	}
	if err := p.tracer.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := p.entry(t); n.LLAddr != macOld || n.State != neigh.Reachable {
		t.Errorf("after ignored reply: %v, want %v REACHABLE", n, macOld)
	}
	t.Logf("ignored: %s", ev.Raw)

	// Case D: the same frame after locktime is honoured (STALE: the
	// reply was broadcast, not PACKET_HOST).
	time.Sleep(1200 * time.Millisecond)
	before = kclock.MonoNs(time.Now())
	if _, err := p.sndPort.Send(frame); err != nil {
		t.Fatal(err)
	}
	ev = p.updateFor(t, macNew, before)
	if ev.UpdateFlags != ktrace.UpdateOverride || ev.Ignored() {
		t.Errorf("reply after locktime: update_flags %02x, want 01: %s", ev.UpdateFlags, ev.Raw)
	}
	n, _, err := p.obs.WaitNeighbour(ctxT(t), p.obsIf, vip, 5*time.Millisecond, func(n Neigh, ok bool) bool {
		return ok && n.LLAddr == macNew
	})
	if err != nil || n.State != neigh.Stale {
		t.Errorf("after honoured reply: %v (%v), want %v STALE", n, err, macNew)
	}
	t.Logf("honoured: %s", ev.Raw)
	if p.tracer.Lost() != 0 || len(p.tracer.ParseErrors()) != 0 {
		t.Errorf("lost %d, parse errors %v", p.tracer.Lost(), p.tracer.ParseErrors())
	}
}

func TestSysctlPerNamespace(t *testing.T) {
	p := newPair(t, SegmentOptions{}, false)
	key := "net/ipv4/neigh/" + p.obsIf + "/locktime"
	if err := p.obs.SetSysctl(key, "250"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.obs.GetSysctl(key); err != nil || got != "250" {
		t.Errorf("obs locktime = %q, %v; want 250", got, err)
	}
	if got, err := p.snd.GetSysctl("net/ipv4/neigh/" + p.sndIf + "/locktime"); err != nil || got != "100" {
		t.Errorf("snd locktime = %q, %v; want the default 100", got, err)
	}
	conf := "net/ipv4/conf/" + p.obsIf + "/arp_accept"
	if err := p.obs.SetSysctl(conf, "1"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.obs.GetSysctl(conf); err != nil || got != "1" {
		t.Errorf("%s = %q, %v; want 1", conf, got, err)
	}
	if err := p.obs.SetSysctl("net.ipv4.conf."+p.obsIf+".arp_accept", "1"); err == nil {
		t.Error("SetSysctl accepted the dotted form (keys are paths; scenario.SplitSysctl reads dotted keys)")
	}
	// The root namespace has no such interface.
	if _, err := os.Stat("/proc/sys/net/ipv4/conf/" + p.obsIf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root namespace sees %s: %v", p.obsIf, err)
	}
	if err := p.obs.SetSysctl("kernel/hostname", "x"); err == nil {
		t.Error("SetSysctl outside net/ succeeded")
	}
}

func TestNeighOps(t *testing.T) {
	p := newPair(t, SegmentOptions{}, false)
	h, dev := p.obs, p.obsIf
	spec := NeighSpec{Dev: dev, IP: vip, LLAddr: macOld, HasLLAddr: true, State: neigh.Stale}
	if err := h.NeighSet(neigh.AdminChange, spec); !errors.Is(err, unix.ENOENT) {
		t.Errorf("change of a missing entry: %v, want ENOENT", err)
	}
	if err := h.NeighSet(neigh.AdminAdd, spec); err != nil {
		t.Fatal(err)
	}
	if err := h.NeighSet(neigh.AdminAdd, spec); !errors.Is(err, unix.EEXIST) {
		t.Errorf("second add: %v, want EEXIST", err)
	}
	if err := h.NeighSet(neigh.AdminChange, NeighSpec{Dev: dev, IP: vip, State: neigh.Reachable}); err != nil {
		t.Fatal(err)
	}
	n := p.entry(t)
	if n.LLAddr != macOld || n.State != neigh.Reachable || n.Updated > time.Second {
		t.Errorf("after change: %v", n)
	}
	perm := netip.MustParseAddr("10.99.0.200")
	if err := h.NeighSet(neigh.AdminReplace, NeighSpec{Dev: dev, IP: perm, LLAddr: macOther, HasLLAddr: true, State: neigh.Permanent}); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := h.Neighbour(dev, perm); n.State != neigh.Permanent {
		t.Errorf("state = %v, want PERMANENT", n.State)
	}
	got, err := h.NeighFlush(dev)
	if err != nil || got != 1 {
		t.Errorf("flush = %d, %v; want 1 (the permanent entry stays)", got, err)
	}
	if _, ok, _ := h.Neighbour(dev, vip); ok {
		t.Error("flushed entry still there")
	}
	if err := h.NeighDel(dev, perm); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.Neighbours(dev); len(list) != 0 {
		t.Errorf("entries left: %v", list)
	}
}

// TestSegmentFlooding checks FloodUnknown: on a hub every unicast frame
// reaches every port; on a learning bridge it does not, once the
// destination is known.
func TestSegmentFlooding(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flood     bool
		wantOther bool
	}{{"LearningBridge", false, false}, {"Hub", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, SegmentOptions{FloodUnknown: tc.flood}, false)
			third := addHost(t, p.lab, "third")
			thirdIf := p.lab.IfName("c")
			if err := p.lab.Attach(third, thirdIf, p.seg, macOther, []netip.Prefix{ipOther}); err != nil {
				t.Fatal(err)
			}
			thirdPort, err := third.OpenRaw(thirdIf)
			if err != nil {
				t.Fatal(err)
			}
			obsPort, err := p.obs.OpenRaw(p.obsIf)
			if err != nil {
				t.Fatal(err)
			}
			// Let the bridge learn where macOther lives.
			if _, err := thirdPort.Send(testkit.ARPFrame(arp.Broadcast, macOther, arp.NewPacket(arp.OpRequest, macOther, ipOther.Addr(), arp.Zero, ipOther.Addr()))); err != nil {
				t.Fatal(err)
			}
			if f, err := obsPort.Recv(ctxT(t)); err != nil || f.Type != ether.PktBroadcast {
				t.Fatalf("broadcast: %v %v", f.Type, err)
			}
			uni := testkit.ARPFrame(macOther, macNew, arp.NewPacket(arp.OpReply, macNew, ipSnd.Addr(), macOther, ipSnd.Addr()))
			if _, err := p.sndPort.Send(uni); err != nil {
				t.Fatal(err)
			}
			if f, err := thirdPort.Recv(ctxT(t)); err != nil || f.Type != ether.PktHost {
				t.Fatalf("destination got %v, %v; want host", f.Type, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			f, err := obsPort.Recv(ctx)
			gotOther := err == nil
			if gotOther && f.Type != ether.PktOtherHost {
				t.Errorf("bystander got type %v, want otherhost", f.Type)
			}
			if gotOther != tc.wantOther {
				t.Errorf("bystander saw the unicast frame: %v, want %v (err %v)", gotOther, tc.wantOther, err)
			}
		})
	}
}

// TestOutgoingARPIsCaptured checks that a raw port sees the host kernel's
// own ARP (ether.PktOutgoing): an `ip neigh ... use` on an unknown address
// makes the kernel broadcast a request.
func TestOutgoingARPIsCaptured(t *testing.T) {
	p := newPair(t, SegmentOptions{}, false)
	port, err := p.obs.OpenRaw(p.obsIf)
	if err != nil {
		t.Fatal(err)
	}
	target := netip.MustParseAddr("10.99.0.77")
	if err := p.obs.NeighSet(neigh.AdminReplace, NeighSpec{Dev: p.obsIf, IP: target, State: neigh.None, Use: true}); err != nil {
		t.Fatal(err)
	}
	f, err := port.Recv(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var pkt arp.Packet
	if err := pkt.Unmarshal(f.Data[14:]); err != nil {
		t.Fatal(err)
	}
	if f.Type != ether.PktOutgoing || pkt.Op != arp.OpRequest || pkt.TIP != target || pkt.SHA != macObs {
		t.Errorf("captured %v %+v, want the kernel's outgoing request for %v", f.Type, pkt, target)
	}
}

func labNamespaces(t *testing.T, prefix string) []string {
	t.Helper()
	names, err := listNamedNS()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix+"-") {
			out = append(out, n)
		}
	}
	return out
}

func TestCloseRemovesEverything(t *testing.T) {
	p := newPair(t, SegmentOptions{}, true)
	inst := p.tracer.Dir()
	if got := labNamespaces(t, p.lab.Prefix()); len(got) != 3 {
		t.Fatalf("namespaces before Close: %v, want 3", got)
	}
	if err := p.lab.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.lab.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := labNamespaces(t, p.lab.Prefix()); len(got) != 0 {
		t.Errorf("namespaces after Close: %v", got)
	}
	if _, err := os.Stat(inst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("trace instance %s still there: %v", inst, err)
	}
	for _, m := range ktrace.PrivateMounts() {
		if strings.HasPrefix(filepath.Base(m), p.lab.Prefix()+"-") {
			t.Errorf("tracefs mount %s left", m)
		}
	}
	if _, err := p.lab.AddHost("late"); !errors.Is(err, labsys.ErrClosed) {
		t.Errorf("AddHost after Close: %v, want labsys.ErrClosed", err)
	}
	if _, err := p.obs.Neighbours(p.obsIf); !errors.Is(err, labsys.ErrClosed) {
		t.Errorf("Neighbours after Close: %v, want labsys.ErrClosed", err)
	}
}
