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
	"arplab/internal/sim"
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
	Line int `yaml:"-"`
	// Lines holds the line of each key of the group as it is written
	// (a merged key: where the merged mapping has it), and of each sysctl
	// as "sysctls.NAME", for errors about a value.
	Lines   map[string]int    `yaml:"-"`
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

// UnmarshalYAML decodes the group from the file's own node, so that a type
// error names the file's line (a flow-style group re-encoded would number
// its keys one a line) and an alias or merge key inside it still resolves,
// and records the group's line. Unknown keys were found before
// (unknownKeys): Node.Decode does not look for them.
func (g *fleetGroup) UnmarshalYAML(n *yaml.Node) error {
	var r rawFleetGroup
	if err := n.Decode(&r); err != nil {
		return err
	}
	*g = fleetGroup(r)
	g.Line = n.Line
	g.Lines = keyLines(n)
	return nil
}

// keyLines maps each key of the group mapping n to its line: the group's
// own keys first, as they win over merged ones, then merged keys; each
// sysctl as "sysctls.NAME".
func keyLines(n *yaml.Node) map[string]int {
	lines := map[string]int{}
	var sysctls *yaml.Node
	note := func(k, v *yaml.Node) {
		if _, ok := lines[k.Value]; ok {
			return
		}
		lines[k.Value] = k.Line
		if k.Value == "sysctls" {
			sysctls = v
		}
	}
	n = deref(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
			note(k, n.Content[i+1])
		}
	}
	mappingKeys(n, map[*yaml.Node]bool{}, note)
	if sysctls != nil {
		mappingKeys(sysctls, map[*yaml.Node]bool{}, func(k, _ *yaml.Node) {
			if _, ok := lines["sysctls."+k.Value]; !ok {
				lines["sysctls."+k.Value] = k.Line
			}
		})
	}
	return lines
}

