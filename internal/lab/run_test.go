package lab

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"arplab/internal/labnet"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
)

// TestLateReads: a check's table read that began 260 ms after the check's
// moment is reported as late, with the run's worst slip, and a failed
// check says so; a read on time says nothing.
func TestLateReads(t *testing.T) {
	s, err := scenario.Parse([]byte(`
name: late
duration: 2s
segments: [{name: lan}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
checks:
  - {at: 1s, host: obs, ip: 10.0.0.100, state: REACHABLE}
  - {at: 1.5s, host: obs, ip: 10.0.0.100, state: STALE}
`), "late.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const epoch = int64(5e9)
	stale := []labnet.Neigh{{Dev: "eth0", IP: netip.MustParseAddr("10.0.0.100"), State: neigh.Stale}}
	r := &LabRun{EpochNs: epoch, Snapshots: []RunSnapshot{
		{Host: "obs", Reason: "check 0", Check: 0, Event: -1, SchedNs: 1e9, BeforeNs: epoch + 1e9 + 260e6, AfterNs: epoch + 1e9 + 261e6, Entries: stale},
		{Host: "obs", Reason: "check 1", Check: 1, Event: -1, SchedNs: 1.5e9, BeforeNs: epoch + 1.5e9 + 2e6, AfterNs: epoch + 1.5e9 + 3e6, Entries: stale},
	}}
	slip, at := r.Slip()
	if slip != 260*time.Millisecond || at != "check 0" {
		t.Errorf("Slip = %v at %q; want 260ms at check 0", slip, at)
	}
	cs := EvalChecks(r, s.Checks)
	if len(cs) != 2 || cs[0].OK || !cs[1].OK {
		t.Fatalf("checks: %+v", cs)
	}
	if note := LateNote(cs[0].Late); !strings.Contains(note, "260ms late") {
		t.Errorf("late read's note: %q", note)
	}
	if note := LateNote(cs[1].Late); note != "" {
		t.Errorf("a read 2 ms late needs no note, got %q", note)
	}
	// A flow whose send went out 700 ms behind its schedule slipped more.
	r.Flows = []RunFlow{{Name: "dgrams", Late: 700 * time.Millisecond}}
	if slip, at := r.Slip(); slip != 700*time.Millisecond || at != "flow dgrams" {
		t.Errorf("Slip = %v at %q; want 700ms at flow dgrams", slip, at)
	}
}
