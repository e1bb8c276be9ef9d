package capture

import (
	"arplab/internal/testkit"
	"io"
	"testing"
	"time"

	"arplab/internal/wire/arp"

	"github.com/gopacket/gopacket/pcapgo"
)

// loopReader serves a file header once and then its records forever, so a
// benchmark can read b.N frames with one op per frame without building a
// file of b.N records.
type loopReader struct {
	head, body []byte
	pos        int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.head) > 0 {
		n := copy(p, l.head)
		l.head = l.head[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		k := copy(p[n:], l.body[l.pos:])
		n += k
		l.pos = (l.pos + k) % len(l.body)
	}
	return n, nil
}

type benchFile struct {
	name       string
	head, body []byte // file header and the repeated records
}

func (f benchFile) loop() io.Reader { return &loopReader{head: f.head, body: f.body} }

// benchFiles are 1000 gratuitous ARP frames (60 bytes on the wire, as a
// NIC delivers them) with advancing timestamps, in classic pcap and pcapng.
func benchFiles() []benchFile {
	const n = 1000
	p := newPcapFile(leOrder, magicNano, uint32(Ethernet))
	ng := newNgFile().section(leOrder).iface(Ethernet, 0, ngOpt{optIfTsresol, []byte{9}})
	pHead, ngHead := len(p.bytes()), len(ng.bytes())
	for i := range n {
		ts := uint64(1700000000e9 + i*1000)
		frame := testkit.Ether(arp.Broadcast, macA, 0x0806, nil, garpReq)
		p.record(uint32(ts/1e9), uint32(ts%1e9), frame, 0)
		ng.epb(0, ts, frame)
	}
	pb, ngb := p.bytes(), ng.bytes()
	return []benchFile{
		{name: "pcap", head: pb[:pHead], body: pb[pHead:]},
		{name: "pcapng", head: ngb[:ngHead], body: ngb[ngHead:]},
	}
}

// reportRate adds frames/s; one benchmark op is one frame.
func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

// BenchmarkReaderEthernetARP is the replay hot path: Next on a classic pcap
// of Ethernet ARP frames, one op per frame. Replay's budget for the whole
// pipeline is 200 ns/frame (5 million frames/s).
func BenchmarkReaderEthernetARP(b *testing.B) {
	benchReader(b, benchFiles()[0])
}

// BenchmarkReaderPcapngARP is the same frames in pcapng.
func BenchmarkReaderPcapngARP(b *testing.B) {
	benchReader(b, benchFiles()[1])
}

func benchReader(b *testing.B, f benchFile) {
	r, err := NewReader(f.loop(), f.name)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		fr, err := r.Next()
		if err != nil || len(fr.Payload) < arp.Len {
			b.Fatal(err)
		}
	}
	reportRate(b, start)
}

// BenchmarkPcapgo is the comparison behind the decision (see Reader) to
// parse classic pcap ourselves: pcapgo's zero-copy read of the same frames,
// without even the link-layer decoding Next does.
func BenchmarkPcapgo(b *testing.B) {
	f := benchFiles()[0]
	r, err := pcapgo.NewReader(f.loop())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start)
}

// BenchmarkPcapgoNg is pcapgo's NgReader on the pcapng frames.
func BenchmarkPcapgoNg(b *testing.B) {
	f := benchFiles()[1]
	r, err := pcapgo.NewNgReader(f.loop(), pcapgo.NgReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start)
}
