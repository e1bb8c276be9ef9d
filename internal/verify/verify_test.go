package verify

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/lab"
	"arplab/internal/labnet"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/testkit"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

var (
	macObs = arp.MAC{0x02, 0, 0, 0, 9, 1}
	macOld = arp.MAC{0x02, 0, 0, 0, 9, 0xaa}
	macNew = arp.MAC{0x02, 0, 0, 0, 9, 0xbb}
	vip    = netip.MustParseAddr("10.9.0.100")
)

const synthScenario = `
name: synthetic
duration: 3s
segments: [{name: lan}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:09:01", addrs: [10.9.0.1/24]}]
stations:
  - {name: new, segment: lan, mac: "02:00:00:00:09:bb"}
script:
  - {at: 0.5s, neigh: {host: obs, cmd: "replace 10.9.0.100 lladdr 02:00:00:00:09:aa nud reachable dev eth0"}}
  - {at: 0.8s, garp: {from: new, ip: 10.9.0.100, preset: arping-U, count: 1}}
checks:
  - {at: 1s, host: obs, ip: 10.9.0.100, state: STALE, lladdr: "02:00:00:00:09:bb"}
`

// synthRun is what the lab records for synthScenario on a 6.18 kernel at
// HZ=250: the admin command, the GARP request honoured inside locktime,
// and the table read at t = 1 s.
func synthRun() *lab.LabRun {
	const admCmd = "replace 10.9.0.100 lladdr 02:00:00:00:09:aa nud reachable dev eth0"
	admParsed, err := scenario.ParseNeighCmd(admCmd)
	if err != nil {
		panic(err)
	}
	const epoch = int64(10e9)
	c := kclock.Clock{HZ: 250, RefJ: 1_000_000, RefNs: epoch - 1_500_000}
	j := func(ns int64) uint64 { return c.Jiffies(ns) }
	params := labnet.NeighParams{ReachableTime: 30 * time.Second, BaseReachableTime: 30 * time.Second, RetransTime: time.Second,
		GCStaleTime: time.Minute, DelayProbeTime: 5 * time.Second, Locktime: time.Second, AnycastDelay: time.Second,
		ProxyDelay: 800 * time.Millisecond, QueueLenBytes: 212992, UcastProbes: 3, McastProbes: 3, ProxyQlen: 64}
	adm, garpAt, readAt := epoch+500e6, epoch+800e6, epoch+1000e6
	frame := testkit.ARPFrame(arp.Broadcast, macNew, arp.NewPacket(arp.OpRequest, macNew, vip, arp.Broadcast, vip))
	return &lab.LabRun{
		Scenario: "synthetic", File: "synthetic.yaml", Release: "6.18.44", HZ: 250, HZMethod: "test",
		EpochNs: epoch, EndNs: epoch + 3e9, Clock: c, TraceOK: true,
		Table: labnet.TableInfo{Thresh1: 128, Thresh2: 512, Thresh3: 1024, Default: params},
		Hosts: []lab.RunHost{{Name: "obs", Observed: true, ConfAll: map[string]string{"arp_accept": "0"},
			Devs: []lab.RunDev{{Name: "eth0", IfName: "h0i0abc", MAC: macObs, Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")},
				Params: params, Conf: map[string]string{"arp_accept": "0"}}}}},
		Admin: []lab.RunAdmin{{Host: "obs", Cmd: admCmd, Command: admParsed, Parsed: true, Event: 0,
			BeforeNs: adm, AfterNs: adm + 50e3}},
		Frames: []lab.RunFrame{{Host: "obs", Dev: "eth0", AtNs: garpAt, Stamped: true, Type: ether.PktBroadcast, Data: frame, Len: len(frame)}},
		Trace: []ktrace.Event{
			{Event: "neigh_create", Dev: "h0i0abc", IP: vip, Created: true, TimestampNs: adm + 10e3},
			{Event: "neigh_update", Dev: "h0i0abc", IP: vip, State: neigh.None, NewLLAddr: macOld, NewState: neigh.Reachable,
				UpdateFlags: ktrace.UpdateAdmin | ktrace.UpdateOverride, Updated: j(adm), TimestampNs: adm + 11e3},
			{Event: "neigh_update_done", Dev: "h0i0abc", IP: vip, State: neigh.Reachable, LLAddr: macOld, Updated: j(adm), TimestampNs: adm + 12e3},
			{Event: "neigh_update", Dev: "h0i0abc", IP: vip, State: neigh.Reachable, LLAddr: macOld, NewLLAddr: macNew, NewState: neigh.Stale,
				UpdateFlags: ktrace.UpdateOverride, Updated: j(adm), TimestampNs: garpAt + 20e3},
			{Event: "neigh_update_done", Dev: "h0i0abc", IP: vip, State: neigh.Stale, LLAddr: macNew, Updated: j(garpAt), TimestampNs: garpAt + 22e3},
		},
		Snapshots: []lab.RunSnapshot{{Host: "obs", Reason: "check 0", Check: 0, Event: -1, BeforeNs: readAt, AfterNs: readAt + 100e3,
			Entries: []labnet.Neigh{{Dev: "eth0", IP: vip, LLAddr: macNew, HasLLAddr: true, State: neigh.Stale}}}},
	}
}

