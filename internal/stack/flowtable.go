package stack

import "encoding/binary"

// flowTable holds the host's IPv4 sockets by their key in two words
// (flowWords). It replaces a Go map[uint64]*Flow keyed by one word with a
// chain per word for the rest of the key, because replay looks a flow up
// for every TCP segment the host sends or receives, and there the
// runtime's map took 11% of a busy replay's time
// (BenchmarkReplay/busy-quiet: mapaccess1_fast64 with its seeded
// memhash64 and group matching), more than the TCP rule itself; and
// comparing the chain's 14-byte FlowKey cost about 16 instructions a
// lookup (callgrind). Here a lookup is one multiplication, a masked index
// and, almost always, one 24-byte entry compared word by word, without
// touching the flow until it is found: the table stays at most half
// full, so linear probing rarely looks past the first entry.
//
// Iteration (each) visits entries in index order, which depends only on
// the keys inserted, in what order, and the table's size: never on a
// random seed, so every run sees the same order (and nothing reported
// depends on it: forgetFlows orders by use).
//
// The hash is Fibonacci hashing (the top bits after a multiplication by
// 2^64/φ) of the two words xored: a capture's remote addresses and ports
// vary in the low bits of each field, and the multiplication carries every
// bit into the top bits the index is taken from. It is not seeded, so a
// capture built to collide could make lookups linear in the number of
// flows, which MaxFlows bounds.
type flowTable struct {
	e     []flowEntry // len is a power of two (or 0)
	shift uint        // 64 - log2(len(e))
	n     int         // entries in use
}

// flowEntry is one flow and its key; f nil: unused.
type flowEntry struct {
	hi, lo uint64
	f      *Flow
}

// flowWords is a flow key in two words: hi its remote address and ports
// (the part that tells a host's flows apart), lo its protocol and local
// address.
func flowWords(proto uint8, local, remote [4]byte, lport, rport uint16) (hi, lo uint64) {
	hi = uint64(binary.BigEndian.Uint32(remote[:]))<<32 | uint64(lport)<<16 | uint64(rport)
	lo = uint64(proto)<<32 | uint64(binary.BigEndian.Uint32(local[:]))
	return hi, lo
}

// fibonacci is 2^64/φ, odd: multiplying by it spreads a key's bits.
const fibonacci = 0x9e3779b97f4a7c15

// minFlowTable is a new table's size.
const minFlowTable = 64

// get is the flow with key hi, lo, nil when there is none. Small enough
// to inline into the per-segment paths.
func (t *flowTable) get(hi, lo uint64) *Flow {
	mask := uint64(len(t.e) - 1)
	for i := ((hi ^ lo) * fibonacci) >> t.shift; len(t.e) > 0; i = (i + 1) & mask {
		e := &t.e[i&mask]
		if e.hi == hi && e.lo == lo || e.f == nil {
			return e.f
		}
	}
	return nil
}

// put adds f, whose key the table does not hold.
func (t *flowTable) put(hi, lo uint64, f *Flow) {
	if 2*(t.n+1) > len(t.e) {
		t.resize(max(2*len(t.e), minFlowTable), nil)
	}
	*t.free(hi, lo) = flowEntry{hi, lo, f}
	t.n++
}

// free is the unused entry where key hi, lo goes (the table holds neither
// it nor no unused entry).
func (t *flowTable) free(hi, lo uint64) *flowEntry {
	mask := uint64(len(t.e) - 1)
	for i := ((hi ^ lo) * fibonacci) >> t.shift; ; i = (i + 1) & mask {
		if e := &t.e[i&mask]; e.f == nil {
			return e
		}
	}
}

// resize moves every flow kept reports true for (nil: all) into a table
// of size entries (a power of two, more than twice the flows kept), in
// the old table's index order.
func (t *flowTable) resize(size int, kept func(*Flow) bool) {
	old := t.e
	t.e = make([]flowEntry, size)
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
	t.n = 0
	for _, o := range old {
		if o.f == nil {
			continue
		}
		if kept != nil && !kept(o.f) {
			continue
		}
		*t.free(o.hi, o.lo) = o
		t.n++
	}
}

// each calls fn for every flow, in index order.
func (t *flowTable) each(fn func(*Flow)) {
	for _, e := range t.e {
		if e.f != nil {
			fn(e.f)
		}
	}
}

// keep drops every flow kept reports false for.
func (t *flowTable) keep(kept func(*Flow) bool) {
	t.resize(len(t.e), kept)
}
