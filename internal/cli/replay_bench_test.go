package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/testkit"
)

// BenchmarkReplayCommand runs `arplab replay` as a user does, on a busy
// segment's capture (testkit.BusySegment, 200,000 frames, 1,000
// neighbours), writing to io.Discard: the path bench/replay.sh times
// as a binary, here for `go test -cpuprofile`.
func BenchmarkReplayCommand(b *testing.B) {
	const n = 200_000
	path := filepath.Join(b.TempDir(), "busy.pcap")
	writeBusy(b, path, n)
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"text", nil},
		{"json", []string{"--json"}},
		{"text-6.18", []string{"--profile", "6.18"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			args := append([]string{"replay", path, "--host", "10.0.0.1/16"}, bc.args...)
			b.ReportAllocs()
			for b.Loop() {
				if code := Run(context.Background(), args, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// writeBusy writes n frames of testkit.BusySegment (1,000 neighbours) as a
// pcap at path.
func writeBusy(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	cw, err := capture.NewWriter(bw, capture.Ethernet, true)
	if err != nil {
		tb.Fatal(err)
	}
	if err := testkit.BusySegment(n, 1000, 1_700_000_000*1e9, cw.WritePacket); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}
