package cli

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/replay"
	"arplab/internal/report"
)

func TestTmpHeap(t *testing.T) {
	p, _ := kernel.Lookup("6.18")
	dg := report.NewDigest(report.DigestOptions{})
	sum, err := replay.Replay(os.Getenv("HEAPCAP"), replay.Options{Host: "10.0.0.1/16", Profile: p}, dg)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	f, _ := os.Create("/tmp/rp/heap.out")
	pprof.WriteHeapProfile(f)
	f.Close()
	t.Log(sum.Frames, dg.Entries(), len(sum.Stale))
}
