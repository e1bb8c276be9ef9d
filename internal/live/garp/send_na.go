package garp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	sched "arplab/internal/garp"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv6"
	"arplab/internal/wire/ndisc"
)

// SentNA records one Neighbour Advertisement that left the socket.
type SentNA = Sending[sched.NAFrame]

// validateNA checks what SendNA needs of the frames whatever the mode.
func validateNA(frames []sched.NAFrame) error {
	if len(frames) == 0 {
		return errors.New("garp: no frames to send")
	}
	for i, f := range frames {
		m := f.Msg
		if m.Type != ndisc.TypeNeighborAdvertisement || !m.Target.Is6() || !m.Src.Is6() || !m.Dst.Is6() {
			return fmt.Errorf("garp: frame %d is not an IPv6 neighbour advertisement: %v", i+1, &m)
		}
		if i > 0 && f.At < frames[i-1].At {
			return fmt.Errorf("garp: frame %d at %v comes before frame %d at %v: frames must be in time order",
				i+1, f.At, i, frames[i-1].At)
		}
	}
	return nil
}

// dryRunNA writes the listing of NA frames sent from src to w.
func dryRunNA(w io.Writer, ifname string, src arp.MAC, frames []sched.NAFrame) error {
	if w == nil {
		w = io.Discard
	}
	var b strings.Builder
	for i, f := range frames {
		DescribeNA(&b, i+1, len(frames), ifname, src, f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// DescribeNA writes NA frame n of total, sent on ifname from src: the whole
// frame in hex grouped by header (Ethernet, IPv6, ICMPv6 NA, option), the
// decoded fields, and what a Linux receiver does with the shape (spec
// linux-ndisc §4, §10.3).
func DescribeNA(w io.Writer, n, total int, ifname string, src arp.MAC, f sched.NAFrame) {
	raw := f.Append(nil, src)
	fmt.Fprintf(w, "frame %d/%d at +%v on %s: eth dst %v src %v type %04x, %d bytes\n",
		n, total, f.At, ifname, f.EthDst, src, ether.EtherTypeIPv6, len(raw))
	const eth, ip6 = 14, 14 + ipv6.HeaderLen
	groups := [][]byte{raw[:eth], raw[eth:ip6], raw[ip6 : ip6+ndisc.NALen], raw[ip6+ndisc.NALen:]}
	names := []string{"eth", "ipv6", "icmpv6", "option"}
	for i, g := range groups {
		if len(g) > 0 {
			fmt.Fprintf(w, "  %-7s%s\n", names[i], hex.EncodeToString(g))
		}
	}
	m := f.Msg
	fmt.Fprintf(w, "  na     %v\n", &m)
	fmt.Fprintf(w, "  linux  %s\n", ShapeNA(&m))
}

// ShapeNA says how a Linux receiver treats the NA m (spec linux-ndisc
// §4.1–§4.4), in words; it is a summary for people, not the model.
func ShapeNA(m *ndisc.Message) string {
	switch {
	case m.HopLimit != ndisc.NDHopLimit:
		return fmt.Sprintf("dropped by ndisc_rcv: hop limit %d, ND accepts only 255 (§4.1)", m.HopLimit)
	case m.Code != 0:
		return fmt.Sprintf("dropped by ndisc_rcv: ICMPv6 code %d (§4.1)", m.Code)
	case m.Solicited && m.Dst.IsMulticast():
		return "dropped: a solicited NA sent to a multicast address (§4.2 step 2)"
	case !m.HasTargetLL:
		return "no target link-layer option: confirms an entry at most, never installs a MAC (§4.3)"
	case m.Override:
		return "override NA: an existing entry (REACHABLE, STALE, DELAY, PROBE) takes this MAC at once, STALE; no locktime (§10.3); " +
			"FAILED entries, hosts without an entry and drop_unsolicited_na=1 ignore it"
	}
	return "non-override NA: a REACHABLE entry turns STALE keeping its old MAC, other states ignore it (§4.3); it cannot move a VIP"
}
