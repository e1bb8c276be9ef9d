// Command replaygen writes the capture bench/replay.sh replays: a busy
// segment as one host sees it (testkit.BusySegment: 1,000 neighbours of
// 10.0.0.1/16, their requests, the host's replies, GARPs with MAC moves,
// unicast TCP), as a classic pcap tcpdump reads. -repeat writes the same
// frames again after the end, shifted in time, so that a capture ten times
// as long holds the same story ten times (the memory check).
//
//	replaygen -n 2000000 -o busy.pcap
//	replaygen -n 2000000 -repeat 10 -o busy20m.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"arplab/internal/capture"
	"arplab/internal/testkit"
)

func main() {
	n := flag.Int("n", 2_000_000, "frames")
	neighbours := flag.Int("neighbours", 1000, "neighbours of the host")
	repeat := flag.Int("repeat", 1, "write the frames this many times, one after the other")
	out := flag.String("o", "", "output pcap file")
	flag.Parse()
	if *out == "" || *n < 1 || *repeat < 1 || *neighbours < 1 {
		fmt.Fprintln(os.Stderr, "replaygen: -o FILE is required; -n, -repeat and -neighbours must be positive")
		os.Exit(2)
	}
	if err := write(*out, *n, *neighbours, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "replaygen:", err)
		os.Exit(1)
	}
}

func write(path string, n, neighbours, repeat int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw, err := capture.NewWriter(bw, capture.Ethernet, true)
	if err != nil {
		return err
	}
	const t0 = 1_700_000_000 * int64(1e9)
	span := int64(n) * testkit.BusyGap
	for r := range repeat {
		shift := int64(r) * span
		if err := testkit.BusySegment(n, neighbours, t0, func(ts int64, frame []byte) error {
			return cw.WritePacket(ts+shift, frame)
		}); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
