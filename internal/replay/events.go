package replay

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"arplab/internal/capture"
	"arplab/internal/neigh"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// Observe turns one result of the model into counters and, unless quiet,
// trace lines (stack.Host.Lines, with replay's source, record number and
// §4.4 version letter). The input's capture time is curNs: the frame's
// stamp, or for timers the capture time of their tick.
func (r *replayer) Observe(_ *stack.Host, in *stack.Input, res *neigh.Result) {
	ns := r.curNs
	mono := ns
	if in.Frame != 0 {
		mono = r.capAnchor // a frame's own stamp may run backwards
	}
	for i := range res.Decisions {
		d := &res.Decisions[i]
		if d.MACChanged {
			r.stale.modelChanged(d.IP, d.NewMAC, mono)
		}
		switch {
		case d.Frame:
			r.countFrame(d)
		case d.Rule == neigh.RuleConfirmRoute || d.Rule == neigh.RuleConfirmSocket || d.Rule == neigh.RuleConfirmImmediate:
			r.sum.ConfirmationsLanded++
		}
		r.curIP = d.IP
		switch {
		case r.quiet:
		case r.marker != nil && !d.IP.Is6():
			// ND lines take the slow path below (their events, marked
			// from the text by emit): markDecision knows ARP's lines only.
			if !r.markDecision(in, d, ns) && d.Rule == neigh.RuleTableFull {
				r.note(ns, d.Rule.Name(), d.IP, d.Explain(), nil)
			}
		case !r.st.Lines(in, d, seconds(ns), r.tickSeconds, r.emitLine) && d.Rule == neigh.RuleTableFull:
			r.note(ns, d.Rule.Name(), d.IP, d.Explain(), nil)
		}
	}
	for i := range res.Actions {
		if a := &res.Actions[i]; a.Kind == neigh.ActProbe && a.Dev == r.dev {
			r.predict(a, in.At, ns)
		}
	}
}

// emitLine writes one of the model's lines with what replay adds: the
// source, the record number of the frame behind it, the §4.4 version
// letter, and the entry as it stands when a dropped frame did not touch
// it.
func (r *replayer) emitLine(ev trace.Event) {
	ev.Source = "replay"
	if r.curFrame != 0 {
		ev.Frame = r.curFrame
	}
	if ev.Rule == "§4.4" {
		ev.Rule = r.sec44
	}
	if ev.Kind == trace.KindARP && ev.State == "" {
		r.stamps(&ev, r.curIP)
	}
	r.emit(ev)
}

// tickSeconds is the capture time of tick j, in seconds.
func (r *replayer) tickSeconds(j vtime.Jiffies) float64 { return seconds(r.capOf(j)) }

// countFrame counts the verdict on the current received frame.
func (r *replayer) countFrame(d *neigh.Decision) {
	switch d.Verdict {
	case neigh.VerdictHonoured:
		r.verdicts[0]++
	case neigh.VerdictIgnored:
		r.verdicts[1]++
	case neigh.VerdictCreated:
		r.verdicts[2]++
	default:
		r.verdicts[3]++
	}
	if r.v6 {
		// IPv6's announcement is the unsolicited NA (ndisc §10); one that
		// left the entry on another MAC (a weak override keeps the old
		// one) was ignored
		if m := &r.nd; m.Type == ndisc.TypeNeighborAdvertisement && !m.Solicited {
			r.sum.GARPs++
			eff := trace.FrameEffect(d.Verdict, m.TargetLL, d.NewMAC)
			if eff == trace.EffectIgnored || (eff == trace.EffectHonoured && (!m.HasTargetLL || m.TargetLL != d.NewMAC)) {
				r.sum.GARPsIgnored++
			}
		}
		return
	}
	if r.pkt.SIP == r.pkt.TIP {
		r.sum.GARPs++
		if trace.FrameEffect(d.Verdict, r.pkt.SHA, d.NewMAC) == trace.EffectIgnored {
			r.sum.GARPsIgnored++
		}
	}
}

func (r *replayer) event(kind trace.Kind, ns int64) trace.Event {
	return trace.Event{Time: seconds(ns), Kind: kind, Source: "replay", Host: r.hostStr, Dev: devName}
}

// emit writes an event; a Marker gets its mark first, and the event only
// if it asks (unless the mark went already: marked).
func (r *replayer) emit(ev trace.Event) {
	if r.marker != nil && !r.marked && markable(ev.Kind) {
		m := markOf(&ev)
		if !r.marker.Mark(&m) {
			return
		}
	}
	r.sink.Emit(ev)
}

