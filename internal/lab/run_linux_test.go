package lab

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/labsys"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

const smokeScenario = `
name: smoke
duration: 2s
segments: [{name: lan}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:01:01", addrs: [10.1.0.1/24]}]
stations:
  - {name: new, segment: lan, mac: "02:00:00:00:01:bb", ips: [10.1.0.2]}
script:
  - {at: 0.5s, neigh: {host: obs, cmd: "replace 10.1.0.100 lladdr 02:00:00:00:01:aa nud reachable dev eth0"}}
  - {at: 0.8s, garp: {from: new, ip: 10.1.0.100, preset: arping-U, count: 1}}
  - {at: 1s, flow: {name: f, kind: tcp, from: obs, to: 10.1.0.2, interval: 200ms}}
checks:
  - {at: 1.5s, host: obs, ip: 10.1.0.100, state: STALE, lladdr: "02:00:00:00:01:bb"}
`

// needRoot skips unless the test can build namespaces.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab tests need root (CAP_NET_ADMIN, CAP_NET_RAW): run as root")
	}
}

// labNamespaces lists the named namespaces whose names start with prefix.
func labNamespaces(t *testing.T, prefix string) []string {
	t.Helper()
	ents, err := os.ReadDir("/run/netns")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestRunScenarioSmoke(t *testing.T) {
	needRoot(t)
	s, err := scenario.Parse([]byte(smokeScenario), "smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rec trace.Recorder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := RunScenario(ctx, s, RunOptions{Logf: t.Logf}, &rec)
	if errors.Is(err, labsys.ErrNotPermitted) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clock %+v notes %v", run.Clock, run.Notes)
	t.Logf("frames %d sends %d admin %d trace %d snapshots %d periodic %d", len(run.Frames), len(run.Sends), len(run.Admin), len(run.Trace), len(run.Snapshots), len(run.Periodic))
	for _, h := range run.Hosts {
		for _, d := range h.Devs {
			t.Logf("%s %s %+v conf %v", h.Name, d.Name, d.Params, d.Conf)
		}
	}
	for _, v := range run.Verdicts() {
		f := run.Frames[v.Frame]
		p, _, _ := FrameARP(f.Data)
		t.Logf("frame %d %.4f %v %v %v -> %s (J %d exact %v)", v.Frame, run.Seconds(f.AtNs), f.Type, p.Op, p.SIP, v.Verdict, v.J, v.ExactJ)
	}
	for _, sn := range run.Snapshots {
		t.Logf("snapshot %s %.4f: %v", sn.Reason, run.Seconds(sn.BeforeNs), sn.Entries)
	}
	for _, ev := range rec.Events {
		t.Logf("%+v", ev)
	}
	if len(labNamespaces(t, labnet.DefaultPrefix())) != 0 {
		t.Errorf("namespaces left: %v", labNamespaces(t, labnet.DefaultPrefix()))
	}
}

// TestRunScenarioCancelCleansUp: a run cut short removes everything it
// made, like a finished one.
func TestRunScenarioCancelCleansUp(t *testing.T) {
	needRoot(t)
	s, err := scenario.Parse([]byte(smokeScenario), "smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	prefix := labnet.DefaultPrefix() + "-cancel"
	_, err = RunScenario(ctx, s, RunOptions{Prefix: prefix}, nil)
	if errors.Is(err, labsys.ErrNotPermitted) {
		t.Skip(err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RunScenario cut short = %v, want the context's error", err)
	}
	if left := labNamespaces(t, prefix); len(left) != 0 {
		t.Errorf("namespaces left after a cancelled run: %v", left)
	}
	for _, m := range ktrace.PrivateMounts() {
		if strings.HasPrefix(filepath.Base(m), prefix) {
			t.Errorf("tracefs mount left: %s", m)
		}
	}
}

// TestRunScenarioNoTrace: without the tracepoint oracle the run still
// records frames and tables, and says verdicts are unknown.
func TestRunScenarioNoTrace(t *testing.T) {
	needRoot(t)
	s, err := scenario.Parse([]byte(smokeScenario), "smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run, err := RunScenario(context.Background(), s, RunOptions{NoTrace: true}, nil)
	if errors.Is(err, labsys.ErrNotPermitted) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if run.TraceOK || len(run.Trace) != 0 || len(run.Frames) == 0 || len(run.Snapshots) == 0 || run.Clock.Samples == 0 {
		t.Errorf("no-trace run: trace ok %v, %d events, %d frames, %d snapshots, clock %+v",
			run.TraceOK, len(run.Trace), len(run.Frames), len(run.Snapshots), run.Clock)
	}
	for _, v := range run.Verdicts() {
		if v.Verdict != "" {
			t.Errorf("verdict %q without a tracer", v.Verdict)
		}
	}
}

// replyThinkScenario: a reply action (an unsolicited unicast reply, which
// arp_accept=1 lets create a REACHABLE entry, spec §4.4), and a station
// that answers a flooded probe after a think time of 30 ms.
const replyThinkScenario = `
name: reply-think
duration: 2.6s
segments: [{name: lan, flood_unknown: true}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:01:01", addrs: [10.1.0.1/24]}]
    sysctls: {conf.eth0.arp_accept: "1", neigh.eth0.delay_first_probe_time: "1"}
    neighbours: [{dev: eth0, ip: 10.1.0.100, lladdr: "02:00:00:00:01:aa", state: STALE}]
stations:
  - {name: a, segment: lan, mac: "02:00:00:00:01:cc"}
  - {name: new, segment: lan, mac: "02:00:00:00:01:bb", ips: [10.1.0.100], answer_foreign_probes: true, think: 30ms}
script:
  - {at: 0.3s, reply: {from: a, ip: 10.1.0.50, to: obs}}
  - {at: 0.5s, flow: {name: one, kind: udp, from: obs, to: 10.1.0.100, until: 0.6s}}
checks:
  - {at: 0.4s, host: obs, ip: 10.1.0.50, state: REACHABLE, lladdr: "02:00:00:00:01:cc"}
`

// TestReplyActionAndThink: the reply action's frame reaches the host as
// the scenario built it and creates the entry; a station's answer to a
// flooded probe leaves no sooner than its think time after the probe.
func TestReplyActionAndThink(t *testing.T) {
	needRoot(t)
	s, err := scenario.Parse([]byte(replyThinkScenario), "reply-think.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run, err := RunScenario(context.Background(), s, RunOptions{}, nil)
	if errors.Is(err, labsys.ErrNotPermitted) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range EvalChecks(run, s.Checks) {
		if !c.OK {
			t.Errorf("check %+v failed on the kernel", c)
		}
	}
	var reply, probe, answer *RunFrame
	for i := range run.Frames {
		f := &run.Frames[i]
		p, _, ok := FrameARP(f.Data)
		if !ok {
			continue
		}
		switch {
		case p.Op == arp.OpReply && p.SIP == netip.MustParseAddr("10.1.0.50"):
			reply = f
		case p.Op == arp.OpRequest && f.Type == ether.PktOutgoing && p.TIP == netip.MustParseAddr("10.1.0.100") && probe == nil:
			probe = f
		case p.Op == arp.OpReply && p.SIP == netip.MustParseAddr("10.1.0.100") && answer == nil:
			answer = f
		}
	}
	if reply == nil {
		t.Fatal("the reply action's frame did not reach obs")
	}
	p, _, _ := FrameARP(reply.Data)
	obsMAC := arp.MAC{2, 0, 0, 0, 1, 1}
	if p.SHA != (arp.MAC{2, 0, 0, 0, 1, 0xcc}) || p.THA != obsMAC || p.TIP != netip.MustParseAddr("10.1.0.1") ||
		[6]byte(reply.Data[:6]) != obsMAC || reply.Type != ether.PktHost {
		t.Errorf("reply frame: %v (eth dst % x, pkt type %v), want a unicast reply from 02:00:00:00:01:cc to obs", p, reply.Data[:6], reply.Type)
	}
	if probe == nil || answer == nil {
		t.Fatalf("no probe (%v) or no answer (%v) for 10.1.0.100", probe != nil, answer != nil)
	}
	if gap := time.Duration(answer.AtNs - probe.AtNs); gap < 30*time.Millisecond {
		t.Errorf("the answer came %v after the probe, before the station's think time (30ms)", gap)
	}
	sent := false
	for _, sd := range run.Sends {
		sent = sent || sd.Cause == "reply" && sd.Station == "a" && sd.Err == ""
	}
	if !sent {
		t.Errorf("the reply is not among the run's sends: %+v", run.Sends)
	}
}
