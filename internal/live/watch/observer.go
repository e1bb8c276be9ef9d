package watch

import (
	"net/netip"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
)

// Observer receives the watcher's decisions as typed values, for consumers
// that count them (the Prometheus exporter in internal/live/metrics) and
// should neither parse trace events nor pay for their sentences. The watch
// package itself knows nothing of Prometheus: an Observer is optional and
// the text/JSON stream works without one.
//
// Every method is called from the watcher's one loop goroutine, in the
// order of the events the watcher emits, and must not block: a slow
// observer slows the watcher. Values passed in are not retained by the
// watcher; strings are the watcher's own (no copy is made per call).
type Observer interface {
	// Frame is an ARP frame this host received, with the watcher's
	// verdict and the rule that decided it.
	Frame(f FrameVerdict)
	// Entry is a change of a neighbour entry's state or lladdr, or (with
	// Seed) an entry present when watching began.
	Entry(c EntryChange)
	// Probe is a solicitation this host sent (unicast: to the cached MAC,
	// spec §2.3).
	Probe(dev string, unicast bool)
	// IgnoredUpdate is a neigh_update the tracepoint showed the kernel
	// ignoring, whether or not a frame explained it.
	IgnoredUpdate(dev string, rule Rule)
	// Dead says an entry started (Dead) or stopped pointing at a MAC the
	// watcher believes is gone (see DeadReason).
	Dead(d DeadChange)
	// Health reports a change of the watcher's own condition.
	Health(h Health)
}

// LinkObserver is an Observer that also wants to know when an interface
// the watcher was watching has gone for good, so that it can forget that
// device instead of keeping its numbers for ever: watching every
// interface of a host whose containers come and go, each veth would
// otherwise leave its series behind. Only the watch-everything mode
// reports it; interfaces named in WatchOptions.Interfaces are expected
// back and stay. The watcher checks for the interface, as for
// NDObserver.
type LinkObserver interface {
	// LinkGone says no interface named dev has existed for two link
	// checks in a row (linkCheckEvery apart), so late observations of
	// its last moments have all been delivered.
	LinkGone(dev string)
}

// Verdict is what the kernel did with a received frame. It refines
// trace's verdicts: NoOp is trace.Honoured with nothing to change. Its
// names (String, the metrics' verdict label) are the trace schema's
// effect names (trace.Effect, docs/trace.md), the older contract: a
// dashboard and a saved trace spell a no-op alike.
type Verdict uint8

