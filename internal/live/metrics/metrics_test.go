package metrics

import (
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"arplab/internal/live/doctor"
	"arplab/internal/live/watch"
	"arplab/internal/wire/ndisc"
)

var (
	t0  = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	vip = netip.MustParseAddr("10.99.0.100")
)

// scrape returns the exposition as client_golang serves it.
func scrape(t *testing.T, e *Exporter) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// has fails t unless the exposition has the exact sample line.
func has(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("exposition lacks %q", l)
		}
	}
}

func TestExporterCountsWhatTheWatcherSaw(t *testing.T) {
	now := t0.Add(25 * time.Second)
	e := New(Options{Now: func() time.Time { return now }, Settings: func() (doctor.Report, error) {
		return doctor.Report{Release: "6.18.0", Profile: "mainline-6.18", HZ: 1000, Netns: "obs",
			Conf:  map[string]map[string]doctor.Setting{"all": {"arp_accept": {Value: "0"}, "drop_gratuitous_arp": {State: doctor.Absent}}},
			Neigh: map[string]map[string]doctor.Setting{"o0": {"locktime": {Value: "100"}}},
			GC:    map[string]doctor.Setting{"gc_thresh1": {Value: "128"}}}, nil
	}})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: vip, To: watch.StateReachable, Seed: true})
	e.Health(watch.Health{Tracepoint: true, TracepointAvailable: true})
	for range 3 {
		e.Frame(watch.FrameVerdict{At: t0, Dev: "o0", IP: vip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictHonoured})
	}
	e.Frame(watch.FrameVerdict{At: t0, Dev: "o0", IP: vip, Shape: watch.ShapeUnsolicitedReply, Verdict: watch.VerdictIgnored, Rule: watch.RuleNotGratuitous})
	e.Frame(watch.FrameVerdict{At: t0, Dev: "o0", IP: vip, Shape: watch.ShapeRequest, Verdict: watch.VerdictDropped, Rule: watch.RuleARPAccept})
	// a probe's reply with another MAC inside locktime: no GARP, but its rule shows on the frame counter
	e.Frame(watch.FrameVerdict{At: t0, Dev: "o0", IP: vip, Shape: watch.ShapeProbeReply, Verdict: watch.VerdictIgnored, Rule: watch.RuleLocktime})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: vip, From: watch.StateReachable, To: watch.StateStale})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: netip.MustParseAddr("10.99.0.7"), From: watch.StateNone, To: watch.StateIncomplete})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: netip.MustParseAddr("10.99.0.7"), From: watch.StateIncomplete, To: watch.StateFailed})
	e.Probe("o0", true)
	e.Probe("o0", false)
	e.IgnoredUpdate("o0", watch.RuleLocktime)
	e.Health(watch.Health{EventsLost: 7})
	e.Health(watch.Health{Resync: true, ResyncENOBUFS: true})
	// one spell that ended after 4 s, one running for 15 s at scrape time
	e.Dead(watch.DeadChange{At: t0, Since: t0, Dev: "o0", IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded, Dead: true})
	e.Dead(watch.DeadChange{At: t0.Add(4 * time.Second), Since: t0, Dev: "o0", IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded})
	e.Dead(watch.DeadChange{At: t0.Add(10 * time.Second), Since: t0.Add(10 * time.Second), Dev: "o0", IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded, Dead: true})

	body := scrape(t, e)
	has(t, body,
		`arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 3`,
		`arplab_garp_received_total{dev="o0",rule="not-gratuitous",shape="unsolicited-reply",verdict="ignored"} 1`,
		`arplab_arp_frames_received_total{dev="o0",rule="none",verdict="honoured"} 3`,
		`arplab_arp_frames_received_total{dev="o0",rule="arp_accept",verdict="dropped"} 1`,
		`arplab_arp_frames_received_total{dev="o0",rule="locktime",verdict="ignored"} 1`,
		`arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`,
		`arplab_neighbour_entries{dev="o0",family="ipv4",state="REACHABLE"} 0`,
		`arplab_neighbour_entries{dev="o0",family="ipv4",state="FAILED"} 1`,
		`arplab_neighbour_transitions_total{family="ipv4",from="REACHABLE",to="STALE"} 1`,
		`arplab_neighbour_transitions_total{family="ipv4",from="NONE",to="INCOMPLETE"} 1`,
		`arplab_neighbour_resolution_failures_total{dev="o0",family="ipv4"} 1`,
		`arplab_arp_probes_sent_total{dev="o0",kind="unicast"} 1`,
		`arplab_tracepoint_ignored_updates_total{dev="o0",rule="locktime"} 1`,
		`arplab_watch_tracepoint_available 1`,
		`arplab_watch_tracepoint_events_lost_total 7`,
		`arplab_watch_netlink_resyncs_total{cause="enobufs"} 1`,
		`arplab_dead_mac_entries{dev="o0",reason="superseded"} 1`,
		`arplab_dead_mac_entries{dev="o0",reason="unanswered"} 0`,
		`arplab_dead_mac_seconds_total{dev="o0",reason="superseded"} 19`,
		`arplab_dead_mac_oldest_seconds{dev="o0",reason="superseded"} 15`,
		`arplab_host_info{hz="1000",netns="obs",profile="mainline-6.18",release="6.18.0"} 1`,
		`arplab_arp_sysctl{name="conf.arp_accept",scope="all"} 0`,
		`arplab_arp_sysctl{name="neigh.locktime",scope="o0"} 100`,
		`arplab_arp_sysctl{name="neigh.gc_thresh1",scope="default"} 128`,
		`arplab_per_ip_series_cap 0`,
	)
	if strings.Contains(body, "drop_gratuitous_arp") {
		t.Errorf("an absent sysctl was exported:\n%s", body)
	}
	if strings.Contains(body, `ip="`) {
		t.Errorf("per-IP series without --per-ip")
	}
	if n := testutil.CollectAndCount(e.garp); n != 2 {
		t.Errorf("garp series = %d, want 2 (only the combinations seen)", n)
	}
	probs, err := testutil.GatherAndLint(e.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		if strings.HasPrefix(p.Metric, Namespace) {
			t.Errorf("naming: %s: %s", p.Metric, p.Text)
		}
	}
}

