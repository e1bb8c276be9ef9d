package scenario

import (
	"strings"
	"testing"
)

// TestBuiltinsLoad: every built-in scenario parses and validates.
func TestBuiltinsLoad(t *testing.T) {
	if len(Builtins()) == 0 {
		t.Fatal("no built-in scenarios")
	}
	for _, n := range Builtins() {
		if _, err := Load(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestErrorsNameFileAndLine: bad input gets file:line and what is wrong.
func TestErrorsNameFileAndLine(t *testing.T) {
	base := `name: x
duration: 10s
segments:
  - name: s
hosts:
  - name: h
    interfaces:
      - {name: eth0, segment: s, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}
`
	for _, c := range []struct{ name, yaml, want string }{
		{"UnknownField", base + "bogus: 1\n", `x.yaml:9: unknown field "bogus" in a scenario`},
		{"UnknownHostField", strings.Replace(base, "  - name: h\n", "  - name: h\n    cpus: many\n    bogus: 1\n", 1), `x.yaml:7: cpus: "many" is not a whole number (and 1 more problem)`},
		{"BadMAC", strings.Replace(base, `"02:00:00:00:00:01"`, `"02:00"`, 1), "x.yaml:8"},
		{"UnknownSegment", strings.Replace(base, "segment: s,", "segment: t,", 1), `x.yaml:6: host h interface eth0: unknown segment "t"`},
		{"BadProfile", base[:len(base)-len("    interfaces:\n      - {name: eth0, segment: s, mac: \"02:00:00:00:00:01\", addrs: [10.0.0.1/24]}\n")] + "    profile: 2.6\n    interfaces:\n      - {name: eth0, segment: s, mac: \"02:00:00:00:00:01\", addrs: [10.0.0.1/24]}\n", `x.yaml:6: host h: unknown kernel profile "2.6"`},
		{"TwoActions", base + "script:\n  - {at: 1s, move: {ip: 10.0.0.9, to: h}, neigh: {host: h, cmd: flush dev eth0}}\n", "x.yaml:10: a script event needs exactly one"},
		{"BadDuration", strings.Replace(base, "10s", "ten", 1), `x.yaml:2: "ten" is not a duration`},
		{"BadNeighCmd", base + "script:\n  - {at: 1s, neigh: {host: h, cmd: \"replace 10.0.0.9 dev\"}}\n", "x.yaml:10:"},
		{"ReplyNoStation", base + "script:\n  - {at: 1s, reply: {from: r, ip: 10.0.0.9, to: h}}\n", `x.yaml:10: reply from "r": no such station`},
		{"ReplyNoIP", base + "stations:\n  - {name: r, segment: s, mac: \"02:00:00:00:00:09\"}\nscript:\n  - {at: 1s, reply: {from: r, to: h}}\n", "x.yaml:12: reply from r needs the sender address"},
		{"ReplyToStation", base + "stations:\n  - {name: r, segment: s, mac: \"02:00:00:00:00:09\"}\nscript:\n  - {at: 1s, reply: {from: r, ip: 10.0.0.9, to: r}}\n", `x.yaml:12: reply to "r": not a Linux host`},
		{"ReplyOtherSegment", strings.Replace(base, "segments:\n  - name: s\n", "segments:\n  - name: s\n  - name: t\n", 1) + "stations:\n  - {name: r, segment: t, mac: \"02:00:00:00:00:09\"}\nscript:\n  - {at: 1s, reply: {from: r, ip: 10.0.0.9, to: h}}\n", "reply to h: the host has no addressed interface on segment t"},
		{"BadPreset", base + "stations:\n  - {name: r, segment: s, mac: \"02:00:00:00:00:09\"}\nscript:\n  - {at: 1s, garp: {from: r, ip: 10.0.0.9, preset: nosuch}}\n", "x.yaml:12: garp from r: unknown preset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), "x.yaml")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseNeighCmd(t *testing.T) {
	c, err := ParseNeighCmd("replace 10.0.0.2 lladdr 02:00:00:00:00:02 nud stale dev eth0")
	if err != nil || c.Dev != "eth0" || c.State.String() != "STALE" || c.LLAddr == nil {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ParseNeighCmd("replace 10.0.0.2 nud bogus dev eth0"); err == nil {
		t.Fatal("bad state accepted")
	}
}

// TestReplyFrame: a reply action is a unicast reply from the station's MAC
// to the host's interface on its segment; tha and eth_dst override.
func TestReplyFrame(t *testing.T) {
	s, err := Parse([]byte(`name: x
duration: 2s
segments: [{name: s}]
hosts:
  - name: h
    interfaces: [{name: eth0, segment: s, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}]
stations:
  - {name: r, segment: s, mac: "02:00:00:00:00:09"}
script:
  - {at: 1s, reply: {from: r, ip: 192.168.7.7, to: h}}
  - {at: 1s, reply: {from: r, ip: 10.0.0.9, to: h, tha: "00:00:00:00:00:00", eth_dst: "ff:ff:ff:ff:ff:ff"}}
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		"eth_dst=02:00:00:00:00:01 reply sha=02:00:00:00:00:09 sip=192.168.7.7 tha=02:00:00:00:00:01 tip=10.0.0.1",
		"eth_dst=ff:ff:ff:ff:ff:ff reply sha=02:00:00:00:00:09 sip=10.0.0.9 tha=00:00:00:00:00:00 tip=10.0.0.1",
	} {
		f, err := s.ReplyFrame(s.Script[i].Reply)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.String(); !strings.Contains(got, want) {
			t.Errorf("reply %d = %q, want %q", i, got, want)
		}
	}
}

// TestWrittenZeroIsKept: a zero the file writes is a value, not "unset":
// one within the limits is kept (no default replaces it), and a field left
// out still gets its default.
func TestWrittenZeroIsKept(t *testing.T) {
	const src = `name: zeros
duration: 10s
segments:
  - {name: s, latency: 0s}
  - {name: t}
hosts:
  - name: h
    uptime: 0s
    interfaces:
      - {name: eth0, segment: s, mac: "02:00:00:00:00:01", addrs: [10.0.0.1/24]}
stations:
  - {name: r, segment: s, mac: "02:00:00:00:00:09", ips: [10.0.0.9], think: 0s}
script:
  - {at: 0s, flow: {name: f, kind: tcp, from: h, to: 10.0.0.9, ack_delay: 0s}}
  - {at: 1s, garp: {from: r, ip: 10.0.0.9, preset: arping-U, jitter: 0s}}
`
	s, err := Parse([]byte(src), "zeros.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for what, d := range map[string]Duration{"latency": s.Segments[0].Latency, "uptime": s.Hosts[0].Uptime,
		"think": s.Stations[0].Think, "ack_delay": s.Script[0].Flow.AckDelay, "jitter": s.Script[1].GARP.Jitter} {
		if d.D != 0 {
			t.Errorf("%s: 0s written, %v kept", what, d.D)
		}
	}
	if s.Segments[1].Latency.D == 0 || s.Hosts[0].CPUs != 1 || s.Script[0].Flow.Interval.D == 0 {
		t.Errorf("defaults missing: latency %v, cpus %d, interval %v", s.Segments[1].Latency.D, s.Hosts[0].CPUs, s.Script[0].Flow.Interval.D)
	}
}