// Verdicts, in label order.
const (
	VerdictHonoured Verdict = iota // the entry took the frame's lladdr (or state)
	VerdictIgnored                 // the entry exists and kept another MAC
	VerdictNoOp                    // the entry already had this MAC
	VerdictCreated                 // the frame created the entry
	VerdictDropped                 // the frame never reached the table (§4.1, §4.2, no entry)
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{
	string(trace.EffectHonoured), string(trace.EffectIgnored), string(trace.EffectNoop),
	string(trace.EffectCreated), string(trace.EffectDropped),
}

func (v Verdict) String() string {
	if v < NumVerdicts {
		return verdictNames[v]
	}
	return "unknown"
}

// Rule names what decided a verdict, as a bounded label value.
type Rule uint8

// Rules, in label order.
const (
	RuleNone Rule = iota // honoured, created or no-op: nothing stood in the way
	// RuleLocktime: a different MAC inside locktime, in a frame that is
	// not announcement-shaped (sip != tip), so no OVERRIDE (§4.4).
	RuleLocktime
	// RuleNotGratuitous: an announcement-shaped frame (sip == tip) the
	// kernel did not treat as a GARP (a reply with tha != sha, or any GARP
	// on kernels before 4.12), so locktime applied (§4.4 b, c).
	RuleNotGratuitous
	// RuleARPAccept: no entry for sip and none created (arp_accept off or
	// its subnet test failed, §4.4).
	RuleARPAccept
	// RuleDropGratuitousARP: sip == tip and drop_gratuitous_arp on (§4.2
	// step 6, 4.6+).
	RuleDropGratuitousARP
	// RulePermanent: the entry is PERMANENT or NOARP (§5 step 2).
	RulePermanent
	// RuleOtherHost: addressed to another host's MAC (§4.1).
	RuleOtherHost
	NumRules
)

var ruleNames = [NumRules]string{"none", "locktime", "not-gratuitous", "arp_accept", "drop_gratuitous_arp", "permanent", "otherhost"}

func (r Rule) String() string {
	if r < NumRules {
		return ruleNames[r]
	}
	return "unknown"
}

// Shape is how a frame looks, as Event.Cause spells it (the class).
type Shape uint8

// Shapes, in label order. The first three are announcements (sip == tip).
const (
	ShapeGARPRequest      Shape = iota // request, sip == tip
	ShapeGARPReply                     // reply, sip == tip, tha == sha (arping -A)
	ShapeUnsolicitedReply              // reply, sip == tip, tha != sha (MetalLB, Cilium)
	ShapeProbeReply                    // a reply to a probe this host sent
	ShapeReply                         // any other reply
	ShapeRequest                       // any other request
	ShapeOther                         // another opcode
	NumShapes
)

var shapeNames = [NumShapes]string{"garp-request", "garp-reply", "unsolicited-reply", "probe-reply", "reply", "request", "other"}

func (s Shape) String() string {
	if s < NumShapes {
		return shapeNames[s]
	}
	return "unknown"
}

// Announcement reports whether the frame announces its own address
// (sip == tip): what the issue calls a GARP, recognised by the kernel or not.
func (s Shape) Announcement() bool { return s <= ShapeUnsolicitedReply }

// State is a neighbour state as a bounded label.
type State uint8

// States, in label order; StateOther covers combinations `ip neigh` joins
// with "|".
const (
	StateNone State = iota
	StateIncomplete
	StateReachable
	StateStale
	StateDelay
	StateProbe
	StateFailed
	StateNoARP
	StatePermanent
	StateOther
	NumStates
)

var stateNames = [NumStates]string{"NONE", "INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "NOARP", "PERMANENT", "OTHER"}

func (s State) String() string {
	if s < NumStates {
		return stateNames[s]
	}
	return "OTHER"
}

// parseState maps the ip-neigh spelling used in events to a State without
// allocating.
func parseState(s string) State {
	for i, n := range stateNames[:StateOther] {
		if s == n {
			return State(i)
		}
	}
	return StateOther
}

// FrameVerdict is one received frame's outcome.
type FrameVerdict struct {
	At      time.Time
	Dev     string
	IP      netip.Addr // sip
	MAC     arp.MAC    // sha
	Shape   Shape
	Verdict Verdict
	Rule    Rule
}

// EntryChange is one entry change (From == StateNone when it appeared,
// To == StateNone when it was deleted).
type EntryChange struct {
	At       time.Time
	Dev      string
	IP       netip.Addr
	From, To State
	// Seed marks an entry read when watching began: not a transition.
	Seed bool
	// Resync marks a change found by re-reading the table after a
	// netlink overrun: its moment and cause were missed.
	Resync bool
}

// DeadReason says why the watcher believes an entry's MAC is gone.
type DeadReason uint8

const (
	// DeadSuperseded: a GARP announced the entry's IP at another MAC and
	// the kernel ignored or dropped it; the entry still points at the old
	// MAC (the failover failure arplab explains).
	DeadSuperseded DeadReason = iota
	// DeadUnanswered: this host sent a unicast probe to the entry's MAC
	// and nothing from that MAC answered within probeWait.
	DeadUnanswered
	NumDeadReasons
)

var deadNames = [NumDeadReasons]string{"superseded", "unanswered"}

func (r DeadReason) String() string {
	if r < NumDeadReasons {
		return deadNames[r]
	}
	return "unknown"
}

// DeadChange reports an entry starting (Dead) or ceasing to point at a
// dead MAC. Since is when it started (for both).
type DeadChange struct {
	At     time.Time
	Since  time.Time
	Dev    string
	IP     netip.Addr
	MAC    string // the MAC the entry points at, as ip neigh prints it
	Reason DeadReason
	Dead   bool
}

// Health is a change in the watcher's own condition; zero fields mean
// "no news" except where noted.
type Health struct {
	// Tracepoint is set when the tracepoint's availability is known or
	// changes; TracepointAvailable says which, TracepointError why not.
	Tracepoint          bool
	TracepointAvailable bool
	TracepointError     string
	// EventsLost is the number of tracepoint events the ring buffer
	// dropped since the last report.
	EventsLost int
	// FramesLost is the number of ARP frames the kernel dropped from the
	// watcher's socket (it fell behind) since the last report.
	FramesLost int
	// Resync is a netlink re-read after the subscription ended;
	// ResyncENOBUFS says the cause was a buffer overrun (ENOBUFS).
	Resync        bool
	ResyncENOBUFS bool
}

// nopObserver is used when the caller gives none.
type nopObserver struct{}

func (nopObserver) Frame(FrameVerdict)         {}
func (nopObserver) Entry(EntryChange)          {}
func (nopObserver) Probe(string, bool)         {}
func (nopObserver) IgnoredUpdate(string, Rule) {}
func (nopObserver) Dead(DeadChange)            {}
func (nopObserver) Health(Health)              {}