// ParseFleetYAML decodes a fleet file. Every error is one line that names
// the file and the line, and for a group's value the group and the key
// ("f.yaml:3: group 1 (tempest): entries: \"many\" is not a whole
// number"), as the scenario loader's errors do.
func ParseFleetYAML(b []byte, file string) (*Fleet, error) {
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty fleet file (want groups: [...])", file)
	}
	if err == nil {
		if ks := unknownKeys(&doc); len(ks) > 0 {
			return nil, unknownKeysError(file, ks)
		}
		if ps := checkShapes(&doc); len(ps) > 0 {
			return nil, shapeError(file, ps)
		}
	}
	var ff fleetFile
	if err == nil {
		err = doc.Decode(&ff)
	}
	if err != nil {
		msg := yamlMessage(err, "groups")
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
		// at names the file, the line of key (the group's line when the
		// key is not written) and the group
		at := func(key string) string {
			line, ok := fg.Lines[key]
			if !ok {
				line = fg.Line
			}
			return fmt.Sprintf("%s:%d: %s", file, line, groupRef(i+1, fg.Name))
		}
		if fg.Profile == "" {
			return nil, fmt.Errorf("%s: profile: missing (want a kernel profile: rhel7.3, 6.18, a uname -r string; see arplab profiles)", at("profile"))
		}
		p, err := ResolveProfile(fg.Profile)
		if err != nil {
			return nil, fmt.Errorf("%s: profile: %v", at("profile"), err)
		}
		p, err = p.WithPatches(fg.Patches)
		if err != nil {
			return nil, fmt.Errorf("%s: patches: %v", at("patches"), err)
		}
		g := Group{Name: fg.Name, Profile: p.Name, Patches: fg.Patches, HZ: fg.HZ, Traffic: fg.Traffic, Entries: fg.Entries, Share: 1}
		if base, _ := ResolveProfile(fg.Profile); base.Name != fg.Profile {
			g.Release = fg.Profile // a uname -r string or RHEL minor: resolved again for the scenario
		}
		if g.Name == "" {
			g.Name = fmt.Sprintf("%s-%d", p.Name, i+1)
		}
		if names[g.Name] {
			return nil, fmt.Errorf("%s: name: %q is repeated (a group's name is its own)", at("name"), g.Name)
		}
		names[g.Name] = true
		if g.Traffic == "" {
			g.Traffic = DefaultTraffic
		}
		if !slices.Contains(Traffics, g.Traffic) {
			return nil, fmt.Errorf("%s: traffic: %q: want %s", at("traffic"), g.Traffic, strings.Join(Traffics, ", "))
		}
		if fg.Share != nil {
			if !(*fg.Share > 0 && *fg.Share <= 1e9) {
				return nil, fmt.Errorf("%s: share: %v must be positive (and at most 1e9)", at("share"), *fg.Share)
			}
			g.Share = *fg.Share
		}
		if g.Entries < 0 || g.Entries > maxEntries {
			return nil, fmt.Errorf("%s: entries: %d must be 0..%d", at("entries"), g.Entries, maxEntries)
		}
		if g.HZ != 0 && !slices.Contains([]int{100, 250, 300, 1000}, g.HZ) {
			return nil, fmt.Errorf("%s: hz: %d: want 100, 250, 300 or 1000", at("hz"), g.HZ)
		}
		if g.Sysctls, err = sysctlKeys(fg.Sysctls); err != nil {
			var se sysctlError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s: sysctls: %s: %v", at("sysctls."+se.key), se.key, se.err)
			}
			return nil, fmt.Errorf("%s: sysctls: %v", at("sysctls"), err)
		}
		if err := checkClient(g); err != nil {
			msg := clientError(err)
			if m := scenarioSysctlRE.FindStringSubmatch(msg); m != nil {
				if k := userSysctl(fg.Sysctls, m[1]); k != "" {
					rest, full := strings.TrimPrefix(msg[len(m[0]):], k+": "), ""
					if m[1] != k {
						full = " (" + m[1] + ")"
					}
					return nil, fmt.Errorf("%s: sysctls: %s%s: %s", at("sysctls."+k), k, full, rest)
				}
			}
			if k := userSysctlIn(fg.Sysctls, msg); k != "" {
				return nil, fmt.Errorf("%s: sysctls: %s: %s", at("sysctls."+k), k, msg)
			}
			if strings.HasPrefix(msg, "entries ") {
				return nil, fmt.Errorf("%s: %s", at("entries"), msg)
			}
			return nil, fmt.Errorf("%s: %s", at(""), msg)
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

// checkClient writes g's failover scenario and builds its world, so that
// what only the group's kernel knows (a sysctl it does not have) is found
// when the fleet is read, with the file and line, not when the search
// runs the group.
func checkClient(g Group) error {
	s, err := groupScenario(g, 10e9, g.ipv6())
	if err == nil {
		err = sim.Check(s)
	}
	return err
}

// userSysctlIn is the key of in (as the fleet file wrote it) whose
// scenario key msg names, as a key or as its /proc path (the kernel's
// "conf/all/arp_evict_nocarrier does not exist on 4.4"); "" when none.
func userSysctlIn(in map[string]string, msg string) string {
	for _, k := range sortedKeys(in) {
		m, err := sysctlKeys(map[string]string{k: in[k]})
		if err != nil {
			continue
		}
		for full := range m {
			if strings.Contains(msg, full) || strings.Contains(msg, strings.ReplaceAll(full, ".", "/")) {
				return k
			}
		}
	}
	return ""
}

// scenarioSysctlRE finds the scenario key of a sysctl the group's
// scenario rejected ("sysctl neigh.eth0.locktime: …").
var scenarioSysctlRE = regexp.MustCompile(`^sysctl (\S+): `)

// userSysctl is the key of in (as the fleet file wrote it) that sysctlKeys
// maps to the scenario key full, "" when none does.
func userSysctl(in map[string]string, full string) string {
	for _, k := range sortedKeys(in) {
		if m, err := sysctlKeys(map[string]string{k: in[k]}); err == nil {
			if _, ok := m[full]; ok {
				return k
			}
		}
	}
	return ""
}

// sysctlError is a fleet sysctl that does not map to a scenario key.
type sysctlError struct {
	key string // as the fleet file wrote it
	err error
}

func (e sysctlError) Error() string { return fmt.Sprintf("sysctl %q: %v", e.key, e.err) }

// maxEntries bounds a group's unrelated entries: each is a timer in every
// Monte Carlo run.
const maxEntries = 2048

// groupFields lists a group's keys for "unknown field" errors.
const groupFields = "name, profile, patches, hz, sysctls, share, traffic, entries"

// unknownKey is a key a fleet file has and the format does not.
type unknownKey struct {
	line  int
	name  string
	group int // 1-based; 0 at the top level
}

// unknownKeys lists every key of the parsed file that the format does not
// have, at the top level and in each group, with its line in the file.
// The decoder's KnownFields stops at the first group that has one and
// numbers nothing else, so a file with two typos took two runs to fix.
// Merge keys (<<) are followed, as the decoder follows them; other key
// shapes are left to the decoder's type errors.
func unknownKeys(doc *yaml.Node) []unknownKey {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	var out []unknownKey
	var groups []*yaml.Node
	mappingKeys(doc.Content[0], map[*yaml.Node]bool{}, func(k, v *yaml.Node) {
		if k.Value == "groups" {
			groups = append(groups, v)
			return
		}
		out = append(out, unknownKey{k.Line, k.Value, 0})
	})
	known := strings.Split(groupFields, ", ")
	for _, gs := range groups {
		if gs = deref(gs); gs.Kind != yaml.SequenceNode {
			continue
		}
		for i, g := range gs.Content {
			mappingKeys(g, map[*yaml.Node]bool{}, func(k, _ *yaml.Node) {
				if !slices.Contains(known, k.Value) {
					out = append(out, unknownKey{k.Line, k.Value, i + 1})
				}
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].line < out[j].line })
	return out
}

// mappingKeys calls f with each scalar key of the mapping n (through
// aliases and merge keys) and its value; seen stops a mapping merged twice
// from being walked twice.
func mappingKeys(n *yaml.Node, seen map[*yaml.Node]bool, f func(k, v *yaml.Node)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode || seen[n] {
		return
	}
	seen[n] = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
		case k.ShortTag() == "!!merge":
			if v = deref(v); v.Kind == yaml.SequenceNode {
				for _, m := range v.Content {
					mappingKeys(m, seen, f)
				}
			} else {
				mappingKeys(v, seen, f)
			}
		default:
			f(k, v)
		}
	}
}

