package ktrace

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

// loadFormats reads the format files captured from a kernel.
func loadFormats(t *testing.T, version string) []*EventFormat {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "format-"+version+"-*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no format files for %s: %v", version, err)
	}
	var out []*EventFormat
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ef, err := ParseEventFormat(string(text))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, ef)
	}
	return out
}

func TestParseEventFormat(t *testing.T) {
	text, err := os.ReadFile("testdata/format-6.18-neigh_update.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseEventFormat(string(text))
	if err != nil {
		t.Fatal(err)
	}
	want := &EventFormat{
		Name: "neigh_update",
		ID:   2248,
		Fields: []string{"family", "dev", "lladdr", "lladdr_len", "flags", "nud_state", "type", "dead", "refcnt",
			"primary_key4", "primary_key6", "confirmed", "updated", "used", "new_lladdr", "new_state", "update_flags", "pid"},
		Keys: []string{"family", "dev", "lladdr", "flags", "nud_state", "type", "dead", "refcnt", "primary_key4",
			"primary_key6", "confirmed", "updated", "used", "new_lladdr", "new_state", "update_flags", "pid"},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("ParseEventFormat (-want +got):\n%s", diff)
	}
}

// TestParseCapturedTrace parses every line captured from a 6.18 kernel
// (TestCaptureTrace) against that kernel's format files.
func TestParseCapturedTrace(t *testing.T) {
	p := NewParser(loadFormats(t, "6.18")...)
	text, err := os.ReadFile("testdata/trace-6.18.txt")
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for _, line := range strings.Split(string(text), "\n") {
		ev, err := p.Parse(line)
		if errors.Is(err, errNotEvent) {
			continue
		}
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 15 {
		t.Fatalf("parsed %d events, want 15", len(evs))
	}
	var (
		vip  = netip.MustParseAddr("10.99.0.100")
		old  = arp.MAC{2, 0, 0, 0, 0, 0xaa}
		new  = arp.MAC{2, 0, 0, 0, 0, 0xbb}
		opts = cmp.Options{cmpopts.IgnoreFields(Event{}, "Raw", "Task", "PID", "CPU"), cmpopts.EquateComparable(netip.Addr{})}
	)
	tests := []struct {
		name string
		idx  int
		want Event
	}{
		{"AdminCreate", 0, Event{Event: "neigh_create", TimestampNs: 899485011000, Family: 2, Dev: "o0f39bb",
			IP: vip, Entries: 2, Created: true}},
		{"AdminReplace", 1, Event{Event: "neigh_update", TimestampNs: 899485042000, Family: 2, Dev: "o0f39bb",
			IP: vip, LLAddrLen: 6, NewLLAddr: old, NewState: neigh.Reachable,
			UpdateFlags: UpdateAdmin | UpdateOverrideIsRouter | UpdateOverride, NetlinkPID: 2218210334,
			Type: 1, Refcnt: 2, Confirmed: 4295117016, Updated: 4295117116, Used: 4295117116}},
		{"IgnoredReply", 3, Event{Event: "neigh_update", TimestampNs: 899485412000, Family: 2, Dev: "o0f39bb",
			IP: vip, LLAddr: old, LLAddrLen: 6, State: neigh.Reachable, NewLLAddr: new,
			NewState: neigh.Stale, Type: 1, Refcnt: 3,
			Confirmed: 4295117116, Updated: 4295117116, Used: 4295117116}},
		{"TimerToDelay", 5, Event{Event: "neigh_timer_handler", TimestampNs: 899624105000, Family: 2, Dev: "o0f39bb",
			IP: vip, LLAddr: old, LLAddrLen: 6, State: neigh.Delay, Type: 1, Refcnt: 3,
			Confirmed: 4295117116, Updated: 4295117151, Used: 4295117116}},
		{"GARPOverride", 6, Event{Event: "neigh_update", TimestampNs: 900586153000, Family: 2, Dev: "o0f39bb",
			IP: vip, LLAddr: old, LLAddrLen: 6, State: neigh.Delay, NewLLAddr: new, NewState: neigh.Stale,
			UpdateFlags: UpdateOverride, Type: 1, Refcnt: 3,
			Confirmed: 4295117116, Updated: 4295117151, Used: 4295117116}},
		{"UpdateDone", 7, Event{Event: "neigh_update_done", TimestampNs: 900586176000, Family: 2, Dev: "o0f39bb",
			IP: vip, LLAddr: new, LLAddrLen: 6, State: neigh.Stale, Type: 1, Refcnt: 2,
			Confirmed: 4295117291, Updated: 4295117391, Used: 4295117116}},
		{"EventSend", 11, Event{Event: "neigh_event_send_done", TimestampNs: 900586617000, Family: 2, Dev: "o0f39bb",
			IP: netip.MustParseAddr("10.99.0.77"), LLAddrLen: 6, State: neigh.Incomplete, Type: 1,
			Refcnt: 3, Confirmed: 4295117291, Updated: 4295117391, Used: 4295117391, Err: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, evs[tc.idx], opts); diff != "" {
				t.Errorf("event %d (-want +got):\n%s\nline: %s", tc.idx, diff, evs[tc.idx].Raw)
			}
		})
	}
	// The verdicts the lab cares about.
	for i, want := range map[int]bool{1: false, 3: true, 6: false, 13: false} {
		if got := evs[i].Ignored(); got != want {
			t.Errorf("event %d Ignored() = %v, want %v: %s", i, got, want, evs[i].Raw)
		}
	}
	if evs[0].Task != "lab.test" || evs[0].PID != 20225 || evs[0].CPU != 1 {
		t.Errorf("header = %q %d %d", evs[0].Task, evs[0].PID, evs[0].CPU)
	}
}

func TestParseTraceLineShapes(t *testing.T) {
	p := NewParser()
	tests := []struct {
		name string
		line string
		want Event
		err  string
	}{
		{
			// lladdr_len 0 prints an empty value: two spaces in a row.
			name: "EmptyLLAddr",
			line: `  <idle>-0       [000] ..s1.    10.000001: neigh_update_done: family 2 dev d0 lladdr  flags 00 nud_state failed type 01 dead 0 refcnt 1 primary_key4 10.0.0.1 primary_key6 ::ffff:10.0.0.1 confirmed 1 updated 2 used 3 err 0`,
			want: Event{Event: "neigh_update_done", Task: "<idle>", TimestampNs: 10000001000, Family: 2, Dev: "d0",
				IP: netip.MustParseAddr("10.0.0.1"), State: neigh.Failed, Type: 1, Refcnt: 1,
				Confirmed: 1, Updated: 2, Used: 3},
		},
		{
			// Task names may contain spaces and dashes; with the
			// record-tgid option a "( tgid)" column appears.
			name: "TaskWithSpacesAndTGID",
			line: `Web Content-x-42 (   40) [001] d..2. 5.5: neigh_create: family 2 dev d0 entries 1 primary_key4 10.0.0.2 primary_key6 :: created 1 gc_exempt 1`,
			want: Event{Event: "neigh_create", Task: "Web Content-x", PID: 42, CPU: 1, TimestampNs: 5500000000,
				Family: 2, Dev: "d0", IP: netip.MustParseAddr("10.0.0.2"), Entries: 1, Created: true, GCExempt: true},
		},
		{
			// With irq-info off there is no flags column.
			name: "NoFlagsColumn",
			line: `ip-7 [000] 1.000000001: neigh_create: family 10 dev d0 entries 1 primary_key4 0.0.0.0 primary_key6 fe80::1 created 0 gc_exempt 0`,
			want: Event{Event: "neigh_create", Task: "ip", PID: 7, TimestampNs: 1000000001, Family: 10, Dev: "d0",
				IP: netip.MustParseAddr("fe80::1"), Entries: 1},
		},
		{
			name: "Marker",
			line: `lab.test-5 [000] ..... 2.000000: tracing_mark_write: arplab-sync 3`,
			want: Event{Event: "tracing_mark_write", Task: "lab.test", PID: 5, TimestampNs: 2000000000},
		},
		{name: "Lost", line: "CPU:1 [LOST 12 EVENTS]", err: "12 events lost on CPU 1"},
		{name: "Garbage", line: "hello", err: "unrecognised trace line"},
		{
			name: "OddPairs",
			line: `ip-7 [000] ..... 1.0: neigh_create: family 2 dev`,
			err:  "odd number of tokens",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse(tc.line)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Event{}, "Raw"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejectsChangedFormat(t *testing.T) {
	p := NewParser(&EventFormat{Name: "neigh_create", Keys: []string{"family", "dev"}})
	_, err := p.Parse(`ip-7 [000] ..... 1.0: neigh_create: family 2 dev d0 entries 1`)
	if err == nil || !strings.Contains(err.Error(), "differ from the format") {
		t.Errorf("Parse = %v, want a format mismatch", err)
	}
}

func TestParseState(t *testing.T) {
	for in, want := range map[string]neigh.State{
		"NONE": neigh.None, "0x0": neigh.None, "REACHABLE": neigh.Reachable, "stale": neigh.Stale,
		"0x80": neigh.Permanent, "0xc": neigh.Stale | neigh.Delay,
	} {
		if got, err := parseState(in); err != nil || got != want {
			t.Errorf("parseState(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"bogus", "0x100", "0xzz", ""} {
		if _, err := parseState(in); err == nil {
			t.Errorf("parseState(%q) succeeded", in)
		}
	}
}
