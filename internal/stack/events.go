package stack

import (
	"fmt"

	"arplab/internal/neigh"
	"arplab/internal/trace"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// Lines writes the trace lines of one decision, the same for every
// producer: the decision's event (neigh.Decision.Event) and, when a
// received frame changed the entry, a state line of its own, so that a
// timeline shows the change even where it hides frames. at is the
// decision's time on the producer's clock (seconds), seconds converts the
// host's jiffies to it. It reports whether the decision wrote a line.
func (h *Host) Lines(in *Input, d *neigh.Decision, at float64, seconds func(vtime.Jiffies) float64, emit func(trace.Event)) bool {
	ev, ok := d.Event(h.Name, at, seconds)
	if !ok {
		return false
	}
	if d.Frame && in != nil && in.ARP != nil {
		ev.Frame = in.Frame
		ev.ARP = trace.ARPFields(in.ARP, in.EthDst, in.HasEthDst, in.PktType.String())
	}
	if d.Frame && in != nil && in.ND != nil {
		ev.Frame = in.Frame
		ev.ND = NDFields(in.ND, in.EthDst, in.HasEthDst, in.PktType.String())
	}
	emit(ev)
	if d.Frame && d.StateChanged() {
		st := ev
		st.Kind, st.Verdict, st.ARP, st.ND, st.Frame = trace.KindState, "", nil, nil, 0
		emit(st)
	}
	return true
}

// ProbeLine is the trace line of a probe the model sends (spec §2.3).
func (h *Host) ProbeLine(a *neigh.Action, at float64) trace.Event {
	if a.Target.Is6() {
		// ndisc §2.3: unicast NS to the cached MAC, or multicast NS to
		// the target's solicited-node group.
		to := ndisc.SolicitedNode(a.Target).String()
		if a.Unicast {
			to = a.DstMAC.String()
		}
		return trace.Event{Time: at, Kind: trace.KindProbe, Host: h.Name, Dev: a.Dev.Name, IP: a.Target.String(),
			Cause: "probe", Rule: "ndisc §2.3", Attrs: map[string]string{"to": to},
			Explanation: fmt.Sprintf("probe %d: NS for %v from %v, to %s", a.Nth, a.Target, a.Src, to)}
	}
	to := "broadcast"
	if a.Unicast {
		to = a.DstMAC.String()
	}
	return trace.Event{Time: at, Kind: trace.KindProbe, Host: h.Name, Dev: a.Dev.Name, IP: a.Target.String(),
		Cause: "probe", Rule: "§2.3", Attrs: map[string]string{"to": to},
		Explanation: fmt.Sprintf("probe %d: who-has %v tell %v, to %s", a.Nth, a.Target, a.Src, to)}
}

// NDFields is a model ND input in the trace vocabulary (trace.NDFields
// over its wire message).
func NDFields(m *neigh.ND, dst arp.MAC, hasDst bool, pktType string) *trace.NDFrame {
	w := NDWire(m)
	return trace.NDFields(&w, dst, hasDst, pktType)
}
