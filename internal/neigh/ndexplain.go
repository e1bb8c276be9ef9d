package neigh

import (
	"fmt"
	"net/netip"
	"strings"

	"arplab/internal/vtime"
)

// b01 prints a flag as the 0/1 the spec's tables use.
func b01(v bool) int {
	if v {
		return 1
	}
	return 0
}

// ndHead is the message as a user reads it: "NA S=0 O=1 R=0 TLLAO 02:…".
func (d *Decision) ndHead(b *strings.Builder) {
	f := d.NDFlags
	if d.NDType == NDNeighSolicit {
		src := d.IP
		if d.IP == d.Peer {
			src = netip.IPv6Unspecified() // DAD: the decision is about the address probed
		}
		fmt.Fprintf(b, "NS from %v", src)
		if f&NATLLAO != 0 {
			fmt.Fprintf(b, " with SLLAO %v", d.AdvMAC)
		} else {
			b.WriteString(" without SLLAO")
		}
		switch {
		case d.Rule == RuleNSNotForUs:
			fmt.Fprintf(b, " for %v", d.Peer)
		case d.Peer.IsValid():
			fmt.Fprintf(b, " for our %v", d.Peer)
		}
		return
	}
	fmt.Fprintf(b, "NA S=%d O=%d R=%d", b01(f&NASolicited != 0), b01(f&NAOverride != 0), b01(f&NARouter != 0))
	if f&NATLLAO != 0 {
		fmt.Fprintf(b, " TLLAO %v", d.AdvMAC)
	} else {
		b.WriteString(" without TLLAO")
	}
}

// noLocktime is what an IPv6 explanation says where an ARP one would
// weigh locktime: nd_tbl never reads it (ndisc §5.5). It speaks up when
// the user set a locktime and the update came inside it, the case where
// an ARP-minded reader expects it to hold.
func (d *Decision) noLocktime(b *strings.Builder) {
	since := vtime.Since(d.Now, d.UpdatedBefore)
	if d.Locktime > 0 && since >= 0 && since <= int64(d.Locktime) {
		fmt.Fprintf(b, "; locktime=%d ticks is set and only %d ticks passed since updated=%d, but IPv6 never reads locktime (ndisc §5.5)",
			d.Locktime, since, d.UpdatedBefore)
	} else {
		b.WriteString("; no locktime in IPv6 (ndisc §5.5)")
	}
}

