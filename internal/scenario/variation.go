package scenario

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"slices"
	"strings"

	"arplab/internal/garp"
	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
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
// hosts and to every GARP sender. A variation without a label is the
// command line (--profile, --patch, --set) and its errors name the flag;
// a labelled one is a matrix row or a fix and its errors name the row.
// Every error is errors.Is(ErrInvalid).
func (s *Scenario) Apply(v Variation) (*Scenario, error) {
	from := func(flag, arg string) string {
		if v.Label == "" {
			return "--" + flag + " " + arg
		}
		return fmt.Sprintf("row %q: %s %s", v.Label, flag, arg)
	}
	if v.Profile != "" {
		if _, err := kernel.Lookup(v.Profile); err != nil {
			return nil, invalidf("%s: %v", from("profile", v.Profile), err)
		}
	}
	c := s.Clone()
	for _, i := range c.Observed() {
		h := &c.Hosts[i]
		if v.Profile != "" {
			h.Profile = v.Profile
			h.Patches = nil
		}
		for _, p := range v.Patches {
			prof, err := kernel.Lookup(h.Profile)
			if err == nil {
				_, err = prof.WithPatches(append(slices.Clone(h.Patches), p))
			}
			if err != nil {
				return nil, invalidf("%s: host %s: %v", from("patch", p), h.Name, err)
			}
			h.Patches = append(h.Patches, p)
		}
	}
	if v.Preset != "" {
		if err := c.Set("preset", v.Preset); err != nil {
			return nil, invalidf("%s: %v", from("set", "preset="+v.Preset), err)
		}
	}
	for _, kv := range v.Set {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, invalidf("%s: want key=value", from("set", kv))
		}
		if err := c.Set(k, val); err != nil {
			return nil, invalidf("%s: %v", from("set", kv), err)
		}
	}
	if err := c.Validate(); err != nil {
		// Each knob was valid alone but the scenario they make is not
		// (gc_thresh3=0 under a scenario with entries): name what the
		// user changed, then what no longer holds.
		if d := v.describe(from); d != "" {
			return nil, invalidf("%s: the scenario no longer validates: %w", d, err)
		}
		return nil, err
	}
	return c, nil
}

// describe names every knob of v the way its source spells it.
func (v Variation) describe(from func(flag, arg string) string) string {
	var parts []string
	if v.Profile != "" {
		parts = append(parts, from("profile", v.Profile))
	}
	for _, p := range v.Patches {
		parts = append(parts, from("patch", p))
	}
	if v.Preset != "" {
		parts = append(parts, from("set", "preset="+v.Preset))
	}
	for _, kv := range v.Set {
		parts = append(parts, from("set", kv))
	}
	return strings.Join(parts, ", ")
}

// SetKeys documents the keys Set accepts besides sysctl names.
const SetKeys = "profile, hz, cpus, preset, garp.count, garp.interval, garp.mode, garp.tha, segment.latency, segment.jitter, segment.loss, segment.flood_unknown, station.answer_foreign_probes, a neigh sysctl (locktime, base_reachable_time_ms, gc_thresh1, …), a conf sysctl (arp_accept, drop_gratuitous_arp, …), an IPv6 conf sysctl set on every interface (accept_untracked_na, drop_unsolicited_na, forwarding, …) or a full key (neigh.eth0.locktime, net.ipv4.conf.all.arp_accept, net.ipv6.conf.eth0.accept_untracked_na)"

// Set changes one knob of the scenario (the CLI's --set key=value). The
// value is checked here against the same limits as the file's (limits.go),
// so that a mistake is blamed on the flag, not on a line of the file; the
// error does not repeat the key (Apply names the flag).
func (s *Scenario) Set(key, value string) error {
	obs := s.Observed()
	switch key {
	case "profile":
		if _, err := kernel.Lookup(value); err != nil {
			return err
		}
		// the file's patch edits were edits of its profile: like
		// --profile (Apply), another profile starts from its own set
		for _, i := range obs {
			s.Hosts[i].Profile, s.Hosts[i].Patches = value, nil
		}
		return nil
	case "hz", "cpus":
		n, err := parseCount(value)
		if err != nil {
			return err
		}
		if key == "hz" {
			err = checkHZ(n)
		} else {
			err = limCPUs.check(n)
		}
		if err != nil {
			return err
		}
		for _, i := range obs {
			if key == "hz" {
				s.Hosts[i].HZ = int(n)
			} else {
				s.Hosts[i].CPUs = int(n)
			}
		}
		return nil
	case "preset", "garp.count", "garp.interval", "garp.mode", "garp.tha":
		return s.setGARP(key, value)
	case "segment.latency", "segment.jitter", "segment.loss", "segment.flood_unknown":
		return s.setSegments(key, value)
	case "station.answer_foreign_probes":
		b, err := parseBool(value)
		if err != nil {
			return err
		}
		for i := range s.Stations {
			s.Stations[i].AnswerForeignProbes = b
		}
		return nil
	}
	return s.setSysctl(key, value, obs)
}

