package stack

import (
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// NDInput is the model's input (neigh.ND) for an ND message the wire codec
// decoded: the glue between internal/wire/ndisc and the model, in one
// place for every driver (simulator, replay, verify).
func NDInput(m *ndisc.Message) neigh.ND {
	return neigh.ND{Type: m.Type, Code: m.Code, Src: m.Src, Dst: m.Dst, HopLimit: m.HopLimit,
		Target: m.Target, Router: m.Router, Solicited: m.Solicited, Override: m.Override,
		SourceLL: m.SourceLL, TargetLL: m.TargetLL, HasSourceLL: m.HasSourceLL, HasTargetLL: m.HasTargetLL,
		HasNonce: m.HasNonce, ReachableTime: m.ReachableTime, RetransTimer: m.RetransTimer}
}

// NDWire is NDInput backwards: the wire message of a model input, for
// the trace (trace.NDFields) and for frames the simulator puts on a
// segment.
func NDWire(m *neigh.ND) ndisc.Message {
	return ndisc.Message{Type: m.Type, Code: m.Code, Src: m.Src, Dst: m.Dst, HopLimit: m.HopLimit,
		Target: m.Target, Router: m.Router, Solicited: m.Solicited, Override: m.Override,
		SourceLL: m.SourceLL, TargetLL: m.TargetLL, HasSourceLL: m.HasSourceLL, HasTargetLL: m.HasTargetLL,
		HasNonce: m.HasNonce, ReachableTime: m.ReachableTime, RetransTimer: m.RetransTimer}
}

// ReceiveNDMessage is ReceiveND for a decoded wire message.
func (h *Host) ReceiveNDMessage(d *Device, m *ndisc.Message, pt neigh.PktType, frame int, ethDst arp.MAC, hasDst bool) {
	h.ndIn = NDInput(m)
	h.ReceiveND(d, &h.ndIn, pt, frame, ethDst, hasDst)
}

// NDMessage is the wire message of an ND action of nd_tbl: the NS of a
// probe (ndisc §2.3: SLLAO always, to the target or its solicited-node
// group) or the NA of a reply (ndisc §4.5 step 7, §10.1), sent from mac.
// ok is false for an action that is not an ND transmission.
func NDMessage(a *neigh.Action, mac arp.MAC) (m ndisc.Message, ethDst arp.MAC, ok bool) {
	if !a.Target.Is6() {
		return m, ethDst, false
	}
	m.HopLimit = ndisc.NDHopLimit
	m.Src = a.Src
	switch a.Kind {
	case neigh.ActProbe:
		m.Type = ndisc.TypeNeighborSolicitation
		m.Target = a.Target
		m.Dst = a.Target
		if !a.Unicast {
			m.Dst = ndisc.SolicitedNode(a.Target)
		}
		m.SourceLL, m.HasSourceLL = mac, true
	case neigh.ActReply:
		m.Type = ndisc.TypeNeighborAdvertisement
		m.Target = a.Src // we advertise our own address
		m.Dst = a.Target
		m.Router, m.Solicited, m.Override = a.ND&neigh.NARouter != 0, a.ND&neigh.NASolicited != 0, a.ND&neigh.NAOverride != 0
		if a.ND&neigh.NATLLAO != 0 {
			m.TargetLL, m.HasTargetLL = mac, true
		}
	default:
		return m, ethDst, false
	}
	return m, a.DstMAC, true
}