// explainND explains an NA or NS that reached neigh_update, or the
// untracked-NA and FAILED rules before it.
func (d *Decision) explainND(b *strings.Builder) {
	d.ndHead(b)
	b.WriteString(": ")
	s1 := d.NDFlags&NASolicited != 0
	o1 := d.NDFlags&NAOverride != 0
	ns := d.NDType == NDNeighSolicit
	switch d.Rule {
	case RuleNAFailed:
		b.WriteString("ignored: the target's entry is FAILED and an NA is never applied to a FAILED entry, whatever its flags (N2); " +
			"it revives only when a packet restarts resolution (INCOMPLETE, multicast NS, then a solicited NA) or the neighbour sends an NS")
		return
	case RuleNSNoEntry:
		b.WriteString("multicast NS without SLLAO from a sender with no entry: nothing created and no reply sent (ndisc §1.2)")
		return
	case RuleNANoEntry:
		b.WriteString("no entry for the target, none created: ")
		switch d.Why {
		case untrackedNoPatch:
			fmt.Fprintf(b, "an NA never creates an entry on %s (accept_untracked_na arrived in 5.19)", d.Profile)
		case untrackedKnobOff:
			fmt.Fprintf(b, "accept_untracked_na=0 on %s", d.Dev)
		case untrackedHost:
			fmt.Fprintf(b, "accept_untracked_na=%d but %s does not forward (forwarding=0): hosts never create entries from NAs", d.Untracked, d.Dev)
		case untrackedNoTLLAO:
			b.WriteString("the NA carries no TLLAO")
		case untrackedOffLink:
			fmt.Fprintf(b, "accept_untracked_na=2 needs the NA's source %v inside a prefix of %s", d.Peer, d.Dev)
		}
		b.WriteString(" (ndisc §4.4)")
		return
	case RuleNAUntracked:
		fmt.Fprintf(b, "no entry for the target: created STALE %v (accept_untracked_na=%d on forwarding %s, TLLAO present; created STALE whatever S says, ndisc §4.4)",
			d.NewMAC, d.Untracked, d.Dev)
		d.routerNote(b)
		return
	}
	if ns && d.Verdict == VerdictCreated {
		why := "a unicast NS"
		if d.NDFlags&NATLLAO != 0 {
			why = "an NS with SLLAO"
		}
		if d.New.Valid() {
			fmt.Fprintf(b, "sender's entry created %v %v (%s creates it, ndisc §1.2)", d.NewMAC, d.New, why)
		} else {
			fmt.Fprintf(b, "sender's entry created with no lladdr (%s creates it); our NA reply starts its resolution", why)
		}
		return
	}
	switch d.Verdict {
	case VerdictHonoured, VerdictCreated:
		switch {
		case d.MACChanged && !d.HadMAC:
			fmt.Fprintf(b, "%v had no lladdr; now %v %v", d.Old, d.NewMAC, d.New)
		case d.MACChanged && ns:
			fmt.Fprintf(b, "an NS always overrides (OVERRIDE|WEAK_OVERRIDE): %v→%v at once, %v→%v", d.OldMAC, d.NewMAC, d.Old, d.New)
			d.noLocktime(b)
		case d.MACChanged:
			fmt.Fprintf(b, "O=1 overrides: %v→%v at once, %v→%v", d.OldMAC, d.NewMAC, d.Old, d.New)
			d.noLocktime(b)
		case d.Weak:
			fmt.Fprintf(b, "O=0 and a different lladdr: WEAK_OVERRIDE turns REACHABLE into STALE keeping %v (ndisc §5.2); "+
				"the next packet goes DELAY, then PROBE re-verifies %v with unicast NS, and the advertised %v is not learnt", d.NewMAC, d.NewMAC, d.AdvMAC)
			if d.Locktime > 0 {
				fmt.Fprintf(b, "; the O flag alone decided: locktime=%d ticks plays no part, IPv6 never reads it (ndisc §5.5)", d.Locktime)
			}
		default:
			fmt.Fprintf(b, "same lladdr %v, %v→%v", d.NewMAC, d.Old, d.New)
		}
		if d.MACChanged && !d.New.Connected() && d.ConfirmedMoved {
			fmt.Fprintf(b, "; confirmed=%d (now − 2·base_reachable_time), so the next use goes DELAY and PROBE to %v", d.Confirmed, d.NewMAC)
		} else if d.ConfirmedMoved && d.New == Reachable {
			fmt.Fprintf(b, "; confirmed=%d", d.Confirmed)
		}
	case VerdictIgnored:
		switch {
		case !d.HadMAC && d.AdvMAC == (d.OldMAC) && d.NDFlags&NATLLAO == 0:
			fmt.Fprintf(b, "ignored: no link-layer option and the %v entry has no lladdr to keep (RFC 4861 §7.2.5)", d.Old)
		case d.Old == NoARP || d.Old == Permanent:
			fmt.Fprintf(b, "ignored: %v entries change only through `ip neigh`", d.Old)
		case d.NDFlags&NATLLAO != 0 && d.AdvMAC != d.OldMAC && !o1 && !ns:
			fmt.Fprintf(b, "ignored: without O a different lladdr is refused for a %v entry (only INCOMPLETE entries learn it; REACHABLE ones turn STALE); keeps %v",
				d.Old, d.OldMAC)
			if s1 && d.ConfirmedMoved {
				fmt.Fprintf(b, "; but S=1 still set confirmed=%d (a rejected solicited NA confirms on %s, N13)", d.Confirmed, d.Profile)
				if d.Old == Delay {
					fmt.Fprintf(b, ": the DELAY timer will go REACHABLE with the OLD %v without a probe", d.OldMAC)
				}
			}
		default:
			fmt.Fprintf(b, "no change: same lladdr %v, state %v kept", d.NewMAC, d.New)
		}
		if d.UpdatedMoved {
			fmt.Fprintf(b, "; updated moved to %d (%s stamps ignored updates)", d.Updated, d.Profile)
		}
		if d.Locktime > 0 && !d.MACChanged && d.AdvMAC != d.OldMAC && d.NDFlags&NATLLAO != 0 {
			fmt.Fprintf(b, "; locktime=%d ticks plays no part: IPv6 never reads it (ndisc §5.5)", d.Locktime)
		}
	}
	d.routerNote(b)
}

// routerNote says what happened to NTF_ROUTER (ndisc §5.3, §4.2 step 10).
func (d *Decision) routerNote(b *strings.Builder) {
	if !d.RouterChanged {
		return
	}
	if d.RouterNew {
		b.WriteString("; marked router (R=1)")
		return
	}
	fmt.Fprintf(b, "; router flag cleared (R=0): routes via %v are removed (router→host, a routing side effect)", d.Peer)
}

