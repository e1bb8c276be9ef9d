// Package garp sends gratuitous-ARP schedules (arplab/internal/garp) on a
// real interface, frame for frame what iputils arping would put on the wire.
//
// iputils arping writes the 28-byte ARP payload to an AF_PACKET SOCK_DGRAM
// socket bound to ETH_P_ARP and lets the kernel build the Ethernet header from
// the destination link address and the interface's own MAC (arping.c
// send_pack). Send does the same, so a capture of `arping -U -c 1` and of the
// arping-U preset show the same 42 bytes (verified in the tests by capturing
// both with tcpdump on a veth). The Ethernet source is therefore always the
// interface's MAC, whatever the packet's SHA says.
//
// Send refuses to run when it would surprise: the interface is missing, down
// or cannot ARP, the announced address is not configured on it (announcing
// an address you do not own poisons your peers' caches; Force overrides), or
// the process lacks CAP_NET_RAW.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package garp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	sched "arplab/internal/garp"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// SendOptions control Send.
type SendOptions struct {
	// Netns is the named network namespace (/run/netns/NAME) to send in;
	// empty means the caller's.
	Netns string
	// Force sends even when the announced address is not configured on
	// the interface.
	Force bool
	// DryRun prints every frame, as hex and decoded, and sends nothing.
	// It opens no socket and checks nothing about the interface.
	DryRun bool
	// Out receives the DryRun listing (default: discarded) and, when
	// sending, one line per frame sent.
	Out io.Writer
	// MAC is the Ethernet source a dry run of NAs prints (SendNA writes
	// whole frames); sending always uses the interface's own address.
	MAC arp.MAC
}

// Sending records one frame that left the socket: an ARP frame (Sent) or
// an NA (SentNA).
type Sending[F any] struct {
	Frame F
	// Offset is when the frame was written, measured from the start of
	// Send; compare it with Frame.At to see the pacing error.
	Offset time.Duration
	// Time is the wall-clock time of the write.
	Time time.Time
}

// Sent records one ARP frame that left the socket.
type Sent = Sending[sched.Frame]

// Errors for the conditions a caller (the CLI) turns into advice.
var (
	ErrNoInterface      = errors.New("garp: no such interface")
	ErrInterfaceDown    = errors.New("garp: interface is down")
	ErrNotARPCapable    = errors.New("garp: interface cannot ARP")
	ErrAddressNotOnLink = errors.New("garp: announced address is not configured on the interface")
	ErrPermission       = errors.New("garp: opening an AF_PACKET socket needs CAP_NET_RAW (run as root)")
)

// validate checks what Send needs of the frames whatever the mode.
func validate(frames []sched.Frame) error {
	if len(frames) == 0 {
		return errors.New("garp: no frames to send")
	}
	for i, f := range frames {
		if !f.Packet.SIP.Is4() || !f.Packet.TIP.Is4() {
			return fmt.Errorf("garp: frame %d: sender %v / target %v are not IPv4", i+1, f.Packet.SIP, f.Packet.TIP)
		}
		if i > 0 && f.At < frames[i-1].At {
			return fmt.Errorf("garp: frame %d at %v comes before frame %d at %v: frames must be in time order",
				i+1, f.At, i, frames[i-1].At)
		}
	}
	return nil
}

// dryRun writes the listing of frames to w.
func dryRun(w io.Writer, ifname string, frames []sched.Frame) error {
	if w == nil {
		w = io.Discard
	}
	var b strings.Builder
	for i, f := range frames {
		Describe(&b, i+1, len(frames), ifname, f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Describe writes frame n of total on ifname: the Ethernet header the kernel
// will build, the 28 ARP bytes in hex grouped by field, and the decoded
// fields with how a Linux receiver classifies the shape (spec §4.4).
func Describe(w io.Writer, n, total int, ifname string, f sched.Frame) {
	p := f.Packet
	raw := p.Append(make([]byte, 0, arp.Len))
	fmt.Fprintf(w, "frame %d/%d at +%v on %s: eth dst %v src <%s MAC> type %04x\n",
		n, total, f.At, ifname, f.EthDst, ifname, ether.EtherTypeARP)
	groups := [][]byte{raw[0:2], raw[2:4], raw[4:5], raw[5:6], raw[6:8], raw[8:14], raw[14:18], raw[18:24], raw[24:28]}
	hexes := make([]string, len(groups))
	for i, g := range groups {
		hexes[i] = hex.EncodeToString(g)
	}
	fmt.Fprintf(w, "  hex    %s\n", strings.Join(hexes, " "))
	fmt.Fprintf(w, "  arp    %v sha %v sip %v tha %v tip %v\n", p.Op, p.SHA, p.SIP, p.THA, p.TIP)
	fmt.Fprintf(w, "  linux  %s\n", Shape(p))
}

// Shape says how a current Linux receiver classifies p (arp_is_garp, spec
// §4.4(c)), in words; it is a summary for people, not the model.
func Shape(p arp.Packet) string {
	switch {
	case p.SIP != p.TIP:
		return "not gratuitous (sip != tip)"
	case p.Op == arp.OpRequest:
		return "GARP request: overrides an existing entry even inside locktime (4.12+)"
	case p.Op == arp.OpReply && p.THA == p.SHA:
		return "GARP reply (tha == sha): overrides an existing entry even inside locktime (4.12+)"
	case p.Op == arp.OpReply:
		return "unsolicited reply, NOT a GARP to Linux (tha != sha): ignored inside locktime"
	}
	return fmt.Sprintf("opcode %d: dropped by arp_process", uint16(p.Op))
}
