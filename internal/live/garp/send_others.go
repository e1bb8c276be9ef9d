//go:build !linux

package garp

import (
	"context"
	"errors"

	sched "arplab/internal/garp"
)

var errUnimplemented = errors.New("garp: sending needs Linux AF_PACKET sockets (DryRun works everywhere)")

// Send prints frames with DryRun and fails otherwise: only Linux can send.
func Send(ctx context.Context, ifname string, frames []sched.Frame, opt SendOptions) ([]Sent, error) {
	if err := validate(frames); err != nil {
		return nil, err
	}
	if opt.DryRun {
		return nil, dryRun(opt.Out, ifname, frames)
	}
	return nil, errUnimplemented
}
