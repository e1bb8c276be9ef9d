// Package scenario is the file format of arplab's failover scenarios: the
// topology (L2 segments, Linux hosts that run the neighbour model, simple
// stations that own IPs), a timed script (moves of floating IPs, GARP
// senders, upper-layer flows, `ip neigh` commands, sysctl writes) and the
// checks a run must satisfy. The same file drives the simulator and the
// real-kernel lab (docs/scenarios.md).
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package scenario

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Scenario is one parsed and validated scenario file.
type Scenario struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Duration    Duration  `yaml:"duration"`
	Seed        uint64    `yaml:"seed"`
	Segments    []Segment `yaml:"segments"`
	Hosts       []Host    `yaml:"hosts"`
	Stations    []Station `yaml:"stations"`
	Script      []Event   `yaml:"script"`
	Checks      []Check   `yaml:"checks"`
	// Fixes are candidate changes `arplab run` tries when the run fails,
	// to say which would have worked. Empty: a generic set.
	Fixes []Variation `yaml:"fixes"`
	// Matrix lists extra rows for `arplab matrix` besides the generic ones.
	Matrix []Variation `yaml:"matrix"`

	// File is where the scenario came from, for error messages.
	File string `yaml:"-"`
}

// Pos is the line of an item in its file; errors use it.
type Pos struct{ Line int }

func (p Pos) at(file string) string {
	if p.Line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d", file, p.Line)
}

// Segment is one broadcast domain (a bridge or switch).
type Segment struct {
	Pos     `yaml:"-"`
	Name    string   `yaml:"name"`
	Latency Duration `yaml:"latency"` // one-way delay of every frame (default 100µs)
	Jitter  Duration `yaml:"jitter"`  // extra delay, uniform in [0, jitter)
	Loss    float64  `yaml:"loss"`    // probability a frame is lost, per receiver
	// FloodUnknown makes unicast frames to a MAC no station has reach every
	// station (a hub, or a switch that has not learned it); otherwise they
	// are lost (a learning switch whose entry aged out with the port).
	FloodUnknown bool `yaml:"flood_unknown"`
}

// Host is a Linux host: it runs the neighbour model with its profile.
type Host struct {
	Pos        `yaml:"-"`
	Name       string      `yaml:"name"`
	Profile    string      `yaml:"profile"`
	Patches    []string    `yaml:"patches"`
	HZ         int         `yaml:"hz"`
	CPUs       int         `yaml:"cpus"`   // per-CPU cached routes (spec §6.1, §11 Q6)
	Uptime     Duration    `yaml:"uptime"` // how long the host has run at t=0 (jiffies start)
	Interfaces []Interface `yaml:"interfaces"`
	// Routes send traffic for other networks through a gateway on a
	// connected subnet; the gateway is then the neighbour (spec §3).
	Routes     []Route           `yaml:"routes"`
	Sysctls    map[string]string `yaml:"sysctls"`
	Neighbours []Neighbour       `yaml:"neighbours"`
	// Entries is how many unrelated neighbour entries the host holds
	// (spec §11 Q7): it changes GC and, on RHEL 7.3, re-randomisation.
	Entries int `yaml:"entries"`
	// Observe marks the hosts whose entries the report follows; default:
	// every Linux host.
	Observe *bool `yaml:"observe"`

	// written holds the keys the file wrote for this host, so that an
	// explicit hz: 0 or cpus: 0 is checked, not taken for "unset".
	written map[string]bool
}

// Interface is a host or station port on a segment.
type Interface struct {
	Name    string   `yaml:"name"`
	Segment string   `yaml:"segment"`
	MAC     MAC      `yaml:"mac"`
	Addrs   []Prefix `yaml:"addrs"`
}

// Route is a gateway route: destinations in To go via Via.
type Route struct {
	To  Prefix `yaml:"to"`
	Via Addr   `yaml:"via"`
}

// Neighbour is an entry that exists when the run starts.
type Neighbour struct {
	Dev    string `yaml:"dev"`
	IP     Addr   `yaml:"ip"`
	LLAddr MAC    `yaml:"lladdr"`
	State  string `yaml:"state"`
	// Age is how long ago the entry was last updated/confirmed/used.
	Age Duration `yaml:"age"`
}