// setGARP sets a knob of every GARP sender.
func (s *Scenario) setGARP(key, value string) (err error) {
	var (
		count int64
		d     vtime.Duration
		mac   arp.MAC
	)
	switch key {
	case "preset":
		all := slices.Concat(garp.Presets(), garp.NAPresets())
		known := slices.ContainsFunc(all, func(p garp.Preset) bool { return p.Name == value })
		if !known && value != garp.Custom {
			var names []string
			for _, p := range all {
				if !slices.Contains(names, p.Name) {
					names = append(names, p.Name)
				}
			}
			return fmt.Errorf("unknown sender preset %q (known: %s)", value, strings.Join(names, ", "))
		}
	case "garp.count":
		if count, err = parseCount(value); err == nil {
			err = limGARPCount.check(count)
		}
	case "garp.interval":
		if d, err = ParseDuration(value); err == nil {
			err = limGARPDurations[0].check(d)
		}
	case "garp.mode":
		if !slices.Contains([]string{garp.ModeRequest, garp.ModeReply, garp.ModeBoth}, value) {
			err = fmt.Errorf("mode %q: want request, reply or both", value)
		}
	case "garp.tha":
		mac, err = arp.ParseMAC(value)
	}
	if err != nil {
		return err
	}
	n := 0
	for i := range s.Script {
		g := s.Script[i].GARP
		if g == nil {
			continue
		}
		n++
		defer func() {
			// the knob must suit each sender's preset: say so here, or
			// the error would blame the file's line for the flag
			if err == nil {
				if cerr := checkGARP(g, s.Duration.D); cerr != nil {
					err = fmt.Errorf("the garp from %s at %s: %v", g.From, s.Script[i].at(s.File), cerr)
				}
			}
		}()
		switch key {
		case "preset":
			g.Preset, g.Mode, g.THA, g.Count, g.Interval = value, "", nil, 0, Duration{}
			g.GNAInterval, g.Source, g.Dest, g.NAFlags, g.NoTLLAO, g.HopLimit = Duration{}, nil, nil, "", false, 0
		case "garp.count":
			g.Count = int(count)
		case "garp.interval":
			g.Interval = Duration{D: d}
		case "garp.mode":
			g.Mode = value
		case "garp.tha":
			g.THA = &MAC{mac}
		}
	}
	if n == 0 {
		return fmt.Errorf("the scenario has no garp sender")
	}
	return nil
}

// setSegments sets a knob of every segment.
func (s *Scenario) setSegments(key, value string) error {
	var (
		loss  float64
		flood bool
		d     vtime.Duration
		err   error
	)
	switch key {
	case "segment.loss":
		loss, err = parseProbability("loss", value)
	case "segment.flood_unknown":
		flood, err = parseBool(value)
	case "segment.latency":
		if d, err = ParseDuration(value); err == nil {
			err = limLatency.check(d)
		}
	case "segment.jitter":
		if d, err = ParseDuration(value); err == nil {
			err = limJitter.check(d)
		}
	}
	if err != nil {
		return err
	}
	for i := range s.Segments {
		g := &s.Segments[i]
		switch key {
		case "segment.loss":
			g.Loss = loss
		case "segment.flood_unknown":
			g.FloodUnknown = flood
		case "segment.latency":
			g.Latency.D = d
		case "segment.jitter":
			g.Jitter.D = d
		}
	}
	return nil
}

// setSysctl sets a sysctl on the observed hosts: a bare neigh name applies
// to every interface, a bare conf name to conf/all, a table-wide name to
// neigh/default, a full key as written.
func (s *Scenario) setSysctl(key, value string, obs []int) error {
	full := key
	switch {
	case slices.Contains(neigh.ParamNames(), key):
		full = ""
	case slices.Contains(tableWide, key):
		full = "neigh.default." + key
	case slices.Contains(neigh.ConfNames, key):
		full = "conf.all." + key
	case slices.Contains(neigh.Conf6Names, key):
		full = "" // IPv6 reads the device's own value (ndisc §8.2)
	default:
		if _, _, _, _, err := neigh.SplitSysctlFamily(key); err != nil {
			return fmt.Errorf("unknown key %q (accepted: %s)", key, SetKeys)
		}
	}
	for _, i := range obs {
		h := &s.Hosts[i]
		devs := map[string]bool{}
		for _, ifc := range h.Interfaces {
			devs[ifc.Name] = true
		}
		keys := []string{full}
		if full == "" {
			keys = nil
			for _, ifc := range h.Interfaces {
				switch {
				case slices.Contains(neigh.Conf6Names, key):
					keys = append(keys, "net.ipv6.conf."+ifc.Name+"."+key)
				case hasIPv6(h):
					// a neighbour parameter applies to both tables of a
					// dual-stack host (locktime too: nd_tbl keeps it and
					// never reads it, ndisc §5.5, and says so)
					keys = append(keys, "neigh."+ifc.Name+"."+key, "net.ipv6.neigh."+ifc.Name+"."+key)
				default:
					keys = append(keys, "neigh."+ifc.Name+"."+key)
				}
			}
		}
		for _, k := range keys {
			if err := checkSysctl(k, value, devs); err != nil {
				return fmt.Errorf("host %s: %v", h.Name, err)
			}
			if h.Sysctls == nil {
				h.Sysctls = map[string]string{}
			}
			h.Sysctls[k] = value
		}
	}
	return nil
}
