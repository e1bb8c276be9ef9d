// Package wordmap is a hash map keyed by one 64-bit word, for the lookups
// replay makes on every frame (a MAC or an IPv4 address packed in a
// word). The runtime's map hashes a uint64 key with its seeded AES hash
// and probes through control bytes; for the few thousand keys of a
// capture's neighbours, held in the cache, that was most of the cost of a
// lookup. Here a key is hashed with one multiplication (Fibonacci
// hashing) and probed linearly in one array, and iteration follows the
// slots, so it is the same on every run for the same operations.
package wordmap

import "iter"

// Map maps uint64 keys to V. The zero Map is an empty map ready to use.
type Map[V any] struct {
	slots []slot[V]
	n     int
	shift uint // 64 - log2(len(slots))
}

type slot[V any] struct {
	key  uint64
	full bool
	val  V
}

// minSlots is the size of the first table; it doubles past half full.
const minSlots = 16

// home is the slot key hashes to: the top bits of the key times 2^64/φ.
func (m *Map[V]) home(key uint64) int {
	return int((key * 0x9E3779B97F4A7C15) >> m.shift)
}

// find is the slot holding key, or the empty slot where it would go.
func (m *Map[V]) find(key uint64) int {
	mask := len(m.slots) - 1
	i := m.home(key)
	for m.slots[i].full && m.slots[i].key != key {
		i = (i + 1) & mask
	}
	return i
}

// Get returns the value for key and whether there is one.
func (m *Map[V]) Get(key uint64) (V, bool) {
	if m.n == 0 {
		var zero V
		return zero, false
	}
	s := &m.slots[m.find(key)]
	return s.val, s.full
}

// Set sets the value for key.
func (m *Map[V]) Set(key uint64, v V) {
	if 2*(m.n+1) > len(m.slots) {
		m.grow()
	}
	s := &m.slots[m.find(key)]
	if !s.full {
		s.key, s.full = key, true
		m.n++
	}
	s.val = v
}

// Delete removes key's value, if any. The slots after it in its probe
// run move back, so that no lookup ever passes a hole (no tombstones).
func (m *Map[V]) Delete(key uint64) {
	if m.n == 0 {
		return
	}
	mask := len(m.slots) - 1
	i := m.find(key)
	if !m.slots[i].full {
		return
	}
	m.n--
	for j := (i + 1) & mask; m.slots[j].full; j = (j + 1) & mask {
		// j may fill the hole at i unless its home lies cyclically in
		// (i, j]: then a lookup from its home would stop at i's hole
		// only if it were moved before its home.
		h := m.home(m.slots[j].key)
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			m.slots[i] = m.slots[j]
			i = j
		}
	}
	m.slots[i] = slot[V]{}
}

// Len is the number of keys in the map.
func (m *Map[V]) Len() int { return m.n }

// Clear removes every key, keeping the table's size.
func (m *Map[V]) Clear() {
	clear(m.slots)
	m.n = 0
}

// All yields every key and its value, in slot order: the same order for
// the same sequence of operations on every run. The map must not change
// while it yields.
func (m *Map[V]) All() iter.Seq2[uint64, V] {
	return func(yield func(uint64, V) bool) {
		for i := range m.slots {
			if s := &m.slots[i]; s.full && !yield(s.key, s.val) {
				return
			}
		}
	}
}

// grow doubles the table (or makes the first one) and reinserts every key.
func (m *Map[V]) grow() {
	old := m.slots
	size := max(2*len(old), minSlots)
	m.slots = make([]slot[V], size)
	m.shift = 64
	for s := size; s > 1; s >>= 1 {
		m.shift--
	}
	mask := size - 1
	for i := range old {
		if !old[i].full {
			continue
		}
		j := m.home(old[i].key)
		for m.slots[j].full {
			j = (j + 1) & mask
		}
		m.slots[j] = old[i]
	}
}
