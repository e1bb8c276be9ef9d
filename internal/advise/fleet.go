package advise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"arplab/internal/kernel"
	"arplab/internal/live/doctor"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
)

// Traffic patterns of a fleet group: what the client is doing with the
// subnet when the VIP moves. They decide which kernel mechanisms can keep
// the old MAC: an idle entry only has to take one GARP; a session to the
// VIP keeps the entry busy (state changes open locktime windows); sessions
// to other hosts on the subnet confirm the stale entry through the shared
// route on kernels before 4.11 (spec §6.1), the seed's Failure.
const (
	TrafficIdle   = "idle"
	TrafficVIP    = "vip"
	TrafficSubnet = "subnet"
)

// Traffics lists the patterns in the order docs and errors name them.
var Traffics = []string{TrafficIdle, TrafficVIP, TrafficSubnet}

// DefaultTraffic is the pattern of groups given as a profile list or as
// doctor reports, which say nothing about traffic: the harshest one, so a
// recommendation for it also holds for quieter clients of the same kernel.
const DefaultTraffic = TrafficSubnet

// Group is a set of identical clients of the fleet.
type Group struct {
	Name string `json:"name"`
	// Profile is the kernel profile the model runs (with patch edits in
	// its name, e.g. "rhel7.3+garp-reply"); Release is what the user gave
	// when it was not a profile name.
	Profile string   `json:"profile"`
	Patches []string `json:"patches,omitempty"`
	Release string   `json:"release,omitempty"`
	HZ      int      `json:"hz,omitempty"`
	// Sysctls use the scenario's keys (neigh.eth0.locktime,
	// conf.all.arp_accept, neigh.default.gc_thresh1).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Share is the group's fraction of the fleet (shares are normalised
	// to sum to 1).
	Share   float64 `json:"share"`
	Traffic string  `json:"traffic"`
	// Entries is how many unrelated neighbour entries the client holds.
	Entries int `json:"entries,omitempty"`
	// Hosts counts the doctor reports merged into the group (0 otherwise).
	Hosts int `json:"hosts,omitempty"`
}

// ipv6 reports whether the group sets IPv6 settings, which only an IPv6
// failover (Options.IPv6) has.
func (g Group) ipv6() bool {
	for k := range g.Sysctls {
		if strings.HasPrefix(k, "net.ipv6.") {
			return true
		}
	}
	return false
}

// Fleet is the parsed --fleet argument.
type Fleet struct {
	// Source says what was read: "profiles", a YAML file or a directory.
	Source string  `json:"source"`
	Groups []Group `json:"groups"`
	// Notes count what was read but not modelled (never silently).
	Notes []string `json:"notes,omitempty"`
}

// ResolveProfile maps a fleet entry (a profile name, a `uname -r` string,
// a RHEL minor) to a kernel profile: the one place that does so, through
// kernel.Lookup's resolver.
func ResolveProfile(s string) (kernel.Profile, error) {
	return kernel.Lookup(s)
}

// ParseFleet reads FLEET: a directory of `arplab doctor --json` outputs, a
// YAML fleet file (when the path exists or ends in .yaml/.yml), or a comma
// list of profiles.
func ParseFleet(arg string) (*Fleet, error) {
	if strings.TrimSpace(arg) == "" {
		return nil, errors.New("--fleet is empty: give profiles (rhel7.3,4.9,6.18), a YAML fleet file or a directory of doctor --json outputs")
	}
	st, err := os.Stat(arg)
	switch {
	case err == nil && st.IsDir():
		return parseDoctorDir(arg)
	case err == nil:
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		return ParseFleetYAML(b, arg)
	case strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, '/'):
		return nil, fmt.Errorf("fleet file %s: %v", arg, err)
	}
	return parseProfileList(arg)
}

func parseProfileList(arg string) (*Fleet, error) {
	f := &Fleet{Source: "profiles"}
	seen := map[string]bool{}
	for i, name := range strings.Split(arg, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("--fleet %q: entry %d is empty", arg, i+1)
		}
		p, err := ResolveProfile(name)
		if err != nil {
			return nil, fmt.Errorf("--fleet %q: entry %d: %v", arg, i+1, err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("--fleet %q: %s is listed twice", arg, p.Name)
		}
		seen[p.Name] = true
		g := Group{Name: p.Name, Profile: p.Name, Traffic: DefaultTraffic, Share: 1}
		if name != p.Name {
			g.Release = name
		}
		f.Groups = append(f.Groups, g)
	}
	f.normalise()
	return f, nil
}

