package lab

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// This file reads a LabRun the way the kernel lived it: where the kernel
// stamped jiffies (the clock fit's samples) and the kernel's side of the
// trace. runverdict.go matches frames with the events they caused.

// Stamp is a moment the kernel set an entry's `updated` to the jiffies of
// that moment, seen in a tracepoint that reports the entry afterwards.
type Stamp struct {
	Event *ktrace.Event
	J     uint64
}

// Stamps lists the events that set `updated` to the jiffies of their
// moment: a neigh_update_done after an effective update (4.12+ stamps only
// those), and a neigh_timer_handler or neigh_event_send_done that changed
// the entry's state (every state change in the timer and on output stamps
// it, spec §2.5).
func (r *LabRun) Stamps() []Stamp {
	type key struct {
		dev string
		ip  netip.Addr
	}
	last := map[key]*ktrace.Event{}
	var out []Stamp
	for i := range r.Trace {
		e := &r.Trace[i]
		k := key{e.Dev, e.IP}
		switch e.Event {
		case "neigh_update":
			last[k] = e
		case "neigh_update_done", "neigh_timer_handler", "neigh_event_send_done", "neigh_event_send_dead":
			if prev, ok := last[k]; ok && prev.State != e.State {
				out = append(out, Stamp{Event: e, J: e.Updated})
			} else if ok && e.Event == "neigh_update_done" && changed(prev, e) {
				out = append(out, Stamp{Event: e, J: e.Updated})
			}
			last[k] = e
		case "neigh_cleanup_and_release":
			delete(last, k)
		}
	}
	return out
}

// StampSamples returns the Stamps that make good clock samples: updates
// whose neigh_update_done came within 30 µs of their neigh_update. (The
// timer and output tracepoints fire only after a probe was sent, and on
// veths sending runs the whole segment's processing first; an update that
// releases queued packets is late the same way.)
func (r *LabRun) StampSamples() []kclock.Sample {
	pre := map[string]int64{}
	var out []kclock.Sample
	stamps := map[*ktrace.Event]uint64{}
	for _, s := range r.Stamps() {
		stamps[s.Event] = s.J
	}
	for i := range r.Trace {
		e := &r.Trace[i]
		k := e.Dev + "|" + e.IP.String()
		switch e.Event {
		case "neigh_update":
			pre[k] = e.TimestampNs
		case "neigh_update_done":
			if j, ok := stamps[e]; ok && e.TimestampNs-pre[k] <= 30e3 {
				out = append(out, kclock.Sample{Ns: e.TimestampNs, J: j})
			}
		}
	}
	return out
}

