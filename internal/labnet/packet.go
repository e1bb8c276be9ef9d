package labnet

import (
	"fmt"
	"time"
)

// PacketType is the sll_pkttype the kernel gives a received frame. It
// matters to ARP: a reply that is not PACKET_HOST leaves the entry STALE
// instead of REACHABLE (arp_process, spec §4.4).
type PacketType uint8

// Packet types (include/uapi/linux/if_packet.h).
const (
	PacketHost      PacketType = 0 // to us (unicast to our MAC)
	PacketBroadcast PacketType = 1 // to all
	PacketMulticast PacketType = 2 // to a group
	PacketOtherHost PacketType = 3 // unicast to someone else, seen because the segment floods
	PacketOutgoing  PacketType = 4 // sent by this host (the kernel's own ARP, not ours)
)

func (t PacketType) String() string {
	switch t {
	case PacketHost:
		return "host"
	case PacketBroadcast:
		return "broadcast"
	case PacketMulticast:
		return "multicast"
	case PacketOtherHost:
		return "otherhost"
	case PacketOutgoing:
		return "outgoing"
	}
	return fmt.Sprintf("pkttype(%d)", uint8(t))
}

// Frame is one frame read from a RawPort.
type Frame struct {
	Data []byte     // the whole Ethernet frame, header included
	Type PacketType // sll_pkttype
	At   time.Time  // when recvfrom returned (carries a monotonic reading)
}

// Captured is one frame a Capture recorded.
type Captured struct {
	// AtNs is the kernel's timestamp in CLOCK_MONOTONIC nanoseconds
	// (receive, or hand-off to the driver).
	AtNs int64
	// Stamped is false when the kernel gave no timestamp and AtNs is the
	// time the frame was read.
	Stamped bool
	Type    PacketType // PacketOutgoing for what the host sent
	Data    []byte     // from the Ethernet header (IPv4 frames cut after 134 bytes)
	Len     int        // the frame's full length
}

// SegmentOptions configures a segment's bridge.
type SegmentOptions struct {
	// FloodUnknown turns the bridge into a hub: learning off and ageing
	// time 0, so every unicast frame reaches every port (other hosts see it
	// as PacketOtherHost). The default is a learning bridge with the
	// kernel's default ageing (300 s): unicast reaches only the port where
	// the destination MAC was last seen, and floods only until then.
	FloodUnknown bool
}