// stamps fills an event with ip's entry as it stands (nothing when there
// is none).
func (r *replayer) stamps(ev *trace.Event, ip netip.Addr) {
	s, ok := r.tbl.Lookup(r.dev, ip)
	if !ok {
		return
	}
	ev.State = s.State.String()
	if s.HasLLAddr {
		ev.LLAddr = s.LLAddr.String()
	}
	ev.Updated, ev.Confirmed = trace.U64(uint64(s.Updated)), trace.U64(uint64(s.Confirmed))
}

// emitSent writes an ARP frame the host sent.
func (r *replayer) emitSent(f *capture.Frame, cause string) {
	if r.quiet {
		return
	}
	if r.v6 {
		m := &r.nd
		if cause == "" {
			switch {
			case m.Src.IsUnspecified():
				cause = "dad"
			case m.Type == ndisc.TypeNeighborAdvertisement && m.Solicited:
				cause = "reply"
			case m.Type == ndisc.TypeNeighborAdvertisement:
				cause = "announce"
			default:
				cause = m.Type.String()
			}
		}
		in := stack.NDInput(m)
		ev := r.event(trace.KindSend, f.Time)
		ev.IP, ev.Cause, ev.Frame = m.Target.String(), cause, f.Index
		ev.ND = stack.NDFields(&in, f.Dst, f.HasEth, "outgoing")
		ev.Explanation = fmt.Sprintf("the host sent an %v for %v (frame %d)", m.Type, m.Target, f.Index)
		r.emit(ev)
		return
	}
	p := &r.pkt
	if r.marker != nil {
		m := &r.marks[0]
		*m = trace.Mark{Kind: trace.KindSend, Time: seconds(f.Time), Host: r.hostStr, IP: p.TIP, SHA: p.SHA, HasSHA: true}
		if !r.marker.Mark(m) {
			return
		}
		defer func(was bool) { r.marked = was }(r.marked)
		r.marked = true
	}
	if cause == "" {
		switch {
		case p.SIP.IsUnspecified():
			cause = "dad"
		case p.SIP == p.TIP:
			cause = "garp"
		case p.Op == arp.OpReply:
			cause = "reply"
		default:
			cause = p.Op.String()
		}
	}
	ev := r.event(trace.KindSend, f.Time)
	ev.IP, ev.Cause, ev.Frame = p.TIP.String(), cause, f.Index
	ev.ARP = trace.ARPFields(p, f.Dst, f.HasEth, "outgoing")
	ev.Explanation = fmt.Sprintf("the host sent an ARP %v for %v (frame %d)", p.Op, p.TIP, f.Index)
	r.emit(ev)
}

// predict records a probe the model sends.
func (r *replayer) predict(a *neigh.Action, at vtime.Jiffies, ns int64) {
	r.sum.PredictedProbes++
	p := probe{ip: a.Target, at: at, ns: ns, unicast: a.Unicast, known: true, mac: a.DstMAC, n: a.Probe}
	if r.pastCapture {
		r.unverified++
	} else if r.match.predict(p) {
		r.sum.MatchedProbes++
	}
	if r.quiet {
		return
	}
	// the host's one spelling of a probe line, with what replay adds: the
	// source, the host's address, the tick and the probe's number
	ev := r.st.ProbeLine(a, seconds(ns))
	ev.Source, ev.Host, ev.Dev = "replay", r.hostStr, devName
	ev.Jiffies = trace.U64(uint64(at))
	ev.Attrs["probe"] = fmt.Sprint(a.Probe)
	r.emit(ev)
}

func probeKind(p *probe) string {
	switch {
	case !p.known:
		return "an"
	case p.unicast:
		return "unicast"
	case p.ip.Is6():
		return "multicast" // an NS to the solicited-node group (ndisc §2.3)
	}
	return "broadcast"
}

func probeTo(p *probe) string {
	switch {
	case !p.known:
		return "?"
	case p.unicast:
		return p.mac.String()
	case p.ip.Is6():
		return ndisc.SolicitedNode(p.ip).String()
	}
	return "broadcast"
}

func (r *replayer) mismatch(m ProbeMismatch) {
	if len(r.sum.ProbeMismatches) < maxMismatches {
		r.sum.ProbeMismatches = append(r.sum.ProbeMismatches, m)
	}
}

