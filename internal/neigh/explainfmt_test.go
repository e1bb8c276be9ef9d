package neigh

// The explanations as they were written with fmt, before Explain wrote
// its commonest sentences without it: the reference that
// TestExplainAsFmt holds the faster code to, word for word.

import (
	"fmt"
	"strings"

	"arplab/internal/vtime"
	"arplab/internal/wire/ndisc"
)

// explainFmt is Explain as it was for the rules whose sentences Explain
// now writes without fmt; the other rules' code did not change.
func (d *Decision) explainFmt() string {
	var b strings.Builder
	switch d.Rule {
	case RuleARPUpdate, RuleRequestForUs:
		d.explainARPFmt(&b)
	case RuleNoEntry:
		d.explainNoEntryFmt(&b)
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
	case RuleConfirmRoute:
		fmt.Fprintf(&b, "confirmed by a packet through the shared route whose pending_confirm was set by %s (pre-4.11 dst_confirm lands on whichever neighbour sends next)", orUnknown(d.Flow))
	case RuleConfirmSocket:
		fmt.Fprintf(&b, "confirmed by its own socket %s (4.11+ per-socket confirmation)", orUnknown(d.Flow))
	case RuleConfirmClone:
		fmt.Fprintf(&b, "confirmed through its own per-destination route, whose pending_confirm %s set (IPv6 before the 4.2 per-CPU routes clones a route per destination, so the confirmation is the right one)", orUnknown(d.Flow))
	case RuleConfirmImmediate:
		fmt.Fprintf(&b, "confirmed at once by %s (MSG_CONFIRM|MSG_PROBE)", orUnknown(d.Flow))
	case RuleGCPeriodic:
		fmt.Fprintf(&b, "removed by periodic GC: %v and unused since %d (> gc_stale_time)", d.Old, d.Used)
	case RuleGCForced:
		fmt.Fprintf(&b, "removed by forced GC (table above gc_thresh2/3); updated=%d", d.Updated)
	case RuleAdmin:
		fmt.Fprintf(&b, "admin: %v→%v lladdr %v", d.Old, d.New, d.NewMAC)
	default:
		return d.Explain()
	}
	return b.String()
}

func (d *Decision) kindFmt() string {
	g := "ARP"
	if d.GARP != garpNotGratuitous {
		g = "GARP"
	}
	return g + " " + d.Op.String()
}

func (d *Decision) explainARPFmt(b *strings.Builder) {
	if d.Rule == RuleRequestForUs {
		fmt.Fprintf(b, "request for our address: requester's entry set to %v %v with OVERRIDE (no locktime test)", d.NewMAC, d.New)
		return
	}
	b.WriteString(d.kindFmt())
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

// explainNoEntryFmt: only the frame's kind is written anew (writeKind);
// the rest of the sentence did not change.
func (d *Decision) explainNoEntryFmt(b *strings.Builder) {
	var now, kind strings.Builder
	d.explainNoEntry(&now)
	d.writeKind(words{&kind})
	b.WriteString(d.kindFmt() + strings.TrimPrefix(now.String(), kind.String()))
}
