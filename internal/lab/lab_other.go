//go:build !linux

package lab

import (
	"context"
	"net"
	"net/netip"
	"time"

	"arplab/internal/wire/arp"
)

type labSys struct{}
type hostSys struct{}
type segmentSys struct{}
type tracerSys struct{}

func (l *Lab) init() error                   { return ErrUnsupported }
func (h *Host) create() error                { return ErrUnsupported }
func (s *Segment) create() error             { return ErrUnsupported }
func (l *Lab) teardown() error               { return nil }
func (l *Lab) closeOnSignal(context.Context) {}
func (l *Lab) attach(*Host, string, *Segment, arp.MAC, []netip.Prefix) error {
	return ErrUnsupported
}

// Do is unsupported on this system.
func (h *Host) Do(fn func() error) error { return ErrUnsupported }

// SetSysctl is unsupported on this system.
func (h *Host) SetSysctl(key, value string) error { return ErrUnsupported }

// GetSysctl is unsupported on this system.
func (h *Host) GetSysctl(key string) (string, error) { return "", ErrUnsupported }

// Neighbours is unsupported on this system.
func (h *Host) Neighbours(ifname string) ([]Neigh, error) { return nil, ErrUnsupported }

// NeighSet is unsupported on this system.
func (h *Host) NeighSet(op NeighOp, s NeighSpec) error { return ErrUnsupported }

// NeighDel is unsupported on this system.
func (h *Host) NeighDel(ifname string, ip netip.Addr) error { return ErrUnsupported }

// NeighFlush is unsupported on this system.
func (h *Host) NeighFlush(ifname string) (int, error) { return 0, ErrUnsupported }

// Link describes an interface of a host.
type Link struct {
	Name  string
	Index int
	MAC   arp.MAC
	Up    bool
}

// Links is unsupported on this system.
func (h *Host) Links() ([]Link, error) { return nil, ErrUnsupported }

// RawPort is an AF_PACKET socket; unsupported on this system.
type RawPort struct{}

// OpenRaw is unsupported on this system.
func (h *Host) OpenRaw(ifname string) (*RawPort, error) { return nil, ErrUnsupported }

// Interface returns nil on this system.
func (p *RawPort) Interface() *net.Interface { return nil }

// Send is unsupported on this system.
func (p *RawPort) Send(frame []byte) (time.Time, error) { return time.Time{}, ErrUnsupported }

// Recv is unsupported on this system.
func (p *RawPort) Recv(ctx context.Context) (Frame, error) { return Frame{}, ErrUnsupported }

// Close does nothing on this system.
func (p *RawPort) Close() error { return nil }

// MonoNs returns the monotonic reading relative to process start.
func MonoNs(t time.Time) int64 { return int64(t.Sub(start)) }

var start = time.Now()

// NewTracer is unsupported on this system.
func NewTracer(name string, opts TracerOptions) (*Tracer, error) { return nil, ErrUnsupported }

// SetDevs is unsupported on this system.
func (t *Tracer) SetDevs(devs ...string) error { return ErrUnsupported }

// Enabled returns nil on this system.
func (t *Tracer) Enabled() []string { return nil }

// Clock returns "" on this system.
func (t *Tracer) Clock() string { return "" }

// Sync is unsupported on this system.
func (t *Tracer) Sync(ctx context.Context) error { return ErrUnsupported }

// Close does nothing on this system.
func (t *Tracer) Close() error { return nil }

// CleanStale is unsupported on this system.
func CleanStale(prefixRoot string) ([]string, error) { return nil, ErrUnsupported }

// KernelRelease is unsupported on this system.
func KernelRelease() (string, error) { return "", ErrUnsupported }
