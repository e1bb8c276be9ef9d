package lab

import (
	"net/netip"
	"sort"
	"time"

	"arplab/internal/ktrace"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
	"arplab/internal/wire/ipv6"
	"arplab/internal/wire/ndisc"
)

// InputKind is a kind of recorded input (or observation) of one host.
type InputKind uint8

// Input kinds.
const (
	InARP      InputKind = iota // an ARP frame the host received
	InIPRx                      // an IPv4 frame the host received
	InIPTx                      // an IPv4 frame the host sent
	InARPTx                     // an ARP frame the host sent (to compare, not to feed)
	InQueued                    // a packet the kernel queued or dropped at output
	InAdmin                     // an ip neigh command
	InSysctl                    // a sysctl write
	InPeriodic                  // the table's periodic work ran
	InSnapshot                  // the table was read
	InND                        // an ND message (NS, NA, …) the host received
	InNDTx                      // an ND message the host sent (to compare, not to feed)
)

// Input is one recorded input of a host, placed on the kernel's jiffies:
// J is the kernel's own stamp when Exact, else the fitted clock's reading
// of Ns. Exactly one of the references is set, by Kind.
type Input struct {
	Ns    int64
	J     uint64
	Exact bool
	Kind  InputKind

	Frame    int           // index into LabRun.Frames (InARP, InND, InIPRx, InIPTx, InARPTx, InNDTx)
	Verdict  *FrameVerdict // InARP, InND: the kernel's verdict, nil if unknown
	Admin    *RunAdmin
	Sysctl   *RunSysctl
	Periodic *RunPeriodic
	Snapshot *RunSnapshot
	Event    *ktrace.Event // InQueued: the tracepoint that showed it
}

// Inputs returns what the observed host named host received, in time order
// (ties in the order of the list below): the frames it received and sent,
// the packets its output path queued or dropped, the `ip neigh` commands
// and sysctl writes it was given, the runs of the periodic work and the
// reads of its table. Each input is placed on the kernel's own jiffies
// where a tracepoint stamped them, else by the fitted clock. verdicts are
// Verdicts() by frame index and stamps are Stamps(): both are read once per
// run and shared by its hosts.
//
// Every lookup goes through an index built in one pass over the record, so
// the cost grows with the record's size, not with its square.
func (r *LabRun) Inputs(host string, verdicts map[int]*FrameVerdict, stamps []Stamp) []Input {
	rh := r.Host(host)
	if rh == nil {
		return nil
	}
	x := r.indexHost(rh, stamps)
	var ins []Input
	add := func(in Input) {
		if in.J == 0 {
			in.J = r.Clock.Jiffies(in.Ns)
		}
		ins = append(ins, in)
	}
	for i := range r.Frames {
		f := &r.Frames[i]
		if f.Host != host {
			continue
		}
		_, _, isARP := FrameARP(f.Data)
		_, _, isND := FrameND(f.Data)
		if isARP || isND {
			kind, tx := InARP, InARPTx
			if isND {
				kind, tx = InND, InNDTx
			}
			if f.Type == ether.PktOutgoing {
				add(Input{Ns: f.AtNs, Kind: tx, Frame: i})
				continue
			}
			in := Input{Ns: f.AtNs, Kind: kind, Frame: i, Verdict: verdicts[i]}
			if vd := in.Verdict; vd != nil && vd.ExactJ {
				in.J, in.Exact = vd.J, true
			} else if vd != nil && vd.Update != nil {
				in.J = r.Clock.Jiffies(vd.Update.TimestampNs)
			}
			add(in)
			continue
		}
		dst, ok := FrameIPDst(f.Data)
		if !ok || dst.Is6() && dst.IsMulticast() {
			continue // not IP, or IPv6 to a group (MLD reports): NOARP mappings, no neighbour
		}
		if f.Type != ether.PktOutgoing {
			add(Input{Ns: f.AtNs, Kind: InIPRx, Frame: i})
			continue
		}
		// A sent packet is placed on the jiffy of the output path's stamp
		// just before it (at most 2 ms).
		in := Input{Ns: f.AtNs, Kind: InIPTx, Frame: i}
		if s, ok := lastAtOrBefore(x.sendStamps[entryAt{f.Dev, dst}], f.AtNs); ok && s.ns >= f.AtNs-int64(2*time.Millisecond) {
			in.J, in.Exact = s.j, true
		}
		add(in)
	}
	for _, ei := range x.queued {
		e := &r.Trace[ei]
		in := Input{Ns: e.TimestampNs, Kind: InQueued, Event: e}
		if j, ok := x.stamped[e]; ok && e.State&(neigh.Incomplete|neigh.Failed) != 0 {
			in.J, in.Exact = j, true
		}
		// __neigh_event_send sends the first probe before its tracepoint
		// fires, and on veths the answer may be processed in between: the
		// packet was handed over just before that probe left.
		if p, ok := lastAtOrBefore(x.probes[entryAt{x.devName[e.Dev], e.IP}], e.TimestampNs); ok && p.ns >= e.TimestampNs-int64(10*time.Millisecond) {
			in.Ns = p.ns - 1
		}
		add(in)
	}
	// An entry the output path created and turned FAILED at once (no
	// probes configured) leaves no other trace: __neigh_event_send returns
	// before its tracepoint and the packet is dropped. Its neigh_create,
	// not followed within 5 ms by another event of the entry, is the packet
	// — unless an `ip neigh` command for it was running (adminCreated).
	for _, ci := range x.lonelyCreates {
		e := &r.Trace[ci]
		if !adminCreated(r, rh, e) {
			add(Input{Ns: e.TimestampNs, Kind: InQueued, Event: e})
		}
	}
	for i := range r.Admin {
		a := &r.Admin[i]
		if a.Host != host {
			continue
		}
		in := Input{Ns: a.BeforeNs, Kind: InAdmin, Admin: a}
		if ns, j, exact, ok := x.adminStamp(r, rh, a); ok {
			in.Ns, in.J, in.Exact = ns, j, exact
		}
		add(in)
	}
	for i := range r.Sysctls {
		s := &r.Sysctls[i]
		if s.Host == host && s.Event >= 0 {
			add(Input{Ns: s.AfterNs, Kind: InSysctl, Sysctl: s})
		}
	}
	for i := range r.Periodic {
		p := &r.Periodic[i]
		add(Input{Ns: p.AfterNs + (p.BeforeNs-p.AfterNs)/2, Kind: InPeriodic, Periodic: p})
	}
	for i := range r.Snapshots {
		sn := &r.Snapshots[i]
		if sn.Host == host {
			add(Input{Ns: sn.BeforeNs + (sn.AfterNs-sn.BeforeNs)/2, Kind: InSnapshot, Snapshot: sn})
		}
	}
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].Ns < ins[j].Ns })
	return ins
}