func (f *Fleet) normalise() {
	var sum float64
	for _, g := range f.Groups {
		sum += g.Share
	}
	for i := range f.Groups {
		f.Groups[i].Share /= sum
	}
}

// fleetFile is the YAML fleet format (docs/advise.md).
type fleetFile struct {
	Groups []fleetGroup `yaml:"groups"`
}

type fleetGroup struct {
	Line    int               `yaml:"-"`
	Name    string            `yaml:"name"`
	Profile string            `yaml:"profile"`
	Patches []string          `yaml:"patches"`
	HZ      int               `yaml:"hz"`
	Sysctls map[string]string `yaml:"sysctls"`
	Share   *float64          `yaml:"share"`
	Traffic string            `yaml:"traffic"`
	Entries int               `yaml:"entries"`
}

type rawFleetGroup fleetGroup

// UnmarshalYAML decodes strictly and records the group's line.
func (g *fleetGroup) UnmarshalYAML(n *yaml.Node) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r rawFleetGroup
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("%s", yamlMessage(err, n.Line-1, groupFields))
	}
	*g = fleetGroup(r)
	g.Line = n.Line
	return nil
}

// ParseFleetYAML decodes a fleet file; errors name file:line.
func ParseFleetYAML(b []byte, file string) (*Fleet, error) {
	var ff fleetFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&ff); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty fleet file (want groups: [...])", file)
		}
		msg := yamlMessage(err, 0, "groups")
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", file, m[1], msg[len(m[0]):])
		}
		return nil, fmt.Errorf("%s: %s", file, msg)
	}
	if len(ff.Groups) == 0 {
		return nil, fmt.Errorf("%s: no groups (want groups: [{profile: …, share: …, traffic: …}])", file)
	}
	f := &Fleet{Source: file}
	names := map[string]bool{}
	for i, fg := range ff.Groups {
		at := fmt.Sprintf("%s:%d", file, fg.Line)
		if fg.Profile == "" {
			return nil, fmt.Errorf("%s: group %d has no profile", at, i+1)
		}
		p, err := ResolveProfile(fg.Profile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		p, err = p.WithPatches(fg.Patches)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		g := Group{Name: fg.Name, Profile: p.Name, Patches: fg.Patches, HZ: fg.HZ, Traffic: fg.Traffic, Entries: fg.Entries, Share: 1}
		if base, _ := ResolveProfile(fg.Profile); base.Name != fg.Profile {
			g.Release = fg.Profile // a uname -r string or RHEL minor: resolved again for the scenario
		}
		if g.Name == "" {
			g.Name = fmt.Sprintf("%s-%d", p.Name, i+1)
		}
		if names[g.Name] {
			return nil, fmt.Errorf("%s: group name %q is repeated", at, g.Name)
		}
		names[g.Name] = true
		if g.Traffic == "" {
			g.Traffic = DefaultTraffic
		}
		if !slices.Contains(Traffics, g.Traffic) {
			return nil, fmt.Errorf("%s: traffic %q: want %s", at, g.Traffic, strings.Join(Traffics, ", "))
		}
		if fg.Share != nil {
			if !(*fg.Share > 0 && *fg.Share <= 1e9) {
				return nil, fmt.Errorf("%s: share %v must be positive", at, *fg.Share)
			}
			g.Share = *fg.Share
		}
		if g.Entries < 0 || g.Entries > maxEntries {
			return nil, fmt.Errorf("%s: entries %d must be 0..%d", at, g.Entries, maxEntries)
		}
		if g.HZ != 0 && !slices.Contains([]int{100, 250, 300, 1000}, g.HZ) {
			return nil, fmt.Errorf("%s: hz %d: want 100, 250, 300 or 1000", at, g.HZ)
		}
		if g.Sysctls, err = sysctlKeys(fg.Sysctls); err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		if _, err := groupScenario(g, 10e9, g.ipv6()); err != nil {
			return nil, fmt.Errorf("%s: group %s: %v", at, g.Name, clientError(err))
		}
		f.Groups = append(f.Groups, g)
	}
	f.normalise()
	return f, nil
}

// clientError strips the generated scenario's position from an error about
// the client host: the user wrote the fleet, not that scenario.
func clientError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "host client: "); i >= 0 {
		return msg[i+len("host client: "):]
	}
	return msg
}

