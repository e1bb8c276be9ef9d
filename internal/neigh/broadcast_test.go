package neigh

import (
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

// TestIsBroadcastAsPrefixes: IsBroadcast, which compares 32-bit words,
// answers as netip's prefix arithmetic does (the limited broadcast, or
// the last address of a device subnet shorter than /31), and
// senderUnicast as netip's address classes do (spec §4.4: inet_addr_type
// of the sender). Addresses are drawn near the subnets' edges.
func TestIsBroadcastAsPrefixes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		word := func(label string) [4]byte {
			v := rapid.OneOf(rapid.Uint32(), rapid.SampledFrom([]uint32{0, 0xffffffff, 0x0a00ffff, 0x7f000001, 0xe0000001, 0x0a000000})).Draw(t, label)
			return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		}
		var d Device
		for i := rapid.IntRange(0, 3).Draw(t, "addrs"); i > 0; i-- {
			d.Addrs = append(d.Addrs, netip.PrefixFrom(netip.AddrFrom4(word("addr")), rapid.IntRange(0, 32).Draw(t, "bits")))
		}
		var ip netip.Addr
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			ip = netip.AddrFrom4(word("ip"))
		case 1, 2: // a subnet's last address, or one beside it
			if len(d.Addrs) == 0 {
				return
			}
			p := d.Addrs[rapid.IntRange(0, len(d.Addrs)-1).Draw(t, "which")].Masked()
			last := p.Addr()
			for q := last.Next(); q.IsValid() && p.Contains(q); q = q.Next() {
				last = q
				if p.Bits() < 24 { // jump: walking a /0 would take all day
					b := p.Addr().As4()
					m := uint32(1)<<(32-p.Bits()) - 1
					v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | m
					last = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
					break
				}
			}
			ip = last
			if rapid.Bool().Draw(t, "beside") {
				ip = ip.Prev()
			}
		default:
			ip = netip.MustParseAddr(rapid.SampledFrom([]string{"255.255.255.255", "::1", "fe80::1", "::ffff:10.0.0.255"}).Draw(t, "other"))
		}
		want := ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})
		for _, p := range d.Addrs {
			if p.Bits() < 31 {
				m := p.Masked()
				next := ip.Next()
				want = want || (m.Contains(ip) && (!next.IsValid() || !m.Contains(next)))
			}
		}
		if got := d.IsBroadcast(ip); got != want {
			t.Fatalf("IsBroadcast(%v) on %v = %v, want %v", ip, d.Addrs, got, want)
		}
		tb := &Table{devs: []*Device{&d}}
		wantU := ip.Is4() && !ip.IsUnspecified() && !ip.IsMulticast() && !ip.IsLoopback() && !want && !d.IsLocal(ip)
		if got := tb.senderUnicast(&d, ip); got != wantU {
			t.Fatalf("senderUnicast(%v) on %v = %v, want %v", ip, d.Addrs, got, wantU)
		}
	})
}
