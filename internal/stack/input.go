package stack

import (
	"fmt"
	"net/netip"

	"arplab/internal/neigh"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// deliver hands a result to the observer with the input that caused it.
// An empty result (no decision, no action: most outputs and every
// confirmation) is not handed over: an observer has nothing to read in it,
// and a simulated session makes two of them per round trip.
// The check is kept small enough to inline; the call is outlined (observe).
func (h *Host) deliver(r *neigh.Result) {
	if r != nil && (len(r.Decisions) > 0 || len(r.Actions) > 0) {
		h.observe(r)
	}
}

// observe is deliver's call to the observer, if any.
func (h *Host) observe(r *neigh.Result) {
	if h.Obs != nil {
		h.Obs.Observe(h, &h.in, r)
	}
}

// begin resets the reused Input for a new call.
func (h *Host) begin(kind InputKind, d *Device) *Input {
	h.in = Input{Kind: kind, At: h.now, Dev: d}
	return &h.in
}

// Advance runs every timer and the periodic work due up to tick j, in one
// table call, and makes j the host's time. Time never runs backwards: a j
// before the last input's tick is taken as that tick (a fitted clock may
// place an input a tick early).
func (h *Host) Advance(j vtime.Jiffies) {
	if vtime.Before(j, h.now) {
		j = h.now
	}
	h.now = j
	h.tick(j)
}

// tick runs both tables' timers due by j, in time order between them, so
// an observer sees the host's timer work as the kernel would do it.
func (h *Host) tick(j vtime.Jiffies) {
	if h.ND == nil {
		h.begin(InTimer, nil)
		h.deliver(h.Table.Tick(j))
		return
	}
	for {
		a, b := h.Table.NextDeadline(), h.ND.NextDeadline()
		next, tb := a, h.Table
		if vtime.Before(b, a) {
			next, tb = b, h.ND
		}
		if vtime.After(next, j) {
			return
		}
		h.begin(InTimer, nil).At = next
		h.deliver(tb.Tick(next))
	}
}

// SetNow makes j the host's time for the inputs that follow, without
// running the timers due by then: for a driver that schedules the host's
// timer wake-ups as events of its own (the simulator orders a timer
// among the other inputs of the same instant).
func (h *Host) SetNow(j vtime.Jiffies) {
	if vtime.After(j, h.now) {
		h.now = j
	}
}

// AdvanceTo is Advance to the tick of the driver's time t.
func (h *Host) AdvanceTo(t vtime.Time) { h.Advance(h.Clock.Jiffies(t)) }

// NextDeadline is the tick at which Advance has work to do next.
func (h *Host) NextDeadline() vtime.Jiffies {
	next := h.Table.NextDeadline()
	if h.ND != nil {
		if n := h.ND.NextDeadline(); vtime.Before(n, next) {
			next = n
		}
	}
	return next
}

// ReceiveND feeds an IPv6 neighbour-discovery message the host received
// on d (ndisc §4), decoded. frame, ethDst and hasDst are as for
// ReceiveARP. A host without IPv6 on d has no nd_tbl device: the message
// is ignored, as a kernel without the address family would.
func (h *Host) ReceiveND(d *Device, m *neigh.ND, pt neigh.PktType, frame int, ethDst arp.MAC, hasDst bool) {
	if h.ND == nil || d.ND == nil {
		return
	}
	in := h.begin(InND, d)
	in.ND, in.PktType, in.Frame, in.EthDst, in.HasEthDst = m, pt, frame, ethDst, hasDst
	h.deliver(h.ND.ReceiveND(h.now, d.ND, m, pt))
}

// ReceiveARP feeds an ARP frame the host received on d (spec §4). frame is
// the driver's number for it; ethDst, when hasDst, its Ethernet
// destination, which the observer may want for the trace.
func (h *Host) ReceiveARP(d *Device, p *arp.Packet, pt neigh.PktType, frame int, ethDst arp.MAC, hasDst bool) {
	in := h.begin(InARP, d)
	in.ARP, in.PktType, in.Frame, in.EthDst, in.HasEthDst = p, pt, frame, ethDst, hasDst
	h.deliver(h.Table.ReceiveARP(h.now, d.Device, p, pt))
}

// Output hands a packet for nexthop to the output path on d (spec §3):
// it is sent at once to the returned MAC, queued while the entry
// resolves, or dropped. sock is the sending socket (nil for packets no
// socket owns); id names the packet in later Transmit/Unreachable actions
// (0: the host numbers it).
func (h *Host) Output(d *Device, nexthop netip.Addr, sock *neigh.Socket, id uint64, size int, frame int) (neigh.TxVerdict, arp.MAC, uint64) {
	if id == 0 {
		h.pktID++
		id = h.pktID
	}
	in := h.begin(InOutput, d)
	in.Frame = frame
	tb, nd := h.TableFor(nexthop), d.devFor(nexthop)
	if tb == nil || nd == nil {
		return neigh.TxDropped, arp.MAC{}, id // no IPv6 on d
	}
	v, mac, r := tb.Output(h.now, nd, nexthop, sock, id, size)
	h.deliver(r)
	return v, mac, id
}

// OutputFast is Output where the table's own fast path applies
// (neigh.Table.OutputFast, spec §3 step 2): the packet is sent at once to
// the returned MAC and the result is empty, so no observer is called; the
// packet still takes its number. It reports false, having changed
// nothing, where it does not apply: the caller then calls Output.
// Small enough to inline: a device always has its arp_tbl device.
// The Input is not reset: only an observer reads it, and every call that
// hands it over resets it first.
func (h *Host) OutputFast(d *Device, nexthop netip.Addr, sock *neigh.Socket) (mac arp.MAC, ok bool) {
	if mac, ok = h.Table.OutputFast(h.now, d.Device, nexthop, sock); ok {
		h.pktID++
	}
	return
}

// Confirm is an upper-layer confirmation by sock (spec §6.3): TCP's
// forward progress, or a datagram sent with MSG_CONFIRM.
// The Input is built only for a result an observer gets (a confirmation
// only marks the route or the socket, §6.3, so in practice never): the
// table call does not move the host's time, which is all begin reads.
// Every session's answer confirms.
func (h *Host) Confirm(sock *neigh.Socket, frame int) {
	r := h.Table.Confirm(h.now, sock)
	if len(r.Decisions) > 0 || len(r.Actions) > 0 {
		h.begin(InConfirm, nil).Frame = frame
		h.observe(r)
	}
}

// Admin runs an `ip neigh` command (add, change, replace, del, flush) on
// d. The table's refusal (an `ip neigh` error) is returned.
func (h *Host) Admin(d *Device, op neigh.AdminOp, ip netip.Addr, lladdr *arp.MAC, state neigh.State) error {
	h.begin(InAdmin, d)
	tb, nd, err := h.familyOf(d, ip)
	if err != nil {
		return err
	}
	r, err := tb.Admin(h.now, nd, op, ip, lladdr, state)
	h.deliver(r)
	return err
}

// Install puts an entry that existed before the run into the table as it
// stood at tick at: the timers due by then run, then the entry is written
// as `ip neigh replace` would, at that tick. Install entries oldest first,
// before the first input, and with no observer when their setting-up is
// not part of the trace.
func (h *Host) Install(d *Device, ip netip.Addr, mac arp.MAC, state neigh.State, at vtime.Jiffies) error {
	tb, nd, err := h.familyOf(d, ip)
	if err != nil {
		return err
	}
	h.begin(InTimer, nil).At = at
	h.deliver(tb.Tick(at))
	h.begin(InInstall, d).At = at
	r, err := tb.Admin(at, nd, neigh.AdminReplace, ip, &mac, state)
	h.deliver(r)
	return err
}

// familyOf is the table and device that hold ip's entries on d, or the
// error an `ip -6 neigh` on a device without IPv6 gives.
func (h *Host) familyOf(d *Device, ip netip.Addr) (*neigh.Table, *neigh.Device, error) {
	tb, nd := h.TableFor(ip), d.devFor(ip)
	if tb == nil || nd == nil {
		return nil, nil, fmt.Errorf("ip -6 neigh %v dev %s: %s has no IPv6 address", ip, d.Name, d.Name)
	}
	return tb, nd, nil
}

// CarrierDown tells the table that d lost its carrier (spec §7.3, F15).
func (h *Host) CarrierDown(d *Device) {
	h.begin(InCarrierDown, d)
	h.deliver(h.Table.CarrierDown(h.now, d.Device))
	if h.ND != nil && d.ND != nil {
		h.begin(InCarrierDown, d)
		h.deliver(h.ND.CarrierDown(h.now, d.ND))
	}
}

// Sysctl writes one of the host's ARP sysctls: neigh.<dev>.<name> or
// conf.<dev>.<name>, with an optional net.ipv4. prefix and dots or
// slashes (neigh.SplitSysctl is the one accepted syntax).
//
// IPv6 keys carry the net.ipv6. prefix (neigh.SplitSysctlFamily) and go
// to nd_tbl; a host without IPv6 refuses them.
func (h *Host) Sysctl(key, value string) error {
	fam, kind, dev, name, err := neigh.SplitSysctlFamily(key)
	if err != nil {
		return err
	}
	tb := h.Table
	if fam == neigh.IPv6 {
		if tb = h.ND; tb == nil {
			return fmt.Errorf("sysctl %s: host %s has no IPv6 address", key, h.Name)
		}
	}
	if kind == "neigh" {
		return tb.SetParam(dev, name, value)
	}
	return tb.SetConf(dev, name, value)
}

// ConfirmNeighbour confirms ip's entry on d directly, as dst_confirm_neigh
// does on 4.11+ for UDP and raw sockets sending with MSG_CONFIRM or
// MSG_PROBE (spec §6.2); from names the confirmer in the trace.
func (h *Host) ConfirmNeighbour(d *Device, ip netip.Addr, from string) {
	tb, nd := h.TableFor(ip), d.devFor(ip)
	if tb == nil || nd == nil {
		return
	}
	h.begin(InConfirm, d)
	h.deliver(tb.ConfirmNeighbour(h.now, nd, ip, from))
}

// AlignTimer runs the timer of ip's entry on d now, when the host's own
// transmission (a probe) shows its timer ran now while the model placed
// it later (neigh.Table.RunTimerAt). It reports whether it did and by how
// many ticks the model's timer moved.
func (h *Host) AlignTimer(d *Device, ip netip.Addr, slack vtime.Jiffies) (vtime.Jiffies, bool) {
	tb, nd := h.TableFor(ip), d.devFor(ip)
	if tb == nil || nd == nil {
		return 0, false
	}
	h.begin(InTimer, nil)
	r, by, ok := tb.RunTimerAt(h.now, nd, ip, slack)
	if ok {
		h.deliver(r)
	}
	return by, ok
}
