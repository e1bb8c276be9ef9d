package lab

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/scenario"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// This file holds the record of a scenario run on the running kernel
// (RunScenario): the inputs the observed hosts received, in CLOCK_MONOTONIC
// nanoseconds, and what the kernel showed of its neighbour tables. A
// LabRun is plain data so that a verifier can feed the same inputs to the
// model long after the namespaces are gone.

// RunOptions configures RunScenario.
type RunOptions struct {
	// Prefix names the lab's namespaces; "" means DefaultPrefix()+"-r<n>"
	// with n counting runs in this process, so runs may overlap.
	Prefix string
	// NoTrace skips the tracefs oracle even where it is available; frame
	// verdicts are then unknown and only netlink snapshots are compared.
	NoTrace bool
	// Calibration is how long each of the two jiffies calibration bursts
	// (before and after the script) lasts; 0 means 12 ms, three ticks at
	// HZ=250.
	Calibration time.Duration
	// PollPeriodic is how often /proc/net/stat/arp_cache is read to see
	// when the table's periodic work ran; 0 means 20 ms, negative never.
	PollPeriodic time.Duration
	// Logf, if set, receives one line per step as the run goes.
	Logf func(format string, args ...any)
}

// LabRun is everything one run recorded. Times are CLOCK_MONOTONIC
// nanoseconds (MonoNs); EpochNs is the scenario's t = 0.
type LabRun struct {
	Scenario string
	File     string
	Release  string // uname -r
	HZ       int
	HZMethod string // how HZ was found (kclock.DetectHZ)
	EpochNs  int64  // t = 0 of the script
	EndNs    int64  // when the script's duration had passed
	// Clock maps CLOCK_MONOTONIC to the kernel's jiffies, fitted from
	// tracepoint stamps (a calibration burst before and after the script
	// and every stamp the run itself produced).
	Clock kclock.Clock

	Hosts []RunHost
	Table labnet.TableInfo // the ARP table's global settings at t = 0
	// IPv6 is true when the scenario uses IPv6 (an address, an ns step):
	// IPv6 was then on in every namespace (labnet.EnableIPv6), and ND is
	// the ND table's global settings at t = 0.
	IPv6 bool
	ND   labnet.TableInfo

	// Frames are the ARP and IPv4 frames seen on the observed hosts'
	// interfaces, both directions, in time order.
	Frames []RunFrame
	// Sends are the frames stations injected (GARPs, answers to foreign
	// probes), with the time just before and just after sendto.
	Sends     []RunSend
	Admin     []RunAdmin
	Sysctls   []RunSysctl
	Moves     []RunMove
	Flows     []RunFlow
	Periodic  []RunPeriodic
	Snapshots []RunSnapshot

	// Trace holds the neigh:* tracepoint events of the observed hosts'
	// interfaces (the oracle for ignored updates). TraceOK is false when
	// tracefs could not be used; TraceNote says why.
	Trace     []ktrace.Event
	TraceOK   bool
	TraceNote string
	TraceLost int

	// Checks are the scenario's checks evaluated on the kernel's tables
	// and flows.
	Checks []RunCheck

	// Notes lists what the lab could not reproduce from the scenario
	// (segment latency, entry ages, global sysctls, …).
	Notes []string
}

// RunCheck is one scenario check evaluated on the kernel.
type RunCheck struct {
	Index int // into Scenario.Checks
	Line  int
	Desc  string // what the check wants
	Got   string // what the kernel had
	OK    bool
	// Late is how long after the check's moment its table read began: on
	// a busy machine the read, and the steps before it, can run late
	// enough to see what the script meant for later (see LabRun.Slip).
	Late time.Duration
}

// LateNote is a failed check's lateness (RunCheck.Late) in words, or ""
// when its read ran within 10 ms of its moment.
func LateNote(d time.Duration) string {
	if d < 10*time.Millisecond {
		return ""
	}
	return fmt.Sprintf(" (the read ran %v late: a busy machine)", d.Round(time.Millisecond))
}