// entryAt names a neighbour entry by the scenario's interface name.
type entryAt struct {
	dev string
	ip  netip.Addr
}

// stampAt is a moment (ns) and the jiffies value the kernel had then.
type stampAt struct {
	ns int64
	j  uint64
}

// hostIndex is one pass over a run's trace and frames for one host.
type hostIndex struct {
	devName map[string]string // lab ifname → scenario dev, this host's only
	stamped map[*ktrace.Event]uint64
	// sendStamps: neigh_event_send_done stamps per entry, by time.
	sendStamps map[entryAt][]stampAt
	// probes: the ARP requests the host sent per target, by time.
	probes map[entryAt][]stampAt
	// adminUpdates: admin neigh_update events per ifname, in trace order.
	adminUpdates map[string][]int
	// doneStamps: neigh_update_done stamps per (ifname, ip), in trace order.
	doneStamps map[entryAt][]stampAt
	// queued: trace indexes of failed sends (neigh_event_send_done/dead
	// with an error) on this host.
	queued []int
	// lonelyCreates: trace indexes of neigh_create events on this host not
	// followed within 5 ms by another event of the same entry.
	lonelyCreates []int
}

func (r *LabRun) indexHost(rh *RunHost, stamps []Stamp) *hostIndex {
	x := &hostIndex{devName: map[string]string{}, stamped: map[*ktrace.Event]uint64{},
		sendStamps: map[entryAt][]stampAt{}, probes: map[entryAt][]stampAt{},
		adminUpdates: map[string][]int{}, doneStamps: map[entryAt][]stampAt{}}
	for _, d := range rh.Devs {
		x.devName[d.IfName] = d.Name
	}
	for _, s := range stamps {
		e := s.Event
		x.stamped[e] = s.J
		dev, mine := x.devName[e.Dev]
		if !mine {
			continue
		}
		switch e.Event {
		case "neigh_event_send_done":
			k := entryAt{dev, e.IP}
			x.sendStamps[k] = append(x.sendStamps[k], stampAt{e.TimestampNs, s.J})
		case "neigh_update_done":
			k := entryAt{e.Dev, e.IP}
			x.doneStamps[k] = append(x.doneStamps[k], stampAt{e.TimestampNs, s.J})
		}
	}
	for i := range r.Frames {
		f := &r.Frames[i]
		if f.Host != rh.Name || f.Type != ether.PktOutgoing {
			continue
		}
		if p, _, ok := FrameARP(f.Data); ok && p.Op == arp.OpRequest {
			k := entryAt{f.Dev, p.TIP}
			x.probes[k] = append(x.probes[k], stampAt{ns: f.AtNs})
		} else if m, _, ok := FrameND(f.Data); ok && m.Type == ndisc.TypeNeighborSolicitation && !m.Src.IsUnspecified() {
			k := entryAt{f.Dev, m.Target}
			x.probes[k] = append(x.probes[k], stampAt{ns: f.AtNs})
		}
	}
	pending := map[entryAt]int{} // neigh_create waiting for the entry's next event
	for i := range r.Trace {
		e := &r.Trace[i]
		if _, mine := x.devName[e.Dev]; !mine {
			continue
		}
		k := entryAt{e.Dev, e.IP}
		if ci, ok := pending[k]; ok {
			if e.TimestampNs-r.Trace[ci].TimestampNs >= int64(5*time.Millisecond) {
				x.lonelyCreates = append(x.lonelyCreates, ci)
			}
			delete(pending, k)
		}
		switch e.Event {
		case "neigh_event_send_done", "neigh_event_send_dead":
			if e.Err != 0 {
				x.queued = append(x.queued, i)
			}
		case "neigh_create":
			if e.Created {
				pending[k] = i
			}
		case "neigh_update":
			if e.UpdateFlags&ktrace.UpdateAdmin != 0 {
				x.adminUpdates[e.Dev] = append(x.adminUpdates[e.Dev], i)
			}
		}
	}
	for _, ci := range pending {
		x.lonelyCreates = append(x.lonelyCreates, ci)
	}
	sort.Ints(x.lonelyCreates)
	for _, m := range []map[entryAt][]stampAt{x.sendStamps, x.probes, x.doneStamps} {
		for _, l := range m {
			sort.SliceStable(l, func(i, j int) bool { return l[i].ns < l[j].ns })
		}
	}
	return x
}

