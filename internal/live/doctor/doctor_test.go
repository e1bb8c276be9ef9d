package doctor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"arplab/internal/kernel"
)

// fakeTree writes a /proc/sys/net/ipv4 lookalike under a temp dir: every
// file of Conf, Neigh and GC with the kernel default, minus the keys in
// missing (as "scope/key").
func fakeTree(t *testing.T, devs []string, set map[string]string, missing ...string) string {
	t.Helper()
	root := t.TempDir()
	defaults := map[string]string{
		"arp_accept": "0", "arp_notify": "0", "arp_ignore": "0", "arp_announce": "0", "arp_filter": "0",
		"drop_gratuitous_arp": "0", "arp_evict_nocarrier": "1",
		"locktime": "100", "base_reachable_time_ms": "30000", "delay_first_probe_time": "5", "gc_stale_time": "60",
		"ucast_solicit": "3", "mcast_solicit": "3", "app_solicit": "0", "mcast_resolicit": "0",
		"retrans_time_ms": "1000", "unres_qlen_bytes": "212992",
		"gc_thresh1": "128", "gc_thresh2": "512", "gc_thresh3": "1024",
	}
	write := func(dir, scope string, keys []string) {
		for _, k := range keys {
			if slices.Contains(missing, scope+"/"+k) {
				continue
			}
			v := defaults[k]
			if s, ok := set[scope+"/"+k]; ok {
				v = s
			}
			p := filepath.Join(root, dir, scope, k)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, scope := range append([]string{"all", "default"}, devs...) {
		write("conf", scope, Conf)
		if scope != "all" {
			write("neigh", scope, Neigh)
		}
	}
	write("neigh", "default", GC)
	return root
}

// report builds a Report for profile from a fake tree.
func report(t *testing.T, profile string, entries int, set map[string]string, missing ...string) Report {
	t.Helper()
	p, err := kernel.Lookup(profile)
	if err != nil {
		t.Fatal(err)
	}
	r := Report{Release: p.Release, Profile: p.Name, Flags: map[string]bool{}, Entries: entries,
		Interfaces: []Interface{{Name: "eth0", Index: 2, MAC: "02:00:00:00:00:01", Up: true, Addrs: []string{"10.0.0.1/24"}}}}
	f := p.Features()
	for _, fl := range kernel.FlagTable {
		r.Flags[fl.ID] = f.Flag(fl.ID)
	}
	r.readSysctls(fakeTree(t, []string{"eth0"}, set, missing...))
	return r
}

func TestAbsentSettings(t *testing.T) {
	r := report(t, "4.4", 0, nil, "all/drop_gratuitous_arp", "eth0/drop_gratuitous_arp", "default/drop_gratuitous_arp",
		"all/arp_evict_nocarrier", "eth0/arp_evict_nocarrier", "default/arp_evict_nocarrier", "eth0/mcast_resolicit")
	for _, c := range []struct{ scope, key string }{{"all", "drop_gratuitous_arp"}, {"eth0", "arp_evict_nocarrier"}} {
		s := r.Conf[c.scope][c.key]
		if s.State != Absent || s.Value != "" {
			t.Errorf("conf/%s/%s = %+v, want State %q", c.scope, c.key, s, Absent)
		}
	}
	if s := r.Neigh["eth0"]["mcast_resolicit"]; s.State != Absent {
		t.Errorf("neigh/eth0/mcast_resolicit = %+v, want absent", s)
	}
	if s := r.Conf["eth0"]["arp_accept"]; s.Value != "0" || s.State != "" {
		t.Errorf("conf/eth0/arp_accept = %+v, want value 0", s)
	}
	// An absent setting yields no advice about it, and no error anywhere.
	for _, a := range Advise(r) {
		if a.Mechanism == MechDropGratuitous || a.Mechanism == MechEvictNoCarrier {
			t.Errorf("advice about an absent setting: %+v", a)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"state":"absent on this kernel"`) {
		t.Errorf("JSON report does not say which settings are absent: %s", b)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report does not round-trip through JSON: %v", err)
	}
}

func find(advice []Advice, mech, dev string) (Advice, bool) {
	for _, a := range advice {
		if a.Mechanism == mech && a.Dev == dev {
			return a, true
		}
	}
	return Advice{}, false
}

func TestAdvise(t *testing.T) {
	type want struct {
		mech, dev, severity, finding string
	}
	tests := []struct {
		name    string
		profile string
		entries int
		set     map[string]string
		want    []want
		absent  []string // mechanisms that must not appear
	}{
		{
			name: "RHEL 7.3 defaults: the Failure's kernel", profile: "rhel7.3", entries: 500,
			want: []want{
				{MechMovingLocktime, "", SeverityCritical, "moves with every ignored GARP"},
				{MechGARPReply, "", SeverityWarning, "tha == sha"},
				{MechSharedRouteConfirm, "", SeverityWarning, "shared route"},
				{MechLocktime, "eth0", SeverityWarning, "no GARP override"},
				{MechARPAccept, "eth0", SeverityInfo, "arp_accept is 0"},
				{MechBroadcastTHAReply, "", SeverityInfo, "not gratuitous to Linux"},
			},
			absent: []string{MechGCThresh1},
		},
		{
			name: "4.9: GARP requests need arp_accept", profile: "4.9", entries: 500,
			set: map[string]string{"all/arp_accept": "1"},
			want: []want{
				{MechLocktime, "eth0", SeverityWarning, "only when arp_accept is on (effective 1 here)"},
				{MechARPAccept, "eth0", SeverityInfo, "arp_accept is 1"},
			},
		},
		{
			name: "6.18 with arp_accept=2 on the device", profile: "6.18", entries: 500,
			set: map[string]string{"eth0/arp_accept": "2"},
			want: []want{
				{MechLocktime, "eth0", SeverityInfo, "regardless of arp_accept"},
				{MechARPAccept, "eth0", SeverityInfo, "only for senders inside a subnet"},
			},
			absent: []string{MechMovingLocktime, MechGARPReply, MechSharedRouteConfirm, MechDropGratuitous},
		},
		{
			name: "6.18 with arp_accept=1 in all: MAX makes it 1", profile: "6.18", entries: 500,
			set:  map[string]string{"all/arp_accept": "1"},
			want: []want{{MechARPAccept, "eth0", SeverityWarning, "arp_accept is 1"}},
		},
		{
			name: "5.4 with arp_accept=2: no subnet mode yet", profile: "5.4", entries: 500,
			set:  map[string]string{"eth0/arp_accept": "2"},
			want: []want{{MechARPAccept, "eth0", SeverityWarning, "behaves as 1"}},
		},
		{
			name: "drop_gratuitous_arp via all", profile: "6.18", entries: 500,
			set:  map[string]string{"all/drop_gratuitous_arp": "1"},
			want: []want{{MechDropGratuitous, "eth0", SeverityCritical, "no GARP of any shape"}},
		},
		{
			name: "small table, slow healing, no eviction", profile: "6.18", entries: 3,
			set: map[string]string{"eth0/base_reachable_time_ms": "120000", "eth0/arp_evict_nocarrier": "0"},
			want: []want{
				{MechGCThresh1, "", SeverityInfo, "3 IPv4 entries, below gc_thresh1 = 128"},
				{MechReachableTime, "eth0", SeverityWarning, "up to 188s"},
				{MechEvictNoCarrier, "eth0", SeverityInfo, "survive a carrier loss"},
			},
		},
		{
			name: "arp_evict_nocarrier off only in all: AND turns it off", profile: "6.18", entries: 500,
			set:  map[string]string{"all/arp_evict_nocarrier": "0"},
			want: []want{{MechEvictNoCarrier, "eth0", SeverityInfo, "off for eth0"}},
		},
		{
			name: "locktime tuned on the device", profile: "6.18", entries: 500,
			set:  map[string]string{"eth0/locktime": "50"},
			want: []want{{MechLocktime, "eth0", SeverityInfo, "is 50 (0.5s)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			advice := Advise(report(t, tt.profile, tt.entries, tt.set))
			for _, w := range tt.want {
				a, ok := find(advice, w.mech, w.dev)
				if !ok {
					t.Errorf("no %s advice for dev %q; got %v", w.mech, w.dev, Mechanisms(advice))
					continue
				}
				if a.Severity != w.severity || !strings.Contains(a.Finding, w.finding) {
					t.Errorf("%s advice = %s %q, want %s containing %q", w.mech, a.Severity, a.Finding, w.severity, w.finding)
				}
				if a.Change == "" || a.Why == "" || a.TradeOff == "" || a.Rule == "" {
					t.Errorf("%s advice lacks a change, reason, trade-off or rule: %+v", w.mech, a)
				}
			}
			for _, m := range tt.absent {
				for _, a := range advice {
					if a.Mechanism == m {
						t.Errorf("unexpected %s advice: %+v", m, a)
					}
				}
			}
		})
	}
}

func TestParseHZ(t *testing.T) {
	cfg := "# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\nCONFIG_HZ_PERIODIC=n\n"
	if got := parseHZ(cfg); got != 250 {
		t.Errorf("parseHZ = %d, want 250", got)
	}
	if got := parseHZ("CONFIG_HZ_1000=y\n"); got != 0 {
		t.Errorf("parseHZ without CONFIG_HZ= = %d, want 0", got)
	}
}

// TestAdvicePerInterface: interfaces without an IPv4 address get no advice,
// and advice that reads the same for several interfaces is given once,
// naming them all; an interface whose settings differ keeps its own.
func TestAdvicePerInterface(t *testing.T) {
	p, _ := kernel.Lookup("6.18")
	r := Report{Release: p.Release, Profile: p.Name, Flags: map[string]bool{}, Entries: 500, Interfaces: []Interface{
		{Name: "eth0", MAC: "02:00:00:00:00:01", Addrs: []string{"10.0.0.1/24"}},
		{Name: "eth1", MAC: "02:00:00:00:00:02", Addrs: []string{"10.0.1.1/24"}},
		{Name: "eth2", MAC: "02:00:00:00:00:03", Addrs: []string{"10.0.2.1/24"}},
		{Name: "ifb0", MAC: "02:00:00:00:00:04"},
		{Name: "ifb1", MAC: "02:00:00:00:00:05"},
	}}
	f := p.Features()
	for _, fl := range kernel.FlagTable {
		r.Flags[fl.ID] = f.Flag(fl.ID)
	}
	r.readSysctls(fakeTree(t, []string{"eth0", "eth1", "eth2", "ifb0", "ifb1"}, map[string]string{"eth2/arp_accept": "2"}))
	adv := Advise(r)
	seen := map[string]int{}
	for _, a := range adv {
		if strings.Contains(a.Dev, "ifb") || strings.Contains(a.Finding, "ifb") {
			t.Errorf("advice about an interface without an IPv4 address: %+v", a)
		}
		seen[a.Mechanism+" "+a.Finding]++
		if a.Mechanism == MechLocktime && a.Dev != "eth0, eth1, eth2" {
			t.Errorf("locktime advice for %q, want once for eth0, eth1, eth2", a.Dev)
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("advice repeated %d times: %s", n, k)
		}
	}
	var accept []Advice
	for _, a := range adv {
		if a.Mechanism == MechARPAccept {
			accept = append(accept, a)
		}
	}
	if len(accept) != 2 || accept[0].Dev != "eth0, eth1" || accept[1].Dev != "eth2" {
		t.Fatalf("arp_accept advice: %+v, want eth0+eth1 merged and eth2 apart", accept)
	}
	if !strings.Contains(accept[0].Change, "net.ipv4.conf.DEV.arp_accept=2") || !strings.Contains(accept[0].Change, "(DEV: each of eth0, eth1)") {
		t.Errorf("merged change does not say which interfaces: %q", accept[0].Change)
	}
	if !strings.Contains(accept[0].Finding, "arp_accept is 0 on eth0, eth1") {
		t.Errorf("merged finding: %q", accept[0].Finding)
	}
}

// TestDescribeKernel: doctor maps a release with the resolver --profile
// uses (the same profile and the same reason) and carries what is unknown
// for that profile: a patch of unknown presence with its evidence, and the
// profile's caveats.
func TestDescribeKernel(t *testing.T) {
	for _, c := range []struct {
		release, profile string
		why, unknown     []string
	}{
		{"4.18.0-553.el8_10.x86_64", "rhel8", []string{"RHEL 8 kernel"},
			[]string{"pmtu-no-confirm: unknown (modelled as absent) — ", "were not scanned"}},
		{"4.18.0", "4.18", []string{"upstream kernel"}, []string{"confirm-on-arp: unknown (modelled as absent) — "}},
		{"6.1.0-27-amd64", "6.1", []string{"Debian kernel of the 6.1 line"}, []string{"Amazon Linux 2023's 6.1 is inferred"}},
		{"5.14.0-427.13.1.el9_4.x86_64", "rhel9", []string{"RHEL 9 kernel"}, []string{"RHEL 9.7"}},
		{"2.6.32-754.el6.x86_64", kernel.Oldest, []string{"no profile for RHEL 6", "doctor uses the nearest profile, 3.10"}, nil},
		{"2.6.32", kernel.Oldest, []string{"older than every profile"}, nil},
		{"not-a-release", kernel.Latest, []string{"unknown kernel profile", "nearest profile, " + kernel.Latest}, nil},
	} {
		r := Report{Release: c.release}
		r.DescribeKernel()
		want, wantWhy, err := kernel.Resolve(c.release)
		if err == nil && (r.Profile != want.Name || r.ProfileWhy != wantWhy) {
			t.Errorf("%s: doctor says %s (%q), --profile's resolver %s (%q)", c.release, r.Profile, r.ProfileWhy, want.Name, wantWhy)
		}
		if r.Profile != c.profile {
			t.Errorf("%s: profile %s, want %s", c.release, r.Profile, c.profile)
		}
		for _, w := range c.why {
			if !strings.Contains(r.ProfileWhy, w) {
				t.Errorf("%s: why %q lacks %q", c.release, r.ProfileWhy, w)
			}
		}
		all := strings.Join(r.Unknown, "\n")
		for _, w := range c.unknown {
			if !strings.Contains(all, w) {
				t.Errorf("%s: unknown %q lacks %q", c.release, all, w)
			}
		}
		if len(r.Flags) != len(kernel.FlagTable) {
			t.Errorf("%s: %d flags, want %d", c.release, len(r.Flags), len(kernel.FlagTable))
		}
	}
}
