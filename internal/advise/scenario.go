package advise

import (
	"fmt"
	"strings"

	"arplab/internal/scenario"
	"arplab/internal/vtime"
)

// moveAt is when the VIP moves in a group's failover scenario: late enough
// for the client's sessions to have settled into their steady state.
const moveAt = 10 * vtime.Second

// groupScenario writes the failover scenario of one fleet group: a client
// with the group's kernel and sysctls on a LAN with the VIP's old and new
// owners (and, for the subnet pattern, three peers it keeps sessions
// with); the VIP moves at moveAt and the new owner announces it with a
// placeholder sender that candidates replace. The run lasts until the stale
// horizon has passed, so an entry still on the old MAC then is a failure.
//
// Timing that varies between Monte Carlo runs: every session's start
// (uniform over one request interval), the SSH connection's start after the
// move, the sender's start, every frame's sender latency and link jitter,
// each host's HZ phase and reachable_time draws (internal/sim).
//
// With v6 the VIP, the client and its peers are IPv6 addresses, the client
// runs nd_tbl (../shared/spec/linux-ndisc.md) and the placeholder sender is
// an unsolicited NA.
func groupScenario(g Group, horizon vtime.Duration, v6 bool) (*scenario.Scenario, error) {
	ad := plan4
	if v6 {
		ad = plan6
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("name: advise-%s", yamlName(g.Name))
	w("description: failover of %s seen by a %s client (%s traffic)", ad.vip, g.Profile, g.Traffic)
	w("duration: %s", sec(moveAt+horizon+50*vtime.Millisecond))
	w("segments: [{name: lan, latency: 150us, jitter: 100us}]")
	w("hosts:")
	w("  - name: client")
	w("    profile: %q", baseProfile(g))
	if len(g.Patches) > 0 {
		w("    patches: [%s]", quoteAll(g.Patches))
	}
	if g.HZ != 0 {
		w("    hz: %d", g.HZ)
	}
	w("    cpus: 1")
	if g.Entries > 0 {
		w("    entries: %d", g.Entries)
	}
	w("    interfaces: [{name: %s, segment: lan, mac: \"52:54:00:00:00:01\", addrs: [%q]}]", clientDev, ad.client)
	if len(g.Sysctls) > 0 {
		w("    sysctls:")
		for _, k := range sortedKeys(g.Sysctls) {
			w("      %q: %q", k, g.Sysctls[k])
		}
	}
	if g.Traffic != TrafficVIP {
		// the client talked to the VIP a while ago: its entry is STALE
		w("    neighbours: [{dev: %s, ip: %q, lladdr: %q, state: STALE, age: 40s}]", clientDev, ad.vip, oldMAC.String())
	}
	w("stations:")
	w("  - {name: old-owner, segment: lan, mac: %q, ips: [%q]}", oldMAC.String(), ad.vip)
	w("  - {name: new-owner, segment: lan, mac: %q}", newMAC.String())
	if g.Traffic == TrafficSubnet {
		for i := 1; i <= 3; i++ {
			w("  - {name: peer-%d, segment: lan, mac: \"fa:16:3e:00:00:2%d\", ips: [\"%s2%d\"]}", i, i, ad.peer, i)
		}
	}
	w("script:")
	switch g.Traffic {
	case TrafficVIP:
		w("  - {at: 0s, vary: 300ms, flow: {name: app, kind: tcp, from: client, to: %q, interval: 300ms}}", ad.vip)
	case TrafficSubnet:
		// interactive sessions to other hosts of the subnet: their ACKs
		// confirm the shared route (spec §6.1) on kernels before 4.11
		for i, iv := range []string{"130ms", "170ms", "150ms"} {
			w("  - {at: 0s, vary: %s, flow: {name: peer-%d, kind: tcp, from: client, to: \"%s2%d\", interval: %s, ack_delay: 200ms}}", iv, i+1, ad.peer, i+1, iv)
		}
		w("  - {at: %s, vary: 200ms, flow: {name: app, kind: ssh, from: client, to: %q}}", sec(moveAt), ad.vip)
	}
	w("  - {at: %s, move: {ip: %q, to: new-owner}}", sec(moveAt), ad.vip)
	w("  - {at: %s, garp: {from: new-owner, ip: %q, preset: %s, count: 1}}", sec(moveAt), ad.vip, ad.sender)
	return scenario.Parse([]byte(b.String()), "fleet group "+g.Name)
}

// addrPlan is the failover scenario's addressing in one family: the
// client's address, the VIP, the peers' common prefix (peer i is prefix
// + "2i") and the placeholder sender candidates replace.
type addrPlan struct{ client, vip, peer, sender string }

var (
	plan4 = addrPlan{client: "192.168.50.10/24", vip: "192.168.50.100", peer: "192.168.50.", sender: "arping-U"}
	plan6 = addrPlan{client: "2001:db8:50::10/64", vip: "2001:db8:50::100", peer: "2001:db8:50::", sender: "custom"}
)

// baseProfile is what the client's scenario resolves, before the group's
// patch edits: the user's own words when they were not a profile name (a
// `uname -r` string or a RHEL minor, whose resolved name, such as
// "rhel9-clamp-timestamps", names back-ports it lacks and is no input to
// the resolver), else the profile without the edits WithPatches appended.
func baseProfile(g Group) string {
	if g.Release != "" {
		return g.Release
	}
	if i := strings.IndexAny(g.Profile, "+-"); i > 0 && len(g.Patches) > 0 {
		return g.Profile[:i]
	}
	return g.Profile
}

func sec(d vtime.Duration) string { return fmt.Sprintf("%gs", d.Seconds()) }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func yamlName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '"' || r == ':' || r == '#' {
			return '_'
		}
		return r
	}, s)
}

// withSender returns a copy of base whose sender is announcer a with
// setting s, starting after the move as the announcer does, and extra
// senders (a supplementary announcement) after it.
func withSender(base *scenario.Scenario, a *Announcer, s Setting, horizon vtime.Duration, extra ...sender) (*scenario.Scenario, error) {
	c := base.Clone()
	idx := -1
	for i := range c.Script {
		if c.Script[i].GARP != nil {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("advise: group scenario %s has no sender", base.Name)
	}
	ev := &c.Script[idx]
	jitter := ev.GARP.Jitter
	*ev.GARP = scenario.GARP{From: ev.GARP.From, IP: ev.GARP.IP, Jitter: jitter}
	a.apply(s, ev.GARP, horizon)
	at, vary := a.start(s)
	ev.At.D, ev.Vary.D = moveAt+at, vary
	for _, x := range extra {
		g := scenario.GARP{From: ev.GARP.From, IP: ev.GARP.IP, Jitter: jitter}
		x.apply(&g)
		c.Script = append(c.Script, scenario.Event{At: scenario.Duration{D: moveAt + x.at}, Vary: scenario.Duration{D: x.vary}, GARP: &g})
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// sender is a supplementary announcement added to a scenario.
type sender struct {
	label    string // the command that sends it
	frames   int
	at, vary vtime.Duration
	apply    func(*scenario.GARP)
}