// Station is a simple endpoint (a router port, a VM, a load balancer): it
// owns IPs, answers ARP requests for them and answers TCP/UDP, and can send
// GARPs. It does not run the Linux model.
type Station struct {
	Pos     `yaml:"-"`
	Name    string `yaml:"name"`
	Segment string `yaml:"segment"`
	MAC     MAC    `yaml:"mac"`
	IPs     []Addr `yaml:"ips"`
	// Serves lists networks a router station answers for when frames
	// reach its MAC (a gateway in front of remote services).
	Serves []Prefix `yaml:"serves"`
	// AnswerForeignProbes: answer an ARP request for one of our IPs even
	// when it was unicast to another MAC and reached us by flooding
	// (spec §11 Q5: who answers a unicast probe sent to the old MAC).
	AnswerForeignProbes bool `yaml:"answer_foreign_probes"`
	// Think is the time a station takes to answer (DefaultThink). The lab
	// honours it for the answers it sends itself (answer_foreign_probes);
	// a station's kernel answers for its own MAC at once.
	Think Duration `yaml:"think"`
}

// DefaultThink is a station's think time when the scenario gives none.
const DefaultThink = 100 * vtime.Microsecond

// Event is one entry of the timed script. Exactly one action is set.
type Event struct {
	Pos `yaml:"-"`
	At  Duration `yaml:"at"`
	// Vary is how far Monte Carlo runs may shift this event later:
	// uniform in [0, vary). Single runs use At as written.
	Vary   Duration     `yaml:"vary"`
	Move   *Move        `yaml:"move"`
	GARP   *GARP        `yaml:"garp"`
	Flow   *Flow        `yaml:"flow"`
	Neigh  *NeighCmd    `yaml:"neigh"`
	Sysctl *SysctlWrite `yaml:"sysctl"`
	Reply  *Reply       `yaml:"reply"`
	NS     *NS          `yaml:"ns"`
}

// Reply is one ARP reply a station sends to a Linux host without being
// asked: the unsolicited answers that arp_accept decides about (spec §4.4)
// and the late or foreign answers that reach an entry in the middle of its
// timers. Unlike a GARP its sender and target addresses differ: sha is the
// station's MAC, sip IP, tha and tip the host's (its interface on the
// station's segment), and the frame is unicast to the host's MAC unless
// tha or eth_dst say otherwise.
type Reply struct {
	From   string `yaml:"from"`
	IP     Addr   `yaml:"ip"`
	To     string `yaml:"to"`
	THA    *MAC   `yaml:"tha"`
	EthDst *MAC   `yaml:"eth_dst"`
}

// Move gives an IP to another station (a floating IP association, a VIP
// failover). The previous owner stops answering for it.
type Move struct {
	IP Addr   `yaml:"ip"`
	To string `yaml:"to"`
}

// GARP runs a sender preset on a station (internal/garp).
type GARP struct {
	From     string   `yaml:"from"`
	IP       Addr     `yaml:"ip"`
	Preset   string   `yaml:"preset"`
	Count    int      `yaml:"count"`
	Interval Duration `yaml:"interval"`
	Mode     string   `yaml:"mode"`
	THA      *MAC     `yaml:"tha"`
	EthDst   *MAC     `yaml:"eth_dst"`  // custom: unicast announcement to one gateway
	Deadline Duration `yaml:"deadline"` // arping -w
	// Neutron: the gap between one arping process and the next, and how
	// long an `arping -c 1` lingers before exiting (iputils 2019–2024).
	StartupLatency Duration `yaml:"startup_latency"`
	ArpingLinger   Duration `yaml:"arping_linger"`
	// keepalived knobs (keepalived.conf(5)).
	MasterRepeat        int      `yaml:"garp_master_repeat"`
	MasterDelay         Duration `yaml:"garp_master_delay"`
	MasterRefresh       Duration `yaml:"garp_master_refresh"`
	MasterRefreshRepeat int      `yaml:"garp_master_refresh_repeat"`
	GARPInterval        Duration `yaml:"garp_interval"`
	// IPv6 announcements (an ip: that is IPv6 makes the event a sender
	// of unsolicited NAs, garp.NASchedule; ndisc §10.1).
	GNAInterval Duration `yaml:"gna_interval"` // keepalived vrrp_gna_interval
	Forwarding  bool     `yaml:"forwarding"`   // the sender's IPv6 forwarding: the NA's R flag
	Source      *Addr    `yaml:"source"`       // IPv6 source (MetalLB/ndsend link-local; custom)
	Dest        *Addr    `yaml:"dest"`         // custom: IPv6 destination (default ff02::1)
	NAFlags     string   `yaml:"na_flags"`     // custom: letters of RSO, or none (default O)
	NoTLLAO     bool     `yaml:"no_tllao"`     // custom: leave the target link-layer option out
	HopLimit    int      `yaml:"hop_limit"`    // custom: IPv6 hop limit (default 255)
	// Jitter is the sender's per-frame scheduling latency, uniform in
	// [0, jitter) (default 50µs: a user-space sender is never exact).
	Jitter Duration `yaml:"jitter"`
}

