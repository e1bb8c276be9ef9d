// Package capture reads packet captures (classic pcap and pcapng, as written
// by tcpdump, dumpcap and Wireshark) and turns every record into a Frame: the
// few link-layer facts the Linux ARP receive path depends on, plus the ARP
// payload. It also writes classic pcap files.
//
// Replay needs three things from a capture that the link layer, not the ARP
// packet, carries (spec §4.1): when the frame arrived, whether it was
// addressed to the capturing host, to everyone, or to someone else
// (skb->pkt_type, which decides whether arp_rcv looks at it at all), and who
// sent it. Ethernet captures give the addresses but no packet type, Linux
// "cooked" captures (`tcpdump -i any`, link types LINUX_SLL and LINUX_SLL2)
// give the packet type and the source but no destination; Frame records what
// the file has and says which parts are present.
//
// Records arplab cannot use (other link types in a pcapng file, frames cut
// short by the snap length inside the link header, a truncated last record)
// are skipped and counted by reason, never returned as errors, because one odd
// frame must not stop the replay of a long capture. Damage that makes the rest
// of the file unreadable is an *Error naming the file and byte offset. No
// input makes the reader panic; FuzzReader checks that.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package capture
