package neigh

import (
	"arplab/internal/trace"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// Verdicts on received frames: the trace vocabulary's (trace owns them).
const (
	VerdictHonoured = trace.Honoured
	VerdictIgnored  = trace.Ignored
	VerdictCreated  = trace.Created
	VerdictDropped  = trace.Dropped
)

// Rule names the decision the model took; each maps to a spec section.
type Rule uint8

// Rules.
const (
	RuleNone Rule = iota
	RuleARPUpdate
	RuleDropOtherHost
	RuleDropOpcode
	RuleDropNoIPv4
	RuleDropTargetMulticast
	RuleDropTargetLoopback
	RuleDropGratuitous
	RuleDADReplied
	RuleDADIgnored
	RuleRequestForUs
	RuleRequestIgnored
	RuleNoEntry
	RuleTableFull
	RuleReachableStillConfirmed
	RuleReachableToDelay
	RuleReachableToStale
	RuleDelayToReachable
	RuleDelayToProbe
	RuleRetransmit
	RuleProbesExhausted
	RuleStaleToDelay
	RuleStartResolution
	RuleNoProbesFailed
	RuleConfirmRoute
	RuleConfirmSocket
	RuleConfirmImmediate
	RuleRerandomise
	RuleGCPeriodic
	RuleGCForced
	RuleAdmin
	RuleAdminDelete
	RuleCarrierFlush

	// IPv6 neighbour discovery (../shared/spec/linux-ndisc.md, "ndisc §").
	RuleNAUpdate
	RuleNSUpdate
	RuleNDNotIPv6
	RuleNDUnicastInL2Mcast
	RuleNDHopLimit
	RuleNDCode
	RuleNDFragment
	RuleNDBadOptions
	RuleNDNotModelled
	RuleNATargetMulticast
	RuleNASolicitedMulticast
	RuleNADropUnsolicited
	RuleNAOurAddress
	RuleNANoEntry
	RuleNAUntracked
	RuleNAFailed
	RuleNSDADNotSolicitedNode
	RuleNSDADWithSLLAO
	RuleNSNotForUs
	RuleNSDAD
	RuleNSNoEntry
	RuleConfirmClone
	RuleRDUpdate
	RuleRDUnspecified
	RuleRSNotRouter
	RuleRANotLinkLocal
)

var ruleInfo = [...]struct{ name, section string }{
	RuleNone:                    {"none", ""},
	RuleARPUpdate:               {"arp-update", "§4.4"},
	RuleDropOtherHost:           {"drop-otherhost", "§4.1"},
	RuleDropOpcode:              {"drop-opcode", "§4.2"},
	RuleDropNoIPv4:              {"drop-no-ipv4", "§4.2"},
	RuleDropTargetMulticast:     {"drop-tip-multicast", "§4.2"},
	RuleDropTargetLoopback:      {"drop-tip-loopback", "§4.2"},
	RuleDropGratuitous:          {"drop-gratuitous-arp", "§4.2"},
	RuleDADReplied:              {"dad-replied", "§4.3"},
	RuleDADIgnored:              {"dad-ignored", "§4.3"},
	RuleRequestForUs:            {"request-for-us", "§4.3"},
	RuleRequestIgnored:          {"arp-ignore", "§4.3"},
	RuleNoEntry:                 {"no-entry", "§4.4"},
	RuleTableFull:               {"table-full", "§7.2"},
	RuleReachableStillConfirmed: {"reachable-still-confirmed", "§2.2"},
	RuleReachableToDelay:        {"reachable-to-delay", "§2.2"},
	RuleReachableToStale:        {"reachable-to-stale", "§2.2"},
	RuleDelayToReachable:        {"delay-to-reachable", "§2.2"},
	RuleDelayToProbe:            {"delay-to-probe", "§2.2"},
	RuleRetransmit:              {"retransmit", "§2.2"},
	RuleProbesExhausted:         {"probes-exhausted", "§2.2"},
	RuleStaleToDelay:            {"stale-to-delay", "§3"},
	RuleStartResolution:         {"start-resolution", "§3"},
	RuleNoProbesFailed:          {"no-probes-failed", "§3"},
	RuleConfirmRoute:            {"confirm-route-shared", "§6.1"},
	RuleConfirmSocket:           {"confirm-per-socket", "§6.2"},
	RuleConfirmImmediate:        {"confirm-immediate", "§6.2"},
	RuleRerandomise:             {"rerandomise", "§2.4"},
	RuleGCPeriodic:              {"gc-periodic", "§7.1"},
	RuleGCForced:                {"gc-forced", "§7.2"},
	RuleAdmin:                   {"admin", "§5"},
	RuleAdminDelete:             {"admin-delete", "§5"},
	RuleCarrierFlush:            {"carrier-flush", "§7.3"},

	RuleNAUpdate:              {"na-update", "ndisc §4.3"},
	RuleNSUpdate:              {"ns-update", "ndisc §4.5"},
	RuleNDNotIPv6:             {"nd-not-ipv6", "ndisc §4.1"},
	RuleNDUnicastInL2Mcast:    {"drop-unicast-in-l2-multicast", "ndisc §4.1"},
	RuleNDHopLimit:            {"nd-hop-limit", "ndisc §4.1"},
	RuleNDCode:                {"nd-code", "ndisc §4.1"},
	RuleNDFragment:            {"nd-fragment", "ndisc §4.1"},
	RuleNDBadOptions:          {"nd-bad-options", "ndisc §4.1"},
	RuleNDNotModelled:         {"nd-not-modelled", "ndisc §4.6"},
	RuleNATargetMulticast:     {"nd-target-multicast", "ndisc §4.2"},
	RuleNASolicitedMulticast:  {"na-solicited-multicast", "ndisc §4.2"},
	RuleNADropUnsolicited:     {"drop-unsolicited-na", "ndisc §4.2"},
	RuleNAOurAddress:          {"na-our-address", "ndisc §4.7"},
	RuleNANoEntry:             {"na-no-entry", "ndisc §4.4"},
	RuleNAUntracked:           {"accept-untracked-na", "ndisc §4.4"},
	RuleNAFailed:              {"na-failed-entry", "ndisc §4.2"},
	RuleNSDADNotSolicitedNode: {"dad-ns-not-solicited-node", "ndisc §4.5"},
	RuleNSDADWithSLLAO:        {"dad-ns-with-sllao", "ndisc §4.5"},
	RuleNSNotForUs:            {"ns-not-for-us", "ndisc §4.5"},
	RuleNSDAD:                 {"dad-ns-defended", "ndisc §4.5"},
	RuleNSNoEntry:             {"ns-no-entry", "ndisc §4.5"},
	RuleConfirmClone:          {"confirm-route-clone", "ndisc §6.1"},
	RuleRDUpdate:              {"router-discovery", "ndisc §4.6"},
	RuleRDUnspecified:         {"rs-unspecified", "ndisc §4.6"},
	RuleRSNotRouter:           {"rs-not-router", "ndisc §4.6"},
	RuleRANotLinkLocal:        {"ra-not-link-local", "ndisc §4.6"},
}

// Name is the rule's short machine name (the trace's cause).
func (r Rule) Name() string { return ruleInfo[r].name }

// Section is the spec section that documents the rule.
func (r Rule) Section() string { return ruleInfo[r].section }

// Decision records one decision of the model with every number it
// compared, so that Explain can say exactly why. Decisions are plain values
// written into a reused buffer; nothing is formatted until Explain is called.
type Decision struct {
	Rule    Rule
	Verdict string // for received frames
	Profile string
	HZ      int
	Dev     string
	IP      netip.Addr
	Now     vtime.Jiffies

	Old, New          State
	Requested         State
	OldMAC, NewMAC    arp.MAC
	HadMAC            bool
	MACChanged        bool
	StateKept         bool
	UpdatedBefore     vtime.Jiffies
	Updated           vtime.Jiffies
	Confirmed         vtime.Jiffies
	Used              vtime.Jiffies
	UpdatedMoved      bool
	ConfirmedMoved    bool
	Locktime          vtime.Ticks
	Limit             vtime.Jiffies // the deadline a timer decision compared now with
	Probes, MaxProbes int
	Count             int
	Flow              string

	ARPAccept int
	// Peer is, for an NA, its IPv6 source; for an NS, its target (ours).
	Peer netip.Addr

	// Received-frame facts (small fields together, so that the IPv6 ones
	// cost the ARP path's copies few bytes).
	Frame      bool
	Op         arp.Op
	PktType    PktType
	GARP       garpWhy
	Override   bool
	LocktimeOK bool
	// Received-ND facts (IPv6): the message type, its flags (R/S/O and
	// whether it carried a link-layer option), the receiving device's
	// accept_untracked_na and why an untracked NA created nothing, the
	// router flag before and after, whether WEAK_OVERRIDE demoted the
	// entry, and the message's link-layer option.
	NDType               NDType
	NDFlags              NDFlags
	Why                  untrackedWhy
	Untracked            uint8
	RouterOld, RouterNew bool
	RouterChanged, Weak  bool
	AdvMAC               arp.MAC
}

// IsGARP reports whether the receive path treated the frame as a
// gratuitous ARP that overrides locktime (spec §4.4).
func (d *Decision) IsGARP() bool { return d.GARP == garpYes }

// StateChanged reports whether the entry's state or lladdr changed.
func (d *Decision) StateChanged() bool { return d.Old != d.New || d.MACChanged }

// Explain returns the sentence users read: the rule, the numbers compared
// and the outcome.
func (d *Decision) Explain() string {
	var b strings.Builder
	b.Grow(explainRoom)
	w := words{&b}
	switch d.Rule {
	case RuleARPUpdate, RuleRequestForUs:
		d.explainARP(&b)
	case RuleDropOtherHost:
		b.WriteString("dropped by arp_rcv: unicast to another MAC (PACKET_OTHERHOST)")
	case RuleDropOpcode:
		fmt.Fprintf(&b, "dropped: opcode %d is neither request nor reply", d.Op)
	case RuleDropNoIPv4:
		b.WriteString("dropped: no IPv4 address on " + d.Dev)
	case RuleDropTargetMulticast:
		b.WriteString("dropped: target IP is multicast")
	case RuleDropTargetLoopback:
		b.WriteString("dropped: target IP in 127/8 (route_localnet off)")
	case RuleDropGratuitous:
		b.WriteString("dropped before any processing: drop_gratuitous_arp=1 drops every ARP with sip == tip")
	case RuleDADReplied:
		b.WriteString("DAD probe (sip 0.0.0.0) for our address: replied, cache untouched")
	case RuleDADIgnored:
		b.WriteString("DAD probe (sip 0.0.0.0): cache untouched")
	case RuleRequestIgnored:
		b.WriteString("request for our address not answered (arp_ignore): cache untouched")
	case RuleNoEntry:
		d.explainNoEntry(&b)
	case RuleTableFull:
		fmt.Fprintf(&b, "neighbour table overflow: %d entries ≥ gc_thresh3 and forced GC freed nothing", d.Count)
	case RuleReachableStillConfirmed:
		w.s("REACHABLE kept: now=").j(d.Now).s(" ≤ confirmed+reachable_time=").j(d.Limit).s("; timer re-armed there")
	case RuleReachableToDelay:
		w.s("REACHABLE→DELAY: confirmation expired, but used within delay_first_probe_time (now=").j(d.Now).s(" ≤ ").j(d.Limit).
			s("); updated=").j(d.Updated)
	case RuleReachableToStale:
		w.s("REACHABLE→STALE: now=").j(d.Now).s(" > confirmed+reachable_time=").j(d.Limit).
			s(" and not used in the last delay_first_probe_time; updated=").j(d.Updated)
	case RuleDelayToReachable:
		w.s("DELAY→REACHABLE without a probe: confirmed=").j(d.Confirmed).s(" is within delay_first_probe_time (now=").j(d.Now).
			s(" ≤ ").j(d.Limit).s(")")
	case RuleDelayToProbe:
		w.s("DELAY→PROBE: no confirmation since ").j(d.Confirmed).s(" (now=").j(d.Now).s(" > ").j(d.Limit).
			s("); unicast probe to ").mac(d.OldMAC)
	case RuleRetransmit:
		n, m := d.Probes+1, d.MaxProbes
		if d.New == Incomplete {
			// INCOMPLETE counts from ucast_solicit (§2.3): number its
			// broadcasts from 1
			n, m = d.Probes+1-d.Count, d.MaxProbes-d.Count
		}
		w.s(d.New.String()).s(": probe ").n(n).s(" of ").n(m)
	case RuleProbesExhausted:
		w.s(d.Old.String()).s("→FAILED: ").n(d.Probes).s(" probes sent, max ").n(d.MaxProbes).
			s("; queued packets fail with host unreachable")
	case RuleStaleToDelay:
		w.s("STALE→DELAY: a packet used the entry (still sent to ").mac(d.OldMAC).s("); updated=").j(d.Updated).
			s(", probe decision in delay_first_probe_time")
	case RuleStartResolution:
		if d.IP.Is6() {
			fmt.Fprintf(&b, "%v→INCOMPLETE: a packet needs the address; multicast NS to %v now, packet queued (ndisc §2.3)", d.Old, ndisc.SolicitedNode(d.IP))
		} else {
			w.s(d.Old.String()).s("→INCOMPLETE: a packet needs the address; broadcast probe now, packet queued")
		}
	case RuleNoProbesFailed:
		b.WriteString("→FAILED: mcast_solicit + app_solicit = 0, no way to resolve; packet dropped")
	case RuleConfirmRoute:
		w.s("confirmed by a packet through the shared route whose pending_confirm was set by ").s(orUnknown(d.Flow)).
			s(" (pre-4.11 dst_confirm lands on whichever neighbour sends next)")
	case RuleConfirmSocket:
		w.s("confirmed by its own socket ").s(orUnknown(d.Flow)).s(" (4.11+ per-socket confirmation)")
	case RuleConfirmClone:
		w.s("confirmed through its own per-destination route, whose pending_confirm ").s(orUnknown(d.Flow)).
			s(" set (IPv6 before the 4.2 per-CPU routes clones a route per destination, so the confirmation is the right one)")
	case RuleConfirmImmediate:
		w.s("confirmed at once by ").s(orUnknown(d.Flow)).s(" (MSG_CONFIRM|MSG_PROBE)")
	case RuleRerandomise:
		b.WriteString("periodic work re-randomised reachable_time")
	case RuleGCPeriodic:
		w.s("removed by periodic GC: ").s(d.Old.String()).s(" and unused since ").j(d.Used).s(" (> gc_stale_time)")
	case RuleGCForced:
		w.s("removed by forced GC (table above gc_thresh2/3); updated=").j(d.Updated)
	case RuleAdmin:
		w.s("admin: ").s(d.Old.String()).s("→").s(d.New.String()).s(" lladdr ").mac(d.NewMAC)
	case RuleAdminDelete:
		b.WriteString("admin: deleted")
	case RuleCarrierFlush:
		b.WriteString("flushed: carrier lost on " + d.Dev)
	case RuleNAUpdate, RuleNSUpdate, RuleNAUntracked, RuleNANoEntry, RuleNAFailed, RuleNSNoEntry:
		d.explainND(&b)
	case RuleRDUpdate, RuleRDUnspecified, RuleRSNotRouter, RuleRANotLinkLocal:
		d.explainRD(&b)
	case RuleNDNotIPv6, RuleNDUnicastInL2Mcast, RuleNDHopLimit, RuleNDCode, RuleNDFragment, RuleNDBadOptions,
		RuleNDNotModelled, RuleNATargetMulticast, RuleNASolicitedMulticast, RuleNADropUnsolicited, RuleNAOurAddress,
		RuleNSDADNotSolicitedNode, RuleNSDADWithSLLAO, RuleNSNotForUs, RuleNSDAD:
		d.explainNDDrop(&b)
	default:
		b.WriteString(d.Rule.Name())
	}
	return b.String()
}

// explainRoom is what Explain reserves at once: written piece by piece,
// the builder would otherwise grow two or three times a sentence. The
// commonest sentences are 60 to 130 bytes.
const explainRoom = 128

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed socket"
	}
	return s
}