// Events returns the run's kernel-side trace in the vocabulary every
// producer writes (internal/trace), Source "kernel": a header, the
// stations' sends, moves and flows, every ARP frame the observed hosts
// received with the kernel's verdict, the probes they sent, state changes
// seen in the tracepoints, and the checks with the tables read.
func (r *LabRun) Events() []trace.Event {
	src := "kernel"
	var evs []trace.Event
	hdr := trace.Event{Time: 0, Kind: trace.KindHeader, Source: src, Attrs: map[string]string{
		"scenario": r.Scenario, "release": r.Release, "hz": strconv.Itoa(r.HZ), "hz_method": r.HZMethod,
		"producer": "lab", "clock_samples": strconv.Itoa(r.Clock.Samples),
	}}
	var hosts []string
	for _, h := range r.Hosts {
		if h.Observed {
			hosts = append(hosts, h.Name)
		}
	}
	hdr.Attrs["hosts"] = strings.Join(hosts, ",")
	if !r.TraceOK {
		hdr.Attrs["tracepoints"] = "off: " + r.TraceNote
	}
	evs = append(evs, hdr)
	for _, s := range r.Sends {
		p, dst, ok := FrameARP(s.Data)
		if !ok {
			if m, h, ok := FrameND(s.Data); ok {
				evs = append(evs, trace.Event{Time: r.Seconds(s.BeforeNs), Kind: trace.KindSend, Source: src, Host: s.Station,
					IP: m.Target.String(), Cause: s.Cause, ND: trace.NDFields(&m, h.Dst, true, ""),
					Explanation: fmt.Sprintf("%s sends %v", s.Station, &m)})
			}
			continue
		}
		evs = append(evs, trace.Event{Time: r.Seconds(s.BeforeNs), Kind: trace.KindSend, Source: src, Host: s.Station,
			IP: p.SIP.String(), LLAddr: p.SHA.String(), Cause: s.Cause, ARP: trace.ARPFields(&p, dst, true, ""),
			Explanation: fmt.Sprintf("%s sends %v for %v (tha %v) to %v", s.Station, p.Op, p.SIP, p.THA, dst)})
	}
	for _, m := range r.Moves {
		ev := trace.Event{Time: r.Seconds(m.BeforeNs), Kind: trace.KindMove, Source: src, Host: m.To, IP: m.IP.String(),
			Explanation: fmt.Sprintf("%v moves from %s to %s", m.IP, orNone(m.From), m.To)}
		if m.Err != "" {
			ev.Explanation += ": " + m.Err
		}
		evs = append(evs, ev)
	}
	for _, f := range r.Flows {
		ev := trace.Event{Time: r.Seconds(f.StartNs), Kind: trace.KindFlow, Source: src, Host: f.From, IP: f.To.String(),
			Flow: f.Name, Cause: "start", Explanation: fmt.Sprintf("%s flow %s to %v starts", f.Kind, f.Name, f.To)}
		evs = append(evs, ev)
		end := trace.Event{Time: r.Seconds(max(f.EndNs, f.StartNs)), Kind: trace.KindFlow, Source: src, Host: f.From, IP: f.To.String(),
			Flow: f.Name, OK: trace.Bool(f.OK), Cause: "end",
			Explanation: fmt.Sprintf("%s flow %s: %d sent, %d answered", f.Kind, f.Name, f.Sent, f.Answered)}
		if f.Err != "" {
			end.Explanation += "; " + f.Err
		}
		evs = append(evs, end)
	}
	for _, v := range r.Verdicts() {
		f := &r.Frames[v.Frame]
		p, dst, ok := FrameARP(f.Data)
		if !ok {
			evs = append(evs, r.ndVerdictEvent(v))
			continue
		}
		ev := trace.Event{Time: r.Seconds(f.AtNs), Kind: trace.KindARP, Source: src, Host: f.Host, Dev: f.Dev,
			IP: p.SIP.String(), Frame: v.Frame + 1, ARP: trace.ARPFields(&p, dst, true, f.Type.String()), Verdict: v.Verdict}
		if ev.Verdict == "" {
			ev.Verdict = trace.Dropped
			ev.Explanation = "verdict unknown (no tracepoints)"
		}
		if v.Update != nil {
			ev.OldState, ev.OldLLAddr = v.Update.State.String(), llString(v.Update.State, v.Update.LLAddr)
			ev.Explanation = fmt.Sprintf("kernel: neigh_update %s→ %v %s, update_flags %02x", v.Update.State, fr(v.Update.NewLLAddr), v.Update.NewState, v.Update.UpdateFlags)
			if v.Done != nil {
				ev.State, ev.LLAddr = v.Done.State.String(), llString(v.Done.State, v.Done.LLAddr)
				ev.Updated = trace.U64(v.Done.Updated)
				ev.Confirmed = trace.U64(v.Done.Confirmed)
			}
		} else if v.Verdict == trace.Dropped {
			ev.Explanation = "kernel: no neigh_update (arp_rcv/arp_process did not reach the table update)"
		}
		if v.ExactJ {
			ev.Jiffies = trace.U64(v.J)
		}
		evs = append(evs, ev)
	}
	for i := range r.Frames {
		f := &r.Frames[i]
		if f.Type != ether.PktOutgoing {
			continue
		}
		p, dst, ok := FrameARP(f.Data)
		if !ok {
			if m, h, ok := FrameND(f.Data); ok && m.Type == ndisc.TypeNeighborSolicitation && !m.Src.IsUnspecified() {
				kind, to := "multicast", m.Dst.String()
				if h.Dst[0]&1 == 0 {
					kind, to = "unicast", h.Dst.String()
				}
				evs = append(evs, trace.Event{Time: r.Seconds(f.AtNs), Kind: trace.KindProbe, Source: src, Host: f.Host, Dev: f.Dev,
					IP: m.Target.String(), Frame: i + 1, ND: trace.NDFields(&m, h.Dst, true, f.Type.String()), Cause: kind,
					Attrs:       map[string]string{"to": to},
					Explanation: fmt.Sprintf("%s sends a %s NS for %v", f.Host, kind, m.Target)})
			}
			continue
		}
		if p.Op != arp.OpRequest {
			continue
		}
		kind := "broadcast"
		if !dst.IsBroadcast() {
			kind = "unicast"
		}
		evs = append(evs, trace.Event{Time: r.Seconds(f.AtNs), Kind: trace.KindProbe, Source: src, Host: f.Host, Dev: f.Dev,
			IP: p.TIP.String(), Frame: i + 1, ARP: trace.ARPFields(&p, dst, true, f.Type.String()), Cause: kind,
			Explanation: fmt.Sprintf("%s sends a %s request for %v", f.Host, kind, p.TIP)})
	}
	evs = append(evs, r.stateEvents()...)
	for _, sn := range r.Snapshots {
		if sn.Check < 0 {
			continue
		}
		var parts []string
		for _, n := range sn.Entries {
			parts = append(parts, fmt.Sprintf("%v %s %s", n.IP, llString(n.State, n.LLAddr), n.State))
		}
		ev := trace.Event{Time: r.Seconds(sn.BeforeNs), Kind: trace.KindCheck, Source: src, Host: sn.Host,
			Cause: sn.Reason, Explanation: "table: " + strings.Join(parts, "; ")}
		for _, c := range r.Checks {
			if c.Index == sn.Check {
				ev.OK = trace.Bool(c.OK)
				ev.Explanation = fmt.Sprintf("check line %d: want %s, kernel has %s", c.Line, c.Desc, c.Got)
			}
		}
		evs = append(evs, ev)
	}
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Desc, "flow ") {
			evs = append(evs, trace.Event{Time: r.Seconds(r.EndNs), Kind: trace.KindCheck, Source: src, OK: trace.Bool(c.OK),
				Cause: c.Desc, Explanation: fmt.Sprintf("check line %d: want %s, kernel has %s", c.Line, c.Desc, c.Got)})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time < evs[j].Time })
	return evs
}

