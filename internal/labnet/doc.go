// Package labnet builds small Ethernet networks out of Linux network
// namespaces so that arplab's predictions can be checked against the
// running kernel (internal/lab runs scenarios on them).
//
// A Lab owns everything it creates and removes it on Close:
//
//   - hosts: named network namespaces ("<prefix>-<name>") with lo up and
//     IPv6 disabled, so the only neighbour traffic is the ARP we cause;
//     EnableIPv6 (or an IPv6 address given to Attach) turns it on without
//     DAD, router solicitations or RAs, for neighbour-discovery scenarios;
//   - segments: a Linux bridge, each in its own namespace
//     ("<prefix>-sw-<name>"), so nothing is ever created in the root
//     namespace;
//   - attachments: a veth pair whose host end carries the requested name,
//     MAC and addresses and whose other end is a bridge port;
//   - raw ports (AF_PACKET sockets opened inside a host namespace) for
//     injecting hand-built frames and for capturing ARP with its
//     sll_pkttype, and captures that record ARP, IPv4 and IPv6 frames with
//     the kernel's timestamps;
//   - tracers (internal/ktrace) named after the lab, so that a killed
//     run's trace instances are found and removed like its namespaces.
//
// A host's neighbour tables (ARP, and ND once IPv6 is on) are read and
// written over netlink (Neighbours, NeighSet with the model's neigh.AdminOp
// and neigh.State, NeighTable and NDTable for the parameters in force),
// its sysctls through /proc/sys inside the namespace.
//
// Namespaces are entered only on goroutines locked to their OS thread, and
// the thread is switched back before it is unlocked; if switching back fails
// the thread stays locked and the Go runtime destroys it when the goroutine
// exits, so no other goroutine ever runs in the wrong namespace.
//
// Everything needs root (CAP_NET_ADMIN, CAP_NET_RAW and, for namespaces and
// mounts, CAP_SYS_ADMIN). Errors caused by missing privileges match
// labsys.ErrNotPermitted. Only Linux is supported; on other systems every
// constructor returns labsys.ErrUnsupported.
//
// Runs that were killed leave namespaces, trace instances and tracefs mounts
// behind; their names all start with "arplab-<pid>", and CleanStale removes
// those whose process is gone.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package labnet
