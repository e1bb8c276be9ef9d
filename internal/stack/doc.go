// Package stack is one Linux host around the neighbour model: its devices
// and addresses, its routes and the cached route objects whose
// pending-confirmation bit pre-4.11 kernels share (spec §6.1), its
// sockets and the TCP acknowledgement rule that confirms neighbours
// (§6.3), the output path's choice of next hop (§3), `ip neigh` commands,
// sysctl writes and entries that existed before a run.
//
// Every driver of the model goes through a Host: the simulator (time is
// virtual nanoseconds), replay (time is the capture's) and verify (time is
// the kernel's jiffies, fitted from the lab's clock). A driver calls one
// method per input; the Host advances the table's timers, feeds the
// input, and hands each neigh.Result to the driver's Observer together
// with the Input that caused it. What a driver does on top — put frames on
// a simulated wire, match predicted probes against a capture, compare with
// the kernel — lives in its Observer, not in a copy of this loop. The
// trace lines for a result (a decision event, then a state line when a
// frame changed the entry; a probe line per probe sent) are written by
// Host.Lines and Host.ProbeLine, in one spelling for every producer; the
// frame objects in them by trace.ARPFields and trace.NDFields.
//
// A model input is added here once: a new neigh input becomes one Host
// method and one InputKind, and each driver only supplies its source.
//
// The behavioural reference is ../shared/spec/linux-neighbour.md, cited
// by section (§3, §6.1 …) where a rule is implemented.
package stack