// writeKind writes "ARP" or "GARP" and the opcode: what the frame was.
func (d *Decision) writeKind(w words) {
	if d.GARP != garpNotGratuitous {
		w.s("GARP ")
	} else {
		w.s("ARP ")
	}
	w.s(d.Op.String())
}

// explainARP explains a neigh_update driven by a received frame.
func (d *Decision) explainARP(b *strings.Builder) {
	w := words{b}
	if d.Rule == RuleRequestForUs {
		w.s("request for our address: requester's entry set to ").mac(d.NewMAC).s(" ").s(d.New.String()).
			s(" with OVERRIDE (no locktime test)")
		return
	}
	d.writeKind(w)
	switch d.GARP {
	case garpYes:
		w.s(" recognised as gratuitous: overrides locktime")
	case garpNoConcept:
		w.s(" gets no GARP treatment on ").s(d.Profile).s(" (none before 3.14)")
	case garpNeedsARPAccept:
		w.s(" overrides on ").s(d.Profile).s(" only with arp_accept (arp_accept=").n(d.ARPAccept).s(")")
	case garpReplyNeverGARP:
		w.s(" not recognised as gratuitous on ").s(d.Profile).s(" (replies never are)")
	case garpReplyTHA:
		w.s(" not a GARP on Linux: reply with tha ≠ sha")
	case garpSenderNotUnicast:
		w.s(" not a GARP: sender IP is not unicast")
	}
	w.s("; ")
	since := vtime.Since(d.Now, d.UpdatedBefore)
	switch d.Verdict {
	case VerdictCreated:
		w.s("created ").mac(d.NewMAC).s(" ").s(d.New.String()).s(" (arp_accept=").n(d.ARPAccept).s(")")
	case VerdictHonoured:
		switch {
		case d.MACChanged && !d.HadMAC:
			w.s("honoured: ").s(d.Old.String()).s(" had no address; now ").mac(d.NewMAC)
		case d.MACChanged && d.GARP == garpYes && !d.LocktimeOK:
			w.s("honoured inside locktime (").i(since).s(" ticks since updated=").j(d.UpdatedBefore).s("): ").
				mac(d.OldMAC).s("→").mac(d.NewMAC)
		case d.MACChanged && d.HadMAC:
			w.s("honoured: ").i(since).s(" ticks since updated=").j(d.UpdatedBefore).s(" > locktime ").i(int64(d.Locktime)).
				s(": ").mac(d.OldMAC).s("→").mac(d.NewMAC)
		default:
			w.s("honoured: same lladdr ").mac(d.NewMAC)
		}
		if d.Old != d.New {
			w.s(", ").s(d.Old.String()).s("→").s(d.New.String())
		}
	case VerdictIgnored:
		if !d.Override {
			w.s("ignored: ").i(since).s(" ticks since updated=").j(d.UpdatedBefore).s(", locktime needs > ").i(int64(d.Locktime)).
				s(" (HZ=").n(d.HZ).s(")")
		} else {
			w.s("no change: same lladdr ").mac(d.NewMAC).s(", state ").s(d.New.String()).s(" kept")
		}
	}
	if d.UpdatedMoved && d.Verdict == VerdictIgnored {
		w.s("; updated moved to ").j(d.Updated).s(" (").s(d.Profile).s(" bumps it even on ignored updates)")
	}
	if d.ConfirmedMoved && d.Verdict == VerdictIgnored && d.Requested == Reachable {
		w.s("; confirmed moved to ").j(d.Confirmed).s(" (unicast reply confirms the old mapping)")
	}
}

