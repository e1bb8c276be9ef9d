package ndisc

import (
	"testing"

	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv6"
)

// FuzzFrame feeds Ethernet frames to UnmarshalFrame: no input panics, and
// anything that decodes re-encodes (AppendFrame) to a frame that decodes to
// the same message with a right checksum and nothing left uncounted
// ("parse, build, parse"). Encoding the re-decoded message again gives the
// same bytes. Seeds live in testdata/fuzz/FuzzFrame: each ND type, a DAD NS
// with a nonce, a VLAN-tagged NA, a hop-by-hop header, a malformed option,
// and tcpdump's icmpv6-length-zero frame.
func FuzzFrame(f *testing.F) {
	m := unsolicitedNA()
	f.Add(AppendFrame(nil, ether.Header{Dst: AllNodesMAC, Src: macA}, &m))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h ether.Header
		var m Message
		if err := UnmarshalFrame(b, &h, &m); err != nil {
			return
		}
		if m.Type.IsND() != true {
			t.Fatalf("decoded a non-ND type %d", m.Type)
		}
		if !m.Src.Is6() || !m.Dst.Is6() {
			t.Fatalf("decoded addresses %v, %v", m.Src, m.Dst)
		}
		enc := AppendFrame(nil, h, &m)
		var h2 ether.Header
		var m2 Message
		if err := UnmarshalFrame(enc, &h2, &m2); err != nil {
			t.Fatalf("re-decode of % x: %v", enc, err)
		}
		if !m2.ChecksumOK || m2.Unknown != 0 || m2.Duplicates != 0 {
			t.Fatalf("re-encoded message %v: checksum ok %v, %d unknown, %d duplicate options", &m2, m2.ChecksumOK, m2.Unknown, m2.Duplicates)
		}
		want := m
		want.Checksum, want.ChecksumOK, want.Unknown, want.Duplicates = m2.Checksum, true, 0, 0
		if m2 != want || h2 != h {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", want, m2)
		}
		if again := AppendFrame(nil, h2, &m2); string(again) != string(enc) {
			t.Fatalf("second encoding differs:\n% x\n% x", enc, again)
		}
		if len(enc) != h.Len()+ipv6.HeaderLen+m.ICMPLen() {
			t.Fatalf("encoded %d bytes, ICMPLen says %d", len(enc), m.ICMPLen())
		}
	})
}
