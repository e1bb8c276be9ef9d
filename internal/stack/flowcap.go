package stack

import (
	"cmp"
	"slices"
)

// MaxFlows is how many sockets a Host follows at once. A host opens a
// socket per connection (a new source port each time), so a day's capture
// of a busy host would add one per connection for as long as it runs.
// Past it, the host forgets the longer idle half of its sockets, counted
// in FlowsForgotten: a segment on a forgotten socket starts its tracking
// afresh, as at the start of a capture that began mid-connection (a
// received ACK confirms nothing until the host sends on it again, and a
// pending confirmation (spec §6.3) is lost). Linux itself holds far fewer
// sockets per peer: the ones forgotten are long closed.
const MaxFlows = 1 << 16

// flowBook counts the host's sockets and when each was last used.
type flowBook struct {
	n         int    // sockets followed (IPv4 and IPv6)
	use       uint64 // a counter stamped on a socket at each use
	max       int    // MaxFlows (tests set fewer)
	forgotten int
}

// used stamps f as the latest socket used.
func (h *Host) used(f *Flow) {
	h.flows.use++
	f.used = h.flows.use
}

// added counts a new socket, first forgetting the longer idle half when
// the host follows its bound.
func (h *Host) added() {
	if h.flows.max == 0 {
		h.flows.max = MaxFlows
	}
	if h.flows.n >= h.flows.max {
		h.forgetFlows()
	}
	h.flows.n++
}

// FlowsForgotten is how many idle sockets the host forgot (MaxFlows).
func (h *Host) FlowsForgotten() int { return h.flows.forgotten }

// forgetFlows drops the longer idle half of the host's sockets: those
// least recently used (the stamps are distinct, one per use, so the
// order, and so which half goes, never depends on the tables' order).
func (h *Host) forgetFlows() {
	var all []*Flow
	h.socks.each(func(f *Flow) { all = append(all, f) })
	for _, f := range h.socks6 {
		all = append(all, f)
	}
	slices.SortFunc(all, func(a, b *Flow) int { return cmp.Compare(a.used, b.used) })
	n := len(all) / 2
	for _, f := range all[:n] {
		f.forgotten = true
	}
	h.socks.keep(func(f *Flow) bool { return !f.forgotten })
	for k, f := range h.socks6 {
		if f.forgotten {
			delete(h.socks6, k)
		}
	}
	h.flows.n -= n
	h.flows.forgotten += n
}