func (d *Decision) explainNoEntry(b *strings.Builder) {
	d.writeKind(words{b})
	switch {
	case d.ARPAccept == 0:
		b.WriteString(" for an IP with no entry: not created (arp_accept=0)")
	case d.ARPAccept >= 2:
		b.WriteString(" for an IP with no entry: not created (arp_accept=2 needs the sender inside a subnet of " + d.Dev + ")")
	default:
		b.WriteString(" for an IP with no entry: not created (needs a reply, or a request with sip == tip, from a unicast sender)")
	}
}

// words writes an explanation's words and numbers as fmt's %v and %d
// would, without fmt: `replay --json` explains every decision, and
// fmt.Fprintf (parsing the format, boxing each operand, a String call
// and an allocation per MAC) was half of Decision.Event's cost.
// TestExplainAsFmt holds the sentences to the fmt versions.
type words struct{ b *strings.Builder }

func (w words) s(s string) words { w.b.WriteString(s); return w }

// j, i and n are %d of a jiffies value, an int64 and an int.
func (w words) j(v vtime.Jiffies) words {
	var a [20]byte
	w.b.Write(strconv.AppendUint(a[:0], uint64(v), 10))
	return w
}

func (w words) i(v int64) words {
	var a [20]byte
	w.b.Write(strconv.AppendInt(a[:0], v, 10))
	return w
}

