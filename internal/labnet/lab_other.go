//go:build !linux

package labnet

import (
	"context"
	"net"
	"net/netip"
	"time"

	"arplab/internal/labsys"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

type labSys struct{}
type hostSys struct{}
type segmentSys struct{}

var errUnsupported = labsys.ErrUnsupported

func (l *Lab) init() error                   { return errUnsupported }
func (h *Host) create() error                { return errUnsupported }
func (s *Segment) create() error             { return errUnsupported }
func (l *Lab) teardown() error               { return nil }
func (l *Lab) closeOnSignal(context.Context) {}
func (l *Lab) attach(*Host, string, *Segment, arp.MAC, []netip.Prefix) error {
	return errUnsupported
}

// Do is unsupported on this system.
func (h *Host) Do(fn func() error) error { return errUnsupported }

// SetSysctl is unsupported on this system.
func (h *Host) SetSysctl(key, value string) error { return errUnsupported }

// GetSysctl is unsupported on this system.
func (h *Host) GetSysctl(key string) (string, error) { return "", errUnsupported }

// Neighbours is unsupported on this system.
func (h *Host) Neighbours(ifname string) ([]Neigh, error) { return nil, errUnsupported }

// NeighSet is unsupported on this system.
func (h *Host) NeighSet(op neigh.AdminOp, s NeighSpec) error { return errUnsupported }

// NeighDel is unsupported on this system.
func (h *Host) NeighDel(ifname string, ip netip.Addr) error { return errUnsupported }

// NeighFlush is unsupported on this system.
func (h *Host) NeighFlush(ifname string) (int, error) { return 0, errUnsupported }

// SetAddr is unsupported on this system.
func (h *Host) SetAddr(ifname string, p netip.Prefix, add bool) error { return errUnsupported }

// NeighTable is unsupported on this system.
func (h *Host) NeighTable() (TableInfo, map[int]NeighParams, error) {
	return TableInfo{}, nil, errUnsupported
}

// NDTable is unsupported on this system.
func (h *Host) NDTable() (TableInfo, map[int]NeighParams, error) {
	return TableInfo{}, nil, errUnsupported
}

// EnableIPv6 is unsupported on this system.
func (h *Host) EnableIPv6() error { return errUnsupported }

// IPv6 reports false on this system.
func (h *Host) IPv6() bool { return false }

// ReadConf6 is unsupported on this system.
func (h *Host) ReadConf6(dev string) (map[string]string, error) { return nil, errUnsupported }

// ReadConf is unsupported on this system.
func (h *Host) ReadConf(dev string) (map[string]string, error) { return nil, errUnsupported }

// ReadArpCacheStat is unsupported on this system.
func ReadArpCacheStat() (ArpCacheStat, error) { return ArpCacheStat{}, errUnsupported }

// Link describes an interface of a host.
type Link struct {
	Name  string
	Index int
	MAC   arp.MAC
	Up    bool
}

// Links is unsupported on this system.
func (h *Host) Links() ([]Link, error) { return nil, errUnsupported }

// RawPort is an AF_PACKET socket; unsupported on this system.
type RawPort struct{}

// OpenRaw is unsupported on this system.
func (h *Host) OpenRaw(ifname string) (*RawPort, error) { return nil, errUnsupported }

// Interface returns nil on this system.
func (p *RawPort) Interface() *net.Interface { return nil }

// Send is unsupported on this system.
func (p *RawPort) Send(frame []byte) (time.Time, error) { return time.Time{}, errUnsupported }

// Recv is unsupported on this system.
func (p *RawPort) Recv(ctx context.Context) (Frame, error) { return Frame{}, errUnsupported }

// Close does nothing on this system.
func (p *RawPort) Close() error { return nil }

// Capture records frames; unsupported on this system.
type Capture struct{}

// StartCapture is unsupported on this system.
func (h *Host) StartCapture(ifname string) (*Capture, error) { return nil, errUnsupported }

// Stop does nothing on this system.
func (r *Capture) Stop() ([]Captured, error) { return nil, nil }

// CleanStale is unsupported on this system.
func CleanStale(prefixRoot string) ([]string, error) { return nil, errUnsupported }