// deref follows an alias to the node it names (the parser rejects an
// alias to an anchor not yet defined, so there is no cycle to follow).
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// maxUnknownListed bounds the keys an error names: the rest are counted.
const maxUnknownListed = 5

// unknownKeysError words ks (sorted by line) as one line that starts with
// the file and the first key's line, as the scenario loader's errors do:
//
//	f.yaml:4: unknown fields "colour" (line 4) and "weight" (line 5) in group 1 (a group's fields: name, …)
func unknownKeysError(file string, ks []unknownKey) error {
	listed := ks[:min(len(ks), maxUnknownListed)]
	var parts, fields []string
	for i := 0; i < len(listed); {
		j := i
		for j < len(listed) && listed[j].group == listed[i].group {
			j++
		}
		var names []string
		for k := i; k < j; k++ {
			n := strconv.Quote(listed[k].name)
			if len(ks) > 1 && (k+1 == j || listed[k+1].line != listed[k].line) {
				n += fmt.Sprintf(" (line %d)", listed[k].line) // once for names on one line
			}
			names = append(names, n)
		}
		where, known := "at the top level", "the top level's fields: groups"
		if g := listed[i].group; g > 0 {
			where, known = fmt.Sprintf("in group %d", g), "a group's fields: "+groupFields
		}
		parts = append(parts, andList(names)+" "+where)
		if !slices.Contains(fields, known) {
			fields = append(fields, known)
		}
		i = j
	}
	what := "unknown field "
	if len(ks) > 1 {
		what = "unknown fields "
	}
	more := ""
	if n := len(ks) - len(listed); n > 0 {
		more = fmt.Sprintf(", and %d more", n)
	}
	return fmt.Errorf("%s:%d: %s%s%s (%s)", file, ks[0].line, what, strings.Join(parts, ", "), more, strings.Join(fields, "; "))
}

// andList joins "a", "b" and "c".
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

var (
	lineRE    = regexp.MustCompile(`^line (\d+): `)
	unknownRE = regexp.MustCompile(`field (\S+) not found in type \S+`)
	intoRE    = regexp.MustCompile(` into [^\s;]+`)
)

// yamlMessage rewrites a yaml.v3 error as one line (a value quoted in it
// may hold a newline: it is escaped), Go type names replaced by the words
// of the format.
func yamlMessage(err error, known string) string {
	s := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.ReplaceAll(s, "\n  line ", "; line ")
	s = strings.ReplaceAll(s, "\n", `\n`)
	s = intoRE.ReplaceAllStringFunc(s, func(m string) string {
		if w, ok := typeWords[m[len(" into "):]]; ok {
			return " where the format wants " + w
		}
		return m
	})
	return unknownRE.ReplaceAllString(s, "unknown field $1 (known: "+known+")")
}

// typeWords names the Go types of the fleet format as a user reads them.
var typeWords = map[string]string{
	"advise.fleetFile": "a mapping (groups: [...])", "[]advise.fleetGroup": "a list of groups",
	"advise.rawFleetGroup": "a group (a mapping)", "[]string": "a list", "map[string]string": "a mapping",
	"string": "text", "int": "a whole number", "float64": "a number",
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
				return nil, sysctlError{k, err}
			}
			if dev != "all" && dev != "default" || kind == "neigh" {
				dev = clientDev
			}
			full = "net.ipv6." + kind + "." + dev + "." + name
		default:
			kind, dev, name, err := scenario.SplitSysctl(k)
			if err != nil {
				return nil, sysctlError{k, fmt.Errorf("not a neighbour or conf setting (%v)", err)}
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
			return nil, sysctlError{k, fmt.Errorf("%s is set twice (%s and %s)", full, prev, v)}
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
	if err := checkClient(g); err != nil {
		return Group{}, nil, fmt.Errorf("%s: %v", file, clientError(err))
	}
	return g, notes, nil
}