// Flow is upper-layer traffic from a Linux host to an IP.
type Flow struct {
	Name string `yaml:"name"`
	// Kind: "ssh" (connect, then a short session; fails if never
	// established before Timeout), "tcp" (a long session of request and
	// response), "udp" (periodic datagrams, no confirmation).
	Kind string `yaml:"kind"`
	From string `yaml:"from"`
	To   Addr   `yaml:"to"`
	CPU  *int   `yaml:"cpu"` // which per-CPU route it uses (default: by flow index)
	// Timeout (ssh): give up if not established by then (default 300s).
	Timeout Duration `yaml:"timeout"`
	// Interval (tcp, udp, ssh session): time between requests (default 1s).
	Interval Duration `yaml:"interval"`
	// Until (tcp, udp): when the flow stops (default: end of run).
	Until Duration `yaml:"until"`
	// AckDelay (tcp): the host's delayed ACK for a response (default 40ms).
	AckDelay Duration `yaml:"ack_delay"`
	// Confirm (udp): send with MSG_CONFIRM.
	Confirm bool `yaml:"confirm"`
}

// NeighCmd is an `ip neigh` command on a host, e.g.
// "replace 10.0.0.2 lladdr 02:00:00:00:00:02 nud stale dev eth0".
type NeighCmd struct {
	Host string `yaml:"host"`
	Cmd  string `yaml:"cmd"`
}

// SysctlWrite writes a sysctl on a host mid-run.
type SysctlWrite struct {
	Host  string `yaml:"host"`
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
}

// Check is an expectation: an entry's state/lladdr at a time, or a flow's
// outcome at the end.
type Check struct {
	Pos     `yaml:"-"`
	At      Duration `yaml:"at"`
	Host    string   `yaml:"host"`
	IP      Addr     `yaml:"ip"`
	Dev     string   `yaml:"dev"`
	State   string   `yaml:"state"`
	LLAddr  *MAC     `yaml:"lladdr"`
	Flow    string   `yaml:"flow"`
	Outcome string   `yaml:"outcome"` // "ok" or "failed"
}

// Variation is a what-if change to a scenario (a matrix row, a fix).
type Variation struct {
	Label   string   `yaml:"label" json:"label,omitempty"`
	Profile string   `yaml:"profile" json:"profile,omitempty"`
	Patches []string `yaml:"patches" json:"patches,omitempty"`
	Set     []string `yaml:"set" json:"set,omitempty"`
	Preset  string   `yaml:"preset" json:"preset,omitempty"`
	// Expect is what the matrix should show for this row: "ok", "failed",
	// or "" (no expectation).
	Expect string `yaml:"expect" json:"expect,omitempty"`
}

// Duration is a YAML duration ("1.5s", "200ms", "0"). Line is where it
// was written (0 when set by a flag or a default), for errors about fields
// that have no list item around them.
type Duration struct {
	D    vtime.Duration
	Line int
}

// UnmarshalYAML parses Go duration syntax; a bare number means seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	d.D, d.Line = v, n.Line
	return nil
}

// ParseDuration parses "1.5s", "200ms", "300" (seconds).
func ParseDuration(s string) (vtime.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok, err := parseSeconds(s); ok {
		return d, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 1.5s, 200ms, 100us, or seconds as a number)", s)
	}
	return vtime.Duration(d), nil
}

// MarshalYAML prints the duration in Go syntax.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d.D).String(), nil }

// MAC is a YAML Ethernet address.
type MAC struct{ arp.MAC }

