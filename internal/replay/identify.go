package replay

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"arplab/internal/capture"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
	"arplab/internal/wire/ipv6"
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
	return !f.HasPktType || f.PktType == ether.PktOutgoing
}

// identify reads rd until a frame says who spec is. Direct evidence (an ARP
// frame the host sent or one answering it, an IPv4 frame from or to it)
// ends the search; for a host named by MAC, IPv4 evidence is only used when
// the whole capture holds no ARP frame from that MAC, since a router's MAC
// also sends other hosts' datagrams.
//
// A host given as IP@MAC needs no evidence: the first frame from, to or
// about it names its link (the first frame of the capture when none does:
// a host that never appears is replayed as receiving what its link
// carried). A capture without a single frame is ErrNoFrames, whatever the
// host: it has no clock to run the model on.
func identify(rd *capture.Reader, name string, spec hostSpec) (host, error) {
	var (
		p        arp.Packet
		h        host
		fallback host
		haveFB   bool
		frames   int
		cands    candidates
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
			if spec.both {
				fallback, haveFB = h.found(spec, spec.ip, spec.mac, f, "given as --host IP@MAC"), true
			}
		}
		frames++
		if spec.both {
			if f.HasSrc && f.Src == spec.mac || f.HasEth && f.Dst == spec.mac {
				return h.found(spec, spec.ip, spec.mac, f, fmt.Sprintf("given as --host IP@MAC; its link from frame %d", f.Index)), nil
			}
			continue
		}
		cands.add(f, &p)
		switch f.EtherType {
		case ether.EtherTypeARP:
			if p.Unmarshal(f.Payload) != nil {
				continue
			}
			if spec.byMAC {
				if p.SHA == spec.mac && usableIP(p.SIP) && !(f.HasPktType && f.PktType == ether.PktOtherHost) {
					return h.found(spec, p.SIP, spec.mac, f, fmt.Sprintf("ARP %v from %v in frame %d", p.Op, spec.mac, f.Index)), nil
				}
				continue
			}
			if p.SIP == spec.ip && sentByHostSide(f) && !p.SHA.IsMulticast() && p.SHA != arp.Zero {
				return h.found(spec, spec.ip, p.SHA, f, fmt.Sprintf("ARP %v from %v in frame %d", p.Op, spec.ip, f.Index)), nil
			}
			if p.Op == arp.OpReply && p.TIP == spec.ip && !(f.HasPktType && f.PktType == ether.PktOutgoing) && !p.THA.IsMulticast() && p.THA != arp.Zero {
				return h.found(spec, spec.ip, p.THA, f, fmt.Sprintf("ARP reply to %v in frame %d", spec.ip, f.Index)), nil
			}
		case ether.EtherTypeIPv6:
			// an IPv6 host shows itself by any packet from or to it
			// (ND or data); a host named by MAC is found through ARP.
			h6, ok := ipv6.Parse(f.Payload)
			src, dst := h6.Src, h6.Dst
			if !ok || spec.byMAC || !spec.ip.Is6() {
				continue
			}
			if src == spec.ip && f.HasSrc && sentByHostSide(f) && !f.Src.IsMulticast() {
				return h.found(spec, spec.ip, f.Src, f, fmt.Sprintf("IPv6 from %v in frame %d", spec.ip, f.Index)), nil
			}
			if dst == spec.ip && f.HasEth && !(f.HasPktType && f.PktType == ether.PktOutgoing) && !f.Dst.IsMulticast() && f.Dst != arp.Zero {
				return h.found(spec, spec.ip, f.Dst, f, fmt.Sprintf("IPv6 to %v in frame %d", spec.ip, f.Index)), nil
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
			if dst == spec.ip && f.HasEth && !(f.HasPktType && f.PktType == ether.PktOutgoing) && !f.Dst.IsMulticast() && f.Dst != arp.Zero {
				return h.found(spec, spec.ip, f.Dst, f, fmt.Sprintf("IPv4 to %v in frame %d", spec.ip, f.Index)), nil
			}
		}
	}
	if frames == 0 {
		return host{}, fmt.Errorf("%w: %s%s: nothing to replay", ErrNoFrames, name, skippedText(rd.Skipped()))
	}
	if haveFB {
		fallback.first = h.first
		return fallback, nil
	}
	if spec.byMAC {
		return host{}, fmt.Errorf("%w: %s: none of its %d frames is an ARP or IPv4 frame from %v, so its IP address is unknown; "+
			"give it as --host IP@%v%s", ErrHostNotFound, name, frames, spec.mac, spec.mac, cands.list())
	}
	return host{}, fmt.Errorf("%w: %s: none of its %d frames is an ARP frame from or to %v or an IP packet from or to it, so its MAC is unknown; "+
		"give it as --host %v@MAC%s", ErrHostNotFound, name, frames, spec.ip, spec.ip, cands.list())
}

