package lab

import (
	"encoding/binary"
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

// This file reads a LabRun the way the kernel lived it: which tracepoint
// events belong to which received frame, what the kernel's verdict on each
// frame was, where the kernel stamped jiffies, and the kernel's side of
// the trace.

// FrameARP decodes an ARP frame: the packet and the Ethernet destination.
func FrameARP(data []byte) (arp.Packet, arp.MAC, bool) {
	var p arp.Packet
	var dst arp.MAC
	if len(data) < 14+arp.Len || binary.BigEndian.Uint16(data[12:]) != 0x0806 {
		return p, dst, false
	}
	copy(dst[:], data[:6])
	if p.Unmarshal(data[14:]) != nil {
		return p, dst, false
	}
	return p, dst, true
}

// FrameND decodes a neighbour-discovery frame: the message and the
// Ethernet header. Frames the capture cut short of the message do not
// decode.
func FrameND(data []byte) (ndisc.Message, ether.Header, bool) {
	var m ndisc.Message
	var h ether.Header
	if len(data) < 14 || binary.BigEndian.Uint16(data[12:]) != ether.EtherTypeIPv6 {
		return m, h, false
	}
	if ndisc.UnmarshalFrame(data, &h, &m) != nil {
		return m, h, false
	}
	return m, h, true
}

// FrameVerdict is the kernel's handling of one ARP or ND frame an
// observed host received, read from the neigh:* tracepoints.
type FrameVerdict struct {
	Frame int // index into LabRun.Frames
	// Verdict is trace.Honoured, Ignored, Created or Dropped; "" when
	// there was no tracer.
	Verdict string
	// Update is the neigh_update the frame caused (nil: none) and Done
	// its neigh_update_done, which shows the entry afterwards.
	Update, Done *ktrace.Event
	Created      bool
	// J is the jiffies value at which the kernel processed the frame when
	// it stamped `updated` (ExactJ); otherwise 0.
	J      uint64
	ExactJ bool
}

// Before returns the entry's state and address before the frame.
func (v FrameVerdict) Before() (neigh.State, arp.MAC) {
	if v.Update == nil {
		return 0, arp.MAC{}
	}
	return v.Update.State, v.Update.LLAddr
}

// After returns the entry's state and address after the frame.
func (v FrameVerdict) After() (neigh.State, arp.MAC, bool) {
	if v.Done == nil {
		return 0, arp.MAC{}, false
	}
	return v.Done.State, v.Done.LLAddr, true
}

// changed reports whether an update changed the entry's state or address.
func changed(pre, done *ktrace.Event) bool {
	if pre.State != done.State {
		return true
	}
	return done.State.Valid() && pre.LLAddr != done.LLAddr
}

// devEvents returns the indexes of r.Trace on ifname, in order.
func (r *LabRun) devEvents(ifname string) []int {
	var out []int
	for i := range r.Trace {
		if r.Trace[i].Dev == ifname {
			out = append(out, i)
		}
	}
	return out
}

// Verdicts matches every ARP and ND frame the observed hosts received with
// the tracepoint events it caused. A frame caused the first unclaimed
// non-admin neigh_update for its sender IP asking for its sender MAC (for
// an NA: its target and TLLAO; for an NS: its source and SLLAO; an ND
// message without the option matches by IP), at or after its receive
// timestamp and before the next frame with the same sender IP and MAC; no
// such event means the receive path never reached neigh_update (dropped:
// for ND also an NA to a FAILED or absent entry, ndisc §4.2). Each device's events are indexed once (by the
// sender an update asks for, and by IP), so a long run is not rescanned
// per frame.
func (r *LabRun) Verdicts() []FrameVerdict {
	var out []FrameVerdict
	for hi := range r.Hosts {
		h := &r.Hosts[hi]
		if !h.Observed {
			continue
		}
		for di := range h.Devs {
			d := &h.Devs[di]
			out = append(out, r.devVerdicts(h.Name, d)...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Frame < out[j].Frame })
	return out
}

func (r *LabRun) devVerdicts(host string, d *RunDev) []FrameVerdict {
	evs := r.devEvents(d.IfName)
	x := r.indexDevEvents(evs)
	claimed := map[int]bool{}
	type rx struct {
		i int
		// who the frame updates: the ARP sender, the NA's target or the
		// NS's source, with the link-layer address it carries (hasMAC
		// false: an ND message without the option, whose neigh_update
		// prints no meaningful new lladdr).
		who    arpSender
		hasMAC bool
		// none: the frame cannot reach the table (a DAD NS, or an ARP
		// packet from 0.0.0.0).
		none bool
	}
	var frames []rx
	for i := range r.Frames {
		f := &r.Frames[i]
		if f.Host != host || f.Dev != d.Name || f.Type == ether.PktOutgoing {
			continue
		}
		if p, _, ok := FrameARP(f.Data); ok {
			frames = append(frames, rx{i: i, who: arpSender{p.SIP, p.SHA}, hasMAC: true, none: p.SIP.IsUnspecified()})
			continue
		}
		if m, _, ok := FrameND(f.Data); ok {
			switch m.Type {
			case ndisc.TypeNeighborAdvertisement:
				frames = append(frames, rx{i: i, who: arpSender{m.Target, m.TargetLL}, hasMAC: m.HasTargetLL})
			case ndisc.TypeNeighborSolicitation:
				frames = append(frames, rx{i: i, who: arpSender{m.Src, m.SourceLL}, hasMAC: m.HasSourceLL, none: m.Src.IsUnspecified()})
			}
		}
	}
	// The next frame from the same sender bounds the window in which a
	// frame's update may show.
	limits := make([]int64, len(frames))
	next := map[arpSender]int64{}
	for k := len(frames) - 1; k >= 0; k-- {
		s := frames[k].who
		if !frames[k].hasMAC {
			s.mac = arp.MAC{}
		}
		limits[k] = int64(1 << 62)
		if at, ok := next[s]; ok {
			limits[k] = at
		}
		next[s] = r.Frames[frames[k].i].AtNs
	}
	var out []FrameVerdict
	for k, fr := range frames {
		f := &r.Frames[fr.i]
		v := FrameVerdict{Frame: fr.i}
		if !r.TraceOK {
			out = append(out, v)
			continue
		}
		v.Verdict = trace.Dropped
		if f.Type == ether.PktOtherHost || fr.none {
			out = append(out, v) // arp_rcv drops it / DAD updates nothing
			continue
		}
		lo, hi := f.AtNs-int64(2e6), min(f.AtNs+int64(100e6), limits[k])
		ups := x.updates[fr.who]
		if !fr.hasMAC {
			ups = x.updatesByIP[fr.who.ip]
		}
		first := sort.Search(len(ups), func(i int) bool { return r.Trace[evs[ups[i]]].TimestampNs >= lo })
		for _, n := range ups[first:] {
			ei := evs[n]
			e := &r.Trace[ei]
			if e.TimestampNs >= hi {
				break
			}
			if claimed[ei] {
				continue
			}
			claimed[ei] = true
			v.Update = e
			dones := x.dones[e.IP]
			if m := sort.SearchInts(dones, n+1); m < len(dones) {
				v.Done = &r.Trace[evs[dones[m]]]
			}
			// The frame created the entry if arp_process did (a
			// neigh_create just before) and the entry was still NONE: an
			// entry the output path created is INCOMPLETE by then.
			if e.State == neigh.None {
				creates := x.creates[e.IP]
				for m := sort.SearchInts(creates, n) - 1; m >= 0; m-- {
					c := &r.Trace[evs[creates[m]]]
					if c.TimestampNs < lo {
						break
					}
					if c.TimestampNs <= e.TimestampNs {
						v.Created = true
						break
					}
				}
			}
			break
		}
		if v.Update != nil {
			switch {
			case v.Created:
				v.Verdict = trace.Created
			case v.Done != nil && changed(v.Update, v.Done):
				v.Verdict = trace.Honoured
			default:
				v.Verdict = trace.Ignored
			}
			// 4.12+ stamps `updated` on every effective update
			// (77d7123342dc), so a change carries the jiffies of the frame.
			if v.Done != nil && changed(v.Update, v.Done) {
				v.J, v.ExactJ = v.Done.Updated, true
			}
		}
		out = append(out, v)
	}
	return out
}

// arpSender is who an ARP frame says it is: its sender IP and MAC.
type arpSender struct {
	ip  netip.Addr
	mac arp.MAC
}

// devIndex groups one device's events (positions in its event list) by
// what the frame matching looks for, each group in trace order.
type devIndex struct {
	// updates: non-admin neigh_update events by the sender they ask for
	// (IP and new lladdr).
	updates map[arpSender][]int
	// updatesByIP: the same by IP alone, for ND messages without a
	// link-layer option.
	updatesByIP map[netip.Addr][]int
	dones       map[netip.Addr][]int // neigh_update_done by IP
	creates     map[netip.Addr][]int // neigh_create that allocated, by IP
}

func (r *LabRun) indexDevEvents(evs []int) devIndex {
	x := devIndex{updates: map[arpSender][]int{}, updatesByIP: map[netip.Addr][]int{}, dones: map[netip.Addr][]int{},
		creates: map[netip.Addr][]int{}}
	for n, ei := range evs {
		e := &r.Trace[ei]
		switch {
		case e.Event == "neigh_update" && e.UpdateFlags&ktrace.UpdateAdmin == 0:
			k := arpSender{e.IP, e.NewLLAddr}
			x.updates[k] = append(x.updates[k], n)
			x.updatesByIP[e.IP] = append(x.updatesByIP[e.IP], n)
		case e.Event == "neigh_update_done":
			x.dones[e.IP] = append(x.dones[e.IP], n)
		case e.Event == "neigh_create" && e.Created:
			x.creates[e.IP] = append(x.creates[e.IP], n)
		}
	}
	return x
}

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