// adminStamp places an `ip neigh` command at the kernel's admin
// neigh_update for its entry (any entry for a flush) within a millisecond
// of the command, and on the jiffy of the neigh_update_done that followed
// it before the command returned.
func (x *hostIndex) adminStamp(r *LabRun, rh *RunHost, a *RunAdmin) (ns int64, j uint64, exact, ok bool) {
	if !a.Parsed {
		return 0, 0, false, false
	}
	c := a.Command
	d := rh.Dev(c.Dev)
	if d == nil {
		return 0, 0, false, false
	}
	lo, hi := a.BeforeNs-int64(time.Millisecond), a.AfterNs+int64(time.Millisecond)
	ups := x.adminUpdates[d.IfName]
	first := sort.Search(len(ups), func(i int) bool { return r.Trace[ups[i]].TimestampNs >= lo })
	for _, ui := range ups[first:] {
		e := &r.Trace[ui]
		if e.TimestampNs > hi {
			break
		}
		if e.IP != c.IP && c.Op != neigh.AdminFlush {
			continue
		}
		ns = e.TimestampNs
		done := x.doneStamps[entryAt{e.Dev, e.IP}]
		k := sort.Search(len(done), func(i int) bool { return done[i].ns >= e.TimestampNs })
		if k < len(done) && done[k].ns <= hi {
			return ns, done[k].j, true, true
		}
		return ns, 0, false, true
	}
	return 0, 0, false, false
}

// lastAtOrBefore returns the last moment of l (sorted by ns) at or before
// ns.
func lastAtOrBefore(l []stampAt, ns int64) (stampAt, bool) {
	k := sort.Search(len(l), func(i int) bool { return l[i].ns > ns })
	if k == 0 {
		return stampAt{}, false
	}
	return l[k-1], true
}

// adminCreated reports whether neigh_create e happened while an `ip neigh`
// command for that address ran on rh: the command made the entry, not a
// packet. On a fast host its neigh_update follows within microseconds;
// under software emulation (verify --vm with TCG) it can come more than
// 5 ms later.
func adminCreated(r *LabRun, rh *RunHost, e *ktrace.Event) bool {
	for i := range r.Admin {
		a := &r.Admin[i]
		if a.Host != rh.Name || !a.Parsed || e.TimestampNs < a.BeforeNs || e.TimestampNs > a.AfterNs {
			continue
		}
		if d := rh.Dev(a.Command.Dev); d != nil && d.IfName == e.Dev && a.Command.IP == e.IP {
			return true
		}
	}
	return false
}

// FrameIPDst is the destination address of an IPv4 or IPv6 frame (no VLAN
// tags: the lab's links carry none).
func FrameIPDst(data []byte) (netip.Addr, bool) {
	if hd, _, ok := ipv4.OfEthernet(data); ok {
		return hd.DstAddr(), true
	}
	if hd, _, ok := ipv6.OfEthernet(data); ok {
		return hd.Dst, true
	}
	return netip.Addr{}, false
}
