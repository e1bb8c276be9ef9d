package labnet

import (
	"arplab/internal/wire/ether"
	"time"
)

// Frame is one frame read from a RawPort.
type Frame struct {
	Data []byte        // the whole Ethernet frame, header included
	Type ether.PktType // sll_pkttype
	At   time.Time     // when recvfrom returned (carries a monotonic reading)
}

// Captured is one frame a Capture recorded.
type Captured struct {
	// AtNs is the kernel's timestamp in CLOCK_MONOTONIC nanoseconds
	// (receive, or hand-off to the driver).
	AtNs int64
	// Stamped is false when the kernel gave no timestamp and AtNs is the
	// time the frame was read.
	Stamped bool
	Type    ether.PktType // ether.PktOutgoing for what the host sent
	Data    []byte        // from the Ethernet header (IPv4 frames cut after 134 bytes)
	Len     int           // the frame's full length
}

// SegmentOptions configures a segment's bridge.
type SegmentOptions struct {
	// FloodUnknown turns the bridge into a hub: learning off and ageing
	// time 0, so every unicast frame reaches every port (other hosts see it
	// as ether.PktOtherHost). The default is a learning bridge with the
	// kernel's default ageing (300 s): unicast reaches only the port where
	// the destination MAC was last seen, and floods only until then.
	FloodUnknown bool
}