// maxEntries bounds a group's unrelated entries: each is a timer in every
// Monte Carlo run.
const maxEntries = 2048

// groupFields lists a group's keys for "unknown field" errors.
const groupFields = "name, profile, patches, hz, sysctls, share, traffic, entries"

var (
	lineRE    = regexp.MustCompile(`^line (\d+): `)
	lineNumRE = regexp.MustCompile(`line (\d+)`)
	unknownRE = regexp.MustCompile(`field (\S+) not found in type \S+`)
)

// yamlMessage rewrites a yaml.v3 error as one line: line numbers shifted
// by off (a group is decoded from a re-encoded node), Go type names
// replaced by the keys the format has.
func yamlMessage(err error, off int, known string) string {
	s := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.ReplaceAll(s, "\n  ", "; ")
	s = lineNumRE.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(m[len("line "):])
		return "line " + strconv.Itoa(n+off)
	})
	return unknownRE.ReplaceAllString(s, "unknown field $1 (known: "+known+")")
}

// clientDev is the client's interface in the group scenario.
const clientDev = "eth0"

// sysctlKeys maps a fleet group's sysctls to scenario keys on the client's
// one interface: bare neighbour names to neigh.eth0.NAME (gc_* to
// neigh.default), bare conf names to conf.all.NAME, and full keys for all,
// default or any device name to the client's interface.
func sysctlKeys(in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, k := range sortedKeys(in) {
		v := in[k]
		var full string
		switch {
		case strings.HasPrefix(k, "gc_thresh") || k == "gc_interval":
			full = "neigh.default." + k
		case slices.Contains(neigh.ParamNames(), k):
			full = "neigh." + clientDev + "." + k
		case slices.Contains(neigh.ConfNames, k):
			full = "conf.all." + k
		case slices.Contains(neigh.Conf6Names, k):
			// IPv6 reads the device's own value (ndisc §8.2)
			full = "net.ipv6.conf." + clientDev + "." + k
		case strings.HasPrefix(strings.ReplaceAll(k, "/", "."), "net.ipv6."):
			_, kind, dev, name, err := neigh.SplitSysctlFamily(k)
			if err != nil {
				return nil, fmt.Errorf("sysctl %q: %v", k, err)
			}
			if dev != "all" && dev != "default" || kind == "neigh" {
				dev = clientDev
			}
			full = "net.ipv6." + kind + "." + dev + "." + name
		default:
			kind, dev, name, err := scenario.SplitSysctl(k)
			if err != nil {
				return nil, fmt.Errorf("sysctl %q: not a neighbour or conf setting (%v)", k, err)
			}
			switch {
			case kind == "conf" && dev == "all":
			case kind == "neigh" && strings.HasPrefix(name, "gc_"):
				dev = "default"
			default:
				dev = clientDev
			}
			full = kind + "." + dev + "." + name
		}
		if prev, ok := out[full]; ok && prev != v {
			return nil, fmt.Errorf("sysctl %q: %s is set twice (%s and %s)", k, full, prev, v)
		}
		out[full] = v
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// doctorFile is what `arplab doctor --json` prints.
type doctorFile struct {
	Report *doctor.Report `json:"report"`
}

// parseDoctorDir reads every *.json in dir as a doctor report and merges
// hosts with the same profile, HZ and settings into one group whose share
// is their count.
func parseDoctorDir(dir string) (*Fleet, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	f := &Fleet{Source: dir}
	byKey := map[string]int{}
	skipped := 0
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			if !e.IsDir() {
				skipped++
			}
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		g, notes, err := ParseDoctorReport(b, path)
		if err != nil {
			return nil, err
		}
		f.Notes = append(f.Notes, notes...)
		key := groupKey(g)
		if i, ok := byKey[key]; ok {
			f.Groups[i].Hosts++
			f.Groups[i].Share++
			continue
		}
		byKey[key] = len(f.Groups)
		f.Groups = append(f.Groups, g)
	}
	if skipped > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%s: %d file(s) not ending in .json were not read", dir, skipped))
	}
	if len(f.Groups) == 0 {
		return nil, fmt.Errorf("%s: no doctor reports (*.json from `arplab doctor --json`)", dir)
	}
	f.normalise()
	return f, nil
}