// EvalChecks evaluates a scenario's checks on a run: entry checks against
// the table read taken for them, flow checks against the flows' outcomes.
func EvalChecks(r *LabRun, checks []scenario.Check) []RunCheck {
	var out []RunCheck
	for ci, c := range checks {
		cr := RunCheck{Index: ci, Line: c.Line}
		if c.Flow != "" {
			cr.Desc = fmt.Sprintf("flow %s %s", c.Flow, c.Outcome)
			for _, f := range r.Flows {
				if f.Name == c.Flow {
					got := "failed"
					if f.OK {
						got = "ok"
					}
					cr.Got, cr.OK = got, got == c.Outcome
					if f.Err != "" {
						cr.Got += " (" + f.Err + ")"
					}
				}
			}
			if cr.Got == "" {
				cr.Got = "flow never started"
			}
			out = append(out, cr)
			continue
		}
		want := c.IP.String()
		if c.State != "" {
			want += " " + strings.ToUpper(c.State)
		}
		if c.LLAddr != nil {
			want += " " + c.LLAddr.String()
		}
		cr.Desc = fmt.Sprintf("at %v %s %s", c.At.D, c.Host, want)
		for _, sn := range r.Snapshots {
			if sn.Check != ci || sn.Host != c.Host {
				continue
			}
			cr.Late = time.Duration(sn.BeforeNs - r.EpochNs - sn.SchedNs)
			var found *labnet.Neigh
			for i, n := range sn.Entries {
				if n.IP == c.IP.Addr && (c.Dev == "" || n.Dev == c.Dev) {
					found = &sn.Entries[i]
				}
			}
			if found == nil {
				cr.Got, cr.OK = c.Judge(false, 0, arp.MAC{})
			} else {
				cr.Got, cr.OK = c.Judge(true, found.State, found.LLAddr)
			}
		}
		if cr.Got == "" {
			cr.Got = "the host is not observed or the table was not read"
		}
		out = append(out, cr)
	}
	return out
}

// UsesIPv6 reports whether a scenario needs IPv6 in the lab: an IPv6
// address on an interface or a station, an ns step, or an IPv6 address in
// a move, GARP, flow, initial neighbour or check.
func UsesIPv6(s *scenario.Scenario) bool {
	v6 := func(a netip.Addr) bool { return a.Is6() }
	for _, h := range s.Hosts {
		for _, ic := range h.Interfaces {
			for _, a := range ic.Addrs {
				if v6(a.Addr()) {
					return true
				}
			}
		}
		for _, n := range h.Neighbours {
			if v6(n.IP.Addr) {
				return true
			}
		}
	}
	for _, st := range s.Stations {
		for _, ip := range st.IPs {
			if v6(ip.Addr) {
				return true
			}
		}
	}
	for _, e := range s.Script {
		switch {
		case e.NS != nil,
			e.Move != nil && v6(e.Move.IP.Addr),
			e.GARP != nil && v6(e.GARP.IP.Addr),
			e.Flow != nil && v6(e.Flow.To.Addr):
			return true
		case e.Neigh != nil:
			if c, err := scenario.ParseNeighCmd(e.Neigh.Cmd); err == nil && v6(c.IP) {
				return true
			}
		}
	}
	for _, c := range s.Checks {
		if v6(c.IP.Addr) {
			return true
		}
	}
	return false
}

// Seconds converts a CLOCK_MONOTONIC time to seconds since the epoch.
func (r *LabRun) Seconds(ns int64) float64 { return float64(ns-r.EpochNs) / 1e9 }

// Slip is how late the script ran at its worst: the longest delay between
// the moment the script meant a step (or check) and the table read that
// followed it, or between a flow's scheduled send and the send, and what
// ran that late. The script's timings keep margins
// of 100 ms or more to the kernel's timers; a run that slipped by half of
// that may fail a check because the machine was busy, not because the
// kernel did something else. Zero when the run has no scheduled reads.
func (r *LabRun) Slip() (time.Duration, string) {
	var worst time.Duration
	why := ""
	for i := range r.Snapshots {
		sn := &r.Snapshots[i]
		if late := time.Duration(sn.BeforeNs - r.EpochNs - sn.SchedNs); late > worst {
			worst, why = late, sn.Reason
		}
	}
	for _, f := range r.Flows {
		if f.Late > worst {
			worst, why = f.Late, "flow "+f.Name
		}
	}
	return worst, why
}

// Host returns the record of the host named name.
func (r *LabRun) Host(name string) *RunHost {
	for i := range r.Hosts {
		if r.Hosts[i].Name == name {
			return &r.Hosts[i]
		}
	}
	return nil
}

// DevByIfName finds a host interface by its name in the lab.
func (r *LabRun) DevByIfName(ifname string) (*RunHost, *RunDev) {
	for i := range r.Hosts {
		for j := range r.Hosts[i].Devs {
			if r.Hosts[i].Devs[j].IfName == ifname {
				return &r.Hosts[i], &r.Hosts[i].Devs[j]
			}
		}
	}
	return nil, nil
}

// RunHost is a Linux host of the scenario: a namespace.
type RunHost struct {
	Name     string
	NS       string
	Observed bool
	Devs     []RunDev
	// ConfAll is conf/all as in force at t = 0; ConfAll6 is
	// net/ipv6/conf/all (IPv6 runs only).
	ConfAll  map[string]string
	ConfAll6 map[string]string
}

// Dev returns the interface the scenario calls name.
func (h *RunHost) Dev(name string) *RunDev {
	for i := range h.Devs {
		if h.Devs[i].Name == name {
			return &h.Devs[i]
		}
	}
	return nil
}

