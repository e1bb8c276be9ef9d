package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// refusedScenario: a client on 4.9 with a TCP session to a server every
// 100 ms (every packet after the first on output's fast path) is given,
// mid-run, `ip neigh` commands and a sysctl the kernel refuses, each
// followed by the session's next packet: an add of an entry that exists,
// a change of one that does not, a replace without lladdr for a new entry
// while the table is past gc_thresh2 (forced GC runs and frees the six
// stale entries, then the update is refused: spec §7.2) and a sysctl 4.9
// does not have. An idle REACHABLE entry with a short reachable_time has
// its timer run after them.
const refusedScenario = `name: refused-then-send
description: refused admin commands and a refused sysctl, each followed by a send on the fast path
duration: 20s
segments:
  - {name: lan, latency: 150us}
hosts:
  - name: c
    profile: "4.9"
    entries: 6
    sysctls:
      neigh.default.gc_thresh2: "4"
      neigh.eth0.base_reachable_time_ms: "12000"
    interfaces:
      - {name: eth0, segment: lan, mac: "52:54:00:00:00:01", addrs: [10.0.0.1/24]}
    neighbours:
      - {dev: eth0, ip: 10.0.0.40, lladdr: "02:00:00:00:00:40", state: REACHABLE}
      - {dev: eth0, ip: 10.0.0.30, lladdr: "02:00:00:00:00:30", state: REACHABLE}
stations:
  - {name: server, segment: lan, mac: "02:00:00:00:00:40", ips: [10.0.0.40]}
  - {name: idle, segment: lan, mac: "02:00:00:00:00:30", ips: [10.0.0.30]}
  - {name: other, segment: lan, mac: "02:00:00:00:00:60", ips: [10.0.0.60]}
script:
  - {at: 0s, flow: {name: session, kind: tcp, from: c, to: 10.0.0.40, interval: 100ms}}
  - {at: 1.05s, vary: 40ms, neigh: {host: c, cmd: "add 10.0.0.40 lladdr 02:00:00:00:00:41 dev eth0"}}
  - {at: 2.05s, vary: 40ms, neigh: {host: c, cmd: "change 10.0.0.77 nud stale dev eth0"}}
  - {at: 7.05s, vary: 40ms, neigh: {host: c, cmd: "replace 10.0.0.78 nud reachable dev eth0"}}
  - {at: 8.05s, vary: 40ms, sysctl: {host: c, key: conf.eth0.arp_evict_nocarrier, value: "1"}}
checks:
  - {flow: session, outcome: ok}
  - {at: 19s, host: c, ip: 10.0.0.30, state: STALE}
`

// TestRefusedInputsThenSend: a refused `ip neigh` command or sysctl
// followed by the session's next packet, on output's fast path, gives the
// same trace, byte for byte, and the same result as the model without the
// fast path's skip (every packet sent reschedules), with and without
// variation. The refusals are in the trace, and forced GC ran in one.
func TestRefusedInputsThenSend(t *testing.T) {
	s, err := scenario.Parse([]byte(refusedScenario), "refused.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 4; seed++ {
		for _, vary := range []bool{false, true} {
			opt := Options{Seed: seed, Vary: vary}
			tr, res, r := runFastSkip(t, s, opt, true)
			slowTr, slowRes, _ := runFastSkip(t, s, opt, false)
			if !bytes.Equal(tr, slowTr) {
				t.Fatalf("seed %d vary=%v: the trace with the fast path's skip differs from the one without\nwith:\n%s\nwithout:\n%s", seed, vary, tr, slowTr)
			}
			if !bytes.Equal(res, slowRes) {
				t.Fatalf("seed %d vary=%v: the result differs:\n  with    %s\n  without %s", seed, vary, res, slowRes)
			}
			if !r.OK {
				t.Fatalf("seed %d vary=%v: %s", seed, vary, res)
			}
			trace := string(tr)
			for _, want := range []string{`"cause":"admin-error","explanation":"ip neigh add 10.0.0.40`, `"cause":"admin-error","explanation":"ip neigh change 10.0.0.77`,
				`"cause":"gc-forced"`, `"cause":"admin-error","explanation":"ip neigh replace 10.0.0.78 dev eth0: invalid argument`,
				`"cause":"sysctl-error","explanation":"conf/eth0/arp_evict_nocarrier does not exist on 4.9`} {
				if !strings.Contains(trace, want) {
					t.Fatalf("seed %d vary=%v: the trace has no %s: the scenario does not refuse what it means to", seed, vary, want)
				}
			}
		}
	}
}

