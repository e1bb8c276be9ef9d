package neigh

import (
	"arplab/internal/trace"
	"fmt"
	"net/netip"
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
		fmt.Fprintf(&b, "REACHABLE kept: now=%d ≤ confirmed+reachable_time=%d; timer re-armed there", d.Now, d.Limit)
	case RuleReachableToDelay:
		fmt.Fprintf(&b, "REACHABLE→DELAY: confirmation expired, but used within delay_first_probe_time (now=%d ≤ %d); updated=%d", d.Now, d.Limit, d.Updated)
	case RuleReachableToStale:
		fmt.Fprintf(&b, "REACHABLE→STALE: now=%d > confirmed+reachable_time=%d and not used in the last delay_first_probe_time; updated=%d", d.Now, d.Limit, d.Updated)
	case RuleDelayToReachable:
		fmt.Fprintf(&b, "DELAY→REACHABLE without a probe: confirmed=%d is within delay_first_probe_time (now=%d ≤ %d)", d.Confirmed, d.Now, d.Limit)
	case RuleDelayToProbe:
		fmt.Fprintf(&b, "DELAY→PROBE: no confirmation since %d (now=%d > %d); unicast probe to %v", d.Confirmed, d.Now, d.Limit, d.OldMAC)
	case RuleRetransmit:
		n, m := d.Probes+1, d.MaxProbes
		if d.New == Incomplete {
			// INCOMPLETE counts from ucast_solicit (§2.3): number its
			// broadcasts from 1
			n, m = d.Probes+1-d.Count, d.MaxProbes-d.Count
		}
		fmt.Fprintf(&b, "%v: probe %d of %d", d.New, n, m)
	case RuleProbesExhausted:
		fmt.Fprintf(&b, "%v→FAILED: %d probes sent, max %d; queued packets fail with host unreachable", d.Old, d.Probes, d.MaxProbes)
	case RuleStaleToDelay:
		fmt.Fprintf(&b, "STALE→DELAY: a packet used the entry (still sent to %v); updated=%d, probe decision in delay_first_probe_time", d.OldMAC, d.Updated)
	case RuleStartResolution:
		if d.IP.Is6() {
			fmt.Fprintf(&b, "%v→INCOMPLETE: a packet needs the address; multicast NS to %v now, packet queued (ndisc §2.3)", d.Old, ndisc.SolicitedNode(d.IP))
		} else {
			fmt.Fprintf(&b, "%v→INCOMPLETE: a packet needs the address; broadcast probe now, packet queued", d.Old)
		}
	case RuleNoProbesFailed:
		b.WriteString("→FAILED: mcast_solicit + app_solicit = 0, no way to resolve; packet dropped")
	case RuleConfirmRoute:
		fmt.Fprintf(&b, "confirmed by a packet through the shared route whose pending_confirm was set by %s (pre-4.11 dst_confirm lands on whichever neighbour sends next)", orUnknown(d.Flow))
	case RuleConfirmSocket:
		fmt.Fprintf(&b, "confirmed by its own socket %s (4.11+ per-socket confirmation)", orUnknown(d.Flow))
	case RuleConfirmClone:
		fmt.Fprintf(&b, "confirmed through its own per-destination route, whose pending_confirm %s set (IPv6 before the 4.2 per-CPU routes clones a route per destination, so the confirmation is the right one)", orUnknown(d.Flow))
	case RuleConfirmImmediate:
		fmt.Fprintf(&b, "confirmed at once by %s (MSG_CONFIRM|MSG_PROBE)", orUnknown(d.Flow))
	case RuleRerandomise:
		b.WriteString("periodic work re-randomised reachable_time")
	case RuleGCPeriodic:
		fmt.Fprintf(&b, "removed by periodic GC: %v and unused since %d (> gc_stale_time)", d.Old, d.Used)
	case RuleGCForced:
		fmt.Fprintf(&b, "removed by forced GC (table above gc_thresh2/3); updated=%d", d.Updated)
	case RuleAdmin:
		fmt.Fprintf(&b, "admin: %v→%v lladdr %v", d.Old, d.New, d.NewMAC)
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

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed socket"
	}
	return s
}

