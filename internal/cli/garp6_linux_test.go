//go:build linux

package cli

import (
	"bytes"
	"strings"
	"testing"

	"arplab/internal/live/livetest"
)

// TestGarpIPv6DryRunMatchesKernel is issue 18's check: the frame
// `arplab garp IFACE IP --ipv6 --preset kernel-notify --dry-run` prints is
// byte for byte the NA the kernel itself sends (ndisc_notify=1, an address
// finishing DAD), captured on the peer.
func TestGarpIPv6DryRunMatchesKernel(t *testing.T) {
	p := livetest.NewPair(t)
	p.EnableIPv6(t, true)
	p.WaitReady(t)
	livetest.Sysctl(t, p.Sender, "net/ipv6/conf/"+p.SenderDev+"/ndisc_notify", "1")
	c := livetest.StartCapture(t, p.Observer, p.ObserverDev, 1, "icmp6 and ip6[40] == 136 and src host "+livetest.VIP6.String())
	livetest.IP(t, p.Sender, "-6", "addr", "add", livetest.VIP6.String()+"/64", "dev", p.SenderDev)
	got := c.Frames(t)
	out, errs, code := run(t, "garp", p.SenderDev, livetest.VIP6.String(), "--ipv6", "--preset", "kernel-notify",
		"--netns", p.Sender, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	ours := dryRunFrames(t, out)
	if len(got) != 1 || len(ours) != 1 {
		t.Fatalf("captured %d kernel NAs, printed %d frames; want 1 and 1", len(got), len(ours))
	}
	if !bytes.Equal(ours[0], got[0]) {
		t.Errorf("dry run differs from the kernel's NA:\n ours   % x\n kernel % x\n%s", ours[0], got[0], out)
	}
	// and sending it for real puts those bytes on the wire
	c = livetest.StartCapture(t, p.Observer, p.ObserverDev, 1, "icmp6 and ip6[40] == 136 and src host "+livetest.VIP6.String())
	out, errs, code = run(t, "garp", p.SenderDev, livetest.VIP6.String(), "--preset", "kernel-notify", "--netns", p.Sender)
	if code != 0 || !strings.Contains(out, "sent 1 NA(s) on "+p.SenderDev) {
		t.Fatalf("sending: exit %d: %s%s", code, out, errs)
	}
	if sent := c.Frames(t); len(sent) != 1 || !bytes.Equal(sent[0], got[0]) {
		t.Errorf("sent NA differs from the kernel's:\n sent   % x\n kernel % x", sent, got[0])
	}
	// the Router flag follows the interface's forwarding, read at send time
	livetest.Sysctl(t, p.Sender, "net/ipv6/conf/"+p.SenderDev+"/forwarding", "1")
	out, _, _ = run(t, "garp", p.SenderDev, livetest.VIP6.String(), "--preset", "kernel-notify", "--netns", p.Sender, "--dry-run")
	if !strings.Contains(out, "[RO]") {
		t.Errorf("with forwarding=1 the NA has no R flag:\n%s", out)
	}
}
