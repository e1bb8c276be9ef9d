//go:build !linux

package vm

import (
	"context"
	"io"
)

// Runner is cli.Run.
type Runner func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// IsGuest is false off Linux.
func IsGuest() bool { return false }

// Guest is Linux-only.
func Guest(Runner) {}
