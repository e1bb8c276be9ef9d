//go:build !linux

package ktrace

import (
	"context"

	"arplab/internal/labsys"
)

type tracerSys struct{}

// NewTracer is unsupported on this system.
func NewTracer(name string, opts TracerOptions) (*Tracer, error) { return nil, labsys.ErrUnsupported }

// SetDevs is unsupported on this system.
func (t *Tracer) SetDevs(devs ...string) error { return labsys.ErrUnsupported }

// Enabled returns nil on this system.
func (t *Tracer) Enabled() []string { return nil }

// Clock returns "" on this system.
func (t *Tracer) Clock() string { return "" }

// Dir returns "" on this system.
func (t *Tracer) Dir() string { return "" }

// Sync is unsupported on this system.
func (t *Tracer) Sync(ctx context.Context) error { return labsys.ErrUnsupported }

// Close does nothing on this system.
func (t *Tracer) Close() error { return nil }

// RemoveStale does nothing on this system.
func RemoveStale(isDead func(name string) bool) ([]string, []error) { return nil, nil }

// PrivateMounts returns nil on this system.
func PrivateMounts() []string { return nil }