// TestPerIPIsCapped: past --per-ip-max pairs, GARPs still count in the
// aggregate, not per IP, and the overflow is counted.
func TestPerIPIsCapped(t *testing.T) {
	var notes []string
	e := New(Options{PerIP: true, PerIPMax: 2, Note: func(s string) { notes = append(notes, s) }})
	for i := range 5 {
		ip := netip.AddrFrom4([4]byte{10, 99, 0, byte(10 + i)})
		e.Frame(watch.FrameVerdict{Dev: "o0", IP: ip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictHonoured})
		e.Frame(watch.FrameVerdict{Dev: "o0", IP: ip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictHonoured})
	}
	// a dead spell of an IP that sent no GARP: no room left, counted
	e.Dead(watch.DeadChange{Dev: "o0", IP: netip.MustParseAddr("10.99.0.50"), Since: time.Now(), MAC: "02:00:00:00:00:aa", Reason: watch.DeadUnanswered, Dead: true})
	body := scrape(t, e)
	has(t, body,
		`arplab_garp_received_by_ip_total{dev="o0",ip="10.99.0.10",verdict="honoured"} 2`,
		`arplab_garp_received_by_ip_total{dev="o0",ip="10.99.0.11",verdict="honoured"} 2`,
		`arplab_garp_received_total{dev="o0",rule="none",shape="garp-request",verdict="honoured"} 10`,
		`arplab_per_ip_overflow_total 7`,
		`arplab_per_ip_series_tracked 2`,
		`arplab_per_ip_series_cap 2`,
	)
	if strings.Contains(body, "10.99.0.12") || strings.Contains(body, "10.99.0.50") {
		t.Errorf("a third IP got series past the cap of 2")
	}
	// said once, naming the cap, the first IP refused and the counter
	if len(notes) != 1 || !strings.Contains(notes[0], "--per-ip-max 2 reached at o0 10.99.0.12") || !strings.Contains(notes[0], "arplab_per_ip_overflow_total") {
		t.Errorf("notes = %q, want one saying the cap of 2 was reached at 10.99.0.12", notes)
	}
	// within the cap, a dead entry gets its own series without a GARP
	e = New(Options{PerIP: true, Now: func() time.Time { return t0.Add(3 * time.Second) }})
	e.Dead(watch.DeadChange{Dev: "o0", IP: netip.MustParseAddr("10.99.0.50"), Since: t0, MAC: "02:00:00:00:00:aa", Reason: watch.DeadUnanswered, Dead: true})
	has(t, scrape(t, e), `arplab_dead_mac_entry_seconds{dev="o0",ip="10.99.0.50",mac="02:00:00:00:00:aa",reason="unanswered"} 3`)
}

