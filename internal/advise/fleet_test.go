package advise

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/live/doctor"
)

func TestParseProfileList(t *testing.T) {
	f, err := ParseFleet("rhel7.3, 4.9,6.18")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) != 3 || f.Groups[1].Profile != "4.9" || f.Groups[0].Traffic != DefaultTraffic {
		t.Fatalf("groups %+v", f.Groups)
	}
	if s := f.Groups[0].Share; s < 0.333 || s > 0.334 {
		t.Errorf("share %v, want 1/3", s)
	}
	for arg, want := range map[string]string{
		"rhel7.3,,6.18":      "entry 2 is empty",
		"rhel7.3,linux-next": `entry 2: unknown kernel profile "linux-next"`,
		"6.18,6.18":          "6.18 is listed twice",
		"":                   "--fleet is empty",
		"nope.yaml":          "fleet file nope.yaml",
	} {
		_, err := ParseFleet(arg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFleet(%q) = %v, want an error with %q", arg, err, want)
		}
	}
}

func TestParseFleetYAML(t *testing.T) {
	f, err := ParseFleet(filepath.Join("testdata", "fleet10.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) != 10 {
		t.Fatalf("%d groups", len(f.Groups))
	}
	old := f.Groups[3]
	if old.Name != "old-lb" || old.Sysctls["conf.all.arp_accept"] != "1" || old.Traffic != TrafficSubnet {
		t.Errorf("old-lb: %+v", old)
	}
	if f.Groups[6].Sysctls["neigh.eth0.locktime"] != "200" || f.Groups[9].HZ != 1000 {
		t.Errorf("bastion/desktop: %+v / %+v", f.Groups[6], f.Groups[9])
	}
	sum := 0.0
	for _, g := range f.Groups {
		sum += g.Share
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("shares sum to %v", sum)
	}
	for name, c := range map[string]struct{ src, want string }{
		"empty":       {"", "f.yaml: empty fleet file"},
		"no groups":   {"groups: []\n", "f.yaml: no groups"},
		"no profile":  {"groups:\n  - {share: 1}\n", "f.yaml:2: group 1: profile: missing"},
		"bad profile": {"groups:\n  - {profile: linux-next}\n", `f.yaml:2: group 1: profile: unknown kernel profile "linux-next"`},
		"traffic":     {"groups:\n  - {profile: '6.18', traffic: busy}\n", `f.yaml:2: group 1: traffic: "busy": want idle, vip, subnet`},
		"share":       {"groups:\n  - {profile: '6.18', share: -1}\n", "f.yaml:2: group 1: share: -1 must be positive"},
		"field":       {"groups:\n  - {profile: '6.18', colour: red}\n", `f.yaml:2: unknown field "colour" in group 1 (a group's fields: name, profile`},
		"sysctl":      {"groups:\n  - {profile: '6.18', sysctls: {frobnicate: 1}}\n", `f.yaml:2: group 1: sysctls: frobnicate: not a neighbour or conf setting`},
		"value":       {"groups:\n  - {profile: '6.18', sysctls: {arp_accept: lots}}\n", `f.yaml:2: group 1: sysctls: arp_accept (conf.all.arp_accept): "lots" is not a whole number`},
		"dup":         {"groups:\n  - {name: a, profile: '6.18'}\n  - {name: a, profile: '4.9'}\n", `f.yaml:3: group 2 (a): name: "a" is repeated`},
		"hz":          {"groups:\n  - {profile: '6.18', hz: 123}\n", "f.yaml:2: group 1: hz: 123: want 100, 250, 300 or 1000"},
		"patch":       {"groups:\n  - {profile: '6.18', patches: [+nope]}\n", `f.yaml:2: group 1: patches: patch edit "+nope"`},
		"type":        {"# fleet\ngroups:\n  - profile: '6.18'\n    share: [1]\n", "f.yaml:4: group 1: share: a list is not a number"},
		"top field":   {"groupz: []\n", `f.yaml:1: unknown field "groupz" at the top level (the top level's fields: groups)`},
		"negative":    {"groups:\n  - {profile: '6.18', sysctls: {locktime: '-5'}}\n", "f.yaml:2: group 1: sysctls: locktime (neigh.eth0.locktime): locktime -5 is out of"},
	} {
		_, err := ParseFleetYAML([]byte(c.src), "f.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", name, err, c.want)
		}
	}
}

