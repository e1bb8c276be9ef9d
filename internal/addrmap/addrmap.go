// Package addrmap is a map keyed by IP address that keeps an IPv4
// address as one 64-bit word in its own open-addressing table (Words). A
// netip.Addr key hashes its 128-bit value and its zone handle through the
// generic (variable-length) hasher; on replay's per-frame path (one
// lookup per line for the text report, one per sent frame for dead-MAC
// tracking) that was a tenth of the time, and a Go map[uint64] still
// half of what remained (Words says why).
package addrmap

import (
	"encoding/binary"
	"iter"
	"net/netip"
)

// Map maps addresses to V. The zero Map is not usable; use New.
type Map[V any] struct {
	v4    Words[V]
	other map[netip.Addr]V
}

// New returns an empty Map.
func New[V any]() *Map[V] {
	return &Map[V]{other: map[netip.Addr]V{}}
}

// key is a's IPv4 address as a word, when a is an IPv4 address without
// a zone (IPv4-mapped IPv6 addresses stay apart, as netip keeps them).
// It reads the address's last four bytes from As16, which unlike As4
// has no panic path and so lets the compiler inline key.
func key(a netip.Addr) (uint64, bool) {
	if !a.Is4() {
		return 0, false
	}
	b := a.As16()
	return uint64(binary.BigEndian.Uint32(b[12:])), true
}

// Get returns the value for a and whether there is one.
func (m *Map[V]) Get(a netip.Addr) (V, bool) {
	if k, ok := key(a); ok {
		return m.v4.Get(k)
	}
	v, ok := m.other[a]
	return v, ok
}

// Set sets the value for a.
func (m *Map[V]) Set(a netip.Addr, v V) {
	if k, ok := key(a); ok {
		m.v4.Set(k, v)
		return
	}
	m.other[a] = v
}

// Delete removes a's value.
func (m *Map[V]) Delete(a netip.Addr) {
	if k, ok := key(a); ok {
		m.v4.Delete(k)
		return
	}
	delete(m.other, a)
}

// Len is the number of addresses in the map.
func (m *Map[V]) Len() int { return m.v4.Len() + len(m.other) }

// All yields every address and its value, in no particular order (the
// IPv4 addresses in Words.All's order, then the others in a Go map's).
// The loop's body must not Set or Delete.
func (m *Map[V]) All() iter.Seq2[netip.Addr, V] {
	return func(yield func(netip.Addr, V) bool) {
		for k, v := range m.v4.All() {
			if !yield(netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}), v) {
				return
			}
		}
		for a, v := range m.other {
			if !yield(a, v) {
				return
			}
		}
	}
}
