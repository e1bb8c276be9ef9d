package scenario

import (
	"fmt"

	"arplab/internal/garp"
	"arplab/internal/wire/arp"
)

// ReplyFrame builds the frame of a reply action, as the simulator and the
// lab both send it: an ARP reply from the station's MAC claiming r.IP,
// addressed to the host's interface on the station's segment (its MAC as
// tha and Ethernet destination, its first address as tip), with r.THA and
// r.EthDst overriding the two MACs. The errors name the field.
func (s *Scenario) ReplyFrame(r *Reply) (garp.Frame, error) {
	var st *Station
	for i := range s.Stations {
		if s.Stations[i].Name == r.From {
			st = &s.Stations[i]
		}
	}
	if st == nil {
		return garp.Frame{}, fmt.Errorf("reply from %q: no such station", r.From)
	}
	if !r.IP.IsValid() || !r.IP.Is4() {
		return garp.Frame{}, fmt.Errorf("reply from %s needs the sender address it claims (ip: 10.0.0.100)", r.From)
	}
	var to *Interface
	found := false
	for i := range s.Hosts {
		if s.Hosts[i].Name != r.To {
			continue
		}
		found = true
		for j := range s.Hosts[i].Interfaces {
			if ifc := &s.Hosts[i].Interfaces[j]; ifc.Segment == st.Segment && len(ifc.Addrs) > 0 && to == nil {
				to = ifc
			}
		}
	}
	switch {
	case !found:
		return garp.Frame{}, fmt.Errorf("reply to %q: not a Linux host", r.To)
	case to == nil:
		return garp.Frame{}, fmt.Errorf("reply to %s: the host has no addressed interface on segment %s, where station %s is", r.To, st.Segment, r.From)
	}
	tha, dst := to.MAC.MAC, to.MAC.MAC
	if r.THA != nil {
		tha = r.THA.MAC
	}
	if r.EthDst != nil {
		dst = r.EthDst.MAC
	}
	p := arp.NewPacket(arp.OpReply, st.MAC.MAC, r.IP.Addr, tha, to.Addrs[0].Addr())
	return garp.Frame{EthDst: dst, Packet: p}, nil
}
