//go:build linux

// Command arpflood drives ARP frames at a fixed rate out of an interface in
// a network namespace, for bench/watch.sh: the load a watcher sees on a
// busy segment. Nine frames in ten are requests between other hosts (a
// sip from a pool of 250, asking for another), one in ten a GARP request
// for one of 50 VIPs from one of two MACs (a failover going back and
// forth). It paces in 10 ms batches and prints the frames it sent and the
// rate it sustained.
//
//	arpflood -netns NS -dev IFACE -rate 10000 -seconds 10
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"arplab/internal/nsexec"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

func main() {
	netns := flag.String("netns", "", "network namespace of -dev")
	dev := flag.String("dev", "", "interface to send on")
	rate := flag.Int("rate", 10000, "frames per second")
	seconds := flag.Float64("seconds", 10, "how long")
	flag.Parse()
	if *dev == "" || *rate <= 0 || *seconds <= 0 {
		fmt.Fprintln(os.Stderr, "arpflood: -dev IFACE is required; -rate and -seconds must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sent, took, err := flood(ctx, *netns, *dev, *rate, time.Duration(*seconds*float64(time.Second)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "arpflood:", err)
		os.Exit(1)
	}
	fmt.Printf("sent %d frames in %.2f s: %.0f frames/s\n", sent, took.Seconds(), float64(sent)/took.Seconds())
}

// frames builds the cycle of frames sent over and over.
func frames() [][]byte {
	var out [][]byte
	macs := []arp.MAC{{2, 0, 0, 0, 0xee, 1}, {2, 0, 0, 0, 0xee, 2}}
	for i := range 500 {
		var p arp.Packet
		src := arp.MAC{2, 0, 0, 0, 0xdd, byte(i % 250)}
		if i%10 == 0 {
			vip := netip.AddrFrom4([4]byte{10, 98, 1, byte(1 + i/10)})
			src = macs[(i/10)%2]
			p = arp.NewPacket(arp.OpRequest, src, vip, arp.Broadcast, vip)
		} else {
			sip := netip.AddrFrom4([4]byte{10, 98, 2, byte(1 + i%250)})
			tip := netip.AddrFrom4([4]byte{10, 98, 3, byte(1 + (i*7)%250)})
			p = arp.NewPacket(arp.OpRequest, src, sip, arp.MAC{}, tip)
		}
		h := ether.Header{Dst: arp.Broadcast, Src: src, EtherType: ether.EtherTypeARP}
		out = append(out, p.Append(h.Append(nil)))
	}
	return out
}

func flood(ctx context.Context, netns, dev string, rate int, d time.Duration) (int, time.Duration, error) {
	var conn *packet.Conn
	err := nsexec.Do(netns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("%s in namespace %q: %w", dev, netns, err)
	}
	defer conn.Close()
	fs := frames()
	to := &packet.Addr{HardwareAddr: net.HardwareAddr(arp.Broadcast[:])}
	const batch = 10 * time.Millisecond
	per := max(rate/100, 1)
	start := time.Now()
	sent := 0
	tick := time.NewTicker(batch)
	defer tick.Stop()
	for time.Since(start) < d && ctx.Err() == nil {
		// catch up to where the schedule says we should be
		want := int(time.Since(start).Seconds()*float64(rate)) + per
		for sent < want {
			if _, err := conn.WriteTo(fs[sent%len(fs)], to); err != nil {
				return sent, time.Since(start), err
			}
			sent++
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	return sent, time.Since(start), nil
}