// TestFleetUnknownFieldsOneLine: every unknown field of a fleet file, in
// the groups and at the top level, is named with the line it is on, in one
// line that starts with the file and the first one's line (as the scenario
// loader's errors do). The YAML decoder alone stopped at the first group
// with one, glued its messages together and numbered the lines of a
// re-encoded group, not of the file.
func TestFleetUnknownFieldsOneLine(t *testing.T) {
	const known = "name, profile, patches, hz, sysctls, share, traffic, entries"
	for name, c := range map[string]struct{ src, want string }{
		"two in a group": {"groups:\n  - name: tempest\n    profile: rhel7.3\n    colour: blue\n    weight: 3\n",
			`f.yaml:4: unknown fields "colour" (line 4) and "weight" (line 5) in group 1 (a group's fields: ` + known + ")"},
		"two in a flow group": {"groups:\n  - {profile: '6.18'}\n  - {profile: '4.9', colour: red, weight: 3}\n",
			`f.yaml:3: unknown fields "colour" and "weight" (line 3) in group 2 (a group's fields: ` + known + ")"},
		"group and top level": {"groups:\n  - name: a\n    profile: rhel7.3\n    colour: blue\nflavour: x\n",
			`f.yaml:4: unknown fields "colour" (line 4) in group 1, "flavour" (line 5) at the top level (a group's fields: ` + known + "; the top level's fields: groups)"},
		"two groups": {"groups:\n  - {profile: '6.18', colour: red}\n\n  # the second\n  - {profile: '4.9', colour: red}\n",
			`f.yaml:2: unknown fields "colour" (line 2) in group 1, "colour" (line 5) in group 2 (a group's fields: ` + known + ")"},
		"many": {"groups:\n  - {profile: '6.18', a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7}\n",
			`f.yaml:2: unknown fields "a", "b", "c", "d" and "e" (line 2) in group 1, and 2 more (a group's fields: ` + known + ")"},
		"merged in": {"base: &b {colour: red}\ngroups:\n  - {<<: *b, profile: '6.18'}\n",
			`f.yaml:1: unknown fields "base" (line 1) at the top level, "colour" (line 1) in group 1 (the top level's fields: groups; a group's fields: ` + known + ")"},
		// a type error in a flow-style group names the file's line, not
		// one of the group re-encoded in block style
		"flow type": {"groups:\n  - {profile: '6.18', share: [1]}\n", "f.yaml:2: group 1: share: a list is not a number"},
	} {
		_, err := ParseFleetYAML([]byte(c.src), "f.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s:\n got %v\nwant %s", name, err, c.want)
		}
	}
	// an anchor inside the groups still resolves (a group re-encoded on its
	// own lost it: "unknown anchor 'g' referenced")
	f, err := ParseFleetYAML([]byte("groups:\n  - &g {profile: '6.18', traffic: vip}\n  - {<<: *g, name: b}\n"), "f.yaml")
	if err != nil || len(f.Groups) != 2 || f.Groups[1].Name != "b" || f.Groups[1].Traffic != TrafficVIP {
		t.Errorf("a group merging another: %v %+v", err, f)
	}
}

