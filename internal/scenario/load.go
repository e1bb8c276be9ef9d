package scenario

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"arplab/internal/garp"
	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/vtime"
)

//go:embed builtin/*.yaml
var builtins embed.FS

// DefaultName is the built-in scenario `arplab run` runs with no argument.
const DefaultName = "failure"

// Builtins lists the built-in scenarios' names, sorted.
func Builtins() []string {
	ents, _ := builtins.ReadDir("builtin")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// BuiltinSource returns the YAML of a built-in scenario.
func BuiltinSource(name string) ([]byte, bool) {
	b, err := builtins.ReadFile("builtin/" + name + ".yaml")
	return b, err == nil
}

// Load resolves nameOrFile: a built-in name, or a path to a YAML file.
func Load(nameOrFile string) (*Scenario, error) {
	if b, ok := BuiltinSource(nameOrFile); ok {
		return Parse(b, "builtin:"+nameOrFile)
	}
	b, err := os.ReadFile(nameOrFile)
	if err != nil {
		if os.IsNotExist(err) {
			err := fmt.Errorf("scenario %q: no such built-in scenario (known: %s) and no such file", nameOrFile, strings.Join(Builtins(), ", "))
			if !strings.ContainsRune(nameOrFile, os.PathSeparator) && !strings.HasSuffix(nameOrFile, ".yaml") && !strings.HasSuffix(nameOrFile, ".yml") {
				// a name, not a path: a mistake on the command line (a
				// missing file is one that cannot be read)
				err = invalid{err}
			}
			return nil, err
		}
		return nil, fmt.Errorf("scenario %s: %v", nameOrFile, err)
	}
	return Parse(b, nameOrFile)
}

// Parse decodes and validates a scenario; errors say file:line and what is
// wrong.
func Parse(b []byte, file string) (*Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if err == io.EOF {
			return nil, invalidf("%s: empty scenario", file)
		}
		return nil, invalid{located(file, fixLines(err, 0), b)}
	}
	s.File = file
	s.defaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (?:line \d+: )?`)

// located rewrites yaml's "line N: msg" errors as "file:N: msg", one per
// problem, so editors can jump to them.
func located(file string, err error, src []byte) error {
	var out []string
	lines := strings.Split(string(src), "\n")
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "yaml: unmarshal errors:") {
			continue
		}
		if m := lineRE.FindStringSubmatch(l); m != nil {
			msg := l[len(m[0]):]
			n, _ := strconv.Atoi(m[1])
			if t := typeRE.FindStringSubmatch(msg); t != nil && t[2] != "" && n >= 1 && n <= len(lines) {
				// name the field: the key written before the value
				if k := keyOf(lines[n-1], t[2]); k != "" {
					msg = k + ": " + userWords(msg)
					out = append(out, file+":"+m[1]+": "+msg)
					continue
				}
			}
			out = append(out, file+":"+m[1]+": "+userWords(msg))
		} else {
			out = append(out, file+": "+userWords(strings.TrimPrefix(l, "yaml: ")))
		}
	}
	if len(out) == 0 {
		return fmt.Errorf("%s: not a scenario", file)
	}
	// one line: the first problem, and how many more the file has
	more := ""
	switch n := len(out) - 1; {
	case n == 1:
		more = " (and 1 more problem)"
	case n > 1:
		more = fmt.Sprintf(" (and %d more problems)", n)
	}
	return fmt.Errorf("%s%s", out[0], more)
}

// keyOf finds the key a value was written under on a line of the file
// ("    cpus: many" or "{a: 1, cpus: many}"); "" when it is not there once,
// or when the value is no UTF-8 (the YAML parser quotes what the file
// holds, and a regexp cannot match broken UTF-8).
func keyOf(line, value string) string {
	re, err := regexp.Compile(`([A-Za-z_][\w.]*)\s*:\s*["']?` + regexp.QuoteMeta(value) + `["']?\s*(?:[,}\]#]|$)`)
	if err != nil {
		return ""
	}
	m := re.FindAllStringSubmatch(line, -1)
	if len(m) != 1 {
		return ""
	}
	return m[0][1]
}

var unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+\.(?:raw)?(\w+)$`)

// itemWords names the file format's items after the Go types that hold
// them.
var itemWords = map[string]string{
	"Scenario": "a scenario", "Segment": "a segment", "Host": "a host", "Station": "a station",
	"Event": "a script event", "Check": "a check", "Interface": "an interface", "Route": "a route",
	"Neighbour": "a neighbour", "Move": "a move", "GARP": "a garp event", "Flow": "a flow",
	"NeighCmd": "a neigh event", "SysctlWrite": "a sysctl event", "Reply": "a reply", "NS": "an ns event",
	"Variation": "a matrix or fixes row",
}

var typeRE = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")

// userWords rewrites the YAML decoder's type errors ("cannot unmarshal
// !!str `x` into int") in the words of the file format.
func userWords(msg string) string {
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		in := itemWords[m[2]]
		if in == "" {
			in = "this item"
		}
		return fmt.Sprintf("unknown field %q in %s (docs/scenarios.md lists the fields)", m[1], in)
	}
	m := typeRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := "a value of another kind"
	switch t := m[3]; {
	case strings.HasPrefix(t, "[]"):
		want = "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "scenario."):
		want = "a mapping (key: value)"
	case strings.HasPrefix(t, "uint"):
		want = "a whole number, 0 or more"
	case strings.Contains(t, "int"):
		want = "a whole number"
	case strings.HasPrefix(t, "float"):
		want = "a number"
	case t == "bool":
		want = "true or false"
	case t == "string":
		want = "text"
	}
	v := m[2]
	if m[1] == "seq" || m[1] == "map" {
		v = "a " + map[string]string{"seq": "list", "map": "mapping"}[m[1]]
	} else {
		v = strconv.Quote(v)
	}
	return fmt.Sprintf("%s is not %s", v, want)
}

// defaults fills in what the file left out. A value written in the file
// (its Line is set) is kept even when it is zero: a zero the limits allow
// (latency: 0) is honoured, one they do not (interval: 0) is an error,
// never silently a default.
func (s *Scenario) defaults() {
	if s.Seed == 0 {
		s.Seed = 1
	}
	unset := func(d Duration) bool { return d.D == 0 && d.Line == 0 }
	for i := range s.Segments {
		if unset(s.Segments[i].Latency) {
			s.Segments[i].Latency.D = 100 * vtime.Microsecond
		}
	}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		if h.Profile == "" {
			h.Profile = kernel.DefaultProfile
		}
		if h.CPUs == 0 && !h.written["cpus"] {
			h.CPUs = 1
		}
		if unset(h.Uptime) {
			h.Uptime.D = 86400 * vtime.Second
		}
	}
	for i := range s.Stations {
		if unset(s.Stations[i].Think) {
			s.Stations[i].Think.D = DefaultThink
		}
	}
	for i := range s.Script {
		e := &s.Script[i]
		if g := e.GARP; g != nil && unset(g.Jitter) {
			g.Jitter.D = 50 * vtime.Microsecond
		}
		if f := e.Flow; f != nil {
			if unset(f.Timeout) {
				f.Timeout.D = 300 * vtime.Second
			}
			if unset(f.Interval) {
				f.Interval.D = vtime.Second
			}
			if unset(f.AckDelay) {
				f.AckDelay.D = 40 * vtime.Millisecond
			}
		}
	}
}

// Validate checks references and values against the limits (limits.go);
// every error names file:line, and errors.Is(err, ErrInvalid).
func (s *Scenario) Validate() error {
	if err := s.validate(); err != nil {
		return invalid{err}
	}
	return nil
}

func (s *Scenario) validate() error {
	f := s.File
	if s.Name == "" {
		return fmt.Errorf("%s: the scenario needs a name", f)
	}
	if err := limDuration.check(s.Duration.D); err != nil {
		return fmt.Errorf("%s: %v", Pos{s.Duration.Line}.at(f), err)
	}
	segs := map[string]bool{}
	for _, g := range s.Segments {
		if g.Name == "" || segs[g.Name] {
			return fmt.Errorf("%s: segment name %q is empty or repeated", g.at(f), g.Name)
		}
		if err := checkLoss("loss", g.Loss); err != nil {
			return fmt.Errorf("%s: segment %s: %v", g.at(f), g.Name, err)
		}
		if err := limLatency.check(g.Latency.D); err != nil {
			return fmt.Errorf("%s: segment %s: %v", g.at(f), g.Name, err)
		}
		if err := limJitter.check(g.Jitter.D); err != nil {
			return fmt.Errorf("%s: segment %s: %v", g.at(f), g.Name, err)
		}
		segs[g.Name] = true
	}
	names := map[string]string{} // name → "host"/"station"
	macs := map[[6]byte]string{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		if h.Name == "" || names[h.Name] != "" {
			return fmt.Errorf("%s: host name %q is empty or repeated", h.at(f), h.Name)
		}
		names[h.Name] = "host"
		p, err := kernel.Lookup(h.Profile)
		if err != nil {
			return fmt.Errorf("%s: host %s: %v", h.at(f), h.Name, err)
		}
		if _, err := p.WithPatches(h.Patches); err != nil {
			return fmt.Errorf("%s: host %s: %v", h.at(f), h.Name, err)
		}
		if err := checkHost(h); err != nil {
			return fmt.Errorf("%s: host %s: %v", h.at(f), h.Name, err)
		}
		if len(h.Interfaces) == 0 {
			return fmt.Errorf("%s: host %s has no interfaces", h.at(f), h.Name)
		}
		devs := map[string]bool{}
		for _, ifc := range h.Interfaces {
			if ifc.Name == "" || devs[ifc.Name] {
				return fmt.Errorf("%s: host %s: interface name %q is empty or repeated", h.at(f), h.Name, ifc.Name)
			}
			devs[ifc.Name] = true
			if !segs[ifc.Segment] {
				return fmt.Errorf("%s: host %s interface %s: unknown segment %q", h.at(f), h.Name, ifc.Name, ifc.Segment)
			}
			if o := macs[ifc.MAC.MAC]; o != "" {
				return fmt.Errorf("%s: host %s: MAC %v already used by %s", h.at(f), h.Name, ifc.MAC, o)
			}
			macs[ifc.MAC.MAC] = h.Name
			if len(ifc.Addrs) == 0 {
				return fmt.Errorf("%s: host %s interface %s needs an address (addrs: [10.0.0.1/24])", h.at(f), h.Name, ifc.Name)
			}
		}
		if err := checkFamilies(h); err != nil {
			return fmt.Errorf("%s: host %s: %v", h.at(f), h.Name, err)
		}
		for _, r := range h.Routes {
			onLink := false
			for _, ifc := range h.Interfaces {
				for _, a := range ifc.Addrs {
					onLink = onLink || a.Masked().Contains(r.Via.Addr)
				}
			}
			if !r.To.IsValid() || !onLink {
				return fmt.Errorf("%s: host %s: route to %v via %v: the gateway must be on a connected subnet", h.at(f), h.Name, r.To, r.Via)
			}
		}
		for k, v := range h.Sysctls {
			if err := checkSysctl(k, v, devs); err != nil {
				return fmt.Errorf("%s: host %s: %v", h.at(f), h.Name, err)
			}
		}
		for _, n := range h.Neighbours {
			if !devs[n.Dev] {
				return fmt.Errorf("%s: host %s neighbour %v: unknown dev %q", h.at(f), h.Name, n.IP, n.Dev)
			}
			if _, err := neigh.ParseState(n.State); err != nil {
				return fmt.Errorf("%s: host %s neighbour %v: %v", h.at(f), h.Name, n.IP, err)
			}
		}
	}
	owners := map[netip.Addr]string{}
	for i := range s.Stations {
		st := &s.Stations[i]
		if st.Name == "" || names[st.Name] != "" {
			return fmt.Errorf("%s: station name %q is empty or repeated", st.at(f), st.Name)
		}
		names[st.Name] = "station"
		if !segs[st.Segment] {
			return fmt.Errorf("%s: station %s: unknown segment %q", st.at(f), st.Name, st.Segment)
		}
		if o := macs[st.MAC.MAC]; o != "" {
			return fmt.Errorf("%s: station %s: MAC %v already used by %s", st.at(f), st.Name, st.MAC, o)
		}
		macs[st.MAC.MAC] = st.Name
		if err := limThink.check(st.Think.D); err != nil {
			return fmt.Errorf("%s: station %s: %v", st.at(f), st.Name, err)
		}
		for _, ip := range st.IPs {
			if o := owners[ip.Addr]; o != "" {
				return fmt.Errorf("%s: station %s: IP %v already owned by %s", st.at(f), st.Name, ip, o)
			}
			owners[ip.Addr] = st.Name
		}
	}
	flows := map[string]bool{}
	for i := range s.Script {
		e := &s.Script[i]
		n := 0
		for _, set := range []bool{e.Move != nil, e.GARP != nil, e.Flow != nil, e.Neigh != nil, e.Sysctl != nil, e.Reply != nil, e.NS != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: a script event needs exactly one of move, garp, reply, flow, neigh, sysctl, ns (found %d)", e.at(f), n)
		}
		if e.At.D < 0 || e.At.D > s.Duration.D {
			return fmt.Errorf("%s: at %s is outside the run (allowed: 0s to the duration, %s)", e.at(f), fmtDur(e.At.D), fmtDur(s.Duration.D))
		}
		if err := (durRange{"vary", 0, s.Duration.D}).check(e.Vary.D); err != nil {
			return fmt.Errorf("%s: %v", e.at(f), err)
		}
		switch {
		case e.Move != nil:
			if names[e.Move.To] != "station" {
				return fmt.Errorf("%s: move to %q: no such station", e.at(f), e.Move.To)
			}
		case e.GARP != nil:
			g := e.GARP
			if names[g.From] != "station" {
				return fmt.Errorf("%s: garp from %q: no such station", e.at(f), g.From)
			}
			if err := checkGARP(g, s.Duration.D); err != nil {
				return fmt.Errorf("%s: garp from %s: %v", e.at(f), g.From, err)
			}
		case e.Reply != nil:
			if _, err := s.ReplyFrame(e.Reply); err != nil {
				return fmt.Errorf("%s: %v", e.at(f), err)
			}
		case e.Flow != nil:
			fl := e.Flow
			if fl.Name == "" || flows[fl.Name] {
				return fmt.Errorf("%s: flow name %q is empty or repeated", e.at(f), fl.Name)
			}
			flows[fl.Name] = true
			switch fl.Kind {
			case "ssh", "tcp", "udp":
			default:
				return fmt.Errorf("%s: flow %s: kind %q (want ssh, tcp or udp)", e.at(f), fl.Name, fl.Kind)
			}
			if names[fl.From] != "host" {
				return fmt.Errorf("%s: flow %s: from %q is not a Linux host", e.at(f), fl.Name, fl.From)
			}
			if !fl.To.IsValid() {
				return fmt.Errorf("%s: flow %s needs a destination (to: IP)", e.at(f), fl.Name)
			}
			if h := s.host(fl.From); fl.To.Is6() && !hasIPv6(h) {
				return fmt.Errorf("%s: flow %s to %v: host %s has no IPv6 address (add one to its interface's addrs, e.g. 2001:db8::1/64)", e.at(f), fl.Name, fl.To, fl.From)
			}
			if err := checkFlow(fl, s.host(fl.From), s.Duration.D); err != nil {
				return fmt.Errorf("%s: flow %s: %v", e.at(f), fl.Name, err)
			}
		case e.Neigh != nil:
			if names[e.Neigh.Host] != "host" {
				return fmt.Errorf("%s: neigh: %q is not a Linux host", e.at(f), e.Neigh.Host)
			}
			c, err := ParseNeighCmd(e.Neigh.Cmd)
			if err != nil {
				return fmt.Errorf("%s: %v", e.at(f), err)
			}
			if c.IP.Is6() && !hasIPv6(s.host(e.Neigh.Host)) {
				return fmt.Errorf("%s: neigh: %v: host %s has no IPv6 address", e.at(f), c.IP, e.Neigh.Host)
			}
		case e.NS != nil:
			if names[e.NS.From] != "station" {
				return fmt.Errorf("%s: ns from %q: no such station", e.at(f), e.NS.From)
			}
			if err := checkNS(e.NS); err != nil {
				return fmt.Errorf("%s: ns from %s: %v", e.at(f), e.NS.From, err)
			}
		case e.Sysctl != nil:
			if names[e.Sysctl.Host] != "host" {
				return fmt.Errorf("%s: sysctl: %q is not a Linux host", e.at(f), e.Sysctl.Host)
			}
			devs := map[string]bool{}
			for _, h := range s.Hosts {
				if h.Name == e.Sysctl.Host {
					for _, ifc := range h.Interfaces {
						devs[ifc.Name] = true
					}
				}
			}
			if err := checkSysctl(e.Sysctl.Key, e.Sysctl.Value, devs); err != nil {
				return fmt.Errorf("%s: sysctl on %s: %v", e.at(f), e.Sysctl.Host, err)
			}
			if fam, _, _, _, _ := neigh.SplitSysctlFamily(e.Sysctl.Key); fam == neigh.IPv6 && !hasIPv6(s.host(e.Sysctl.Host)) {
				return fmt.Errorf("%s: sysctl %s: host %s has no IPv6 address", e.at(f), e.Sysctl.Key, e.Sysctl.Host)
			}
		}
	}
	for i := range s.Checks {
		c := &s.Checks[i]
		if c.Flow != "" {
			if !flows[c.Flow] {
				return fmt.Errorf("%s: check: no flow %q", c.at(f), c.Flow)
			}
			if c.Outcome != "ok" && c.Outcome != "failed" {
				return fmt.Errorf("%s: check flow %s: outcome %q (want ok or failed)", c.at(f), c.Flow, c.Outcome)
			}
			continue
		}
		if names[c.Host] != "host" {
			return fmt.Errorf("%s: check: %q is not a Linux host", c.at(f), c.Host)
		}
		if c.IP.Is6() && !hasIPv6(s.host(c.Host)) {
			return fmt.Errorf("%s: check %v: host %s has no IPv6 address", c.at(f), c.IP, c.Host)
		}
		if c.At.D < 0 || c.At.D > s.Duration.D {
			return fmt.Errorf("%s: check at %s is outside the run (allowed: 0s to the duration, %s)", c.at(f), fmtDur(c.At.D), fmtDur(s.Duration.D))
		}
		if c.State != "" {
			if _, err := neigh.ParseState(c.State); err != nil {
				return fmt.Errorf("%s: check: %v", c.at(f), err)
			}
		}
	}
	return nil
}

func (g *GARP) presetName() string {
	if g.Preset == "" {
		return "custom"
	}
	return g.Preset
}

// PresetName is the sender preset, "custom" when none is named.
func (g *GARP) PresetName() string { return g.presetName() }

// Options converts the event's knobs for garp.Schedule.
func (g *GARP) Options() garp.Options {
	o := garp.Options{Count: g.Count, Interval: g.Interval.D, Mode: g.Mode, Deadline: g.Deadline.D,
		StartupLatency: g.StartupLatency.D, ArpingLinger: g.ArpingLinger.D,
		MasterRepeat: g.MasterRepeat, MasterDelay: g.MasterDelay.D, MasterRefresh: g.MasterRefresh.D,
		MasterRefreshRepeat: g.MasterRefreshRepeat, GARPInterval: g.GARPInterval.D,
		GNAInterval: g.GNAInterval.D, Forwarding: g.Forwarding, NAFlags: g.NAFlags, NoTLLAO: g.NoTLLAO, HopLimit: g.HopLimit}
	if g.Source != nil {
		a := g.Source.Addr
		o.Source = &a
	}
	if g.Dest != nil {
		a := g.Dest.Addr
		o.Dest = &a
	}
	if g.THA != nil {
		m := g.THA.MAC
		o.THA = &m
	}
	if g.EthDst != nil {
		m := g.EthDst.MAC
		o.EthDst = &m
	}
	return o
}

// tableWide are the neighbour settings of the whole table, which exist only
// under neigh/default (spec §8.1).
var tableWide = []string{"gc_interval", "gc_thresh1", "gc_thresh2", "gc_thresh3"}

// checkSysctl validates "neigh.<dev>.<name>" / "conf.<dev>.<name>" keys
// (also with a "net.ipv4." prefix), and net.ipv6.neigh/conf keys.
func checkSysctl(k, v string, devs map[string]bool) error {
	fam, kind, dev, name, err := neigh.SplitSysctlFamily(k)
	if err != nil {
		return err
	}
	if fam == neigh.IPv6 && kind == "conf" {
		if dev != "all" && dev != "default" && !devs[dev] {
			return fmt.Errorf("sysctl %s: no interface %q", k, dev)
		}
		if !slices.Contains(neigh.Conf6Names, name) {
			return fmt.Errorf("sysctl %s: unknown IPv6 conf setting %q (known: %s)", k, name, strings.Join(neigh.Conf6Names, ", "))
		}
		if err := sysctlValue(name, v); err != nil {
			return fmt.Errorf("sysctl %s: %v", k, err)
		}
		return nil
	}
	if dev != "all" && dev != "default" && !devs[dev] {
		return fmt.Errorf("sysctl %s: no interface %q", k, dev)
	}
	switch kind {
	case "neigh":
		switch {
		case slices.Contains(tableWide, name):
			if dev != "default" {
				return fmt.Errorf("sysctl %s: %s exists only as neigh.default.%s", k, name, name)
			}
		case !slices.Contains(neigh.ParamNames(), name):
			return fmt.Errorf("sysctl %s: unknown neighbour setting %q (known: %s, and under default: %s)", k, name,
				strings.Join(neigh.ParamNames(), ", "), strings.Join(tableWide, ", "))
		}
	case "conf":
		if !slices.Contains(neigh.ConfNames, name) {
			return fmt.Errorf("sysctl %s: unknown conf setting %q (known: %s)", k, name, strings.Join(neigh.ConfNames, ", "))
		}
	}
	if err := sysctlValue(name, v); err != nil {
		return fmt.Errorf("sysctl %s: %v", k, err)
	}
	return nil
}

// host is the host named name (nil if none).
func (s *Scenario) host(name string) *Host {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

// hasIPv6 reports whether h has an IPv6 address (and so nd_tbl).
func hasIPv6(h *Host) bool {
	if h == nil {
		return false
	}
	for _, ifc := range h.Interfaces {
		for _, a := range ifc.Addrs {
			if a.Addr().Is6() {
				return true
			}
		}
	}
	return false
}

// checkFamilies checks that a host's IPv6 routes, neighbours and sysctls
// have IPv6 to stand on, and that a route's gateway is of its family.
func checkFamilies(h *Host) error {
	v6 := hasIPv6(h)
	for _, r := range h.Routes {
		if r.To.Addr().Is6() != r.Via.Is6() {
			return fmt.Errorf("route to %v via %v: the gateway is not of the destination's family", r.To, r.Via)
		}
		if r.Via.Is6() && !v6 {
			return fmt.Errorf("route to %v: no IPv6 address on any interface", r.To)
		}
	}
	for _, n := range h.Neighbours {
		if n.IP.Is6() && !v6 {
			return fmt.Errorf("neighbour %v: no IPv6 address on any interface", n.IP)
		}
	}
	for k := range h.Sysctls {
		if fam, _, _, _, err := neigh.SplitSysctlFamily(k); err == nil && fam == neigh.IPv6 && !v6 {
			return fmt.Errorf("sysctl %s: no IPv6 address on any interface", k)
		}
	}
	return nil
}

// SplitSysctl is neigh.SplitSysctl, the one accepted sysctl key syntax.
var SplitSysctl = neigh.SplitSysctl
