package addrmap

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// TestWordsLikeAMap: any sequence of Set, Delete and Get gives what a Go
// map gives, and after each step the table's own invariants hold (every
// key found from its home without crossing an empty slot, at most half
// full, the count right). Keys come mostly from a small range, so that
// runs of colliding keys form and deletions must shift them back, and
// include 0 and the largest word.
func TestWordsLikeAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var w Words[int]
		ref := map[uint64]int{}
		key := rapid.OneOf(rapid.Uint64Range(0, 48), rapid.Uint64(), rapid.SampledFrom([]uint64{0, 1, math.MaxUint64}))
		steps := rapid.IntRange(0, 400).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			k := key.Draw(t, "key")
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5:
				w.Set(k, i)
				ref[k] = i
			case op < 8:
				w.Delete(k)
				delete(ref, k)
			}
			v, ok := w.Get(k)
			if rv, rok := ref[k]; v != rv || ok != rok {
				t.Fatalf("Get(%d) = %d, %v; the map has %d, %v", k, v, ok, rv, rok)
			}
			checkWords(t, &w, ref)
		}
		// every key of the map, and only those, once each
		seen := map[uint64]bool{}
		for k, v := range w.All() {
			if seen[k] {
				t.Fatalf("All yields %d twice", k)
			}
			seen[k] = true
			if rv, ok := ref[k]; !ok || rv != v {
				t.Fatalf("All yields %d=%d; the map has %d, %v", k, v, rv, ok)
			}
		}
		if len(seen) != len(ref) {
			t.Fatalf("All yields %d keys, the map has %d", len(seen), len(ref))
		}
	})
}

// checkWords checks w's invariants against the reference map.
func checkWords(t *rapid.T, w *Words[int], ref map[uint64]int) {
	if w.Len() != len(ref) {
		t.Fatalf("Len %d, the map has %d", w.Len(), len(ref))
	}
	if 2*w.n > len(w.slots) {
		t.Fatalf("%d keys in %d slots: more than half full", w.n, len(w.slots))
	}
	mask := uint64(len(w.slots) - 1)
	n := 0
	for i, s := range w.slots {
		if s.k == 0 {
			continue
		}
		n++
		for j := w.home(s.k); j != uint64(i); j = (j + 1) & mask {
			if w.slots[j].k == 0 {
				t.Fatalf("key %d in slot %d is cut off from its home %d by the empty slot %d", s.k, i, w.home(s.k), j)
			}
		}
		if v, ok := ref[s.k]; !ok || v != s.v {
			t.Fatalf("slot %d holds %d=%d; the map has %d, %v", i, s.k, s.v, v, ok)
		}
	}
	if n != w.n {
		t.Fatalf("%d keys in the slots, count says %d", n, w.n)
	}
}

// TestWordsOrder: the order of All depends only on what was done to the
// table, so two tables given the same steps walk alike.
func TestWordsOrder(t *testing.T) {
	build := func() []uint64 {
		var w Words[bool]
		for i := uint64(0); i < 5000; i++ {
			w.Set(0x0a000000|i*7919%65536, true)
			if i%3 == 0 {
				w.Delete(0x0a000000 | (i/2)*7919%65536)
			}
		}
		var ks []uint64
		for k := range w.All() {
			ks = append(ks, k)
		}
		return ks
	}
	a, b := build(), build()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("walks of %d and %d keys", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("walks differ at %d: %d, %d", i, a[i], b[i])
		}
	}
}

// TestWordsChangeInsideAll: Set or Delete inside an All loop panics
// rather than yielding a key twice or missing one; after the loop (even
// one left early) the table changes again.
func TestWordsChangeInsideAll(t *testing.T) {
	var w Words[int]
	for k := uint64(1); k <= 10; k++ {
		w.Set(k, int(k))
	}
	for _, change := range []func(){func() { w.Set(11, 11) }, func() { w.Delete(3) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a change inside All did not panic")
				}
			}()
			for range w.All() {
				change()
			}
		}()
	}
	for range w.All() {
		break
	}
	w.Set(11, 11)
	w.Delete(3)
	if _, ok := w.Get(3); ok || w.Len() != 10 {
		t.Errorf("after the loops: 3 still there (%v) or Len %d, want 10", ok, w.Len())
	}
}

// BenchmarkWordsGet compares a lookup with a Go map's, on a table of
// 1,000 addresses of a /16 (replay's busy segment), half the keys absent.
func BenchmarkWordsGet(b *testing.B) {
	const n = 1000
	keys := make([]uint64, 2*n)
	for i := range keys {
		keys[i] = 0x0a000000 | uint64(i*37%65536)
	}
	var w Words[*int]
	m := map[uint64]*int{}
	for _, k := range keys[:n] {
		v := new(int)
		w.Set(k, v)
		m[k] = v
	}
	b.Run("words", func(b *testing.B) {
		found := 0
		for i := 0; b.Loop(); i++ {
			if _, ok := w.Get(keys[i%len(keys)]); ok {
				found++
			}
		}
		if found == 0 {
			b.Fatal("found nothing")
		}
	})
	b.Run("map", func(b *testing.B) {
		found := 0
		for i := 0; b.Loop(); i++ {
			if _, ok := m[keys[i%len(keys)]]; ok {
				found++
			}
		}
		if found == 0 {
			b.Fatal("found nothing")
		}
	})
}
