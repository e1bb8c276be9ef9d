//go:build linux

package doctor

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"os"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"arplab/internal/nsexec"
)

// sysctlRoot is where the IPv4 sysctls live. /proc/sys/net shows the
// network namespace of the thread that opens the files, so Inspect reads
// them from inside nsexec.Do.
const sysctlRoot = "/proc/sys/net/ipv4"

// Inspect reads the settings of the network namespace netns ("" = the
// caller's). A setting this kernel lacks is reported as Absent, not as an
// error; errors are for a namespace or table that cannot be read at all.
func Inspect(netns string) (Report, error) {
	r := Report{Netns: netns}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return r, fmt.Errorf("doctor: uname: %w", err)
	}
	r.Release = unix.ByteSliceToString(u.Release[:])
	r.DescribeKernel()
	r.HZ, r.HZSource = kernelHZ(r.Release)

	err := nsexec.Do(netns, func() error {
		ifs, err := net.Interfaces()
		if err != nil {
			return fmt.Errorf("doctor: listing interfaces: %w", err)
		}
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) != 6 {
				continue
			}
			x := Interface{Name: ifi.Name, Index: ifi.Index, MAC: ifi.HardwareAddr.String(), Up: ifi.Flags&net.FlagUp != 0}
			if addrs, err := ifi.Addrs(); err == nil {
				for _, a := range addrs {
					if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
						x.Addrs = append(x.Addrs, n.String())
					}
				}
			}
			r.Interfaces = append(r.Interfaces, x)
		}
		sort.Slice(r.Interfaces, func(i, j int) bool { return r.Interfaces[i].Name < r.Interfaces[j].Name })
		r.readSysctls(sysctlRoot)
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("doctor: netlink: %w", err)
		}
		defer h.Close()
		entries, err := h.NeighList(0, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("doctor: listing the neighbour table: %w", err)
		}
		r.Entries = len(entries)
		return nil
	})
	if err == nil && netns != "" && allAbsent(r.GC) {
		// Only the initial namespace shows neigh/default; read it where
		// we are (normally the initial namespace).
		r.readDefaults(sysctlRoot)
		r.DefaultsFrom = "the caller's namespace: neigh/default exists only in the initial " +
			"namespace, and the table's defaults and gc thresholds are shared by all namespaces"
	}
	return r, err
}

// kernelHZ reads CONFIG_HZ from /boot/config-<release> or /proc/config.gz.
func kernelHZ(release string) (int, string) {
	if b, err := os.ReadFile("/boot/config-" + release); err == nil {
		if hz := parseHZ(string(b)); hz != 0 {
			return hz, "/boot/config-" + release
		}
	}
	if b, err := os.ReadFile("/proc/config.gz"); err == nil {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if cfg, err := io.ReadAll(zr); err == nil {
				if hz := parseHZ(string(cfg)); hz != 0 {
					return hz, "/proc/config.gz"
				}
			}
		}
	}
	return 0, ""
}
