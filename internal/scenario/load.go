package scenario

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
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
			return nil, fmt.Errorf("scenario %q: no such built-in scenario (known: %s) and no such file", nameOrFile, strings.Join(Builtins(), ", "))
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
			return nil, fmt.Errorf("%s: empty scenario", file)
		}
		return nil, located(file, fixLines(err, 0))
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
func located(file string, err error) error {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "yaml: unmarshal errors:") {
			continue
		}
		if m := lineRE.FindStringSubmatch(l); m != nil {
			out = append(out, file+":"+m[1]+": "+l[len(m[0]):])
		} else {
			out = append(out, file+": "+strings.TrimPrefix(l, "yaml: "))
		}
	}
	return fmt.Errorf("%s", strings.Join(out, "\n"))
}

func (s *Scenario) defaults() {
	if s.Seed == 0 {
		s.Seed = 1
	}
	for i := range s.Segments {
		if s.Segments[i].Latency.D == 0 {
			s.Segments[i].Latency.D = 100 * vtime.Microsecond
		}
	}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		if h.Profile == "" {
			h.Profile = kernel.DefaultProfile
		}
		if h.CPUs == 0 {
			h.CPUs = 1
		}
		if h.Uptime.D == 0 {
			h.Uptime.D = 86400 * vtime.Second
		}
	}
	for i := range s.Stations {
		if s.Stations[i].Think.D == 0 {
			s.Stations[i].Think.D = 100 * vtime.Microsecond
		}
	}
	for i := range s.Script {
		e := &s.Script[i]
		if g := e.GARP; g != nil && g.Jitter.D == 0 {
			g.Jitter.D = 50 * vtime.Microsecond
		}
		if f := e.Flow; f != nil {
			if f.Timeout.D == 0 {
				f.Timeout.D = 300 * vtime.Second
			}
			if f.Interval.D == 0 {
				f.Interval.D = vtime.Second
			}
			if f.AckDelay.D == 0 {
				f.AckDelay.D = 40 * vtime.Millisecond
			}
		}
	}
}

// Validate checks references and values; every error names file:line.
func (s *Scenario) Validate() error {
	f := s.File
	if s.Name == "" {
		return fmt.Errorf("%s: the scenario needs a name", f)
	}
	if s.Duration.D <= 0 {
		return fmt.Errorf("%s: duration must be positive (e.g. duration: 60s)", f)
	}
	segs := map[string]bool{}
	for _, g := range s.Segments {
		if g.Name == "" || segs[g.Name] {
			return fmt.Errorf("%s: segment name %q is empty or repeated", g.at(f), g.Name)
		}
		if g.Loss < 0 || g.Loss >= 1 {
			return fmt.Errorf("%s: segment %s: loss %v must be in [0, 1)", g.at(f), g.Name, g.Loss)
		}
		if g.Latency.D < 0 || g.Jitter.D < 0 {
			return fmt.Errorf("%s: segment %s: latency and jitter must not be negative", g.at(f), g.Name)
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
		if h.HZ != 0 {
			if err := vtime.ValidHZ(h.HZ); err != nil {
				return fmt.Errorf("%s: host %s: %v", h.at(f), h.Name, err)
			}
		}
		if h.CPUs < 1 || h.CPUs > 256 {
			return fmt.Errorf("%s: host %s: cpus %d must be 1..256", h.at(f), h.Name, h.CPUs)
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
		for _, set := range []bool{e.Move != nil, e.GARP != nil, e.Flow != nil, e.Neigh != nil, e.Sysctl != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: a script event needs exactly one of move, garp, flow, neigh, sysctl (found %d)", e.at(f), n)
		}
		if e.At.D < 0 || e.At.D > s.Duration.D {
			return fmt.Errorf("%s: at %v is outside the run (0..%v)", e.at(f), e.At.D, s.Duration.D)
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
			if _, err := garp.Schedule(g.presetName(), [6]byte{2}, g.IP.Addr, g.Options()); err != nil {
				return fmt.Errorf("%s: garp: %v", e.at(f), err)
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
			if fl.CPU != nil && *fl.CPU < 0 {
				return fmt.Errorf("%s: flow %s: cpu must not be negative", e.at(f), fl.Name)
			}
		case e.Neigh != nil:
			if names[e.Neigh.Host] != "host" {
				return fmt.Errorf("%s: neigh: %q is not a Linux host", e.at(f), e.Neigh.Host)
			}
			if _, err := ParseNeighCmd(e.Neigh.Cmd); err != nil {
				return fmt.Errorf("%s: %v", e.at(f), err)
			}
		case e.Sysctl != nil:
			if names[e.Sysctl.Host] != "host" {
				return fmt.Errorf("%s: sysctl: %q is not a Linux host", e.at(f), e.Sysctl.Host)
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
		MasterRefreshRepeat: g.MasterRefreshRepeat, GARPInterval: g.GARPInterval.D}
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

// checkSysctl validates "neigh.<dev>.<name>" / "conf.<dev>.<name>" keys
// (also with a "net.ipv4." prefix).
func checkSysctl(k, v string, devs map[string]bool) error {
	kind, dev, name, err := SplitSysctl(k)
	if err != nil {
		return err
	}
	if dev != "all" && dev != "default" && !devs[dev] {
		return fmt.Errorf("sysctl %s: no interface %q", k, dev)
	}
	switch kind {
	case "neigh":
		if strings.HasPrefix(name, "gc_") {
			return nil
		}
		p := neigh.DefaultParams(1000, 65536)
		if err := p.Set(name, v); err != nil {
			return fmt.Errorf("sysctl %s: %v", k, err)
		}
	case "conf":
		c := neigh.DefaultConf()
		if err := c.Set(name, v); err != nil {
			return fmt.Errorf("sysctl %s: %v", k, err)
		}
	}
	return nil
}

// SplitSysctl is neigh.SplitSysctl, the one accepted sysctl key syntax.
var SplitSysctl = neigh.SplitSysctl
