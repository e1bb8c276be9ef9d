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

// SendNA prints frames with DryRun and fails otherwise: only Linux can send.
func SendNA(ctx context.Context, ifname string, frames []sched.NAFrame, opt SendOptions) ([]SentNA, error) {
	if err := validateNA(frames); err != nil {
		return nil, err
	}
	if opt.DryRun {
		return nil, dryRunNA(opt.Out, ifname, opt.MAC, frames)
	}
	return nil, errUnimplemented
}

// IPv6Forwarding needs Linux's /proc.
func IPv6Forwarding(netns, ifname string) (bool, error) { return false, errUnimplemented }
