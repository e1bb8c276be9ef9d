package replay

import (
	"fmt"
	"io"
	"net/netip"

	"arplab/internal/capture"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

// linkKey names the link a frame was captured on: the pcapng interface, the
// SLL2 interface index and the outermost VLAN. Frames of other links belong
// to other devices of the capturing machine, or are the same frame seen a
// second time on a bridge (`tcpdump -i any`).
type linkKey struct {
	iface, ifIndex int
	vlan           int32 // -1: untagged
}

func linkOf(f *capture.Frame) linkKey {
	k := linkKey{iface: f.Interface, ifIndex: f.IfIndex, vlan: -1}
	if f.VLANs > 0 {
		k.vlan = int32(f.OuterVLAN)
	}
	return k
}

// host is the observed host as identified in the capture.
type host struct {
	ip     netip.Addr
	mac    arp.MAC
	prefix netip.Prefix
	link   linkKey
	// how says which frame told us, for the trace header.
	how string
	// first is the time of the first usable frame: the model's epoch.
	first int64
}

// sentByHostSide reports whether f may have been sent by the capturing
// host: it is marked outgoing, or the link layer does not say.
func sentByHostSide(f *capture.Frame) bool {
	return f.PktType == capture.Outgoing || f.PktType == capture.Unknown
}

// identify reads rd until a frame says who spec is. Direct evidence (an ARP
// frame the host sent or one answering it, an IPv4 frame from or to it)
// ends the search; for a host named by MAC, IPv4 evidence is only used when
// the whole capture holds no ARP frame from that MAC, since a router's MAC
// also sends other hosts' datagrams.
func identify(rd *capture.Reader, name string, spec hostSpec) (host, error) {
	var (
		p        arp.Packet
		h        host
		fallback host
		haveFB   bool
		frames   int
	)
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return host{}, err
		}
		if frames == 0 {
			h.first = f.Time
		}
		frames++
		switch f.EtherType {
		case ether.EtherTypeARP:
			if p.Unmarshal(f.Payload) != nil {
				continue
			}
			if spec.byMAC {
				if p.SHA == spec.mac && usableIP(p.SIP) && f.PktType != capture.OtherHost {
					return h.found(spec, p.SIP, spec.mac, f, fmt.Sprintf("ARP %v from %v in frame %d", p.Op, spec.mac, f.Index)), nil
				}
				continue
			}
			if p.SIP == spec.ip && sentByHostSide(f) && !p.SHA.IsMulticast() && p.SHA != arp.Zero {
				return h.found(spec, spec.ip, p.SHA, f, fmt.Sprintf("ARP %v from %v in frame %d", p.Op, spec.ip, f.Index)), nil
			}
			if p.Op == arp.OpReply && p.TIP == spec.ip && f.PktType != capture.Outgoing && !p.THA.IsMulticast() && p.THA != arp.Zero {
				return h.found(spec, spec.ip, p.THA, f, fmt.Sprintf("ARP reply to %v in frame %d", spec.ip, f.Index)), nil
			}
		case ether.EtherTypeIPv4:
			ih, ok := ipv4.Parse(f.Payload)
			if !ok {
				continue
			}
			src, dst := ih.SrcAddr(), ih.DstAddr()
			if spec.byMAC {
				if !haveFB && f.HasSrc && f.Src == spec.mac && sentByHostSide(f) && usableIP(src) {
					fallback = h.found(spec, src, spec.mac, f, fmt.Sprintf("IPv4 from %v in frame %d", spec.mac, f.Index))
					haveFB = true
				}
				continue
			}
			if src == spec.ip && f.HasSrc && sentByHostSide(f) && !f.Src.IsMulticast() {
				return h.found(spec, spec.ip, f.Src, f, fmt.Sprintf("IPv4 from %v in frame %d", spec.ip, f.Index)), nil
			}
			if dst == spec.ip && f.HasEth && f.PktType != capture.Outgoing && !f.Dst.IsMulticast() && f.Dst != arp.Zero {
				return h.found(spec, spec.ip, f.Dst, f, fmt.Sprintf("IPv4 to %v in frame %d", spec.ip, f.Index)), nil
			}
		}
	}
	if haveFB {
		fallback.first = h.first
		return fallback, nil
	}
	if spec.byMAC {
		return host{}, fmt.Errorf("%w: %s: none of its %d frames is an ARP or IPv4 frame from %v, so its IP address is unknown",
			ErrHostNotFound, name, frames, spec.mac)
	}
	return host{}, fmt.Errorf("%w: %s: none of its %d frames is an ARP frame from or to %v or an IPv4 frame from or to it, so its MAC is unknown",
		ErrHostNotFound, name, frames, spec.ip)
}

func (h host) found(spec hostSpec, ip netip.Addr, mac arp.MAC, f *capture.Frame, how string) host {
	return host{ip: ip, mac: mac, prefix: netip.PrefixFrom(ip, spec.bits), link: linkOf(f), how: how, first: h.first}
}
