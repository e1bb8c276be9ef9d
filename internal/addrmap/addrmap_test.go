package addrmap

import (
	"net/netip"
	"testing"
)

// TestMap: IPv4, IPv6 and IPv4-mapped IPv6 addresses are distinct keys,
// as they are for a map[netip.Addr].
func TestMap(t *testing.T) {
	m := New[int]()
	addrs := []string{"10.0.0.1", "10.0.0.2", "::ffff:10.0.0.1", "fe80::1", "fe80::1%eth0", "0.0.0.0"}
	for i, s := range addrs {
		m.Set(netip.MustParseAddr(s), i)
	}
	if m.Len() != len(addrs) {
		t.Fatalf("Len %d, want %d", m.Len(), len(addrs))
	}
	for i, s := range addrs {
		if v, ok := m.Get(netip.MustParseAddr(s)); !ok || v != i {
			t.Errorf("Get(%s) = %d, %v; want %d", s, v, ok, i)
		}
	}
	seen := 0
	for a, v := range m.All() {
		if a != netip.MustParseAddr(addrs[v]) {
			t.Errorf("All yields %v with %d, which was set for %s", a, v, addrs[v])
		}
		seen++
	}
	if seen != len(addrs) {
		t.Errorf("All yields %d addresses, want %d", seen, len(addrs))
	}
	if _, ok := m.Get(netip.MustParseAddr("10.0.0.3")); ok {
		t.Error("Get of an absent address found one")
	}
	if _, ok := m.Get(netip.Addr{}); ok {
		t.Error("Get of the zero Addr found one")
	}
	m.Set(netip.Addr{}, 9)
	if v, ok := m.Get(netip.Addr{}); !ok || v != 9 {
		t.Errorf("zero Addr: %d %v", v, ok)
	}
	// Delete removes one key of each kind, and only it
	for _, s := range []string{"10.0.0.1", "fe80::1"} {
		m.Delete(netip.MustParseAddr(s))
		if _, ok := m.Get(netip.MustParseAddr(s)); ok {
			t.Errorf("Get(%s) after Delete found it", s)
		}
	}
	if v, ok := m.Get(netip.MustParseAddr("::ffff:10.0.0.1")); !ok || v != 2 {
		t.Errorf("Delete(10.0.0.1) took ::ffff:10.0.0.1 too: %d %v", v, ok)
	}
	if m.Len() != len(addrs)+1-2 {
		t.Errorf("Len %d after two deletes, want %d", m.Len(), len(addrs)-1)
	}
}