// TestTracepointLossIsSaid: without the tracepoint the gauge is 0 and the
// reason goes to Note (the only voice a --quiet service has).
func TestTracepointLossIsSaid(t *testing.T) {
	var notes []string
	e := New(Options{Note: func(s string) { notes = append(notes, s) }})
	e.Health(watch.Health{Tracepoint: true, TracepointAvailable: true})
	has(t, scrape(t, e), "arplab_watch_tracepoint_available 1")
	e.Health(watch.Health{Tracepoint: true, TracepointError: "watch: no tracefs here"})
	has(t, scrape(t, e), "arplab_watch_tracepoint_available 0")
	if len(notes) != 1 || !strings.Contains(notes[0], "arplab_watch_tracepoint_available 0): watch: no tracefs here") {
		t.Errorf("notes = %q, want one giving the gauge and the reason", notes)
	}
}

func TestSettingsErrorsAreSaid(t *testing.T) {
	e := New(Options{Settings: func() (doctor.Report, error) { return doctor.Report{}, errors.New("no such namespace") }})
	body := scrape(t, e)
	has(t, body, `arplab_host_settings_read_errors 1`)
	if strings.Contains(body, "arplab_host_info") {
		t.Errorf("host info exported without a good read")
	}
}

// warm makes every counter the steady-state loop touches exist.
func warm(e *Exporter) (watch.FrameVerdict, watch.EntryChange, watch.EntryChange) {
	f := watch.FrameVerdict{Dev: "o0", IP: vip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictHonoured}
	a := watch.EntryChange{Dev: "o0", IP: vip, From: watch.StateReachable, To: watch.StateStale}
	b := watch.EntryChange{Dev: "o0", IP: vip, From: watch.StateStale, To: watch.StateReachable}
	e.Frame(f)
	e.Entry(b)
	e.Entry(a)
	e.Probe("o0", true)
	e.IgnoredUpdate("o0", watch.RuleLocktime)
	return f, a, b
}

// TestEventPathDoesNotAllocate holds the package doc's claim.
func TestEventPathDoesNotAllocate(t *testing.T) {
	for _, perIP := range []bool{false, true} {
		e := New(Options{PerIP: perIP})
		f, a, b := warm(e)
		n := testing.AllocsPerRun(1000, func() {
			e.Frame(f)
			e.Entry(b)
			e.Entry(a)
			e.Probe("o0", true)
			e.IgnoredUpdate("o0", watch.RuleLocktime)
		})
		if n != 0 {
			t.Errorf("per-IP %v: %v allocations per event batch, want 0", perIP, n)
		}
	}
}

func BenchmarkFrame(b *testing.B) {
	e := New(Options{})
	f, _, _ := warm(e)
	b.ReportAllocs()
	for b.Loop() {
		e.Frame(f)
	}
}

