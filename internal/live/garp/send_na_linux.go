//go:build linux

package garp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	sched "arplab/internal/garp"
	"arplab/internal/nsexec"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// SendNA writes the Neighbour Advertisements frames on ifname, each at its
// offset from the start of the call, as whole Ethernet frames from the
// interface's own MAC on an AF_PACKET SOCK_RAW socket (keepalived's way,
// vrrp_ndisc.c), and returns the frames sent. The checks are Send's; the
// announced address is each NA's target. On error, or when ctx ends, it
// returns the frames sent so far with the error.
func SendNA(ctx context.Context, ifname string, frames []sched.NAFrame, opt SendOptions) ([]SentNA, error) {
	if err := validateNA(frames); err != nil {
		return nil, err
	}
	if opt.DryRun {
		return nil, dryRunNA(opt.Out, ifname, opt.MAC, frames)
	}
	var (
		conn *packet.Conn
		src  arp.MAC
	)
	err := nsexec.Do(opt.Netns, func() error {
		ips := make([]netip.Addr, len(frames))
		for i, f := range frames {
			ips[i] = f.Msg.Target
		}
		ifi, err := checkInterface(ifname, ips, opt.Force)
		if err != nil {
			return err
		}
		src = arp.MAC(ifi.HardwareAddr)
		conn, err = listen(ifi, packet.Raw, unix.ETH_P_IPV6)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf := make([]byte, 0, 128)
	return paced(ctx, frames, func(f sched.NAFrame) vtime.Duration { return f.At }, func(i int, f sched.NAFrame) error {
		buf = f.Append(buf[:0], src)
		if _, err := conn.WriteTo(buf, &packet.Addr{HardwareAddr: net.HardwareAddr(f.EthDst[:])}); err != nil {
			return fmt.Errorf("garp: sending NA %d on %s: %w", i+1, ifname, err)
		}
		return nil
	}, opt.Out)
}

// IPv6Forwarding reads net.ipv6.conf.IFNAME.forwarding inside netns (""
// for the caller's): keepalived and the kernel put it in their NAs' Router
// flag at send time (spec linux-ndisc §10.1).
func IPv6Forwarding(netns, ifname string) (bool, error) {
	var v []byte
	err := nsexec.Do(netns, func() error {
		var err error
		v, err = os.ReadFile("/proc/sys/net/ipv6/conf/" + ifname + "/forwarding")
		return err
	})
	if err != nil {
		return false, fmt.Errorf("garp: IPv6 forwarding of %s: %w", ifname, err)
	}
	return strings.TrimSpace(string(v)) != "0", nil
}