// missing reports a predicted probe the host did not send.
func (r *replayer) missing(p *probe) {
	r.sum.MissingProbes++
	m := ProbeMismatch{Kind: "missing", IP: p.ip, Time: seconds(p.ns), Unicast: p.unicast, KindKnown: true, Probe: p.n}
	if p.unicast {
		m.MAC = p.mac.String()
	}
	r.mismatch(m)
	if r.quiet {
		return
	}
	r.note(r.detectNs, "probe-missing", p.ip,
		fmt.Sprintf("the model sent %s probe %d for %v at %.6f s; the host sent no matching %s within ±%g s",
			probeKind(p), p.n, p.ip, seconds(p.ns), solicitation(p.ip), r.sum.ProbeTolerance),
		map[string]string{"at": fmt.Sprintf("%.6f", seconds(p.ns)), "to": probeTo(p), "probe": fmt.Sprint(p.n)})
}

// unexpected reports a request the host sent that the model did not
// predict.
func (r *replayer) unexpected(o *probe) {
	r.sum.UnexpectedProbes++
	m := ProbeMismatch{Kind: "unexpected", IP: o.ip, Time: seconds(o.ns), Unicast: o.unicast, KindKnown: o.known, Frame: o.frame}
	if o.unicast {
		m.MAC = o.mac.String()
	}
	r.mismatch(m)
	if r.quiet {
		return
	}
	entry := "no entry"
	if s, ok := r.tbl.Lookup(r.dev, o.ip); ok {
		entry = strings.TrimSpace(s.State.String() + " " + macIf(s.LLAddr, s.HasLLAddr))
	}
	r.note(r.detectNs, "probe-unexpected", o.ip,
		fmt.Sprintf("the host sent %s %s for %v at %.6f s (frame %d) that the model did not predict within ±%g s (model entry now: %s)",
			probeKind(o), solicitation(o.ip), o.ip, seconds(o.ns), o.frame, r.sum.ProbeTolerance, entry),
		map[string]string{"at": fmt.Sprintf("%.6f", seconds(o.ns)), "to": probeTo(o), "frame": fmt.Sprint(o.frame)})
}

// solicitation is what a probe for ip is on the wire.
func solicitation(ip netip.Addr) string {
	if ip.Is6() {
		return "neighbour solicitation"
	}
	return "ARP request"
}

func macIf(m arp.MAC, ok bool) string {
	if !ok {
		return ""
	}
	return m.String()
}

// note writes a KindNote.
func (r *replayer) note(ns int64, cause string, ip netip.Addr, text string, attrs map[string]string) {
	if r.quiet {
		return
	}
	ev := r.event(trace.KindNote, ns)
	if ip.IsValid() {
		ev.IP = ip.String()
	}
	ev.Cause, ev.Explanation, ev.Attrs = cause, text, attrs
	r.emit(ev)
}

func (r *replayer) staleOpened(t *ipTrack, now int64, _ string) {
	r.note(now, "dead-mac", t.ip, fmt.Sprintf("the host sent to %v for %v at %.6f s and nothing came from %v within 1 s: "+
		"the entry points at a MAC that stopped answering", t.mac, t.ip, seconds(t.from), t.mac),
		map[string]string{"mac": t.mac.String(), "since": fmt.Sprintf("%.6f", seconds(t.from))})
}

func (r *replayer) staleClosed(t *ipTrack, now int64, why string) {
	r.note(now, "dead-mac-end", t.ip, fmt.Sprintf("%v pointed at %v, which stopped answering, for %.3f s (%s); ended: %s",
		t.ip, t.mac, float64(now-t.from)/1e9, plural(t.sends, "unanswered send"), why),
		map[string]string{"mac": t.mac.String(), "since": fmt.Sprintf("%.6f", seconds(t.from)), "end": why})
}

