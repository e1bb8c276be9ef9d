package arp

import (
	"bytes"
	"testing"
)

// FuzzARP checks the codec's round trip: anything Unmarshal accepts must
// re-encode to exactly the 28 bytes it read, and decode again to the same
// Packet ("parse, marshal, parse"). Seeds live in testdata/fuzz/FuzzARP,
// including ARP payloads cut from tcpdump's test captures.
func FuzzARP(f *testing.F) {
	f.Add([]byte{
		0x00, 0x01, // HardwareType: Ethernet
		0x08, 0x00, // ProtocolType: IPv4
		0x06, 0x04, // HLEN, PLEN
		0x00, 0x01, // Op: request
		0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // SHA
		10, 0, 0, 10, // SIP
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // THA
		10, 0, 0, 10, // TIP == SIP: gratuitous
	})
	f.Add([]byte{
		0x00, 0x06, // HardwareType: IEEE 802, accepted like Ethernet (spec §4.2)
		0x08, 0x00,
		0x06, 0x04,
		0x00, 0x02, // Op: reply
		0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
		10, 0, 0, 10,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // THA == SHA: a reply Linux treats as gratuitous
		10, 0, 0, 10,
		0x00, 0x00, 0x00, 0x00, // Ethernet padding, ignored
	})
	// Exercises ErrLengths before ErrShort: a 14-byte hardware address
	// (tcpdump's arp-too-long-tha.pcap).
	f.Add([]byte{0x30, 0x30, 0x08, 0x00, 0x0e, 0x04, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := p.Unmarshal(b); err != nil {
			return
		}
		enc := p.Append(nil)
		if !bytes.Equal(enc, b[:Len]) {
			t.Fatalf("Append = % x, want the decoded bytes % x", enc, b[:Len])
		}
		m, err := p.Marshal()
		if err != nil || !bytes.Equal(m, enc) {
			t.Fatalf("Marshal = % x, %v, want % x", m, err, enc)
		}
		var p2 Packet
		if err := p2.Unmarshal(enc); err != nil {
			t.Fatalf("re-Unmarshal of % x: %v", enc, err)
		}
		if p2 != p {
			t.Fatalf("round trip changed the packet: %+v, then %+v", p, p2)
		}
	})
}
