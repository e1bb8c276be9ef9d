package wordmap

import (
	"maps"
	"testing"

	"pgregory.net/rapid"
)

// TestMatchesBuiltinMap: any sequence of sets and deletes leaves the same
// contents as a Go map given the same sequence, and every key stays
// reachable (keys are drawn from a small range so that probe runs collide
// and wrap around the table's end).
func TestMatchesBuiltinMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m Map[int]
		want := map[uint64]int{}
		key := rapid.OneOf(rapid.Uint64Range(0, 40), rapid.Uint64(), rapid.Just(uint64(0)), rapid.Just(^uint64(0)))
		for i, n := 0, rapid.IntRange(0, 400).Draw(t, "ops"); i < n; i++ {
			k := key.Draw(t, "key")
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				m.Set(k, i)
				want[k] = i
			case 2:
				m.Delete(k)
				delete(want, k)
			case 3:
				v, ok := m.Get(k)
				w, wok := want[k]
				if v != w || ok != wok {
					t.Fatalf("Get(%d) = %d, %v; want %d, %v", k, v, ok, w, wok)
				}
			}
			if m.Len() != len(want) {
				t.Fatalf("Len %d, want %d", m.Len(), len(want))
			}
		}
		got := maps.Collect(m.All())
		if !maps.Equal(got, want) {
			t.Fatalf("All yields %v, want %v", got, want)
		}
		for k, w := range want {
			if v, ok := m.Get(k); !ok || v != w {
				t.Fatalf("Get(%d) = %d, %v; want %d", k, v, ok, w)
			}
		}
	})
}

// TestDeleteKeepsRunsReachable: deleting from the middle of a probe run
// that wraps around the end of the table leaves every other key of the
// run found (the case backward-shift deletion must get right).
func TestDeleteKeepsRunsReachable(t *testing.T) {
	var m Map[uint64]
	m.Set(1, 1) // makes the first table
	// keys whose home is the last slot, so their run wraps to slot 0
	var wrap []uint64
	last := len(m.slots) - 1
	for k := uint64(2); len(wrap) < 5; k++ {
		if m.home(k) == last {
			wrap = append(wrap, k)
		}
	}
	for _, k := range wrap {
		m.Set(k, k)
	}
	for i, k := range wrap {
		m.Delete(k)
		for _, o := range wrap[i+1:] {
			if v, ok := m.Get(o); !ok || v != o {
				t.Fatalf("after deleting %d, Get(%d) = %d, %v", k, o, v, ok)
			}
		}
		if _, ok := m.Get(k); ok {
			t.Fatalf("Get(%d) after Delete found it", k)
		}
	}
	if v, ok := m.Get(1); !ok || v != 1 || m.Len() != 1 {
		t.Fatalf("Get(1) = %d, %v, Len %d", v, ok, m.Len())
	}
}

// TestAllOrderRepeats: the same operations give the same iteration order.
func TestAllOrderRepeats(t *testing.T) {
	build := func() []uint64 {
		var m Map[bool]
		for k := uint64(0); k < 1000; k += 7 {
			m.Set(k*0x10001, true)
		}
		for k := uint64(0); k < 1000; k += 21 {
			m.Delete(k * 0x10001)
		}
		var keys []uint64
		for k := range m.All() {
			keys = append(keys, k)
		}
		return keys
	}
	a, b := build(), build()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d keys", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("order differs at %d: %d vs %d", i, a[i], b[i])
		}
	}
}

// BenchmarkGet compares a lookup of one of 2,000 present keys with the
// runtime map's.
func BenchmarkGet(b *testing.B) {
	var m Map[int]
	bm := map[uint64]int{}
	keys := make([]uint64, 2000)
	for i := range keys {
		keys[i] = 0x020000000000 | uint64(i)*0x10001
		m.Set(keys[i], i)
		bm[keys[i]] = i
	}
	b.Run("wordmap", func(b *testing.B) {
		s := 0
		for i := 0; b.Loop(); i++ {
			v, _ := m.Get(keys[i%len(keys)])
			s += v
		}
		_ = s
	})
	b.Run("builtin", func(b *testing.B) {
		s := 0
		for i := 0; b.Loop(); i++ {
			s += bm[keys[i%len(keys)]]
		}
		_ = s
	})
}