// explainNDDrop explains an ND message that never reached the cache.
func (d *Decision) explainNDDrop(b *strings.Builder) {
	switch d.Rule {
	case RuleNDNotIPv6:
		b.WriteString("dropped: not an IPv6 neighbour-discovery message for nd_tbl")
		return
	case RuleNDNotModelled:
		fmt.Fprintf(b, "%v from %v: not modelled (router discovery and redirects need routes the model does not keep; ndisc §4.6); cache untouched here", d.NDType, d.Peer)
		return
	}
	d.ndHead(b)
	b.WriteString(": ")
	switch d.Rule {
	case RuleNDUnicastInL2Mcast:
		fmt.Fprintf(b, "dropped before ICMPv6: unicast IPv6 destination in an L2 %v frame and drop_unicast_in_l2_multicast=1 on %s", d.PktType, d.Dev)
	case RuleNDHopLimit:
		fmt.Fprintf(b, "dropped: hop limit %d ≠ 255 (ND must come from the link)", d.Count)
	case RuleNDCode:
		fmt.Fprintf(b, "dropped: ICMPv6 code %d ≠ 0", d.Count)
	case RuleNDFragment:
		b.WriteString("dropped: reassembled from fragments and suppress_frag_ndisc=1 (RFC 6980)")
	case RuleNDBadOptions:
		b.WriteString("dropped: malformed options or a link-layer option of the wrong length")
	case RuleNATargetMulticast:
		b.WriteString("dropped: target is multicast")
	case RuleNASolicitedMulticast:
		b.WriteString("dropped: a solicited NA sent to a multicast destination")
	case RuleNADropUnsolicited:
		fmt.Fprintf(b, "dropped: S=0 and drop_unsolicited_na=1 on %s (tested before anything else, accept_untracked_na included)", d.Dev)
	case RuleNAOurAddress:
		b.WriteString("advertises our own address: a warning only; no cache change, and Linux sends no defending NA (ndisc §4.7)")
	case RuleNSDADNotSolicitedNode:
		b.WriteString("dropped: DAD NS (source ::) not sent to a solicited-node group")
	case RuleNSDADWithSLLAO:
		b.WriteString("dropped: DAD NS (source ::) with an SLLAO")
	case RuleNSNotForUs:
		fmt.Fprintf(b, "the target is not an address of %s: the cache is not touched, not even the sender's entry (N3)", d.Dev)
	case RuleNSDAD:
		b.WriteString("DAD for our address: defended with an NA to ff02::1 (O=1); cache untouched")
	}
}

// explainRD explains an RS or RA (ndisc §4.6).
func (d *Decision) explainRD(b *strings.Builder) {
	fmt.Fprintf(b, "%v from %v", d.NDType, d.Peer)
	if d.NDFlags&NATLLAO != 0 {
		fmt.Fprintf(b, " with SLLAO %v", d.AdvMAC)
	}
	b.WriteString(": ")
	switch d.Rule {
	case RuleRDUnspecified:
		b.WriteString("from ::, no sender entry to update")
		return
	case RuleRSNotRouter:
		fmt.Fprintf(b, "ignored: %s does not forward, and only routers process RS", d.Dev)
		return
	case RuleRANotLinkLocal:
		b.WriteString("dropped: an RA must come from a link-local address")
		return
	}
	switch {
	case d.Verdict == VerdictCreated && d.New.Valid():
		fmt.Fprintf(b, "sender's entry created %v %v", d.NewMAC, d.New)
	case d.Verdict == VerdictCreated:
		b.WriteString("sender's entry created with no lladdr (NONE)")
	case d.MACChanged && d.HadMAC:
		fmt.Fprintf(b, "overrides at once (OVERRIDE, no locktime in IPv6): %v→%v, %v→%v", d.OldMAC, d.NewMAC, d.Old, d.New)
	case d.MACChanged:
		fmt.Fprintf(b, "%v had no lladdr; now %v %v", d.Old, d.NewMAC, d.New)
	case d.Old != d.New:
		fmt.Fprintf(b, "same lladdr, %v→%v", d.Old, d.New)
	default:
		fmt.Fprintf(b, "no change to the entry (%v)", d.New)
	}
	if d.NDType == NDRouterAdvert {
		if d.Count == 1 {
			b.WriteString("; RA accepted: its non-zero RetransTimer/ReachableTime now set the device's timers (ndisc §2.4)")
		} else {
			b.WriteString("; RA not accepted (accept_ra), but the sender's entry is updated all the same")
		}
	}
	d.routerNote(b)
}
