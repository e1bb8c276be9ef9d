// Package garp turns the gratuitous-ARP behaviour of real senders into exact
// frame schedules: which ARP packets a tool puts on the wire, to which
// Ethernet destination, and at what offset from its start.
//
// A gratuitous ARP (RFC 2002 §4.6, RFC 5227 §3) is an ARP packet whose sender
// and target protocol addresses are both the announced address. Senders
// disagree on everything else — opcode, target hardware address (THA), count
// and spacing — and those differences decide what a Linux receiver does with
// the packet (spec §4.4, field notes §B.2): a REPLY whose THA is not the
// sender's own MAC is not a GARP to Linux and is ignored inside locktime.
// The presets here reproduce each tool's frames byte for byte (field notes
// §B.1) and its timing (§A.2, §A.4, §B.3), so that the simulator and the live
// sender can A/B them against a receiver profile.
//
// The package is pure: no sockets, no clocks, no randomness. Times are
// offsets from the sender's start (vtime.Duration); jitter and process
// scheduling noise belong to the simulator. The live sender
// (arplab/internal/live/garp) paces the same frames on a real interface.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package garp