func BenchmarkFramePerIP(b *testing.B) {
	e := New(Options{PerIP: true})
	f, _, _ := warm(e)
	b.ReportAllocs()
	for b.Loop() {
		e.Frame(f)
	}
}

func BenchmarkEntry(b *testing.B) {
	e := New(Options{})
	_, a, c := warm(e)
	b.ReportAllocs()
	for b.Loop() {
		e.Entry(c)
		e.Entry(a)
	}
}

func BenchmarkScrape(b *testing.B) {
	e := New(Options{PerIP: true})
	for i := range 256 {
		ip := netip.AddrFrom4([4]byte{10, 99, byte(i / 250), byte(1 + i%250)})
		e.Entry(watch.EntryChange{Dev: "o0", IP: ip, To: watch.StateStale, Seed: true})
		e.Frame(watch.FrameVerdict{Dev: "o0", IP: ip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictHonoured})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Registry().Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestExporterIPv6: nd_tbl entries and transitions are told apart from
// arp_tbl's by the family label, and ND verdicts and solicitations have
// their own counters (the ARP ones do not move).
func TestExporterIPv6(t *testing.T) {
	e := New(Options{})
	v6 := netip.MustParseAddr("2001:db8::10")
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: vip, To: watch.StateReachable, Seed: true})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: v6, To: watch.StateReachable, Seed: true})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: v6, From: watch.StateReachable, To: watch.StateStale})
	e.Entry(watch.EntryChange{At: t0, Dev: "o0", IP: v6, From: watch.StateStale, To: watch.StateFailed})
	for range 2 {
		e.ND(watch.NDVerdict{At: t0, Dev: "o0", Type: ndisc.TypeNeighborAdvertisement, Target: v6, Verdict: watch.VerdictIgnored, Reason: "failed"})
	}
	e.ND(watch.NDVerdict{At: t0, Dev: "o0", Type: ndisc.TypeNeighborAdvertisement, Target: v6, Verdict: watch.VerdictHonoured})
	e.NDProbe("o0", true)
	body := scrape(t, e)
	has(t, body,
		`arplab_neighbour_entries{dev="o0",family="ipv4",state="REACHABLE"} 1`,
		`arplab_neighbour_entries{dev="o0",family="ipv6",state="REACHABLE"} 0`,
		`arplab_neighbour_entries{dev="o0",family="ipv6",state="FAILED"} 1`,
		`arplab_neighbour_transitions_total{family="ipv6",from="REACHABLE",to="STALE"} 1`,
		`arplab_neighbour_resolution_failures_total{dev="o0",family="ipv6"} 1`,
		`arplab_neighbour_resolution_failures_total{dev="o0",family="ipv4"} 0`,
		`arplab_nd_received_total{dev="o0",reason="failed",type="NA",verdict="ignored"} 2`,
		`arplab_nd_received_total{dev="o0",reason="",type="NA",verdict="honoured"} 1`,
		`arplab_nd_solicitations_sent_total{dev="o0",kind="unicast"} 1`,
		`arplab_arp_probes_sent_total{dev="o0",kind="unicast"} 0`,
	)
	if strings.Contains(body, `family="ipv4",from="REACHABLE"`) {
		t.Error("an nd_tbl transition was counted as ipv4")
	}
}