func (d *Decision) kind() string {
	g := "ARP"
	if d.GARP != garpNotGratuitous {
		g = "GARP"
	}
	return g + " " + d.Op.String()
}

// explainARP explains a neigh_update driven by a received frame.
func (d *Decision) explainARP(b *strings.Builder) {
	if d.Rule == RuleRequestForUs {
		fmt.Fprintf(b, "request for our address: requester's entry set to %v %v with OVERRIDE (no locktime test)", d.NewMAC, d.New)
		return
	}
	b.WriteString(d.kind())
	switch d.GARP {
	case garpYes:
		b.WriteString(" recognised as gratuitous: overrides locktime")
	case garpNoConcept:
		fmt.Fprintf(b, " gets no GARP treatment on %s (none before 3.14)", d.Profile)
	case garpNeedsARPAccept:
		fmt.Fprintf(b, " overrides on %s only with arp_accept (arp_accept=%d)", d.Profile, d.ARPAccept)
	case garpReplyNeverGARP:
		fmt.Fprintf(b, " not recognised as gratuitous on %s (replies never are)", d.Profile)
	case garpReplyTHA:
		b.WriteString(" not a GARP on Linux: reply with tha ≠ sha")
	case garpSenderNotUnicast:
		b.WriteString(" not a GARP: sender IP is not unicast")
	}
	b.WriteString("; ")
	since := vtime.Since(d.Now, d.UpdatedBefore)
	switch d.Verdict {
	case VerdictCreated:
		fmt.Fprintf(b, "created %v %v (arp_accept=%d)", d.NewMAC, d.New, d.ARPAccept)
	case VerdictHonoured:
		switch {
		case d.MACChanged && !d.HadMAC:
			fmt.Fprintf(b, "honoured: %v had no address; now %v", d.Old, d.NewMAC)
		case d.MACChanged && d.GARP == garpYes && !d.LocktimeOK:
			fmt.Fprintf(b, "honoured inside locktime (%d ticks since updated=%d): %v→%v", since, d.UpdatedBefore, d.OldMAC, d.NewMAC)
		case d.MACChanged && d.HadMAC:
			fmt.Fprintf(b, "honoured: %d ticks since updated=%d > locktime %d: %v→%v", since, d.UpdatedBefore, d.Locktime, d.OldMAC, d.NewMAC)
		default:
			fmt.Fprintf(b, "honoured: same lladdr %v", d.NewMAC)
		}
		if d.Old != d.New {
			fmt.Fprintf(b, ", %v→%v", d.Old, d.New)
		}
	case VerdictIgnored:
		if !d.Override {
			fmt.Fprintf(b, "ignored: %d ticks since updated=%d, locktime needs > %d (HZ=%d)", since, d.UpdatedBefore, d.Locktime, d.HZ)
		} else {
			fmt.Fprintf(b, "no change: same lladdr %v, state %v kept", d.NewMAC, d.New)
		}
	}
	if d.UpdatedMoved && d.Verdict == VerdictIgnored {
		fmt.Fprintf(b, "; updated moved to %d (%s bumps it even on ignored updates)", d.Updated, d.Profile)
	}
	if d.ConfirmedMoved && d.Verdict == VerdictIgnored && d.Requested == Reachable {
		fmt.Fprintf(b, "; confirmed moved to %d (unicast reply confirms the old mapping)", d.Confirmed)
	}
}

func (d *Decision) explainNoEntry(b *strings.Builder) {
	b.WriteString(d.kind())
	switch {
	case d.ARPAccept == 0:
		b.WriteString(" for an IP with no entry: not created (arp_accept=0)")
	case d.ARPAccept >= 2:
		b.WriteString(" for an IP with no entry: not created (arp_accept=2 needs the sender inside a subnet of " + d.Dev + ")")
	default:
		b.WriteString(" for an IP with no entry: not created (needs a reply, or a request with sip == tip, from a unicast sender)")
	}
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
