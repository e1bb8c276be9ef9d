//go:build linux

package garp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sched "arplab/internal/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

// naFilter is a tcpdump filter for NAs whose IPv6 source is src.
func naFilter(src string) string {
	return "icmp6 and ip6[40] == 136 and src host " + src
}

func naFrame(t *testing.T, preset string, o sched.Options) []byte {
	t.Helper()
	fs, err := sched.NASchedule(preset, livetest.SenderMAC, livetest.VIP6, o)
	if err != nil {
		t.Fatal(err)
	}
	return fs[0].Append(nil, livetest.SenderMAC)
}

func sendNA(t *testing.T, p *livetest.Pair, preset string, o sched.Options) []SentNA {
	t.Helper()
	fs, err := sched.NASchedule(preset, livetest.SenderMAC, livetest.VIP6, o)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := SendNA(context.Background(), p.SenderDev, fs, SendOptions{Netns: p.Sender})
	if err != nil || len(sent) != len(fs) {
		t.Fatalf("SendNA(%s): %d of %d sent, %v", preset, len(sent), len(fs), err)
	}
	return sent
}

// TestSendNAMovesPeer is spec linux-ndisc §10.3 with our sender: an
// override NA moves the observer's REACHABLE entry to the new MAC at once
// (STALE), a non-override one leaves the old MAC (weak override), and
// drop_unsolicited_na=1 ignores even the override.
func TestSendNAMovesPeer(t *testing.T) {
	p := livetest.NewPair(t)
	p.EnableIPv6(t, false)
	p.WaitReady(t)
	vip, old := livetest.VIP6.String(), livetest.OldMAC.String()
	reset := func() {
		livetest.IP(t, p.Observer, "-6", "neigh", "replace", vip, "lladdr", old, "nud", "reachable", "dev", p.ObserverDev)
	}
	wait := func(want string) string {
		deadline := time.Now().Add(time.Second)
		for {
			line := livetest.Neigh(t, p.Observer, p.ObserverDev, livetest.VIP6)
			if strings.Contains(line, want) || time.Now().After(deadline) {
				return line
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	reset()
	sendNA(t, p, sched.Custom, sched.Options{NAFlags: "none"})
	if line := wait("STALE"); !strings.Contains(line, old) || !strings.Contains(line, "STALE") {
		t.Errorf("after a non-override NA the observer has %q, want the old %s, STALE", line, old)
	}
	reset()
	sendNA(t, p, "keepalived", sched.Options{MasterRepeat: 1, MasterDelay: sched.None})
	if line := wait(livetest.SenderMAC.String()); !strings.Contains(line, livetest.SenderMAC.String()) || !strings.Contains(line, "STALE") {
		t.Errorf("after keepalived's NA the observer has %q, want %v, STALE", line, livetest.SenderMAC)
	}
	livetest.Sysctl(t, p.Observer, "net/ipv6/conf/"+p.ObserverDev+"/drop_unsolicited_na", "1")
	reset()
	sendNA(t, p, "keepalived", sched.Options{MasterRepeat: 1, MasterDelay: sched.None})
	time.Sleep(200 * time.Millisecond)
	if line := livetest.Neigh(t, p.Observer, p.ObserverDev, livetest.VIP6); !strings.Contains(line, old) {
		t.Errorf("with drop_unsolicited_na=1 the observer has %q, want the old %s kept", line, old)
	}
}

// TestNAByteIdentityWithKernel captures the kernel's own unsolicited NA
// (ndisc_notify=1, an address finishing DAD, spec linux-ndisc §10.2) and
// the kernel-notify preset sent by SendNA, and compares them byte for byte
// with each other and with the schedule's frame.
func TestNAByteIdentityWithKernel(t *testing.T) {
	p := livetest.NewPair(t)
	p.EnableIPv6(t, true)
	p.WaitReady(t)
	livetest.Sysctl(t, p.Sender, "net/ipv6/conf/"+p.SenderDev+"/ndisc_notify", "1")
	c := livetest.StartCapture(t, p.Observer, p.ObserverDev, 2, naFilter(livetest.VIP6.String()))
	livetest.IP(t, p.Sender, "-6", "addr", "add", livetest.VIP6.String()+"/64", "dev", p.SenderDev)
	// the kernel announces the address when DAD completes (about 1 s);
	// send ours only after it, so the capture's order is known
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(livetest.IP(t, p.Sender, "-6", "addr", "show", "dev", p.SenderDev), "tentative") {
		if time.Now().After(deadline) {
			t.Fatal("DAD did not finish in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	sendNA(t, p, "kernel-notify", sched.Options{})
	frames := c.Frames(t)
	if len(frames) != 2 {
		t.Fatalf("captured %d NAs, want 2", len(frames))
	}
	want := naFrame(t, "kernel-notify", sched.Options{})
	if !bytes.Equal(frames[0], want) {
		t.Errorf("the kernel's NA differs from the kernel-notify preset:\nkernel % x\npreset % x", frames[0], want)
	}
	if !bytes.Equal(frames[1], frames[0]) {
		t.Errorf("SendNA's frame differs from the kernel's:\n ours   % x\n kernel % x", frames[1], frames[0])
	}
}

// keepalived runs keepalived (VRRP only, no fork) in the sender namespace
// with one IPv6 VIP and the given global settings, waits until it is
// MASTER, lets its first burst go out, then stops it.
func keepalived(t *testing.T, p *livetest.Pair, globals string, after time.Duration) {
	t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("needs keepalived (Debian package keepalived) as the reference sender")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	text := fmt.Sprintf(`global_defs {
  router_id arplab
%s
}
vrrp_instance V6 {
  state MASTER
  interface %s
  virtual_router_id 61
  priority 200
  advert_int 1
  virtual_ipaddress {
    %v/64
  }
}
`, globals, p.SenderDev, livetest.VIP6)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command("ip", "netns", "exec", p.Sender, bin, "--dont-fork", "--log-console", "--vrrp",
		"-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}
	defer stop()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(log.String(), "Entering MASTER STATE") {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("keepalived did not become MASTER in 15 s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(after)
	stop()
	t.Logf("keepalived log:\n%s", log.String())
}

// TestNAByteIdentityWithKeepalived runs the real keepalived as the
// reference sender: its NAs for an IPv6 VIP equal the keepalived preset's
// byte for byte, and their number matches the schedule, with and without
// vrrp_gna_interval (whose pending flag shrinks a burst to two NAs).
func TestNAByteIdentityWithKeepalived(t *testing.T) {
	for _, tt := range []struct {
		name, globals string
		o             sched.Options
	}{
		{"defaults, one burst", "  vrrp_garp_master_delay 0", sched.Options{MasterDelay: sched.None}},
		{"vrrp_gna_interval 0.2", "  vrrp_garp_master_delay 0\n  vrrp_gna_interval 0.2", sched.Options{MasterDelay: sched.None, GNAInterval: 200 * vtime.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := livetest.NewPair(t)
			p.EnableIPv6(t, true)
			p.WaitReady(t)
			fs, err := sched.NASchedule("keepalived", livetest.SenderMAC, livetest.VIP6, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			// tcpdump stops after one frame more than the schedule, or
			// is stopped by the deadline of Frames
			c := livetest.StartCapture(t, p.Observer, p.ObserverDev, len(fs)+1, naFilter(livetest.VIP6.String()))
			keepalived(t, p, tt.globals, 1500*time.Millisecond)
			got := c.Stop(t)
			t.Logf("keepalived sent %d NAs in its first 1.5 s as MASTER", len(got))
			if len(got) != len(fs) {
				t.Errorf("keepalived sent %d NAs, the preset schedules %d", len(got), len(fs))
			}
			for i, f := range got {
				want := fs[min(i, len(fs)-1)].Append(nil, livetest.SenderMAC)
				if !bytes.Equal(f, want) {
					t.Errorf("NA %d:\nkeepalived % x\npreset     % x", i+1, f, want)
				}
			}
			var m ndisc.Message
			if len(got) > 0 {
				if err := m.Unmarshal(got[0][14:]); err != nil || !m.ChecksumOK || m.Src != livetest.VIP6 || !m.Override || m.TargetLL != arp.MAC(livetest.SenderMAC) {
					t.Errorf("keepalived's NA decodes to %v, %v", &m, err)
				}
			}
		})
	}
}