// TestDeadSecondsNeverDecrease: a spell's end arrives after a scrape that
// already counted the spell as running past that end; the counter holds
// the value shown (a decrease would read as a restart to Prometheus) and
// grows again once the true total passes it.
func TestDeadSecondsNeverDecrease(t *testing.T) {
	now := t0.Add(5 * time.Second)
	e := New(Options{Now: func() time.Time { return now }})
	e.Dead(watch.DeadChange{At: t0, Since: t0, Dev: "o0", IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded, Dead: true})
	has(t, scrape(t, e), `arplab_dead_mac_seconds_total{dev="o0",reason="superseded"} 5`)
	// the change that ended it happened at 4.5 s; the watcher says so at 6 s
	now = t0.Add(6 * time.Second)
	e.Dead(watch.DeadChange{At: t0.Add(4500 * time.Millisecond), Since: t0, Dev: "o0", IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded})
	has(t, scrape(t, e), `arplab_dead_mac_seconds_total{dev="o0",reason="superseded"} 5`, `arplab_dead_mac_entries{dev="o0",reason="superseded"} 0`)
	// a new spell: 4.5 s ended + 1.5 s running = 6 s
	e.Dead(watch.DeadChange{At: now, Since: now, Dev: "o0", IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded, Dead: true})
	now = now.Add(1500 * time.Millisecond)
	has(t, scrape(t, e), `arplab_dead_mac_seconds_total{dev="o0",reason="superseded"} 6`)
}

var _ watch.LinkObserver = (*Exporter)(nil)

// TestLinkGoneForgetsTheDevice: an interface gone for good leaves no
// series behind (a host whose containers come and go would otherwise
// collect one set per veth), frees its per-IP slots, and leaves the other
// devices alone.
func TestLinkGoneForgetsTheDevice(t *testing.T) {
	now := t0.Add(5 * time.Second)
	e := New(Options{PerIP: true, PerIPMax: 2, Now: func() time.Time { return now }})
	other := netip.MustParseAddr("10.99.0.7")
	for _, dev := range []string{"o0", "veth9"} {
		e.Entry(watch.EntryChange{At: t0, Dev: dev, IP: vip, To: watch.StateStale, Seed: true})
		e.Frame(watch.FrameVerdict{At: t0, Dev: dev, IP: vip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictIgnored, Rule: watch.RuleLocktime})
		e.Probe(dev, true)
		e.IgnoredUpdate(dev, watch.RuleLocktime)
		e.ND(watch.NDVerdict{At: t0, Dev: dev, Type: ndisc.TypeNeighborAdvertisement, Verdict: watch.VerdictHonoured})
		e.Dead(watch.DeadChange{At: t0, Since: t0, Dev: dev, IP: vip, MAC: "02:00:00:00:00:aa", Reason: watch.DeadSuperseded, Dead: true})
	}
	if body := scrape(t, e); !strings.Contains(body, `dev="veth9"`) {
		t.Fatalf("no veth9 series before it went:\n%s", body)
	}
	e.LinkGone("veth9")
	body := scrape(t, e)
	if strings.Contains(body, `dev="veth9"`) {
		t.Errorf("veth9's series outlived it:\n%s", body)
	}
	has(t, body,
		`arplab_garp_received_total{dev="o0",rule="locktime",shape="garp-request",verdict="ignored"} 1`,
		`arplab_neighbour_entries{dev="o0",family="ipv4",state="STALE"} 1`,
		`arplab_dead_mac_seconds_total{dev="o0",reason="superseded"} 5`,
		`arplab_garp_received_by_ip_total{dev="o0",ip="10.99.0.100",verdict="ignored"} 1`,
		`arplab_per_ip_series_tracked 1`,
	)
	// the freed per-IP slot goes to the next pair
	e.Frame(watch.FrameVerdict{At: t0, Dev: "o0", IP: other, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictHonoured})
	has(t, scrape(t, e), `arplab_garp_received_by_ip_total{dev="o0",ip="10.99.0.7",verdict="honoured"} 1`, `arplab_per_ip_series_tracked 2`)
	// a device of the same name later starts afresh
	e.Frame(watch.FrameVerdict{At: t0, Dev: "veth9", IP: vip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictIgnored, Rule: watch.RuleLocktime})
	has(t, scrape(t, e), `arplab_garp_received_total{dev="veth9",rule="locktime",shape="garp-request",verdict="ignored"} 1`)
}
