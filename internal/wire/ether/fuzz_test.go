package ether

import (
	"bytes"
	"testing"
)

// FuzzEther checks that Unmarshal never panics and that anything it accepts
// re-encodes to exactly the bytes it read, and decodes again to the same
// Header ("parse, marshal, parse"). Seeds live in testdata/fuzz/FuzzEther;
// the ones added here cover each branch of the tag walk.
func FuzzEther(f *testing.F) {
	f.Add([]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
		0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f, // src
		0x08, 0x06, // EtherType ARP
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // start of an ARP packet
	})
	f.Add([]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
		0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f, // src
		0x88, 0xa8, 0x00, 0xc8, // 802.1ad S-tag, VID 200
		0x81, 0x00, 0x07, 0xd1, // 802.1Q C-tag, VID 2001
		0x08, 0x06, // ARP
	})
	// Exercises ErrShortTag: a TPID with no TCI after it.
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x91, 0x00})
	// Exercises ErrTooManyTags.
	f.Add(append(make([]byte, 12), bytes.Repeat([]byte{0x81, 0x00, 0xff, 0xff}, MaxTags+1)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		off, err := h.Unmarshal(b)
		if err != nil {
			return
		}
		if off != h.Len() || off > len(b) {
			t.Fatalf("Unmarshal offset = %d, Len() = %d, input length %d", off, h.Len(), len(b))
		}
		enc := h.Append(nil)
		if !bytes.Equal(enc, b[:off]) {
			t.Fatalf("Append = % x, want the decoded bytes % x", enc, b[:off])
		}
		var h2 Header
		off2, err := h2.Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-Unmarshal of % x: %v", enc, err)
		}
		if off2 != off || h2 != h {
			t.Fatalf("round trip changed the header: %+v (offset %d), then %+v (offset %d)", h, off, h2, off2)
		}
	})
}
