// Package ktrace reads the kernel's neigh:* tracepoints: a Tracer owns a
// private tracefs instance (its own ring buffer, filter and clock, so it
// neither sees nor disturbs anyone else's tracing) and streams its
// trace_pipe through the Parser, which turns each line into an Event and
// checks it against the event's format file, so a kernel whose output
// changed fails loudly instead of being misread.
//
// The tracepoints are the only place where the kernel reports an ARP update
// it ignored (netlink reports effective changes only; field notes §G), which
// makes them the oracle of the lab (internal/lab) and the source of
// `watch --trace` (internal/live/watch). Neither needs the other: this
// package knows nothing of scenarios or namespaces.
//
// The entry states are the model's (neigh.State); the update flags are
// the kernel's NEIGH_UPDATE_F_* bits as the tracepoint prints them.
package ktrace