// UnmarshalYAML parses aa:bb:cc:dd:ee:ff.
func (m *MAC) UnmarshalYAML(n *yaml.Node) error {
	v, err := arp.ParseMAC(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	m.MAC = v
	return nil
}

// MarshalYAML prints the address.
func (m MAC) MarshalYAML() (any, error) { return m.MAC.String(), nil }

// Addr is a YAML IPv4 or IPv6 address.
type Addr struct{ netip.Addr }

// UnmarshalYAML parses a dotted IPv4 or a colon IPv6 address (no zone:
// a link-local address belongs to the interface it is written under).
func (a *Addr) UnmarshalYAML(n *yaml.Node) error {
	v, err := netip.ParseAddr(n.Value)
	if err != nil || v.Is4In6() || v.Zone() != "" {
		return fmt.Errorf("line %d: %q is not an IPv4 or IPv6 address (10.0.0.1, 2001:db8::1)", n.Line, n.Value)
	}
	a.Addr = v
	return nil
}

// MarshalYAML prints the address.
func (a Addr) MarshalYAML() (any, error) { return a.Addr.String(), nil }

// Prefix is a YAML IPv4 or IPv6 address with prefix length.
type Prefix struct{ netip.Prefix }

// UnmarshalYAML parses 10.0.0.1/24 or 2001:db8::1/64.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	v, err := netip.ParsePrefix(n.Value)
	if err != nil || v.Addr().Is4In6() || v.Addr().Zone() != "" {
		return fmt.Errorf("line %d: %q is not an address with prefix length (e.g. 10.0.0.1/24, 2001:db8::1/64)", n.Line, n.Value)
	}
	p.Prefix = v
	return nil
}

// MarshalYAML prints the prefix.
func (p Prefix) MarshalYAML() (any, error) { return p.Prefix.String(), nil }

// The Pos of list items is captured with these wrappers' UnmarshalYAML.
type (
	rawSegment Segment
	rawHost    Host
	rawStation Station
	rawEvent   Event
	rawCheck   Check
)

func decodeStrict(n *yaml.Node, v any) error {
	// yaml.Node.Decode has no KnownFields; re-encode and decode strictly.
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fixLines(err, n.Line-1)
	}
	return nil
}

// fixLines shifts "line N" in errors from a re-encoded node to file lines.
func fixLines(err error, off int) error {
	msg := err.Error()
	var out strings.Builder
	for {
		i := strings.Index(msg, "line ")
		if i < 0 {
			out.WriteString(msg)
			break
		}
		out.WriteString(msg[:i+5])
		msg = msg[i+5:]
		j := 0
		for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
			j++
		}
		if j == 0 {
			continue
		}
		n, _ := strconv.Atoi(msg[:j])
		out.WriteString(strconv.Itoa(n + off))
		msg = msg[j:]
	}
	return fmt.Errorf("%s", strings.TrimPrefix(out.String(), "yaml: unmarshal errors:\n  "))
}

// UnmarshalYAML records the item's line.
func (s *Segment) UnmarshalYAML(n *yaml.Node) error {
	var r rawSegment
	err := decodeStrict(n, &r)
	*s = Segment(r)
	s.Pos = Pos{n.Line}
	return err
}

// UnmarshalYAML records the item's line.
func (h *Host) UnmarshalYAML(n *yaml.Node) error {
	var r rawHost
	err := decodeStrict(n, &r)
	*h = Host(r)
	h.Pos = Pos{n.Line}
	if n.Kind == yaml.MappingNode {
		h.written = map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			h.written[n.Content[i].Value] = true
		}
	}
	return err
}

// UnmarshalYAML records the item's line.
func (s *Station) UnmarshalYAML(n *yaml.Node) error {
	var r rawStation
	err := decodeStrict(n, &r)
	*s = Station(r)
	s.Pos = Pos{n.Line}
	return err
}

// UnmarshalYAML records the item's line.
func (e *Event) UnmarshalYAML(n *yaml.Node) error {
	var r rawEvent
	err := decodeStrict(n, &r)
	*e = Event(r)
	e.Pos = Pos{n.Line}
	return err
}

// UnmarshalYAML records the item's line.
func (c *Check) UnmarshalYAML(n *yaml.Node) error {
	var r rawCheck
	err := decodeStrict(n, &r)
	*c = Check(r)
	c.Pos = Pos{n.Line}
	return err
}
