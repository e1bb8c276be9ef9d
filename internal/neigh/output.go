package neigh

import (
	"net/netip"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// Route is a cached output route (struct rtable) that several sockets may
// share: before 4.11 a TCP confirmation sets its pending_confirm bit and the
// next packet through it, to any destination, confirms that packet's
// neighbour (spec §6.1). The simulator owns one per (subnet route, CPU).
type Route struct {
	Name           string
	PendingConfirm bool
	// PendingFrom names the socket whose confirmation set the bit.
	PendingFrom string
	// Clone marks a per-destination route (IPv6 before the 4.2 per-CPU
	// routes, ndisc §6.1): its bit can only confirm its own neighbour.
	Clone bool
}

// Socket is the upper-layer endpoint of a flow: the route it was connected
// through and, on 4.11+, its own pending-confirmation flag (spec §6.2).
type Socket struct {
	Name           string
	Route          *Route
	PendingConfirm bool
}

// TxVerdict is what happened to a packet handed to the neighbour layer.
type TxVerdict uint8

// Output verdicts.
const (
	TxSent    TxVerdict = iota // transmitted now to the returned MAC
	TxQueued                   // queued on an INCOMPLETE entry
	TxDropped                  // dropped (FAILED without probes, table full)
)

// Output is a packet of size bytes sent by sock to nexthop through dev
// (spec §3): the entry is created if absent, a pending confirmation is
// applied, then the fast or slow path runs. id identifies the packet in
// later Transmit/Unreachable actions when it is queued.
func (t *Table) Output(now vtime.Jiffies, dev *Device, nexthop netip.Addr, sock *Socket, id uint64, size int) (TxVerdict, arp.MAC, *Result) {
	r := t.begin(now)
	if nexthop.Is4() != (t.Family == IPv4) || !nexthop.IsValid() {
		return TxDropped, arp.MAC{}, r // the other family's table
	}
	e := t.get(dev, nexthop)
	if e == nil {
		if e = t.create(now, dev, nexthop); e == nil {
			return TxDropped, arp.MAC{}, r
		}
		// arp_constructor / ndisc_constructor: multicast (and IPv4
		// broadcast) destinations need no resolution; they start NOARP
		// with the mapped address (§1.1, ndisc §1.1).
		if mac, ok := t.noARPAddr(dev, nexthop); ok {
			t.setState(e, NoARP)
			e.ha = mac
		}
	}
	v, mac := t.output(now, e, sock, id, size)
	return v, mac, r
}

// OutputFast is Output for its commonest case only, where Output decides
// nothing and acts on nothing: an IPv4 next hop whose entry exists, is
// CONNECTED and has its cached header (spec §3 step 2, the fast path:
// `used` is not touched), with no pending confirmation, or one applied
// quietly (QuietConfirm: step 1 then changes only `confirmed`, §6). It
// then does what Output does (the same step 1, the same entry, the same
// empty result) and returns the entry's MAC; in every other case it
// reports false having changed nothing, and the caller calls Output.
// A busy session's every packet takes it.
func (t *Table) OutputFast(now vtime.Jiffies, dev *Device, nexthop netip.Addr, sock *Socket) (arp.MAC, bool) {
	if t.Family != IPv4 || !nexthop.Is4() {
		return arp.MAC{}, false
	}
	e := t.get(dev, nexthop)
	if e == nil || !e.state.Connected() || !e.hh {
		return arp.MAC{}, false
	}
	// step 1: a pending confirmation that is not quiet would decide, so
	// Output takes it; a quiet one only moves `confirmed` (confirm)
	if !t.QuietConfirm && t.pendingConfirm(sock) {
		return arp.MAC{}, false
	}
	t.applyPendingConfirm(now, e, sock)
	t.begin(now)
	return e.ha, true
}

// output is the part of the output path that runs on an existing entry:
// a pending confirmation, then the fast or slow path (spec §3). nd_tbl's
// own NA replies take it too (ndisc §3).
func (t *Table) output(now vtime.Jiffies, e *Entry, sock *Socket, id uint64, size int) (TxVerdict, arp.MAC) {
	t.applyPendingConfirm(now, e, sock)
	// Fast path: CONNECTED with a cached header; `used` is not touched.
	if e.state.Connected() && e.hh {
		return TxSent, e.ha
	}
	// Slow path (neigh_resolve_output → neigh_event_send).
	e.used = now
	switch e.state {
	case Reachable, Permanent, NoARP, Delay, Probe:
		e.hh = true
		return TxSent, e.ha
	case Stale:
		d := t.stateDecision(now, e, RuleStaleToDelay)
		t.setState(e, Delay)
		e.updated = now
		t.addTimer(e, now, now+vtime.Jiffies(e.dev.Params.DelayProbeTime))
		t.finish(&d, e)
		e.hh = true
		return TxSent, e.ha
	case None, Failed:
		p := &e.dev.Params
		if p.McastProbes+p.AppProbes == 0 {
			d := t.stateDecision(now, e, RuleNoProbesFailed)
			t.setState(e, Failed)
			e.updated = now
			t.finish(&d, e)
			return TxDropped, arp.MAC{}
		}
		d := t.stateDecision(now, e, RuleStartResolution)
		e.probes = p.UcastProbes
		t.setState(e, Incomplete)
		e.updated = now
		first := vtime.Jiffies(p.RetransTime)
		if min := t.minRearm(); first < min {
			first = min
		}
		t.addTimer(e, now, now+first)
		t.finish(&d, e)
		t.enqueue(now, e, id, size)
		t.solicit(now, e)
		return TxQueued, arp.MAC{}
	case Incomplete:
		t.enqueue(now, e, id, size)
		return TxQueued, arp.MAC{}
	}
	return TxDropped, arp.MAC{}
}

// enqueue appends to arp_queue, dropping the oldest packets while the
// queue would exceed unres_qlen_bytes (spec §3).
func (t *Table) enqueue(now vtime.Jiffies, e *Entry, id uint64, size int) {
	ts := truesize(size)
	for len(e.queue) > 0 && e.queueBytes+ts > e.dev.Params.UnresQlenBytes {
		old := e.queue[0]
		e.queue = e.queue[1:]
		e.queueBytes -= truesize(old.Size)
		t.Stats.QueueDiscards++
		t.act(Action{Kind: ActDiscarded, Dev: e.dev, Target: e.ip, Packet: old.ID})
	}
	e.queue = append(e.queue, Queued{ID: id, Size: size})
	e.queueBytes += ts
}

func (t *Table) stateDecision(now vtime.Jiffies, e *Entry, rule Rule) Decision {
	return Decision{Rule: rule, Dev: e.dev.Name, IP: e.ip, Now: now, Old: e.state, OldMAC: e.ha,
		NewMAC: e.ha, UpdatedBefore: e.updated, Confirmed: e.confirmed, Locktime: e.dev.Params.Locktime}
}

func (t *Table) finish(d *Decision, e *Entry) {
	d.New, d.NewMAC, d.Updated, d.Confirmed = e.state, e.ha, e.updated, e.confirmed
	d.UpdatedMoved = d.Updated != d.UpdatedBefore
	t.decide(d)
}

// confirm is neigh_confirm: confirmed = now, nothing else (spec §6.3).
// The decision is written in place in the result (no copies of the large
// Decision): a shared route's confirmation lands on every packet a busy
// session sends.
func (t *Table) confirm(now vtime.Jiffies, e *Entry, rule Rule, from string) {
	if t.QuietConfirm {
		e.confirmed = now
		return
	}
	t.res.Decisions = append(t.res.Decisions, Decision{})
	d := &t.res.Decisions[len(t.res.Decisions)-1]
	d.Rule, d.Dev, d.IP, d.Now, d.Old, d.New = rule, e.dev.Name, e.ip, now, e.state, e.state
	d.OldMAC, d.NewMAC, d.UpdatedBefore, d.Updated, d.Flow = e.ha, e.ha, e.updated, e.updated, from
	d.Profile, d.HZ = t.Profile, t.HZ // as decide sets them
	if e.confirmed != now {
		e.confirmed = now
		d.ConfirmedMoved = true
	}
	d.Confirmed = e.confirmed
}

// pendingConfirm reports whether sock carries a confirmation that
// applyPendingConfirm would consume.
func (t *Table) pendingConfirm(sock *Socket) bool {
	switch {
	case sock == nil:
		return false
	case t.F.PerSocketConfirm:
		return sock.PendingConfirm
	}
	return sock.Route != nil && sock.Route.PendingConfirm
}

// applyPendingConfirm consumes a pending confirmation at output: the
// route's shared bit before 4.11, the socket's own flag after (spec §3 step 1).
func (t *Table) applyPendingConfirm(now vtime.Jiffies, e *Entry, sock *Socket) {
	if sock == nil {
		return
	}
	if t.F.PerSocketConfirm {
		if sock.PendingConfirm {
			sock.PendingConfirm = false
			t.confirm(now, e, RuleConfirmSocket, sock.Name)
		}
		return
	}
	if rt := sock.Route; rt != nil && rt.PendingConfirm {
		rt.PendingConfirm = false
		rule := RuleConfirmRoute
		if rt.Clone {
			rule = RuleConfirmClone
		}
		t.confirm(now, e, rule, rt.PendingFrom)
	}
}

// Confirm records an upper-layer confirmation by sock (TCP's dst_confirm
// or sk_dst_confirm, spec §6.3). Before 4.11 it marks the shared route;
// from 4.11 it marks the socket. Nothing changes in the table until the
// next packet is sent.
func (t *Table) Confirm(now vtime.Jiffies, sock *Socket) *Result {
	r := t.begin(now)
	if t.F.PerSocketConfirm {
		sock.PendingConfirm = true
		return r
	}
	if sock.Route != nil {
		sock.Route.PendingConfirm = true
		sock.Route.PendingFrom = sock.Name
	}
	return r
}

// ConfirmNeighbour is dst_confirm_neigh (4.11+ UDP/RAW with MSG_CONFIRM and
// MSG_PROBE): confirm the entry for ip on dev now, if it exists.
func (t *Table) ConfirmNeighbour(now vtime.Jiffies, dev *Device, ip netip.Addr, from string) *Result {
	r := t.begin(now)
	if e := t.get(dev, ip); e != nil {
		t.confirm(now, e, RuleConfirmImmediate, from)
	}
	return r
}

// noARPAddr is arp_mc_map for the destinations that never need ARP: the
// limited or a directed broadcast (ff:ff:ff:ff:ff:ff) and IPv4 multicast
// (01:00:5e + the low 23 bits).
func (t *Table) noARPAddr(dev *Device, ip netip.Addr) (arp.MAC, bool) {
	if t.Family == IPv6 {
		if ip.IsMulticast() {
			return ndisc.MulticastMAC(ip), true
		}
		return arp.MAC{}, false
	}
	if dev.IsBroadcast(ip) {
		return arp.Broadcast, true
	}
	if ip.IsMulticast() {
		b := ip.As4()
		return arp.MAC{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}, true
	}
	return arp.MAC{}, false
}

// CarrierDown is the loss of carrier on dev: since 4.20 the device's
// non-permanent entries are flushed, unless arp_evict_nocarrier=0 (5.16+)
// (spec §7.3, F15).
func (t *Table) CarrierDown(now vtime.Jiffies, dev *Device) *Result {
	r := t.begin(now)
	if !t.F.EvictOnCarrierDown {
		return r
	}
	if t.Family == IPv6 {
		// ndisc_evict_nocarrier (5.16+) combines as AND (ndisc §7).
		if t.F.NDEvictNoCarrierCtl && !(t.All6.NDiscEvictNoCarrier && dev.Conf6.NDiscEvictNoCarrier) {
			return r
		}
	} else if t.F.EvictNoCarrierCtl && !(t.All.ARPEvictNoCarrier && dev.Conf.ARPEvictNoCarrier) {
		return r // arp_evict_nocarrier combines as AND (spec §8.2)
	}
	var es []*Entry
	t.each(func(e *Entry) {
		if e.dev == dev && e.state != Permanent {
			es = append(es, e)
		}
	})
	sortEntries(es)
	for _, e := range es {
		t.decide(&Decision{Rule: RuleCarrierFlush, Dev: dev.Name, IP: e.ip, Now: now, Old: e.state, New: None, OldMAC: e.ha})
		t.remove(e)
	}
	return r
}
