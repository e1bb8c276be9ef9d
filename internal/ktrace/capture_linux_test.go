package ktrace_test

import (
	"context"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/labsys"
	"arplab/internal/neigh"
	"arplab/internal/testkit"
	"arplab/internal/wire/arp"
)

var capture = flag.Bool("lab.capture", false, "rewrite testdata/trace-*.txt and testdata/format-*.txt from this kernel")

var (
	macObs = arp.MAC{0x02, 0, 0, 0, 0, 0x01}
	macOld = arp.MAC{0x02, 0, 0, 0, 0, 0xaa}
	macNew = arp.MAC{0x02, 0, 0, 0, 0, 0xbb}
	vip    = netip.MustParseAddr("10.99.0.100")
)

// TestCaptureTrace records real neigh:* lines and format files for the
// parser tests. Run `go test ./internal/ktrace -run TestCaptureTrace
// -lab.capture` as root on a new kernel and review the diff.
func TestCaptureTrace(t *testing.T) {
	if !*capture {
		t.Skip("run with -lab.capture to rewrite the testdata")
	}
	l, err := labnet.New(labnet.DefaultPrefix() + "-capture")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	obsIf, sndIf := l.IfName("o"), l.IfName("s")
	obs, err := l.AddHost("obs")
	if err != nil {
		t.Fatal(err)
	}
	snd, err := l.AddHost("snd")
	if err != nil {
		t.Fatal(err)
	}
	seg, err := l.AddSegment("lan")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Attach(obs, obsIf, seg, macObs, []netip.Prefix{netip.MustParsePrefix("10.99.0.1/24")}); err != nil {
		t.Fatal(err)
	}
	if err := l.Attach(snd, sndIf, seg, macNew, []netip.Prefix{netip.MustParsePrefix("10.99.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	sndPort, err := snd.OpenRaw(sndIf)
	if err != nil {
		t.Fatal(err)
	}
	tracer, err := l.StartTracer(ktrace.TracerOptions{Devs: []string{obsIf}})
	if err != nil {
		t.Fatal(err)
	}
	dev := "net/ipv4/neigh/" + obsIf + "/"
	for k, v := range map[string]string{
		"base_reachable_time_ms": "200", // REACHABLE expires quickly: timer events
		"mcast_solicit":          "1",
		"retrans_time_ms":        "100", // an unresolved entry fails quickly
	} {
		if err := obs.SetSysctl(dev+k, v); err != nil {
			t.Fatal(err)
		}
	}
	// admin update, flags 85
	if err := obs.NeighSet(neigh.AdminReplace, labnet.NeighSpec{Dev: obsIf, IP: vip, LLAddr: macOld, HasLLAddr: true, State: neigh.Reachable}); err != nil {
		t.Fatal(err)
	}
	reply := testkit.ARPFrame(arp.Broadcast, macNew, arp.NewPacket(arp.OpReply, macNew, vip, arp.Broadcast, vip))
	if _, err := sndPort.Send(reply); err != nil { // ignored: flags 00
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past locktime; REACHABLE timed out
	req := testkit.ARPFrame(arp.Broadcast, macNew, arp.NewPacket(arp.OpRequest, macNew, vip, arp.Broadcast, vip))
	if _, err := sndPort.Send(req); err != nil { // GARP: flags 01
		t.Fatal(err)
	}
	unknown := netip.MustParseAddr("10.99.0.77")
	if err := obs.NeighSet(neigh.AdminReplace, labnet.NeighSpec{Dev: obsIf, IP: unknown, State: neigh.None, Use: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // INCOMPLETE -> FAILED
	if err := obs.NeighDel(obsIf, vip); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tracer.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	rel, _ := labsys.KernelRelease()
	var b strings.Builder
	b.WriteString("# neigh:* lines from kernel " + rel + " (TestCaptureTrace)\n")
	b.WriteString("# devices: " + obsIf + "; vip " + vip.String() + " old " + macOld.String() + " new " + macNew.String() + "\n")
	for _, ev := range tracer.Events() {
		b.WriteString(ev.Raw + "\n")
	}
	version := strings.Join(strings.SplitN(rel, ".", 3)[:2], ".")
	if err := os.WriteFile(filepath.Join("testdata", "trace-"+version+".txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ev := range tracer.Enabled() {
		text, err := os.ReadFile(filepath.Join(tracer.Dir(), "events", "neigh", ev, "format"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "format-"+version+"-"+ev+".txt"), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d events", len(tracer.Events()))
}