func groupKey(g Group) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%d|%d|", g.Profile, g.HZ, g.Entries)
	for _, k := range sortedKeys(g.Sysctls) {
		fmt.Fprintf(&b, "%s=%s;", k, g.Sysctls[k])
	}
	return b.String()
}

// ParseDoctorReport turns one `arplab doctor --json` output into a group of
// one host: the report's closest profile, its HZ and table size, and the
// settings the model knows for its first interface (conf/all and the
// interface's own). Settings the model does not have are counted in the
// notes.
// clientInterface picks the interface whose settings model the host's
// client: the first with an IPv4 address, as doctor advises only on those
// (an addressless bond slave or ifb listed first never resolves the VIP);
// the first interface when none has one; "default" for a report without
// interfaces. When several carry addresses the others are not modelled,
// and a note says which was.
func clientInterface(r *doctor.Report, file string, notes *[]string) string {
	var withAddr []string
	for _, i := range r.Interfaces {
		if len(i.Addrs) > 0 {
			withAddr = append(withAddr, i.Name)
		}
	}
	switch {
	case len(withAddr) > 1:
		*notes = append(*notes, fmt.Sprintf("%s: %d interfaces with IPv4 (%s); modelled %s's settings", file, len(withAddr), strings.Join(withAddr, ", "), withAddr[0]))
		return withAddr[0]
	case len(withAddr) == 1:
		return withAddr[0]
	case len(r.Interfaces) > 0:
		return r.Interfaces[0].Name
	}
	return "default"
}

func ParseDoctorReport(b []byte, file string) (Group, []string, error) {
	var df doctorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&df); err != nil {
		return Group{}, nil, fmt.Errorf("%s: not a doctor --json output: %v", file, err)
	}
	r := df.Report
	if r == nil || r.Profile == "" {
		return Group{}, nil, fmt.Errorf("%s: no report.profile (want the output of `arplab doctor --json`)", file)
	}
	// The release, resolved as doctor resolved it, is what the scenario
	// uses; report.profile is a resolved name (e.g. "5.15-forced-gc-budget"
	// for an older Ubuntu ABI) that only the release reproduces.
	p, err := ResolveProfile(r.Release)
	if err != nil {
		if p, err = ResolveProfile(r.Profile); err != nil {
			return Group{}, nil, fmt.Errorf("%s: report.release %q and report.profile: %v", file, r.Release, err)
		}
		r.Release = ""
	}
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	g := Group{Name: name, Profile: p.Name, Release: r.Release, Traffic: DefaultTraffic, Share: 1, Hosts: 1}
	if r.HZ == 100 || r.HZ == 250 || r.HZ == 300 || r.HZ == 1000 {
		g.HZ = r.HZ
	}
	var notes []string
	if r.Entries > maxEntries {
		notes = append(notes, fmt.Sprintf("%s: %d neighbour entries modelled as %d", file, r.Entries, maxEntries))
	}
	g.Entries = min(max(r.Entries, 0), maxEntries)
	dev := clientInterface(r, file, &notes)
	set := map[string]string{}
	unknown := 0
	take := func(kind, scope string, m map[string]doctor.Setting, known []string) {
		for _, k := range sortedKeys(m) {
			s := m[k]
			if s.State != "" {
				continue // absent on that kernel, or unreadable: nothing to model
			}
			if !slices.Contains(known, k) {
				unknown++
				continue
			}
			if _, err := strconv.Atoi(s.Value); err != nil {
				unknown++
				continue
			}
			target := clientDev
			if scope == "all" || strings.HasPrefix(k, "gc_") {
				target = scope
			}
			set[kind+"."+target+"."+k] = s.Value
		}
	}
	take("conf", "all", r.Conf["all"], neigh.ConfNames)
	take("conf", clientDev, r.Conf[dev], neigh.ConfNames)
	take("neigh", clientDev, r.Neigh[dev], neigh.ParamNames())
	if dev != "default" && len(r.Neigh[dev]) == 0 {
		take("neigh", clientDev, r.Neigh["default"], neigh.ParamNames())
	}
	take("neigh", "default", r.GC, []string{"gc_thresh1", "gc_thresh2", "gc_thresh3"})
	if unknown > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d setting(s) the model does not have were not applied", file, unknown))
	}
	if len(set) > 0 {
		g.Sysctls = set
	}
	if _, err := groupScenario(g, 10e9, g.ipv6()); err != nil {
		return Group{}, nil, fmt.Errorf("%s: %v", file, clientError(err))
	}
	return g, notes, nil
}