// skippedText says what the capture reader skipped, for the no-frames
// error: nothing is dropped without being counted.
func skippedText(sk map[string]int) string {
	if len(sk) == 0 {
		return " holds no frames"
	}
	reasons := slices.Sorted(maps.Keys(sk))
	n := 0
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		n += sk[r]
		parts[i] = fmt.Sprintf("%d %s", sk[r], r)
	}
	return fmt.Sprintf(" holds no usable frames: the reader skipped all %d records (%s)", n, strings.Join(parts, ", "))
}

// Candidate is a host that speaks in a capture: an address and the MAC it
// sends from, with how many frames show the pair.
type Candidate struct {
	IP     netip.Addr `json:"ip"`
	MAC    arp.MAC    `json:"mac"`
	Frames int        `json:"frames"`
}

func (c Candidate) String() string { return fmt.Sprintf("%v@%v (%d frames)", c.IP, c.MAC, c.Frames) }

// maxCandidates bounds the pairs a capture's candidate list keeps, so a
// capture of a whole segment cannot grow it without limit.
const maxCandidates = 4096

// candidates counts the (IP, MAC) pairs that send in a capture: ARP
// senders and IPv4 sources with their Ethernet source.
type candidates struct {
	n       map[Candidate]int
	dropped int
}

func (c *candidates) add(f *capture.Frame, p *arp.Packet) {
	var k Candidate
	switch f.EtherType {
	case ether.EtherTypeARP:
		if p.Unmarshal(f.Payload) != nil || !usableIP(p.SIP) || p.SHA.IsMulticast() || p.SHA == arp.Zero {
			return
		}
		k = Candidate{IP: p.SIP, MAC: p.SHA}
	case ether.EtherTypeIPv4:
		ih, ok := ipv4.Parse(f.Payload)
		if !ok || !f.HasSrc || f.Src.IsMulticast() || !usableIP(ih.SrcAddr()) {
			return
		}
		k = Candidate{IP: ih.SrcAddr(), MAC: f.Src}
	case ether.EtherTypeIPv6:
		h6, ok := ipv6.Parse(f.Payload)
		src := h6.Src
		if !ok || !f.HasSrc || f.Src.IsMulticast() || !usableIP(src) || src.IsLinkLocalUnicast() {
			return
		}
		k = Candidate{IP: src, MAC: f.Src}
	default:
		return
	}
	if c.n == nil {
		c.n = map[Candidate]int{}
	}
	if _, ok := c.n[k]; !ok && len(c.n) >= maxCandidates {
		c.dropped++
		return
	}
	c.n[k]++
}

// sorted is the pairs, most frames first.
func (c *candidates) sorted() []Candidate {
	out := make([]Candidate, 0, len(c.n))
	for k, n := range c.n {
		k.Frames = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if a.Frames != b.Frames {
			return b.Frames - a.Frames
		}
		if a.IP != b.IP {
			return a.IP.Compare(b.IP)
		}
		return bytes.Compare(a.MAC[:], b.MAC[:])
	})
	return out
}

// list is the top candidates for an error message.
func (c *candidates) list() string {
	all := c.sorted()
	if len(all) == 0 {
		return " (no host sends ARP, IPv4 or IPv6 in the capture)"
	}
	var b strings.Builder
	b.WriteString("; hosts that send in the capture: ")
	for i, k := range all {
		if i == 5 {
			fmt.Fprintf(&b, ", and %d more", len(all)-5)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.String())
	}
	return b.String()
}

// Candidates lists the hosts that send ARP or IPv4 in the capture at path,
// most frames first: what --host can name.
func Candidates(path string) ([]Candidate, error) {
	rd, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var (
		c candidates
		p arp.Packet
	)
	for {
		f, err := rd.Next()
		if err == io.EOF {
			return c.sorted(), nil
		}
		if err != nil {
			return c.sorted(), err
		}
		c.add(f, &p)
	}
}

func (h host) found(spec hostSpec, ip netip.Addr, mac arp.MAC, f *capture.Frame, how string) host {
	return host{ip: ip, mac: mac, prefix: netip.PrefixFrom(ip, spec.bits), link: linkOf(f), how: how, first: h.first}
}