// finish closes the replay: pending probes, open spans, skip notes and the
// verdict.
func (r *replayer) finish(rd frameSource) {
	if r.started {
		if r.nextRead < len(r.opt.ReadAt) {
			r.stopMatching()
			r.readsBefore(math.MaxInt64)
		}
		r.runOn(rd)
	}
	end := r.capAnchor // the latest time replayed: the end notes and the verdict come last
	r.sum.UnverifiedProbes = r.unverified + len(r.match.pred) + len(r.match.obs)
	if r.sum.MatchedProbes > 0 {
		r.sum.ProbeOffset = float64(r.match.offsetNs) / 1e9 / float64(r.sum.MatchedProbes)
	}
	r.stale.finish(r.capAnchor)
	r.sum.Stale, r.sum.StaleDropped = r.stale.spans()
	r.sum.FlowsForgotten = r.st.FlowsForgotten()
	for k, v := range rd.Skipped() {
		r.skipped[k] += v
	}
	if len(r.skipped) > 0 {
		r.sum.Skipped = r.skipped
	}
	r.sum.Verdicts = map[string]int{neigh.VerdictHonoured: r.verdicts[0], neigh.VerdictIgnored: r.verdicts[1],
		neigh.VerdictCreated: r.verdicts[2], neigh.VerdictDropped: r.verdicts[3]}
	r.sum.Start, r.sum.End = seconds(r.host.first), seconds(end)
	r.pending(end)
	if r.quiet {
		return
	}
	reasons := make([]string, 0, len(r.skipped))
	for k := range r.skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		r.note(end, "skipped", netip.Addr{}, fmt.Sprintf("%d records skipped: %s", r.skipped[k], k),
			map[string]string{"reason": k, "count": fmt.Sprint(r.skipped[k])})
	}
	s := &r.sum
	for _, c := range []struct {
		n          int
		cause, why string
	}{
		{s.OtherLink, "other-link", "frames of another interface, VLAN or device type than the host's were not replayed"},
		{s.Unrouted, "unrouted", "off-link packets of the host had no known gateway IP (no ARP frame carried their destination MAC) and were not given to the model"},
		{s.ClockBackwards, "clock-backwards", "frames were stamped before their predecessor and were processed at its tick"},
		{s.ClockJumps, "clock-jump", fmt.Sprintf("gaps between frames longer than %v were shortened to that for the model", vtime.Duration(r.maxGap))},
		{s.UnverifiedProbes, "probes-unverified", "probes (predicted or sent) were too close to the end of the capture to be matched"},
	} {
		if c.n > 0 {
			r.note(end, c.cause, netip.Addr{}, fmt.Sprintf("%d %s", c.n, c.why), map[string]string{"count": fmt.Sprint(c.n)})
		}
	}
	r.verdict(end)
}

// verdict writes the closing KindVerdict line.
func (r *replayer) verdict(end int64) {
	s := &r.sum
	var b strings.Builder
	proto, ann := "ARP", "GARP"
	if r.v6 {
		proto, ann = "ND", "unsolicited NA"
	}
	fmt.Fprintf(&b, "%d frames (%d %s received) replayed for %v on %s, HZ=%d: ", s.Frames, s.Received, proto, s.Host, s.Profile, s.HZ)
	fmt.Fprintf(&b, "%s received, %d ignored while the entry kept another lladdr", plural(s.GARPs, ann), s.GARPsIgnored)
	st := r.stale
	if st.count == 0 {
		b.WriteString("; no entry pointed at a MAC that stopped answering")
	} else {
		fmt.Fprintf(&b, "; %s an entry pointed at a MAC that stopped answering", plural(st.count, "time"))
		for i, sp := range st.first {
			sep := ": "
			if i > 0 {
				sep = ", "
			}
			until := "until " + sp.End
			if sp.Open {
				until = "still at the end of the capture"
			}
			fmt.Fprintf(&b, "%s%v → %s for %.3f s (%s)", sep, sp.IP, sp.MAC, sp.Seconds, until)
		}
		if st.count > len(st.first) {
			b.WriteString(", …")
		}
	}
	fmt.Fprintf(&b, "; probes: %d predicted, %d sent by the host, %d missing, %d unexpected",
		s.PredictedProbes, s.ObservedProbes, s.MissingProbes, s.UnexpectedProbes)
	ev := r.event(trace.KindVerdict, end)
	ev.OK = trace.Bool(s.GARPsIgnored == 0 && st.count == 0)
	ev.Explanation = b.String()
	ev.Attrs = map[string]string{
		"frames":            fmt.Sprint(s.Frames),
		"garps":             fmt.Sprint(s.GARPs),
		"garps_ignored":     fmt.Sprint(s.GARPsIgnored),
		"stale_spans":       fmt.Sprint(st.count),
		"stale_open":        fmt.Sprint(st.open),
		"stale_seconds":     fmt.Sprintf("%.3f", st.longest), // the longest span, as the simulator reports it
		"stale_total":       fmt.Sprintf("%.3f", st.total),
		"predicted_probes":  fmt.Sprint(s.PredictedProbes),
		"missing_probes":    fmt.Sprint(s.MissingProbes),
		"unexpected_probes": fmt.Sprint(s.UnexpectedProbes),
		"confirmations":     fmt.Sprint(s.ConfirmationsLanded),
	}
	r.emit(ev)
}

// plural is "1 GARP", "2 GARPs".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