func TestCompareSynthetic(t *testing.T) {
	s, err := scenario.Parse([]byte(synthScenario), "synthetic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run := synthRun()
	res, err := Compare(run, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.WriteText(&b)
	if !res.Passed() || res.Stats.Verdicts != 1 || res.Stats.VerdictsAgree != 1 || res.Stats.Entries != 1 {
		t.Fatalf("the 6.18 model should agree with the recorded run:\n%s", b.String())
	}
	if res.Profile != "6.18" || res.Stats.ExactJ != 2 {
		t.Errorf("profile %s, %d exact inputs; want 6.18 and 2 (the admin and the GARP stamped updated)", res.Profile, res.Stats.ExactJ)
	}
	if !strings.Contains(b.String(), "AGREE") || !strings.Contains(b.String(), "checks: 1/1") {
		t.Errorf("text:\n%s", b.String())
	}

	// A 3.14 model has no GARP override without arp_accept.
	res, err = Compare(run, s, Options{Profile: "3.14"})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	res.WriteText(&b)
	t.Logf("\n%s", b.String())
	if res.Agree || len(res.Diffs) < 2 {
		t.Fatalf("a 3.14 model should disagree on the frame and the entry:\n%s", b.String())
	}
	d := res.Diffs[0]
	if d.What != "frame" || d.Frame != 1 || d.Kernel != "honoured → STALE 02:00:00:00:09:bb" ||
		d.Model != "ignored → REACHABLE 02:00:00:00:09:aa" || d.Host != "obs" || d.IP != vip {
		t.Errorf("frame diff = %+v", d)
	}
	if e := res.Diffs[1]; e.What != "entry" || e.Checkpoint != "check 0" || e.Kernel != "STALE 02:00:00:00:09:bb" {
		t.Errorf("entry diff = %+v", e)
	}
	if len(res.Margins) == 0 || res.Margins[0].Kind != MarginLocktime || res.Margins[0].D != 702500*time.Microsecond {
		t.Errorf("margins = %+v, want the frame 702.5 ms before locktime ends (updated at 0.5 s, 1.5 ms into its jiffy)", res.Margins)
	}
}

func TestIPv4Of(t *testing.T) {
	b := make([]byte, 14+20+20)
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0] = 0x45
	ip[2], ip[3] = 0, 20+20+5 // total length: 5 bytes of payload
	ip[9] = 6
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := ip[20:]
	tcp[0], tcp[1], tcp[2], tcp[3] = 0x1e, 0x61, 0x00, 0x50
	tcp[4], tcp[7] = 0, 9 // seq 9
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH|ACK
	p, payload, ok := ipv4Of(b)
	s, tcpOK := ipv4.ParseTCP(&p, payload)
	if !ok || !tcpOK || p.Proto != 6 || s.SrcPort != 7777 || s.DstPort != 80 || s.Seq != 9 || !s.Has(ipv4.FlagACK) || s.DataLen != 5 ||
		p.SrcAddr() != netip.MustParseAddr("10.0.0.1") || p.DstAddr() != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("ipv4Of = %+v, %+v, %v", p, s, ok)
	}
	if _, _, ok := ipv4Of(b[:20]); ok {
		t.Error("a short frame parsed")
	}
}

