package addrmap

import "iter"

// Words is a hash table keyed by 64-bit words: an IPv4 address (Map), or
// a device index and an IPv4 address in one word (the neighbour table's
// arp_tbl keys). The zero Words is an empty table ready to use.
//
// Why not a Go map[uint64]V: replay asks one of these tables for nearly
// every frame, and a Go map pays for generality there (a seeded hash of
// the key, a directory of tables, a group of eight control bytes to
// match, ≈ 90 instructions a lookup under callgrind). Here a lookup is a
// multiplication, a shift and, at most half full, one or two adjacent
// slots to compare (≈ 20 instructions).
//
// The layout: open addressing with linear probing in a power-of-two
// array of (key, value) slots, at most half full; a slot whose key is 0
// is empty, so key 0 (the address 0.0.0.0) lives beside the array.
// Deletion shifts the following slots back (no tombstones), so a table
// that sees many deletions stays as fast as a fresh one.
//
// The hash is Fibonacci hashing, the key times 2⁶⁴/φ, keeping the top
// bits: addresses that follow one another, or a subnet's addresses, fall
// evenly over the array. It is not seeded (Go's map is): keys chosen to
// collide can make a table slow, never wrong. In exchange the layout, and
// so the order of All, depends only on the keys set and deleted, in which
// order; callers that print sort anyway.
type Words[V any] struct {
	slots []wordSlot[V]
	shift uint8 // 64 − log2(len(slots))
	n     int   // keys in slots
	// key 0, which an empty slot's key cannot tell apart
	hasZero bool
	zero    V
	// walking counts the All loops in progress: Set and Delete move
	// slots, which a walk would then see twice or miss, so they panic
	// while one runs (a Go map allows it; no caller needs to).
	walking int
}

type wordSlot[V any] struct {
	k uint64
	v V
}

// fib is 2⁶⁴ divided by the golden ratio, rounded to odd.
const fib = 0x9e3779b97f4a7c15

// minWords is the size of a table's first array.
const minWords = 8

// home is the slot where a search for k starts.
func (w *Words[V]) home(k uint64) uint64 { return (k * fib) >> w.shift }

// Get returns the value for k and whether there is one.
func (w *Words[V]) Get(k uint64) (V, bool) {
	if k != 0 && len(w.slots) > 0 {
		mask := uint64(len(w.slots) - 1)
		for i := w.home(k); ; i = (i + 1) & mask {
			s := &w.slots[i]
			if s.k == k {
				return s.v, true
			}
			if s.k == 0 {
				break
			}
		}
	} else if k == 0 && w.hasZero {
		return w.zero, true
	}
	var zero V
	return zero, false
}

// Set sets the value for k.
func (w *Words[V]) Set(k uint64, v V) {
	w.mutating()
	if k == 0 {
		w.hasZero, w.zero = true, v
		return
	}
	if 2*(w.n+1) > len(w.slots) {
		w.grow()
	}
	mask := uint64(len(w.slots) - 1)
	for i := w.home(k); ; i = (i + 1) & mask {
		s := &w.slots[i]
		if s.k == k {
			s.v = v
			return
		}
		if s.k == 0 {
			s.k, s.v = k, v
			w.n++
			return
		}
	}
}

// grow doubles the array (or makes the first one) and sets every key
// again.
func (w *Words[V]) grow() {
	old := w.slots
	size := max(minWords, 2*len(old))
	w.slots = make([]wordSlot[V], size)
	w.shift = uint8(64 - log2(size))
	mask := uint64(size - 1)
	for _, s := range old {
		if s.k == 0 {
			continue
		}
		i := w.home(s.k)
		for w.slots[i].k != 0 {
			i = (i + 1) & mask
		}
		w.slots[i] = s
	}
}

func log2(n int) int {
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// Delete removes k's value.
func (w *Words[V]) Delete(k uint64) {
	w.mutating()
	var zero V
	if k == 0 {
		w.hasZero, w.zero = false, zero
		return
	}
	if len(w.slots) == 0 {
		return
	}
	mask := uint64(len(w.slots) - 1)
	i := w.home(k)
	for w.slots[i].k != k {
		if w.slots[i].k == 0 {
			return // absent
		}
		i = (i + 1) & mask
	}
	// Empty slot i, then bring back each following key of the run whose
	// search would now stop at the hole before reaching it: a key whose
	// home is not cyclically inside (i, j].
	for j := (i + 1) & mask; w.slots[j].k != 0; j = (j + 1) & mask {
		h := w.home(w.slots[j].k)
		if (j-h)&mask >= (j-i)&mask {
			w.slots[i] = w.slots[j]
			i = j
		}
	}
	w.slots[i] = wordSlot[V]{}
	w.n--
}

func (w *Words[V]) mutating() {
	if w.walking > 0 {
		panic("addrmap: a table changed inside its own All loop")
	}
}

// Len is the number of keys in the table.
func (w *Words[V]) Len() int {
	if w.hasZero {
		return w.n + 1
	}
	return w.n
}

// All yields every key and its value: the array's in slot order, then
// key 0. The loop's body must not Set or Delete (it panics if it does).
func (w *Words[V]) All() iter.Seq2[uint64, V] {
	return func(yield func(uint64, V) bool) {
		w.walking++
		defer func() { w.walking-- }()
		for i := range w.slots {
			if s := &w.slots[i]; s.k != 0 && !yield(s.k, s.v) {
				return
			}
		}
		if w.hasZero {
			yield(0, w.zero)
		}
	}
}
