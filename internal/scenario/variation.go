package scenario

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"arplab/internal/garp"
	"arplab/internal/neigh"
)

// Clone returns a deep copy, keeping every item's file position.
func (s *Scenario) Clone() *Scenario {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		panic(fmt.Sprintf("scenario: cannot copy %s: %v", s.Name, err))
	}
	c := new(Scenario)
	if err := gob.NewDecoder(&buf).Decode(c); err != nil {
		panic(fmt.Sprintf("scenario: cannot copy %s: %v", s.Name, err))
	}
	c.File = s.File
	return c
}

// Observed returns the indexes of the hosts the report follows.
func (s *Scenario) Observed() []int {
	var out []int
	for i, h := range s.Hosts {
		if h.Observe == nil || *h.Observe {
			out = append(out, i)
		}
	}
	return out
}

// Apply returns a copy of s with the variation applied to the observed
// hosts and to every GARP sender.
func (s *Scenario) Apply(v Variation) (*Scenario, error) {
	c := s.Clone()
	for _, i := range c.Observed() {
		h := &c.Hosts[i]
		if v.Profile != "" {
			h.Profile = v.Profile
			h.Patches = nil
		}
		h.Patches = append(h.Patches, v.Patches...)
	}
	if v.Preset != "" {
		if err := c.Set("preset", v.Preset); err != nil {
			return nil, err
		}
	}
	for _, kv := range v.Set {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want key=value", kv)
		}
		if err := c.Set(k, val); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// SetKeys documents the keys Set accepts besides sysctl names.
const SetKeys = "profile, hz, cpus, preset, garp.count, garp.interval, garp.mode, garp.tha, segment.latency, segment.jitter, segment.loss, segment.flood_unknown, station.answer_foreign_probes, a neigh sysctl (locktime, base_reachable_time_ms, gc_thresh1, …), a conf sysctl (arp_accept, drop_gratuitous_arp, …) or a full key (neigh.eth0.locktime, net.ipv4.conf.all.arp_accept)"

// Set changes one knob of the scenario (the CLI's --set key=value).
func (s *Scenario) Set(key, value string) error {
	bad := func(err error) error { return fmt.Errorf("--set %s=%s: %v", key, value, err) }
	obs := s.Observed()
	switch key {
	case "profile":
		// the file's patch edits were edits of its profile: like
		// --profile (Apply), another profile starts from its own set
		for _, i := range obs {
			s.Hosts[i].Profile, s.Hosts[i].Patches = value, nil
		}
		return nil
	case "hz", "cpus":
		n, err := strconv.Atoi(value)
		if err != nil {
			return bad(fmt.Errorf("not an integer"))
		}
		for _, i := range obs {
			if key == "hz" {
				s.Hosts[i].HZ = n
			} else {
				s.Hosts[i].CPUs = n
			}
		}
		return nil
	case "preset", "garp.count", "garp.interval", "garp.mode", "garp.tha":
		n := 0
		for i := range s.Script {
			g := s.Script[i].GARP
			if g == nil {
				continue
			}
			n++
			switch key {
			case "preset":
				known := slices.ContainsFunc(garp.Presets(), func(p garp.Preset) bool { return p.Name == value })
				if !known && value != "custom" {
					return bad(fmt.Errorf("unknown preset (see `arplab garp --help`)"))
				}
				g.Preset, g.Mode, g.THA, g.Count, g.Interval = value, "", nil, 0, Duration{}
			case "garp.count":
				c, err := strconv.Atoi(value)
				if err != nil {
					return bad(err)
				}
				g.Count = c
			case "garp.interval":
				d, err := ParseDuration(value)
				if err != nil {
					return bad(err)
				}
				g.Interval.D = d
			case "garp.mode":
				g.Mode = value
			case "garp.tha":
				var m MAC
				if err := yaml.Unmarshal([]byte(`"`+value+`"`), &m); err != nil {
					return bad(err)
				}
				g.THA = &m
			}
		}
		if n == 0 {
			return bad(fmt.Errorf("the scenario has no garp sender"))
		}
		return nil
	case "segment.latency", "segment.jitter", "segment.loss", "segment.flood_unknown":
		for i := range s.Segments {
			g := &s.Segments[i]
			switch key {
			case "segment.loss":
				f, err := strconv.ParseFloat(value, 64)
				if err != nil {
					return bad(err)
				}
				g.Loss = f
			case "segment.flood_unknown":
				b, err := strconv.ParseBool(value)
				if err != nil {
					return bad(err)
				}
				g.FloodUnknown = b
			default:
				d, err := ParseDuration(value)
				if err != nil {
					return bad(err)
				}
				if key == "segment.latency" {
					g.Latency.D = d
				} else {
					g.Jitter.D = d
				}
			}
		}
		return nil
	case "station.answer_foreign_probes":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return bad(err)
		}
		for i := range s.Stations {
			s.Stations[i].AnswerForeignProbes = b
		}
		return nil
	}
	// Sysctls: a bare neigh name applies to every interface of the
	// observed hosts, a bare conf name to conf/all.
	full := key
	if slices.Contains(neigh.ParamNames(), key) {
		full = ""
	} else if strings.HasPrefix(key, "gc_thresh") || key == "gc_interval" {
		full = "neigh.default." + key
	} else if slices.Contains(neigh.ConfNames, key) {
		full = "conf.all." + key
	} else if _, _, _, err := SplitSysctl(key); err != nil {
		return bad(fmt.Errorf("unknown key (accepted: %s)", SetKeys))
	}
	for _, i := range obs {
		h := &s.Hosts[i]
		if h.Sysctls == nil {
			h.Sysctls = map[string]string{}
		}
		if full != "" {
			h.Sysctls[full] = value
			continue
		}
		for _, ifc := range h.Interfaces {
			h.Sysctls["neigh."+ifc.Name+"."+key] = value
		}
	}
	return nil
}
