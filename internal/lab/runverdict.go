package lab

import (
	"encoding/binary"
	"net/netip"
	"sort"

	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// This file matches a LabRun's frames with the tracepoint events they
// caused: which events belong to which received frame, and what the
// kernel's verdict on each frame was. runtrace.go reads the rest the way
// the kernel lived it: where it stamped jiffies, and its side of the trace.

// FrameARP decodes an ARP frame: the packet and the Ethernet destination.
func FrameARP(data []byte) (arp.Packet, arp.MAC, bool) {
	var p arp.Packet
	var dst arp.MAC
	if len(data) < 14+arp.Len || binary.BigEndian.Uint16(data[12:]) != ether.EtherTypeARP {
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
