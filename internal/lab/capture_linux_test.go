package lab

import (
	"context"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"arplab/internal/wire/arp"
)

var capture = flag.Bool("lab.capture", false, "rewrite testdata/trace-*.txt and testdata/format-*.txt from this kernel")

// TestCaptureTrace records real neigh:* lines and format files for the
// parser tests. Run `go test ./internal/lab -run TestCaptureTrace
// -lab.capture` as root on a new kernel and review the diff.
func TestCaptureTrace(t *testing.T) {
	if !*capture {
		t.Skip("run with -lab.capture to rewrite the testdata")
	}
	p := newPair(t, SegmentOptions{}, true)
	dev := "net/ipv4/neigh/" + p.obsIf + "/"
	for k, v := range map[string]string{
		"base_reachable_time_ms": "200", // REACHABLE expires quickly: timer events
		"mcast_solicit":          "1",
		"retrans_time_ms":        "100", // an unresolved entry fails quickly
	} {
		if err := p.obs.SetSysctl(dev+k, v); err != nil {
			t.Fatal(err)
		}
	}
	p.setEntry(t, macOld, "reachable") // admin update, flags 85
	reply := arpFrame(arp.Broadcast, arp.OpReply, macNew, vip, arp.Broadcast)
	if _, err := p.sndPort.Send(reply); err != nil { // ignored: flags 00
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past locktime; REACHABLE timed out
	req := arpFrame(arp.Broadcast, arp.OpRequest, macNew, vip, arp.Broadcast)
	if _, err := p.sndPort.Send(req); err != nil { // GARP: flags 01
		t.Fatal(err)
	}
	unknown := netip.MustParseAddr("10.99.0.77")
	if err := p.obs.NeighSet(NeighReplace, NeighSpec{Dev: p.obsIf, IP: unknown, State: "none", Use: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // INCOMPLETE -> FAILED
	if err := p.obs.NeighDel(p.obsIf, vip); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.tracer.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	rel, _ := KernelRelease()
	var b strings.Builder
	b.WriteString("# neigh:* lines from kernel " + rel + " (TestCaptureTrace)\n")
	b.WriteString("# devices: " + p.obsIf + "; vip " + vip.String() + " old " + macOld.String() + " new " + macNew.String() + "\n")
	for _, ev := range p.tracer.Events() {
		b.WriteString(ev.Raw + "\n")
	}
	version := strings.Join(strings.SplitN(rel, ".", 3)[:2], ".")
	if err := os.WriteFile(filepath.Join("testdata", "trace-"+version+".txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ev := range p.tracer.Enabled() {
		text, err := os.ReadFile(filepath.Join(p.tracer.sys.inst, "events", "neigh", ev, "format"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "format-"+version+"-"+ev+".txt"), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d events", len(p.tracer.Events()))
}
