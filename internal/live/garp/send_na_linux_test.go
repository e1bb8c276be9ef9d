//go:build linux

package garp

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/ndp"

	sched "arplab/internal/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/nsexec"
	"arplab/internal/vtime"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// naFilter is a tcpdump filter for NAs whose IPv6 source is src.
func naFilter(src string) string {
	return "icmp6 and ip6[40] == 136 and src host " + src
}

func naFrame(t *testing.T, preset string, o sched.Options) []byte {
	t.Helper()
	return mustSchedule(t, sched.NASchedule, preset, livetest.SenderMAC, livetest.VIP6, o)[0].Append(nil, livetest.SenderMAC)
}

func sendNA(t *testing.T, p *livetest.Pair, preset string, o sched.Options) []SentNA {
	t.Helper()
	return sendAll(t, p, sched.NASchedule, SendNA, livetest.VIP6, preset, o)
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
	wait := func(want string) string { return waitNeigh(t, p, livetest.VIP6, want, time.Second) }
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
// with one VIP (IPv4 or IPv6, with its prefix length) and the given global
// settings, waits until it is MASTER, lets its first burst go out, then
// stops it.
func keepalived(t *testing.T, p *livetest.Pair, globals, vip string, after time.Duration) {
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
    %s
  }
}
`, globals, p.SenderDev, vip)
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

// TestNAByteIdentityWithMetalLBLibrary sends MetalLB's gratuitous NA the
// way MetalLB does — mdlayher/ndp's Conn on the link-local address,
// writing NeighborAdvertisement{Override, TargetAddress, target
// link-layer option} to ff02::1 (internal/layer2/ndp.go advertise) — and
// compares the captured frame with the metallb preset's, byte for byte.
// The kernel fills the IPv6 header of that socket; with auto_flowlabels
// (the default) its flow label is a hash, so the namespace turns it off
// (net.ipv6.auto_flowlabels=0), which makes the label 0 as the preset has it.
func TestNAByteIdentityWithMetalLBLibrary(t *testing.T) {
	p := livetest.NewPair(t)
	p.EnableIPv6(t, false)
	p.WaitReady(t)
	livetest.Sysctl(t, p.Sender, "net/ipv6/auto_flowlabels", "0")
	ll := ndisc.LinkLocal(livetest.SenderMAC)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(livetest.IP(t, p.Sender, "-6", "addr", "show", "dev", p.SenderDev), "tentative") {
		if time.Now().After(deadline) {
			t.Fatal("the link-local address did not finish DAD in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := livetest.StartCapture(t, p.Observer, p.ObserverDev, 1, naFilter(ll.String()))
	err := nsexec.Do(p.Sender, func() error {
		ifi, err := net.InterfaceByName(p.SenderDev)
		if err != nil {
			return err
		}
		conn, src, err := ndp.Listen(ifi, ndp.LinkLocal)
		if err != nil {
			return err
		}
		defer conn.Close()
		if src.WithZone("") != ll {
			return fmt.Errorf("ndp chose source %v, want the EUI-64 link-local %v", src, ll)
		}
		na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: livetest.VIP6,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ifi.HardwareAddr}}}
		return conn.WriteTo(na, nil, netip.MustParseAddr("ff02::1"))
	})
	if err != nil {
		t.Fatalf("sending with mdlayher/ndp: %v", err)
	}
	got := c.Frames(t)
	want := naFrame(t, "metallb", sched.Options{})
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Errorf("MetalLB's NA (mdlayher/ndp) differs from the metallb preset:\nndp    % x\npreset % x", got, want)
	}
}

// TestByteIdentityWithKeepalived runs the real keepalived as the reference
// sender: its NAs for an IPv6 VIP and its GARPs for an IPv4 one equal the
// keepalived presets' frames byte for byte (GARPs padded to Ethernet's
// minimum), and their number matches the schedule, with and without
// vrrp_gna_interval / vrrp_garp_interval (whose pending flag shrinks a
// burst of 5 to 2).
func TestByteIdentityWithKeepalived(t *testing.T) {
	vip4 := netip.MustParseAddr("10.99.0.200")
	na := func(o sched.Options) ([][]byte, error) {
		fs, err := sched.NASchedule("keepalived", livetest.SenderMAC, livetest.VIP6, o)
		var out [][]byte
		for _, f := range fs {
			out = append(out, f.Append(nil, livetest.SenderMAC))
		}
		return out, err
	}
	garp := func(o sched.Options) ([][]byte, error) {
		fs, err := sched.Schedule("keepalived", livetest.SenderMAC, vip4, o)
		var out [][]byte
		for _, f := range fs {
			out = append(out, f.Packet.Append(ether.Header{Dst: f.EthDst, Src: livetest.SenderMAC, EtherType: ether.EtherTypeARP}.Append(nil)))
		}
		return out, err
	}
	ms200 := 200 * vtime.Millisecond
	for _, tt := range []struct {
		name, globals, vip, filter string
		ipv6                       bool
		frames                     func(sched.Options) ([][]byte, error)
		o                          sched.Options
	}{
		{"NA, defaults", "", livetest.VIP6.String() + "/64", naFilter(livetest.VIP6.String()), true, na, sched.Options{MasterDelay: sched.None}},
		{"NA, vrrp_gna_interval 0.2", "  vrrp_gna_interval 0.2", livetest.VIP6.String() + "/64", naFilter(livetest.VIP6.String()), true, na,
			sched.Options{MasterDelay: sched.None, GNAInterval: ms200}},
		{"GARP, defaults", "", vip4.String() + "/24", "arp and arp[14:4] = 0x0a6300c8", false, garp, sched.Options{MasterDelay: sched.None}},
		{"GARP, vrrp_garp_interval 0.2", "  vrrp_garp_interval 0.2", vip4.String() + "/24", "arp and arp[14:4] = 0x0a6300c8", false, garp,
			sched.Options{MasterDelay: sched.None, GARPInterval: ms200}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := livetest.NewPair(t)
			if tt.ipv6 {
				p.EnableIPv6(t, true)
			}
			p.WaitReady(t)
			want, err := tt.frames(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			// tcpdump stops after one frame more than the schedule, or
			// is stopped once keepalived is
			c := livetest.StartCapture(t, p.Observer, p.ObserverDev, len(want)+1, tt.filter)
			keepalived(t, p, "  vrrp_garp_master_delay 0\n"+tt.globals, tt.vip, 1500*time.Millisecond)
			got := c.Stop(t)
			t.Logf("keepalived sent %d frames in its first 1.5 s as MASTER", len(got))
			if len(got) != len(want) {
				t.Errorf("keepalived sent %d frames, the preset schedules %d", len(got), len(want))
			}
			for i, f := range got {
				w := want[min(i, len(want)-1)]
				// keepalived pads a GARP to Ethernet's 60-byte minimum
				if len(f) < len(w) || !bytes.Equal(f[:len(w)], w) || !bytes.Equal(f[len(w):], make([]byte, len(f)-len(w))) {
					t.Errorf("frame %d:\nkeepalived % x\npreset     % x", i+1, f, w)
				}
			}
		})
	}
}