func (w words) n(v int) words { return w.i(int64(v)) }

// mac is %v of a MAC (arp.MAC.String: lower-case hex, colons).
func (w words) mac(m arp.MAC) words {
	const hex = "0123456789abcdef"
	var a [17]byte
	for k, x := range m {
		a[3*k], a[3*k+1] = hex[x>>4], hex[x&0xf]
		if k < 5 {
			a[3*k+2] = ':'
		}
	}
	w.b.Write(a[:])
	return w
}

// Action is something the host must do as a result of an input.
type Action struct {
	Kind ActionKind
	// At is the tick at which the host does it (Tick may run several
	// ticks' timers in one call).
	At      vtime.Jiffies
	Dev     *Device
	Target  netip.Addr // probe target / reply target / packet destination
	Src     netip.Addr // our address used as sender IP
	DstMAC  arp.MAC    // unicast destination (probe, reply, transmit)
	Unicast bool
	Probe   int // 1-based probe number in this resolution (the kernel's counter: a resolution from INCOMPLETE starts it at ucast_probes)
	// Nth numbers probes of one kind (unicast or broadcast) from 1 within
	// the resolution, as a reader counts them: the first broadcast probe
	// of a new resolution is Probe 4 (after ucast_solicit=3) but Nth 1.
	Nth    int
	Packet uint64 // the queued packet's id (Transmit, Unreachable, Discarded)
	// ND is, for an IPv6 table's ActReply, the NA's flags (R/S/O) and
	// whether it carries a TLLAO; Target is then the NA's IPv6
	// destination and Src the advertised (target) address. An IPv6
	// probe is an NS for Target from Src, unicast to DstMAC, or (not
	// Unicast) to Target's solicited-node group, whose MAC DstMAC holds.
	ND NDFlags
}

// ActionKind says what an Action asks for.
type ActionKind uint8

// Action kinds.
const (
	ActProbe       ActionKind = iota // send an ARP request (unicast to DstMAC, or broadcast)
	ActAppProbe                      // ask a user-space daemon (app_solicit): no frame
	ActReply                         // send an ARP reply to DstMAC
	ActTransmit                      // a queued packet can go now, to DstMAC
	ActUnreachable                   // a queued packet failed: host unreachable to its sender
	ActDiscarded                     // a queued packet was pushed out by unres_qlen_bytes
)

// Result is what one input did. It is owned by the Table and valid until
// the next call: copy what you keep.
type Result struct {
	Decisions []Decision
	Actions   []Action
}
