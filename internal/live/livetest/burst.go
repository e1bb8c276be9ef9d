//go:build linux

package livetest

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"arplab/internal/nsexec"
)

// AddPermanentBurst adds n PERMANENT entries (10.99.2.1 and up) on dev in
// namespace ns as fast as netlink takes them: enough notifications to
// overrun a watcher's small netlink buffer.
func AddPermanentBurst(t testing.TB, ns, dev string, n int) {
	t.Helper()
	err := nsexec.Do(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		for i := range n {
			e := &netlink.Neigh{LinkIndex: ifi.Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
				IP: net.IPv4(10, 99, 2+byte(i/250), 1+byte(i%250)), HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 9, byte(i)}}
			if err := h.NeighAdd(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("adding %d neighbours on %s: %v", n, dev, err)
	}
}