// RunDev is one interface of a host.
type RunDev struct {
	Name   string // as the scenario calls it
	IfName string // in the lab: unique per run, for the tracepoint filter
	MAC    arp.MAC
	Addrs  []netip.Prefix
	// Params and Conf are neigh/<dev>/ and conf/<dev>/ as in force at
	// t = 0 (Params read over netlink, exact to the jiffy).
	Params labnet.NeighParams
	Conf   map[string]string
	// Params6 and Conf6 are the same under net/ipv6 (the ND table), and
	// LinkLocal the interface's link-local address, in IPv6 runs.
	Params6   labnet.NeighParams
	Conf6     map[string]string
	LinkLocal netip.Addr
}

// RunFrame is a frame seen on an observed host's interface.
type RunFrame struct {
	Host, Dev string // scenario names
	AtNs      int64  // kernel timestamp (receive, or hand-off to the driver)
	// Stamped is false when the kernel gave no timestamp and AtNs is the
	// time the lab read the frame.
	Stamped bool
	Type    ether.PktType // ether.PktOutgoing for what the host sent
	Data    []byte        // the frame from the Ethernet header (IPv4 frames cut after 96 bytes)
	Len     int           // the frame's full length
}

// RunSend is a frame a station injected.
type RunSend struct {
	Station  string
	Event    int // index of the script event (-1: an answer to a foreign probe)
	Frame    int // index within the event's schedule
	Cause    string
	BeforeNs int64
	AfterNs  int64
	Data     []byte
	Err      string
}

// RunAdmin is an `ip neigh` command run on a host.
type RunAdmin struct {
	Host string
	Cmd  string // as the scenario wrote it (or built for neighbours/entries)
	// Command is Cmd parsed (Parsed false: it did not parse, see Err).
	Command  scenario.NeighCommand
	Parsed   bool
	Event    int // script index; -1 for the host's initial neighbours and entries
	BeforeNs int64
	AfterNs  int64
	Err      string
}

// RunSysctl is a sysctl written on a host, with the parameters read back.
type RunSysctl struct {
	Host     string
	Key      string // as the scenario wrote it
	Path     string // what was written in the lab
	Value    string
	Event    int // script index; -1 for the host's sysctls at set-up
	BeforeNs int64
	AfterNs  int64
	Err      string
	// Params and Conf per interface (scenario name) after the write, and
	// their IPv6 counterparts in IPv6 runs.
	Params   map[string]labnet.NeighParams
	Conf     map[string]map[string]string
	ConfAll  map[string]string
	Params6  map[string]labnet.NeighParams
	Conf6    map[string]map[string]string
	ConfAll6 map[string]string
}

// RunMove is a floating IP moved between stations.
type RunMove struct {
	IP       netip.Addr
	From, To string
	BeforeNs int64
	AfterNs  int64
	Err      string
}

// RunFlow is a real TCP or UDP flow from a host.
type RunFlow struct {
	Name      string
	Kind      string
	From      string
	To        netip.Addr
	Confirm   bool
	LocalPort int // the client's port (0 until known)
	PeerPort  int
	StartNs   int64
	// ConnectedNs is when connect returned (TCP; 0 if never).
	ConnectedNs int64
	EndNs       int64
	Sent        int
	Answered    int
	OK          bool
	Err         string
	// Late is how far behind its schedule the flow's latest-running
	// send went out (a busy machine, or a TCP answer it waited for).
	Late time.Duration
}

// RunPeriodic is one observed run of the table's periodic work
// (neigh_periodic_work): the counter moved between two polls.
type RunPeriodic struct {
	AfterNs, BeforeNs int64 // it ran in (AfterNs, BeforeNs]
	// EntriesBefore is the machine-wide count at the poll before the run
	// (/proc/net/stat/arp_cache), the nearest reading of what the work
	// compared with gc_thresh1.
	EntriesBefore int
	Table         labnet.TableInfo
	// Params per observed host and interface afterwards (the work
	// re-randomises reachable_time every 300 s).
	Params map[string]map[string]labnet.NeighParams
	// HostEntries is how many entries each observed host had then.
	HostEntries map[string]int
}

// RunSnapshot is a host's neighbour table read at a step or a check.
type RunSnapshot struct {
	Host   string
	Reason string // "check 2", "step 4 (garp)", "end"
	Check  int    // index into Scenario.Checks, -1 if none
	Event  int    // index into Scenario.Script, -1 if none
	// SchedNs is when the script meant the read, after t = 0: a read that
	// began much later ran late (a loaded machine), and so may the action
	// before it.
	SchedNs  int64
	BeforeNs int64
	AfterNs  int64
	Entries  []labnet.Neigh // Dev is the scenario's interface name
	Err      string
}
