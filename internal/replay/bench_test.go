package replay

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

// Flags of the file-based benchmark (bench/replay.sh):
//
//	go test -run '^TestGenerateBenchCapture$' ./internal/replay -args -out FILE -n 10000000
//	go test -run '^TestReplayBenchFile$' ./internal/replay -args -replay FILE [-json]
var (
	benchOut    = flag.String("out", "", "TestGenerateBenchCapture: write the benchmark capture to this file")
	benchN      = flag.Int("n", 10_000_000, "TestGenerateBenchCapture: number of frames")
	benchReplay = flag.String("replay", "", "TestReplayBenchFile: replay this capture and print frames/s")
	benchHost   = flag.String("host", "10.0.0.1", "TestReplayBenchFile: the observed host")
	benchJSON   = flag.Bool("json", false, "TestReplayBenchFile: encode the trace as JSON lines to io.Discard")
	benchRuns   = flag.Int("runs", 3, "TestReplayBenchFile: replays; the best is reported")
)

// benchNeighbours is how many neighbours the benchmark host has.
const benchNeighbours = 250

func benchMAC(k int) arp.MAC { return arp.MAC{0x02, 0, 0, 0, 1, byte(k)} }
func benchIP(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 0, 0, byte(2 + k)})
}

// writeBenchCapture writes n frames of a busy segment as seen by host
// 10.0.0.1 with 250 neighbours, 5 µs apart: nine in ten are ARP frames
// for entries that exist (requests for the host, gratuitous requests,
// unicast replies), the rest the host's TCP segments and their ACKs. The
// first frame is the host's own ARP request, so identifying the host costs
// one frame.
func writeBenchCapture(w io.Writer, n int) error {
	cw, err := capture.NewWriter(w, capture.Ethernet, true)
	if err != nil {
		return err
	}
	var buf []byte
	frame := func(ts int64, dst, src arp.MAC, et uint16, payload []byte) error {
		buf = ether.Header{Dst: dst, Src: src, EtherType: et}.Append(buf[:0])
		buf = append(buf, payload...)
		for len(buf) < 60 {
			buf = append(buf, 0)
		}
		return cw.WritePacket(ts, buf)
	}
	var pl []byte
	seq := make([]uint32, benchNeighbours)
	for i := 0; i < n; i++ {
		ts := t0 + int64(i)*5000
		k := (i * 7) % benchNeighbours
		mac, ip := benchMAC(k), benchIP(k)
		switch {
		case i == 0:
			pl = request(macHost, ipHost, ip).Append(pl[:0])
			err = frame(ts, arp.Broadcast, macHost, ether.EtherTypeARP, pl)
		case i%10 < 4:
			pl = request(mac, ip, ipHost).Append(pl[:0])
			err = frame(ts, arp.Broadcast, mac, ether.EtherTypeARP, pl)
		case i%10 < 7:
			pl = arp.NewPacket(arp.OpRequest, mac, ip, arp.Zero, ip).Append(pl[:0])
			err = frame(ts, arp.Broadcast, mac, ether.EtherTypeARP, pl)
		case i%10 < 9:
			pl = reply(mac, ip, macHost, ipHost).Append(pl[:0])
			err = frame(ts, macHost, mac, ether.EtherTypeARP, pl)
		case i%20 == 9:
			err = frame(ts, mac, macHost, ether.EtherTypeIPv4, tcp(ipHost, ip, 40000, 22, seq[k], 1, ipv4.FlagACK, 100))
			seq[k] += 100
		default:
			err = frame(ts, macHost, mac, ether.EtherTypeIPv4, tcp(ip, ipHost, 22, 40000, 1, seq[k], ipv4.FlagACK, 0))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func benchOptions(tb testing.TB) Options {
	p, err := kernel.Lookup("6.18")
	if err != nil {
		tb.Fatal(err)
	}
	return Options{Host: *benchHost, Profile: p}
}

// BenchmarkReplay replays an in-memory capture of 200,000 frames (see
// writeBenchCapture) and reports frames per second; the goal is 5 million
// on one core with a quiet sink. "json" encodes every event as a JSON line
// to io.Discard, the cost of `arplab replay --json > file`.
func BenchmarkReplay(b *testing.B) {
	const n = 200_000
	var buf bytes.Buffer
	if err := writeBenchCapture(&buf, n); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	var busy bytes.Buffer
	cw, err := capture.NewWriter(&busy, capture.Ethernet, true)
	if err != nil {
		b.Fatal(err)
	}
	if err := testkit.BusySegment(n, 1000, t0, cw.WritePacket); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		data []byte
		host string
		sink func() trace.Sink
	}{
		{"quiet", data, "10.0.0.1", func() trace.Sink { return trace.Discard{} }},
		{"json", data, "10.0.0.1", func() trace.Sink { return jsonSink(io.Discard) }},
		// testkit.BusySegment: 1,000 neighbours, GARPs with MAC moves
		{"busy-quiet", busy.Bytes(), "10.0.0.1/16", func() trace.Sink { return trace.Discard{} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := bc.data
			opt := benchOptions(b)
			opt.Host = bc.host
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				sum, err := ReplayReader(bytes.NewReader(data), "bench.pcap", opt, bc.sink())
				if err != nil || sum.Frames != n {
					b.Fatalf("replayed %d frames, err %v", sum.Frames, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/float64(b.N), "ns/frame")
		})
	}
}

// jsonSink encodes every event as a JSON line to w.
func jsonSink(w io.Writer) trace.Sink {
	enc := trace.NewEncoder(w)
	return sinkFunc(func(ev trace.Event) { _ = enc.Encode(ev) })
}

// TestGenerateBenchCapture writes the benchmark capture to -out (only when
// the flag is given).
func TestGenerateBenchCapture(t *testing.T) {
	if *benchOut == "" {
		t.Skip("give -out FILE (and -n N) to write the benchmark capture")
	}
	f, err := os.Create(*benchOut)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeBenchCapture(w, *benchN); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReplayBenchFile replays -replay FILE and prints the best of -runs
// rates on stdout (only when the flag is given).
func TestReplayBenchFile(t *testing.T) {
	if *benchReplay == "" {
		t.Skip("give -replay FILE to time a replay")
	}
	opt := benchOptions(t)
	best := time.Duration(0)
	var sum Summary
	for range *benchRuns {
		var sink trace.Sink = trace.Discard{}
		var bw *bufio.Writer
		if *benchJSON {
			bw = bufio.NewWriterSize(io.Discard, 1<<16)
			sink = jsonSink(bw)
		}
		start := time.Now()
		s, err := Replay(*benchReplay, opt, sink)
		if err != nil {
			t.Fatal(err)
		}
		if bw != nil {
			bw.Flush()
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
		sum = s
	}
	mode := "quiet"
	if *benchJSON {
		mode = "json"
	}
	fmt.Printf("replay (%s): %d frames in %.3f s = %.2f million frames/s (%d ARP received, %d GARPs, %d outputs)\n",
		mode, sum.Frames, best.Seconds(), float64(sum.Frames)/best.Seconds()/1e6, sum.Received, sum.GARPs, sum.Outputs)
}

// BenchmarkRankProfiles ranks every profile on testkit.BusySegment's
// capture (RankFrames frames: what `replay --profile auto` does before
// the replay itself).
func BenchmarkRankProfiles(b *testing.B) {
	var busy bytes.Buffer
	cw, err := capture.NewWriter(&busy, capture.Ethernet, true)
	if err != nil {
		b.Fatal(err)
	}
	if err := testkit.BusySegment(RankFrames, 1000, t0, cw.WritePacket); err != nil {
		b.Fatal(err)
	}
	data := busy.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RankProfiles(func() (io.Reader, error) { return bytes.NewReader(data), nil }, "busy.pcap",
			Options{Host: "10.0.0.1/16"}); err != nil {
			b.Fatal(err)
		}
	}
}
