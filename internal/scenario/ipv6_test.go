package scenario

import (
	"errors"
	"strings"
	"testing"
)

// IPv6 in scenario files: every mistake is one clear error with file:line.
func TestIPv6ScenarioErrors(t *testing.T) {
	base, _ := BuiltinSource("ipv6-vip-failover")
	v4, _ := BuiltinSource("vip-failover")
	for _, c := range []struct {
		name      string
		src       []byte
		old, new_ string
		want      string
	}{
		{"flow from an IPv4-only host", v4, "to: 192.168.50.100, interval", `to: "2001:db8::1", interval`, "has no IPv6 address"},
		{"check on an IPv4-only host", v4, "{at: 21s, host: client, ip: 192.168.50.100", `{at: 21s, host: client, ip: "2001:db8::1"`, "has no IPv6 address"},
		{"ARP-only preset for an IPv6 address", base, "preset: keepalived, gna_interval: 20ms", "preset: arping-U", "unknown preset"},
		{"negative gna_interval", base, "gna_interval: 20ms", "gna_interval: -1s", "gna_interval"},
		{"unknown IPv6 conf", base, `profile: "6.18"`, "profile: \"6.18\"\n    sysctls: {net.ipv6.conf.eth0.accept_all_na: \"1\"}", "unknown IPv6 conf setting"},
		{"accept_untracked_na out of range", base, `profile: "6.18"`, "profile: \"6.18\"\n    sysctls: {net.ipv6.conf.eth0.accept_untracked_na: \"3\"}", "out of the kernel's range"},
		{"IPv6 sysctl on an IPv4-only host", v4, `profile: "6.18"`, "profile: \"6.18\"\n    sysctls: {net.ipv6.conf.eth0.forwarding: \"1\"}", "no IPv6 address"},
		{"zone in an address", base, `ips: ["2001:db8:50::100"]`, `ips: ["fe80::1%eth0"]`, "is not an IPv4 or IPv6 address"},
		{"route across families", base, `addrs: ["2001:db8:50::10/64"]}`, "addrs: [\"2001:db8:50::10/64\"]}\n    routes: [{to: \"2001:db8:99::/64\", via: 192.168.1.1}]", "not of the destination's family"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(string(c.src), c.old, c.new_, 1)
			if src == string(c.src) {
				t.Fatalf("test edit %q did not apply", c.old)
			}
			_, err := Parse([]byte(src), "x.yaml")
			if err == nil {
				t.Fatalf("accepted")
			}
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "x.yaml:") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want x.yaml:LINE and %q", err, c.want)
			}
		})
	}
}

// The IPv6 built-ins parse, and an IPv6 sender takes the NA knobs.
func TestIPv6Builtins(t *testing.T) {
	for _, n := range []string{"ipv6-vip-failover", "ipv6-metallb-ndp", "ipv6-untracked-na", "ipv6-no-override"} {
		s, err := Load(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range s.Script {
			if e.GARP != nil && !e.GARP.IP.Is6() {
				t.Errorf("%s: an IPv4 sender", n)
			}
		}
	}
	s, _ := Load("ipv6-no-override")
	v, err := s.Apply(Variation{Preset: "keepalived"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range v.Script {
		if g := e.GARP; g != nil && (g.Preset != "keepalived" || g.NAFlags != "" || g.Count != 0) {
			t.Errorf("preset variation left custom knobs: %+v", g)
		}
	}
	if _, err := s.Apply(Variation{Set: []string{"accept_untracked_na=1"}}); err != nil {
		t.Errorf("bare IPv6 conf name: %v", err)
	}
}
