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
	"arplab/internal/vtime"
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
		ips := make([]netip.Addr, len(frames))
		for i, f := range frames {
			ips[i] = f.Packet.SIP
		}
		ifi, err := checkInterface(ifname, ips, opt.Force)
		if err != nil {
			return err
		}
		conn, err = listen(ifi, packet.Datagram, unix.ETH_P_ARP)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return pace(ctx, conn, ifname, frames, opt.Out)
}

// checkInterface applies arping's checks (check_ifflags: up, not NOARP or
// loopback, has a link address) and ours (the announced addresses ips are
// configured on it).
func checkInterface(ifname string, ips []netip.Addr, force bool) (*net.Interface, error) {
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
	for _, ip := range ips {
		if !have[ip] {
			return nil, fmt.Errorf("%w: %v is not on %s; announcing an address this host does not own "+
				"redirects its peers' traffic here (Force sends anyway)", ErrAddressNotOnLink, ip, ifname)
		}
	}
	return ifi, nil
}

// dropAll is the BPF program "ret #0", accepting no packet: the socket only
// sends, so it must not queue every ARP frame the interface receives.
var dropAll = []bpf.RawInstruction{{Op: 0x06 /* BPF_RET|BPF_K */, K: 0}}

// listen opens an AF_PACKET socket bound to proto on the interface, as
// the senders do: arping's SOCK_DGRAM with ETH_P_ARP, so the kernel writes
// the Ethernet header, and keepalived's SOCK_RAW with ETH_P_IPV6 for NAs,
// which carry their own.
func listen(ifi *net.Interface, typ packet.Type, proto int) (*packet.Conn, error) {
	conn, err := packet.Listen(ifi, typ, proto, &packet.Config{Filter: dropAll})
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
	return paced(ctx, frames, func(f sched.Frame) vtime.Duration { return f.At }, func(i int, f sched.Frame) error {
		payload, err := f.Packet.Marshal()
		if err != nil {
			return fmt.Errorf("garp: frame %d: %w", i+1, err)
		}
		dst := &packet.Addr{HardwareAddr: net.HardwareAddr(f.EthDst[:])}
		if _, err := conn.WriteTo(payload, dst); err != nil {
			return fmt.Errorf("garp: sending frame %d on %s: %w", i+1, ifname, err)
		}
		return nil
	}, out)
}

// paced calls write for each frame at start + at(frame), the pacing both
// the ARP and the NA sender use, and returns the frames written with when.
// It stops at the first error, or when ctx ends, returning what was sent.
func paced[F fmt.Stringer](ctx context.Context, frames []F, at func(F) vtime.Duration, write func(int, F) error, out io.Writer) ([]Sending[F], error) {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	sent := make([]Sending[F], 0, len(frames))
	for i, f := range frames {
		if wait := time.Until(start.Add(time.Duration(at(f)))); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return sent, ctx.Err()
			case <-timer.C:
			}
		} else if err := ctx.Err(); err != nil {
			return sent, err
		}
		if err := write(i, f); err != nil {
			return sent, err
		}
		now := time.Now()
		s := Sending[F]{Frame: f, Offset: now.Sub(start), Time: now}
		sent = append(sent, s)
		if out != nil {
			fmt.Fprintf(out, "sent %d/%d at +%.6fs (scheduled +%v): %v\n", i+1, len(frames), s.Offset.Seconds(), at(f), f)
		}
	}
	return sent, nil
}