func TestLoadScenarioAndSummary(t *testing.T) {
	s, err := LoadScenario("garp-request-in-locktime")
	if err != nil || s.File != "scenarios/verify/garp-request-in-locktime.yaml" {
		t.Fatalf("suite name: %v, %v", s, err)
	}
	if s, err := LoadScenario("failure"); err != nil || s.Name != "failure" {
		t.Errorf("built-in: %v, %v", s, err)
	}
	if s, err := LoadScenario("../../scenarios/verify/fast-retrans.yaml"); err != nil || s.Name != "fast-retrans" {
		t.Errorf("file: %v, %v", s, err)
	}
	if _, err := LoadScenario("nosuch"); err == nil || !strings.Contains(err.Error(), "garp-request-in-locktime") {
		t.Errorf("unknown name: %v", err)
	}
	if len(Suite()) < 30 {
		t.Errorf("the suite has %d scenarios, want at least 30", len(Suite()))
	}
	run := synthRun()
	sc, _ := scenario.Parse([]byte(synthScenario), "synthetic.yaml")
	good, _ := Compare(run, sc, Options{})
	bad, _ := Compare(run, sc, Options{Profile: "3.14"})
	var b bytes.Buffer
	if err := WriteSummary(&b, []*Result{good, bad}, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	if !strings.Contains(out, "DISAGREE (2)") || !strings.Contains(out, "1 of 2 scenarios") || !strings.Contains(out, "closest: locktime 703ms") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestTieAtTimerBoundary: a table read a millisecond after the model's
// timer ran, while the kernel's ran a jiffy late, shows the two sides of
// the same change: a tie, not a disagreement. The same read a second
// later, still showing the old state, is a disagreement.
func TestTieAtTimerBoundary(t *testing.T) {
	const scen = `
name: tie
duration: 3s
segments: [{name: lan}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:09:01", addrs: [10.9.0.1/24]}]
script:
  - {at: 0.5s, neigh: {host: obs, cmd: "replace 10.9.0.100 lladdr 02:00:00:00:09:aa nud delay dev eth0"}}
checks:
  - {at: 1s, host: obs, ip: 10.9.0.100, state: PROBE}
`
	s, err := scenario.Parse([]byte(scen), "tie.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		readAt  func(c kclock.Clock, j uint64) int64
		wantTie bool
	}{
		{"read right after the model's timer", func(c kclock.Clock, j uint64) int64 { return c.StartNs(j+1) + 1e6 }, true},
		{"read a second later", func(c kclock.Clock, j uint64) int64 { return c.StartNs(j+1) + 1e9 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := synthRun()
			run.Frames, run.Snapshots = nil, nil
			adm := run.Admin[0].BeforeNs
			run.Admin[0].Cmd = "replace 10.9.0.100 lladdr 02:00:00:00:09:aa nud delay dev eth0"
			j := run.Clock.Jiffies(adm)
			run.Trace = []ktrace.Event{
				{Event: "neigh_create", Dev: "h0i0abc", IP: vip, Created: true, TimestampNs: adm + 10e3},
				{Event: "neigh_update", Dev: "h0i0abc", IP: vip, State: neigh.None, NewLLAddr: macOld, NewState: neigh.Delay,
					UpdateFlags: ktrace.UpdateAdmin | ktrace.UpdateOverride, Updated: j, TimestampNs: adm + 11e3},
				{Event: "neigh_update_done", Dev: "h0i0abc", IP: vip, State: neigh.Delay, LLAddr: macOld, Updated: j, TimestampNs: adm + 12e3},
			}
			at := tc.readAt(run.Clock, j)
			run.Snapshots = []lab.RunSnapshot{{Host: "obs", Reason: "check 0", Check: 0, Event: -1, BeforeNs: at, AfterNs: at + 100e3,
				Entries: []labnet.Neigh{{Dev: "eth0", IP: vip, LLAddr: macOld, HasLLAddr: true, State: neigh.Delay}}}}
			res := compareLogged(t, run, s)
			if tc.wantTie && (!res.Agree || res.Ties == 0) {
				t.Errorf("want a tie, got agree=%v ties=%d", res.Agree, res.Ties)
			}
			if !tc.wantTie && (res.Agree || res.Ties != 0) {
				t.Errorf("want a disagreement, got agree=%v ties=%d", res.Agree, res.Ties)
			}
		})
	}
}

// TestTieInARunOfChanges: on a loaded machine a read can run while two
// inputs change an entry (the admin command creates it, a GARP moves it a
// few hundred microseconds later), and its midpoint can fall before both.
// The kernel's reading (the state after both) is one the model passed
// through during the read: a tie. The same reading from a read that ended
// milliseconds before the inputs is a disagreement.
func TestTieInARunOfChanges(t *testing.T) {
	s, err := scenario.Parse([]byte(synthScenario), "synthetic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		before, after int64 // the read, relative to the admin command
		wantTie       bool
	}{
		{"read running while both inputs land", -300e3, 150e3, true},
		{"read that ended before them", -10e6, -9e6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := synthRun()
			adm := run.Admin[0].BeforeNs
			garp := adm + 200e3
			shift := garp - run.Frames[0].AtNs
			run.Frames[0].AtNs = garp
			for i := 3; i < len(run.Trace); i++ {
				run.Trace[i].TimestampNs += shift
			}
			run.Trace[4].Updated = run.Clock.Jiffies(garp)
			run.Snapshots[0].BeforeNs, run.Snapshots[0].AfterNs = adm+tc.before, adm+tc.after
			res := compareLogged(t, run, s)
			agree := res.Stats.Entries == 1 && res.Stats.EntriesAgree == 1
			if tc.wantTie && (!agree || res.Ties == 0) {
				t.Errorf("want a tie, got entries %d/%d ties=%d", res.Stats.EntriesAgree, res.Stats.Entries, res.Ties)
			}
			if !tc.wantTie && (agree || res.Ties != 0) {
				t.Errorf("want a disagreement, got entries %d/%d ties=%d", res.Stats.EntriesAgree, res.Stats.Entries, res.Ties)
			}
		})
	}
}

// TestTieOnAReplyDuringARead: a request for the host lands while a table
// read runs, after the read's midpoint is placed: the model (fed the
// request before the read) has sent its reply, the kernel's reply frame
// left after the midpoint, so the two reply counts differ by one. Which
// side the read caught is unknown: a tie (c9d65de), not a disagreement.
// The same counts with the request 10 ms before the read are a
// disagreement.
func TestTieOnAReplyDuringARead(t *testing.T) {
	s, err := scenario.Parse([]byte(synthScenario), "synthetic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obsIP := netip.MustParseAddr("10.9.0.1")
	for _, tc := range []struct {
		name       string
		request    int64 // the request's arrival, relative to the read's start
		wantTie    bool
		wantProbes bool // a "probes" difference reported
	}{
		{"request while the read runs", 450e3, true, false},
		{"request 10 ms before the read", -10e6, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := synthRun()
			run.Admin = nil
			read := run.Snapshots[0].BeforeNs
			run.Snapshots[0].AfterNs = read + 1e6 // its midpoint: read + 0.5 ms
			req, reply := read+tc.request, read+550e3
			rq := testkit.ARPFrame(arp.Broadcast, macNew, arp.NewPacket(arp.OpRequest, macNew, vip, arp.MAC{}, obsIP))
			rp := testkit.ARPFrame(macNew, macObs, arp.NewPacket(arp.OpReply, macObs, obsIP, macNew, vip))
			run.Frames = []lab.RunFrame{
				{Host: "obs", Dev: "eth0", AtNs: req, Stamped: true, Type: ether.PktBroadcast, Data: rq, Len: len(rq)},
				{Host: "obs", Dev: "eth0", AtNs: reply, Stamped: true, Type: ether.PktOutgoing, Data: rp, Len: len(rp)},
			}
			// arp_process: a request for the host creates the sender's
			// entry, STALE (spec §4.3)
			run.Trace = []ktrace.Event{
				{Event: "neigh_create", Dev: "h0i0abc", IP: vip, Created: true, TimestampNs: req + 10e3},
				{Event: "neigh_update", Dev: "h0i0abc", IP: vip, State: neigh.None, NewLLAddr: macNew, NewState: neigh.Stale,
					UpdateFlags: ktrace.UpdateOverride, Updated: run.Clock.Jiffies(req), TimestampNs: req + 11e3},
				{Event: "neigh_update_done", Dev: "h0i0abc", IP: vip, State: neigh.Stale, LLAddr: macNew, Updated: run.Clock.Jiffies(req), TimestampNs: req + 12e3},
			}
			res := compareLogged(t, run, s)
			probes := false
			for _, d := range res.Diffs {
				if d.What == "probes" {
					probes = true
					if d.Kernel != "0 unicast + 0 broadcast probes, 0 replies" || d.Model != "0 unicast + 0 broadcast probes, 1 replies" {
						t.Errorf("probes diff = %+v, want the model's one reply against none", d)
					}
				}
			}
			if probes != tc.wantProbes {
				t.Errorf("a probes difference reported: %v, want %v", probes, tc.wantProbes)
			}
			tie := slices.ContainsFunc(res.Margins, func(m Margin) bool { return m.Kind == MarginTie && strings.Contains(m.Detail, "model reply") })
			if tie != tc.wantTie {
				t.Errorf("a tie on the model's reply: %v, want %v (ties %d, margins %+v)", tie, tc.wantTie, res.Ties, res.Margins)
			}
		})
	}
}

// compareLogged compares run with the model of s and logs the text report.
func compareLogged(t *testing.T, run *lab.LabRun, s *scenario.Scenario) *Result {
	t.Helper()
	res, err := Compare(run, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.WriteText(&b)
	t.Logf("\n%s", b.String())
	return res
}