// stateEvents turns tracepoint events that changed an entry into
// KindState events.
func (r *LabRun) stateEvents() []trace.Event {
	type key struct {
		dev string
		ip  netip.Addr
	}
	type ent struct {
		st neigh.State
		ll arp.MAC
	}
	last := map[key]ent{}
	var out []trace.Event
	for i := range r.Trace {
		e := &r.Trace[i]
		h, d := r.DevByIfName(e.Dev)
		if h == nil {
			continue
		}
		k := key{e.Dev, e.IP}
		cause := ""
		switch e.Event {
		case "neigh_update":
			if _, ok := last[k]; !ok {
				last[k] = ent{e.State, e.LLAddr}
			}
			continue
		case "neigh_update_done":
			cause = "update"
		case "neigh_timer_handler":
			cause = "timer"
		case "neigh_event_send_done", "neigh_event_send_dead":
			cause = "output"
		case "neigh_cleanup_and_release":
			prev, ok := last[k]
			delete(last, k)
			if ok {
				out = append(out, trace.Event{Time: r.Seconds(e.TimestampNs), Kind: trace.KindState, Source: "kernel",
					Host: h.Name, Dev: d.Name, IP: e.IP.String(), OldState: prev.st.String(), State: "NONE", Cause: "removed",
					Explanation: "kernel: entry released (deleted or garbage-collected)"})
			}
			continue
		default:
			continue
		}
		now := ent{e.State, e.LLAddr}
		prev, ok := last[k]
		last[k] = now
		if ok && prev.st == now.st && (!now.st.Valid() || prev.ll == now.ll) {
			continue
		}
		ev := trace.Event{Time: r.Seconds(e.TimestampNs), Kind: trace.KindState, Source: "kernel", Host: h.Name, Dev: d.Name,
			IP: e.IP.String(), State: e.State.String(), LLAddr: llString(e.State, e.LLAddr), Cause: cause,
			Updated: trace.U64(e.Updated), Confirmed: trace.U64(e.Confirmed),
			Explanation: fmt.Sprintf("kernel: %s", e.Event)}
		if ok {
			ev.OldState, ev.OldLLAddr = prev.st.String(), llString(prev.st, prev.ll)
		}
		out = append(out, ev)
	}
	return out
}

func llString(st neigh.State, m arp.MAC) string {
	if !st.Valid() {
		return ""
	}
	return m.String()
}

func fr(m arp.MAC) string { return m.String() }

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// ndVerdictEvent is the kernel's verdict on a received ND frame (KindND),
// as verdictEvent is for ARP: the neigh_update it caused and the entry
// neigh_update_done showed afterwards.
func (r *LabRun) ndVerdictEvent(v FrameVerdict) trace.Event {
	f := &r.Frames[v.Frame]
	m, h, _ := FrameND(f.Data)
	ip := m.Target
	if m.Type == ndisc.TypeNeighborSolicitation {
		ip = m.Src
	}
	ev := trace.Event{Time: r.Seconds(f.AtNs), Kind: trace.KindND, Source: "kernel", Host: f.Host, Dev: f.Dev,
		IP: ip.String(), Frame: v.Frame + 1, ND: trace.NDFields(&m, h.Dst, true, f.Type.String()), Verdict: v.Verdict}
	switch {
	case ev.Verdict == "":
		ev.Verdict = trace.Dropped
		ev.Explanation = "verdict unknown (no tracepoints)"
	case v.Update != nil:
		ev.OldState, ev.OldLLAddr = v.Update.State.String(), llString(v.Update.State, v.Update.LLAddr)
		ev.Explanation = fmt.Sprintf("kernel: neigh_update %s→ %s, update_flags %02x", v.Update.State, v.Update.NewState, v.Update.UpdateFlags)
		if v.Done != nil {
			ev.State, ev.LLAddr = v.Done.State.String(), llString(v.Done.State, v.Done.LLAddr)
			ev.Updated = trace.U64(v.Done.Updated)
			ev.Confirmed = trace.U64(v.Done.Confirmed)
		}
	default:
		ev.Explanation = "kernel: no neigh_update (the ND receive path did not reach the table update)"
	}
	if v.ExactJ {
		ev.Jiffies = trace.U64(v.J)
	}
	return ev
}
