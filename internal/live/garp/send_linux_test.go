//go:build linux

package garp

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	sched "arplab/internal/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// sendAll sends a preset's frames announcing ip at livetest.SenderMAC
// from the pair's sender, with Send (ARP) or SendNA (IPv6 NAs), and fails
// the test unless every one left.
func sendAll[F any](t *testing.T, p *livetest.Pair, schedule func(string, arp.MAC, netip.Addr, sched.Options) ([]F, error),
	send func(context.Context, string, []F, SendOptions) ([]Sending[F], error), ip netip.Addr, preset string, o sched.Options) []Sending[F] {
	t.Helper()
	fs := mustSchedule(t, schedule, preset, livetest.SenderMAC, ip, o)
	sent, err := send(context.Background(), p.SenderDev, fs, SendOptions{Netns: p.Sender})
	if err != nil || len(sent) != len(fs) {
		t.Fatalf("sending %s: %d of %d frames sent, %v", preset, len(sent), len(fs), err)
	}
	return sent
}

func send(t *testing.T, p *livetest.Pair, preset string, o sched.Options) []Sent {
	t.Helper()
	return sendAll(t, p, sched.Schedule, Send, livetest.VIP, preset, o)
}

// waitNeigh polls the observer's entry for ip until it contains want or
// the timeout passes, and returns the last line seen.
func waitNeigh(t *testing.T, p *livetest.Pair, ip netip.Addr, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		line := livetest.Neigh(t, p.Observer, p.ObserverDev, ip)
		if strings.Contains(line, want) || time.Now().After(deadline) {
			return line
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSendUpdatesPeer is field notes §G case A with our sender: a GARP
// request overrides the observer's existing entry at once — unless the
// observer sets drop_gratuitous_arp (spec §4.2 step 6).
func TestSendUpdatesPeer(t *testing.T) {
	p := livetest.NewPair(t)
	old, vip := livetest.OldMAC.String(), livetest.VIP.String()

	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", old, "nud", "stale", "dev", p.ObserverDev)
	send(t, p, "arping-U", sched.Options{Count: 1})
	if line := waitNeigh(t, p, livetest.VIP, livetest.SenderMAC.String(), time.Second); !strings.Contains(line, livetest.SenderMAC.String()) {
		t.Errorf("after a GARP request the observer has %q, want lladdr %v", line, livetest.SenderMAC)
	}

	livetest.Sysctl(t, p.Observer, "net/ipv4/conf/"+p.ObserverDev+"/drop_gratuitous_arp", "1")
	livetest.IP(t, p.Observer, "neigh", "replace", vip, "lladdr", old, "nud", "stale", "dev", p.ObserverDev)
	send(t, p, "arping-U", sched.Options{Count: 1})
	if line := waitNeigh(t, p, livetest.VIP, livetest.SenderMAC.String(), 300*time.Millisecond); !strings.Contains(line, old) {
		t.Errorf("with drop_gratuitous_arp=1 the observer has %q, want the old lladdr %s kept", line, old)
	}
}

// TestSendPacing checks that frames keep their schedule: none leaves
// before its offset, and they leave in order. How late one leaves depends
// on how busy the machine is, so it is logged, not asserted.
func TestSendPacing(t *testing.T) {
	p := livetest.NewPair(t)
	sent := send(t, p, "custom", sched.Options{Mode: sched.ModeBoth, Count: 3, Interval: 100 * vtime.Millisecond})
	if len(sent) != 6 {
		t.Fatalf("sent %d frames, want 6 (3 requests and 3 replies)", len(sent))
	}
	for i, s := range sent {
		if lag := s.Offset - time.Duration(s.Frame.At); lag < 0 {
			t.Errorf("frame %d left at +%v, before its offset +%v", i+1, s.Offset, s.Frame.At)
		} else {
			t.Logf("frame %d left %v after its offset +%v", i+1, lag, s.Frame.At)
		}
		if i > 0 && s.Offset < sent[i-1].Offset {
			t.Errorf("frame %d left at +%v, before frame %d (+%v)", i+1, s.Offset, i, sent[i-1].Offset)
		}
	}
}

func TestSendRefuses(t *testing.T) {
	p := livetest.NewPair(t)
	fs := mustSchedule(t, sched.Schedule, "arping-U", livetest.SenderMAC, livetest.VIP, sched.Options{Count: 1})
	ctx := context.Background()

	_, err := Send(ctx, "nosuch0", fs, SendOptions{Netns: p.Sender})
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("missing interface: error = %v, want ErrNoInterface naming it", err)
	}
	_, err = Send(ctx, "lo", fs, SendOptions{Netns: p.Sender})
	if !errors.Is(err, ErrInterfaceDown) && !errors.Is(err, ErrNotARPCapable) {
		t.Errorf("loopback: error = %v, want ErrInterfaceDown or ErrNotARPCapable", err)
	}
	livetest.IP(t, p.Sender, "link", "set", "lo", "up")
	_, err = Send(ctx, "lo", fs, SendOptions{Netns: p.Sender})
	if !errors.Is(err, ErrNotARPCapable) {
		t.Errorf("loopback up: error = %v, want ErrNotARPCapable", err)
	}

	other, err := sched.Schedule("arping-U", livetest.SenderMAC, livetest.ObserverIP, sched.Options{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Send(ctx, p.SenderDev, other, SendOptions{Netns: p.Sender})
	if !errors.Is(err, ErrAddressNotOnLink) || !strings.Contains(err.Error(), "10.99.0.1 is not on s0") {
		t.Errorf("foreign address: error = %v, want ErrAddressNotOnLink naming 10.99.0.1 and s0", err)
	}
	if _, err = Send(ctx, p.SenderDev, other, SendOptions{Netns: p.Sender, Force: true}); err != nil {
		t.Errorf("foreign address with Force: %v", err)
	}

	livetest.IP(t, p.Sender, "link", "set", p.SenderDev, "down")
	_, err = Send(ctx, p.SenderDev, fs, SendOptions{Netns: p.Sender})
	if !errors.Is(err, ErrInterfaceDown) || !strings.Contains(err.Error(), "s0") {
		t.Errorf("interface down: error = %v, want ErrInterfaceDown naming s0", err)
	}
}

// TestSendWithoutCapNetRaw runs Send on a thread that joined the sender
// namespace and dropped CAP_NET_RAW from its effective set (capabilities are
// per thread), and expects the clear refusal.
func TestSendWithoutCapNetRaw(t *testing.T) {
	p := livetest.NewPair(t)
	fs := mustSchedule(t, sched.Schedule, "arping-U", livetest.SenderMAC, livetest.VIP, sched.Options{Count: 1})
	errc := make(chan error, 1)
	go func() {
		// This thread ends up in the test namespace without CAP_NET_RAW;
		// it stays locked so it dies with the goroutine.
		runtime.LockOSThread()
		ns, err := netns.GetFromName(p.Sender)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[unix.CAP_NET_RAW/32].Effective &^= 1 << (unix.CAP_NET_RAW % 32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		_, err = Send(context.Background(), p.SenderDev, fs, SendOptions{})
		errc <- err
	}()
	err := <-errc
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "needs CAP_NET_RAW (run as root)") {
		t.Errorf("without CAP_NET_RAW: error = %v, want ErrPermission", err)
	}
}

// TestByteIdentityWithArping captures `arping -U/-A -c 1` and our preset on
// the sender's veth and compares the frames byte for byte.
func TestByteIdentityWithArping(t *testing.T) {
	livetest.Need(t, "tcpdump")
	arping, err := exec.LookPath("arping")
	if err != nil {
		t.Skip("needs iputils arping (Debian package iputils-arping) for the byte comparison")
	}
	if out, _ := exec.Command(arping, "-V").CombinedOutput(); !strings.Contains(string(out), "iputils") {
		t.Skipf("%s is not iputils arping (%q): its flags differ", arping, strings.TrimSpace(string(out)))
	}
	p := livetest.NewPair(t)
	for _, tt := range []struct{ flag, preset string }{{"-U", "arping-U"}, {"-A", "arping-A"}} {
		t.Run(tt.preset, func(t *testing.T) {
			c := livetest.StartCapture(t, p.Sender, p.SenderDev, 2, "arp and ether src "+livetest.SenderMAC.String())
			start := time.Now()
			if out, err := livetest.Exec(p.Sender, arping, tt.flag, "-c", "1", "-I", p.SenderDev, livetest.VIP.String()); err != nil {
				t.Fatalf("arping: %v\n%s", err, out)
			}
			// arping -c 1 lingers one interval after its frame in iputils
			// 2019–2024 (garp.Options.ArpingLinger); log it for the record.
			t.Logf("arping %s -c 1 ran for %v", tt.flag, time.Since(start).Round(time.Millisecond))
			send(t, p, tt.preset, sched.Options{Count: 1})
			frames := c.Frames(t)
			if len(frames) != 2 {
				t.Fatalf("captured %d frames, want 2", len(frames))
			}
			fs := mustSchedule(t, sched.Schedule, tt.preset, livetest.SenderMAC, livetest.VIP, sched.Options{Count: 1})
			want := ether.Header{Dst: arp.Broadcast, Src: livetest.SenderMAC, EtherType: ether.EtherTypeARP}.Append(nil)
			want = fs[0].Packet.Append(want)
			if !bytes.Equal(frames[0], want) {
				t.Errorf("arping %s frame:\n got % x\nwant % x", tt.flag, frames[0], want)
			}
			if !bytes.Equal(frames[1], frames[0]) {
				t.Errorf("preset %s frame differs from arping %s:\n ours   % x\n arping % x", tt.preset, tt.flag, frames[1], frames[0])
			}
			if len(frames[1]) != 42 {
				t.Errorf("preset %s frame is %d bytes on the veth, want 42 (no padding, like arping)", tt.preset, len(frames[1]))
			}
		})
	}
}
