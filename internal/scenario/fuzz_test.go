package scenario

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any bytes give a scenario or an error naming the file, never
// a panic; a scenario that parses survives Clone and Apply.
func FuzzParse(f *testing.F) {
	for _, n := range Builtins() {
		b, _ := BuiltinSource(n)
		f.Add(b)
	}
	f.Add([]byte("name: x\nduration: 1s\n"))
	f.Add([]byte("name: [\n"))
	// values at and past the limits (limits.go)
	vip, _ := BuiltinSource("vip-failover")
	for _, r := range [][2]string{
		{"interval: 300ms", "interval: -1s"}, {"interval: 300ms", "interval: 1ns"},
		{"duration: 60s", "duration: 876000h"}, {"duration: 60s", "duration: 1e400"}, {"duration: 60s", "duration: nan"},
		{"preset: keepalived}", "preset: keepalived, garp_master_repeat: 1e9}"},
		{"preset: keepalived}", "preset: keepalived, garp_master_refresh: 1s, garp_master_refresh_repeat: 1000, deadline: 168h}"},
		{`profile: "6.18"`, "profile: \"6.18\"\n    entries: 1e9"}, {`profile: "6.18"`, "profile: \"6.18\"\n    entries: 2000"},
		{`profile: "6.18"`, "profile: \"6.18\"\n    sysctls: {conf.all.arp_accept: \"7\"}"},
		{"vary: 100ms", "vary: -5s"}, {"jitter: 100us", "jitter: 1e9"},
		// explicit zeros: values, not "unset"
		{"interval: 300ms", "interval: 0s"}, {"latency: 150us", "latency: 0s"},
		{`profile: "6.18"`, "profile: \"6.18\"\n    hz: 0\n    cpus: 0"},
		{"interval: 300ms", "interval: 300ms, cpu: 1"},
	} {
		f.Add([]byte(strings.Replace(string(vip), r[0], r[1], 1)))
	}
	// IPv6: addresses, NA senders and net.ipv6 sysctls at their edges
	v6, _ := BuiltinSource("ipv6-vip-failover")
	for _, r := range [][2]string{
		{"gna_interval: 20ms", "gna_interval: 1e9"}, {"gna_interval: 20ms", "na_flags: RSOX"},
		{"gna_interval: 20ms", "hop_limit: 300"}, {"preset: keepalived", "preset: custom, dest: \"2001:db8::9\""},
		{`"2001:db8:50::10/64"`, `"::ffff:10.0.0.1/120"`}, {`ips: ["2001:db8:50::100"]`, `ips: ["ff02::1"]`},
		{`profile: "6.18"`, "profile: \"5.4\"\n    sysctls: {net.ipv6.conf.eth0.accept_untracked_na: \"2\"}"},
		{`profile: "6.18"`, "profile: \"6.18\"\n    neighbours: [{dev: eth0, ip: \"fe80::1\", lladdr: \"02:00:00:00:00:01\", state: STALE}]"},
	} {
		f.Add([]byte(strings.Replace(string(v6), r[0], r[1], 1)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("a parse error is not ErrInvalid: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("a parsed scenario does not validate again: %v", err)
		}
		c := s.Clone()
		if c.Name != s.Name || len(c.Script) != len(s.Script) {
			t.Fatal("clone differs")
		}
		if _, err := s.Apply(Variation{Profile: "6.18", Set: []string{"locktime=50"}}); err != nil && len(s.Hosts) > 0 {
			t.Logf("apply: %v", err)
		}
	})
}

// FuzzNeighCmd: `ip neigh` command parsing never panics, and a parsed
// command written with String parses back to itself.
func FuzzNeighCmd(f *testing.F) {
	for _, s := range []string{"replace 10.0.0.2 lladdr 02:00:00:00:00:02 nud stale dev eth0", "del 10.0.0.2 dev eth0", "flush dev eth0", "add 1.2.3.4 nud", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseNeighCmd(s)
		if err == nil && c.Dev == "" {
			t.Fatalf("%q parsed without a dev", s)
		}
		if err != nil {
			return
		}
		// String writes what ParseNeighCmd reads back.
		back, err := ParseNeighCmd(c.String())
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", s, c.String(), err)
		}
		if back.String() != c.String() || back.Op != c.Op || back.IP != c.IP || back.Dev != c.Dev {
			t.Fatalf("%q → %q → %q", s, c.String(), back.String())
		}
	})
}

// FuzzSet: any --set key=value on a built-in gives a scenario that
// validates, or one line naming the flag; never a panic and never a value
// past the limits.
func FuzzSet(f *testing.F) {
	for _, kv := range []string{"arp_accept=1", "arp_accept=7", "locktime=-1", "locktime=100", "hz=0", "hz=250",
		"cpus=300", "garp.count=1000000000", "garp.count=3", "garp.interval=1ns", "garp.interval=-1s",
		"segment.loss=1.5", "segment.loss=nan", "segment.latency=1h", "segment.flood_unknown=yes", "preset=neutron",
		"preset=nosuch", "garp.mode=both", "garp.tha=ff:ff:ff:ff:ff:ff", "neigh.default.gc_thresh3=10",
		"net.ipv4.conf.all.arp_ignore=9", "profile=4.12", "profile=9.99", "bogus=1", "=", "station.answer_foreign_probes=2"} {
		f.Add("failure", kv)
		f.Add("vip-failover", kv)
	}
	base := map[string]*Scenario{}
	for _, n := range Builtins() {
		s, err := Load(n)
		if err != nil {
			f.Fatal(err)
		}
		base[n] = s
	}
	f.Fuzz(func(t *testing.T, name, kv string) {
		s := base[name]
		if s == nil {
			return
		}
		c, err := s.Apply(Variation{Set: []string{kv}})
		if err != nil {
			msg := err.Error()
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(msg, "--set ") {
				t.Fatalf("--set %q: error %q is not a usage error naming the flag", kv, msg)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("--set %q: accepted, but the scenario no longer validates: %v", kv, err)
		}
	})
}