// writeDoctor writes a doctor --json document as `arplab doctor` prints it.
func writeDoctor(t *testing.T, dir, name string, r doctor.Report) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"report": r, "advice": doctor.Advise(r)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func doctorHost(profile, accept string) doctor.Report {
	set := func(v string) doctor.Setting { return doctor.Setting{Path: "/proc/sys/x", Value: v} }
	return doctor.Report{Release: "3.10.0-514.el7.x86_64", Profile: profile, HZ: 1000,
		Interfaces: []doctor.Interface{{Name: "ens3", Up: true}},
		Conf: map[string]map[string]doctor.Setting{
			"all":  {"arp_accept": set("0"), "drop_gratuitous_arp": {State: doctor.Absent}},
			"ens3": {"arp_accept": set(accept), "arp_notify": set("0")}},
		Neigh: map[string]map[string]doctor.Setting{"ens3": {"locktime": set("100"), "interval_probe_time_ms": set("5000")}},
		GC:    map[string]doctor.Setting{"gc_thresh1": set("128")}, Entries: 12}
}

func TestParseDoctorDir(t *testing.T) {
	dir := t.TempDir()
	writeDoctor(t, dir, "a.json", doctorHost("rhel7.3", "0"))
	writeDoctor(t, dir, "b.json", doctorHost("rhel7.3", "0"))
	writeDoctor(t, dir, "c.json", doctorHost("rhel7.3", "1"))
	os.WriteFile(filepath.Join(dir, "README"), []byte("hosts"), 0o644)
	f, err := ParseFleet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) != 2 || f.Groups[0].Hosts != 2 || f.Groups[1].Hosts != 1 {
		t.Fatalf("groups %+v", f.Groups)
	}
	g := f.Groups[0]
	if g.Profile != "rhel7.3" || g.HZ != 1000 || g.Entries != 12 || g.Sysctls["neigh.eth0.locktime"] != "100" ||
		g.Sysctls["conf.eth0.arp_accept"] != "0" || g.Sysctls["neigh.default.gc_thresh1"] != "128" {
		t.Errorf("group %+v", g)
	}
	if f.Groups[1].Sysctls["conf.eth0.arp_accept"] != "1" {
		t.Errorf("c.json's arp_accept: %+v", f.Groups[1].Sysctls)
	}
	if s := f.Groups[0].Share; s < 0.66 || s > 0.67 {
		t.Errorf("share of the two merged hosts: %v", s)
	}
	notes := strings.Join(f.Notes, "\n")
	if !strings.Contains(notes, "1 setting(s) the model does not have") || !strings.Contains(notes, "1 file(s) not ending in .json") {
		t.Errorf("notes do not count what was not applied: %q", notes)
	}

	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.json"), []byte(`{"advice": []}`), 0o644)
	if _, err := ParseFleet(bad); err == nil || !strings.Contains(err.Error(), "x.json: no report.profile") {
		t.Errorf("report without profile: %v", err)
	}
	if _, err := ParseFleet(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no doctor reports") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestSysctlKeys(t *testing.T) {
	got, err := sysctlKeys(map[string]string{"locktime": "50", "arp_accept": "1", "gc_thresh1": "4",
		"net.ipv4.neigh.eth1.base_reachable_time_ms": "1000", "conf.default.drop_gratuitous_arp": "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"neigh.eth0.locktime": "50", "conf.all.arp_accept": "1", "neigh.default.gc_thresh1": "4",
		"neigh.eth0.base_reachable_time_ms": "1000", "conf.eth0.drop_gratuitous_arp": "1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if _, err := sysctlKeys(map[string]string{"locktime": "1", "neigh.eth0.locktime": "2"}); err == nil {
		t.Error("the same sysctl set twice was accepted")
	}
}

// TestGroupsFromReleasesKeepTheirBackports: a release that resolves to a
// profile minus back-ports it predates (RHEL 9.2, an Ubuntu ABI before
// 5.15.0-102) names that profile "rhel9-…" or "5.15-forced-gc-budget",
// which is no input to the resolver. Whichever way the fleet gives it (a
// comma list, a fleet file, a doctor report), the client's scenario must
// resolve to the same profile, not fail and not fall back to the line's
// full profile.
func TestGroupsFromReleasesKeepTheirBackports(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte("groups:\n  - {name: u, profile: 5.15.0-91-generic}\n  - {name: r, profile: rhel9.2, patches: [+arp-accept-subnet]}\n  - {name: p, profile: \"6.1\", patches: [-clamp-timestamps]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := doctorHost("5.15-forced-gc-budget", "0")
	rep.Release = "5.15.0-91-generic"
	docs := t.TempDir()
	writeDoctor(t, docs, "ubuntu.json", rep)
	for _, arg := range []string{"5.15.0-91-generic,rhel9.2", file, docs} {
		f, err := ParseFleet(arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, g := range f.Groups {
			want, err := kernel.Lookup(baseProfile(g))
			if err != nil {
				t.Fatalf("%s: group %s: %v", arg, g.Name, err)
			}
			if want, err = want.WithPatches(g.Patches); err != nil {
				t.Fatal(err)
			}
			if want.Name != g.Profile {
				t.Errorf("%s: group %s is %s, but its scenario resolves %q to %s", arg, g.Name, g.Profile, baseProfile(g), want.Name)
			}
			if !strings.ContainsAny(g.Profile, "+-") {
				t.Errorf("%s: group %s: profile %s has lost its patch edits", arg, g.Name, g.Profile)
			}
			if _, err := groupScenario(g, DefaultMaxStale, false); err != nil {
				t.Errorf("%s: group %s: %v", arg, g.Name, err)
			}
		}
	}
}

// TestDoctorReportPicksTheAddressedInterface: a host whose first interface
// has no IPv4 address (an ifb, a bond slave) is modelled with the settings
// of its first interface that has one, as doctor advises; a second
// addressed interface is named in a note, not silently dropped.
func TestDoctorReportPicksTheAddressedInterface(t *testing.T) {
	set := func(v string) doctor.Setting { return doctor.Setting{Path: "/proc/sys/x", Value: v} }
	r := doctorHost("6.18", "0")
	r.Release = "6.18.2"
	r.Interfaces = []doctor.Interface{{Name: "ifb0", Up: true}, {Name: "bond0", Up: true, Addrs: []string{"10.1.0.5/24"}},
		{Name: "eth9", Up: true, Addrs: []string{"10.2.0.5/24"}}}
	r.Conf["ifb0"] = map[string]doctor.Setting{"arp_accept": set("0")}
	r.Conf["bond0"] = map[string]doctor.Setting{"arp_accept": set("1")}
	r.Conf["eth9"] = map[string]doctor.Setting{"arp_accept": set("2")}
	r.Neigh["bond0"] = map[string]doctor.Setting{"locktime": set("250")}
	b, err := json.Marshal(map[string]any{"report": r})
	if err != nil {
		t.Fatal(err)
	}
	g, notes, err := ParseDoctorReport(b, "h.json")
	if err != nil {
		t.Fatal(err)
	}
	if g.Sysctls["conf.eth0.arp_accept"] != "1" || g.Sysctls["neigh.eth0.locktime"] != "250" {
		t.Errorf("modelled %v, want bond0's arp_accept 1 and locktime 250", g.Sysctls)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "h.json: 2 interfaces with IPv4 (bond0, eth9); modelled bond0's settings") {
		t.Errorf("notes %q do not name the interface left out", notes)
	}
}

// TestFleetTypeErrors: a value of the wrong kind in a fleet file is named
// as the scenario loader names one: the file, the value's line, the group
// (its number, and its name when it has one) and the key, with what the
// key wants, in one line; the YAML decoder's own errors said "cannot
// unmarshal !!str `many` into int" and named neither the key nor the
// group, and it dropped an empty group or patch without a word.
func TestFleetTypeErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"text for a whole number", "groups:\n  - name: tempest\n    profile: rhel7.3\n    entries: many\n",
			`f.yaml:4: group 1 (tempest): entries: "many" is not a whole number`},
		{"text for a number, flow style", "groups:\n  - {profile: '6.18'}\n  - {profile: '4.9', share: half}\n",
			`f.yaml:3: group 2: share: "half" is not a number`},
		{"a float for a whole number", "groups:\n  - {profile: '6.18', hz: 2.5}\n",
			`f.yaml:2: group 1: hz: "2.5" is not a whole number`},
		{"minus infinity for a whole number", "groups:\n  - {profile: '6.18', entries: -.inf}\n",
			`f.yaml:2: group 1: entries: "-.inf" is not a whole number`},
		{"a list for a whole number", "groups:\n  - {profile: '6.18', hz: [1000]}\n",
			`f.yaml:2: group 1: hz: a list is not a whole number`},
		{"a mapping for text", "groups:\n  - profile:\n      kernel: '6.18'\n",
			`f.yaml:3: group 1: profile: a mapping is not text (a kernel profile)`},
		{"a list for text", "groups:\n  - {profile: '6.18', traffic: [vip, idle]}\n",
			`f.yaml:2: group 1: traffic: a list is not text (idle, vip or subnet)`},
		{"a list for a mapping", "groups:\n  - name: db\n    profile: '6.18'\n    sysctls: [locktime, '0']\n",
			`f.yaml:4: group 1 (db): sysctls: a list is not a mapping of sysctl names to values`},
		{"text for a list", "groups:\n  - {profile: '4.9', patches: +garp-reply}\n",
			`f.yaml:2: group 1: patches: "+garp-reply" is not a list of patch edits ([+name, -name])`},
		{"a list in the patches", "groups:\n  - {profile: '4.9', patches: [+garp-reply, [x]]}\n",
			`f.yaml:2: group 1: patches: item 2: a list is not a patch edit (+name or -name)`},
		{"an empty patch", "groups:\n  - {profile: '4.9', patches: [+garp-reply, ~]}\n",
			`f.yaml:2: group 1: patches: item 2 is empty (want a patch edit: +name or -name)`},
		{"a list for a sysctl value", "groups:\n  - profile: '6.18'\n    sysctls:\n      arp_accept: '1'\n      locktime: [0]\n",
			`f.yaml:5: group 1: sysctls: locktime: a list is not a value (text or a number)`},
		{"a list for a sysctl name", "groups:\n  - {profile: '6.18', sysctls: {[locktime]: '0'}}\n",
			`f.yaml:2: group 1: sysctls: a list is not a key (a key is text)`},
		{"a list for a key", "groups:\n  - {profile: '6.18', [share]: 1}\n",
			`f.yaml:2: group 1: a list is not a key (a key is text)`},
		{"a group that is text", "groups:\n  - {profile: '6.18'}\n  - rhel7.3\n",
			`f.yaml:3: group 2: "rhel7.3" is not a group (a mapping: {profile: …, share: …})`},
		{"a group that is a list", "groups:\n  - [rhel7.3, 0.5]\n",
			`f.yaml:2: group 1: a list is not a group (a mapping: {profile: …, share: …})`},
		{"an empty group", "groups:\n  - {profile: '6.18'}\n  -\n  - {profile: '4.9'}\n",
			`f.yaml:3: group 2 is empty (want a mapping: {profile: …, share: …})`},
		{"a mapping for the groups", "# fleet\ngroups:\n  web: {profile: '6.18'}\n",
			`f.yaml:3: groups: a mapping is not a list of groups (groups: [{profile: …}, …])`},
		{"text for the groups", "groups: rhel7.3,6.18\n",
			`f.yaml:1: groups: "rhel7.3,6.18" is not a list of groups (groups: [{profile: …}, …])`},
		{"a list for the file", "- {profile: '6.18'}\n",
			`f.yaml:1: a list is not a mapping (groups: [...])`},
		{"text for the file", "rhel7.3\n",
			`f.yaml:1: "rhel7.3" is not a mapping (groups: [...])`},
		{"a key written twice", "groups:\n  - name: web\n    profile: '6.18'\n    share: 0.5\n    share: 0.2\n",
			`f.yaml:5: group 1 (web): share: written twice (first at line 4)`},
		{"groups written twice", "groups: []\ngroups: [{profile: '6.18'}]\n",
			`f.yaml:2: groups: written twice (first at line 1)`},
		{"a merge of text", "groups:\n  - {<<: rhel7.3, profile: '6.18'}\n",
			`f.yaml:2: group 1: <<: "rhel7.3" is not a mapping or a list of mappings to merge`},
		{"a bad value merged in", "groups:\n  - &g {profile: '6.18', entries: many}\n  - {<<: *g, name: b}\n",
			`f.yaml:2: group 1: entries: "many" is not a whole number (and 1 more problem)`},
		{"every problem counted", "groups:\n  - {profile: '6.18', hz: x, share: y}\n  - {profile: '4.9', entries: z}\n",
			`f.yaml:2: group 1: hz: "x" is not a whole number (and 2 more problems)`},
		{"a newline in the value", "groups:\n  - {profile: '6.18', entries: \"a\\nb\"}\n",
			`f.yaml:2: group 1: entries: "a\nb" is not a whole number`},
		{"a long value", "groups:\n  - {profile: '6.18', entries: " + strings.Repeat("x", 100) + "}\n",
			`f.yaml:2: group 1: entries: "` + strings.Repeat("x", 40) + `…" is not a whole number`},
		// values of the right kind the model rejects: the key's own line
		{"a sysctl value the model rejects", "groups:\n  - profile: '6.18'\n    sysctls:\n      arp_accept: '1'\n      locktime: '-5'\n",
			`f.yaml:5: group 1: sysctls: locktime (neigh.eth0.locktime): locktime -5 is out of the kernel's range (allowed: 0 to 2147483647)`},
		{"an unknown sysctl", "groups:\n  - profile: '6.18'\n\n    sysctls: {colour: red}\n",
			`f.yaml:4: group 1: sysctls: colour: not a neighbour or conf setting`},
		{"a share out of range", "groups:\n  - name: lb\n    profile: '6.18'\n    share: -1\n",
			`f.yaml:4: group 1 (lb): share: -1 must be positive (and at most 1e9)`},
		{"a traffic the model has not", "groups:\n  - profile: '6.18'\n    traffic: busy\n",
			`f.yaml:3: group 1: traffic: "busy": want idle, vip, subnet`},
		{"an unknown profile", "groups:\n  - share: 1\n    profile: linux-next\n",
			`f.yaml:3: group 1: profile: unknown kernel profile "linux-next"`},
		{"a missing profile", "groups:\n  - share: 1\n    traffic: vip\n",
			`f.yaml:2: group 1: profile: missing`},
		// what only the group's kernel knows: found when the file is read
		// (it failed the run with exit 1 and no file or line before)
		{"a sysctl the kernel does not have", "groups:\n  - profile: '4.4'\n    sysctls:\n      locktime: '5'\n      arp_evict_nocarrier: '1'\n",
			`f.yaml:5: group 1: sysctls: arp_evict_nocarrier: conf/all/arp_evict_nocarrier does not exist on 4.4 (added in 5.16)`},
		{"a value the kernel does not have", "groups:\n  - {name: old, profile: '4.4', sysctls: {arp_accept: '2'}}\n",
			`f.yaml:2: group 1 (old): sysctls: arp_accept: conf/all/arp_accept=2 is not understood by 4.4 (added in 6.0)`},
		{"more entries than the table holds", "groups:\n  - profile: '6.18'\n    entries: 2000\n",
			`f.yaml:3: group 1: entries 2000 and 1 neighbours are more than the table holds`},
	} {
		_, err := ParseFleetYAML([]byte(c.src), "f.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}
