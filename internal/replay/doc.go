// Package replay runs a packet capture through the neighbour model: it takes
// the frames one Linux host received and sent, feeds them to a neigh.Table
// that follows a chosen kernel profile, and writes what the model decided
// about every ARP frame — honoured, ignored, dropped, and why — as trace
// events (docs/trace.md).
//
// The question it answers is the one of the GARP story (spec §10): "the
// floating IP moved, gratuitous ARP went out, and this host kept sending to
// the old MAC — which rule made it ignore the GARPs, and for how long did
// the entry point at a dead MAC?" A capture taken on (or next to) the host
// holds everything the model needs for that: the ARP frames with their
// link-layer packet type (spec §4.1, §4.4), the host's own traffic that
// drives the output path (STALE→DELAY, spec §3), and the TCP
// acknowledgements that confirm reachability (spec §6.3).
//
// # What replay derives from a capture
//
//   - The host. Options.Host is its IPv4 address (the MAC is learnt from an
//     ARP frame it sent, an IPv4 frame from or to it) or its MAC (the
//     address is learnt from its ARP frames, else from its IPv4 frames).
//     The model gives it one device, "eth0", with that MAC and the address
//     as a /24 unless Host is written as a prefix ("10.0.0.1/16"): a capture
//     does not carry the netmask, and /24 is the common case. With
//     `tcpdump -i any` (SLL2) and in pcapng files with several interfaces,
//     only frames of the interface (and VLAN) the host was identified on
//     are replayed; the others are counted in Summary.OtherLink.
//   - Direction and packet type. SLL, SLL2 and pcapng epb_flags say what the
//     kernel said (Outgoing = sent by the host). Plain Ethernet records say
//     nothing, so a frame whose source is the host's MAC was sent by it and
//     any other is classified from its destination, as eth_type_trans does:
//     the host's MAC → PACKET_HOST, broadcast → PACKET_BROADCAST, group bit →
//     PACKET_MULTICAST, anything else → PACKET_OTHERHOST (dropped by arp_rcv,
//     spec §4.1, and reported as such).
//   - The model's clock. jiffies = Base + floor((t − t₀)·HZ) with t₀ the
//     first frame's time and Base = 1,000,000, so tick numbers stay short.
//     Before each frame, every timer due is run at its own tick (spec §2.2),
//     and its decisions are written with the capture time of that tick.
//     Time never runs backwards for the model: a frame stamped earlier than
//     its predecessor is processed at the predecessor's tick (counted in
//     Summary.ClockBackwards). A gap longer than an hour, or four times the
//     largest timer parameter if that is longer, is shortened to that length
//     (Summary.ClockJumps): by then every timer has run and the table is
//     idle, and a corrupt timestamp must not make the model step through
//     centuries of periodic work.
//   - Entries that existed before the capture. Options.Initial lists them;
//     they are installed locktime + 1 ticks before the first frame, so the
//     first frame never falls inside a locktime window the capture cannot
//     show. Unless Options.NoInferEntries is set, replay also infers one
//     when the capture proves it: the host sends a unicast frame to MAC M
//     for a next hop N the model has never had an entry for — the host must
//     have had N at M already. The entry is installed as STALE, the same way.
//   - The host's traffic. Every IPv4 frame the host sends goes through
//     Table.Output for its next hop: the destination when it is inside the
//     host's subnet, otherwise the gateway, recognised by the frame's
//     destination MAC as the IP whose ARP frames carry that MAC. Each TCP
//     4-tuple is one neigh.Socket, each UDP or other peer another; all of
//     them share one cached route per next-hop kind (the subnet, or one per
//     gateway), as they would on one CPU (spec §6.1).
//   - Confirmations. A TCP segment received by the host that acknowledges
//     new data or a SYN while the socket had data outstanding
//     (FLAG_FORWARD_PROGRESS), or that is a pure duplicate ACK (no data, no
//     window change, nothing new acknowledged), calls Table.Confirm for
//     that socket, as tcp_ack does (spec §6.3). snd_una and snd_nxt are
//     tracked from the segments the host sent.
//   - Probes. The ARP requests the host sent are its probes; they are
//     compared with the probes the model predicted, to the target, kind
//     (unicast to which MAC, or broadcast) and time within a tolerance
//     (Options.ProbeTolerance). A broadcast request for a target the model
//     has no usable entry for means the host had a packet for it that the
//     capture cannot show (it was queued, spec §3), so replay first hands
//     the model such a packet (Summary.InferredOutputs).
//   - Dead MACs. A frame the host sends to MAC M (its Ethernet destination,
//     or where the model sent it when the capture has no destination
//     address) is answered when any frame from M follows within one
//     second. From the first unanswered send until the host sends to
//     another MAC for that IP or the model moves the entry to another MAC
//     (its lladdr changed), M is heard from again, or the capture ends, the
//     entry "pointed at a MAC that stopped answering": a StaleSpan. A peer
//     that never sends anything back (one-way UDP) also looks dead; its ARP
//     replies to the host's probes end such a span.
//
// Records the capture reader skips and ARP payloads that do not decode are
// counted by reason in Summary.Skipped and written as one note per reason at
// the end; nothing is dropped silently and no input makes replay panic
// (FuzzReplay).
//
// With Options.Quiet, or a trace.Discard sink, no event is built at all:
// the explanations are formatted only for a sink that keeps them, and the
// replay of a capture of ARP frames runs at several million frames per
// second (BenchmarkReplay, bench/replay.sh).
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package replay
