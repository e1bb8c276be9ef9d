//go:build linux

package garp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	sched "arplab/internal/garp"
	"arplab/internal/nsexec"
)

// Send writes frames on ifname, each at its offset from the start of the
// call, and returns the frames sent. On error, or when ctx ends, it returns
// the frames sent so far with the error.
func Send(ctx context.Context, ifname string, frames []sched.Frame, opt SendOptions) ([]Sent, error) {
	if err := validate(frames); err != nil {
		return nil, err
	}
	if opt.DryRun {
		return nil, dryRun(opt.Out, ifname, frames)
	}
	var conn *packet.Conn
	err := nsexec.Do(opt.Netns, func() error {
		ifi, err := checkInterface(ifname, frames, opt.Force)
		if err != nil {
			return err
		}
		conn, err = listen(ifi)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return pace(ctx, conn, ifname, frames, opt.Out)
}

// checkInterface applies arping's checks (check_ifflags: up, not NOARP or
// loopback, has a link address) and ours (the address is configured).
func checkInterface(ifname string, frames []sched.Frame, force bool) (*net.Interface, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrNoInterface, ifname, err)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("%w: %s (ip link set %s up)", ErrInterfaceDown, ifname, ifname)
	}
	if ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("%w: %s has no Ethernet address (loopback, NOARP or a tunnel)", ErrNotARPCapable, ifname)
	}
	if force {
		return ifi, nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("garp: addresses of %s: %w", ifname, err)
	}
	have := map[netip.Addr]bool{}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				have[ip.Unmap()] = true
			}
		}
	}
	for _, f := range frames {
		if !have[f.Packet.SIP] {
			return nil, fmt.Errorf("%w: %v is not on %s; announcing an address this host does not own "+
				"redirects its peers' traffic here (Force sends anyway)", ErrAddressNotOnLink, f.Packet.SIP, ifname)
		}
	}
	return ifi, nil
}

// dropAll is the BPF program "ret #0", accepting no packet: the socket only
// sends, so it must not queue every ARP frame the interface receives.
var dropAll = []bpf.RawInstruction{{Op: 0x06 /* BPF_RET|BPF_K */, K: 0}}

// listen opens the socket arping uses: AF_PACKET, SOCK_DGRAM, bound to
// ETH_P_ARP on the interface, so the kernel writes the Ethernet header.
func listen(ifi *net.Interface) (*packet.Conn, error) {
	conn, err := packet.Listen(ifi, packet.Datagram, unix.ETH_P_ARP, &packet.Config{Filter: dropAll})
	if errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("%w: %v", ErrPermission, err)
	}
	if err != nil {
		return nil, fmt.Errorf("garp: AF_PACKET socket on %s: %w", ifi.Name, err)
	}
	return conn, nil
}

// pace writes each frame at start + frame.At.
func pace(ctx context.Context, conn *packet.Conn, ifname string, frames []sched.Frame, out io.Writer) ([]Sent, error) {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	sent := make([]Sent, 0, len(frames))
	for i, f := range frames {
		if wait := time.Until(start.Add(time.Duration(f.At))); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return sent, ctx.Err()
			case <-timer.C:
			}
		} else if err := ctx.Err(); err != nil {
			return sent, err
		}
		payload, err := f.Packet.Marshal()
		if err != nil {
			return sent, fmt.Errorf("garp: frame %d: %w", i+1, err)
		}
		dst := &packet.Addr{HardwareAddr: net.HardwareAddr(f.EthDst[:])}
		if _, err := conn.WriteTo(payload, dst); err != nil {
			return sent, fmt.Errorf("garp: sending frame %d on %s: %w", i+1, ifname, err)
		}
		now := time.Now()
		s := Sent{Frame: f, Offset: now.Sub(start), Time: now}
		sent = append(sent, s)
		if out != nil {
			fmt.Fprintf(out, "sent %d/%d at +%.6fs (scheduled +%v): %v\n", i+1, len(frames), s.Offset.Seconds(), f.At, f)
		}
	}
	return sent, nil
}