// TestRefusalRunsATimerItMoved: a refused input that moved a timer
// earlier has that timer run at its own tick. No refusal of the model
// moves one (host.refused says why), so the test makes one: at 1.05 s an
// input puts a new entry in DELAY, its timer due at the next tick
// (1.054 s; the host's wake is set for the idle entry's REACHABLE expiry
// at about 11 s), and ends as a refusal does (host.refused). DELAY's
// timer must run at 1.054 s, with and without output's fast-path skip.
// Before, a refusal left its reschedule "owed" to the next packet sent:
// the timer ran at the session's next packet (1.1004 s), and with no
// packet, or the flag ignored by the fast path, at the old wake.
func TestRefusalRunsATimerItMoved(t *testing.T) {
	s, err := scenario.Parse([]byte(refusedScenario), "refused.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Script = s.Script[:1] // the session alone
	s.Checks = s.Checks[:1]
	ip := netip.MustParseAddr("10.0.0.60")
	mac := arp.MAC{0x02, 0, 0, 0, 0, 0x60}
	for _, skip := range []bool{true, false} {
		var buf bytes.Buffer
		opt := Options{Seed: s.Seed, Sink: jsonSink{trace.NewEncoder(&buf)}, noFastSkip: !skip}
		w, err := build(s, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.schedule(); err != nil {
			t.Fatal(err)
		}
		h := w.hosts[0]
		w.sch.at(1_050_000_000, func() {
			h.at()
			if err := h.st.Admin(h.ifByName("eth0").st, neigh.AdminReplace, ip, &mac, neigh.Delay); err != nil {
				t.Error(err)
			}
			h.refused("admin-error", errors.New("a refusal that moved a timer"))
		})
		if err := w.runToEnd(opt); err != nil {
			t.Fatal(err)
		}
		var delay *trace.Event
		for _, line := range strings.Split(buf.String(), "\n") {
			var e trace.Event
			if json.Unmarshal([]byte(line), &e) == nil && e.IP == ip.String() && e.OldState == "DELAY" {
				delay = &e
				break
			}
		}
		if delay == nil {
			t.Fatalf("skip=%v: DELAY's timer for %v never ran\n%s", skip, ip, buf.String())
		}
		if delay.Jiffies == nil {
			t.Fatalf("skip=%v: DELAY's decision has no tick: %+v", skip, *delay)
		}
		if want := h.toSeconds(vtime.Jiffies(*delay.Jiffies)); delay.Time != want || want < 1.05 || want > 1.06 {
			t.Fatalf("skip=%v: DELAY's timer for %v, due at tick %d (%v s), ran at %v s", skip, ip, *delay.Jiffies, want, delay.Time)
		}
	}
}

// runFastSkip runs s with opt, output's fast-path skip on or off, and
// returns its JSON trace, its result as JSON and the result.
func runFastSkip(t *testing.T, s *scenario.Scenario, opt Options, skip bool) (tr, res []byte, r *Result) {
	t.Helper()
	opt.noFastSkip = !skip
	return runTraced(t, s, opt, true)
}

// TestCheckBuilds: Check finds what only building the world finds (a
// sysctl the host's kernel does not have), which scenario validation
// cannot, and accepts every built-in.
func TestCheckBuilds(t *testing.T) {
	s, err := scenario.Parse([]byte(strings.Replace(refusedScenario, `      neigh.default.gc_thresh2: "4"`,
		`      neigh.default.gc_thresh2: "4"`+"\n"+`      conf.eth0.arp_evict_nocarrier: "1"`, 1)), "refused.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(s); err == nil || !strings.Contains(err.Error(), "host c: conf/eth0/arp_evict_nocarrier does not exist on 4.9") {
		t.Errorf("Check of a 4.9 host with arp_evict_nocarrier: %v", err)
	}
	if _, err := Run(s, Options{}); err == nil {
		t.Error("Run accepted what Check refused")
	}
	for _, name := range scenario.Builtins() {
		s, err := scenario.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
