//go:build !linux

package watch

import (
	"context"
	"errors"

	"arplab/internal/trace"
)

// Watch needs netlink, AF_PACKET and tracefs: Linux only.
func Watch(ctx context.Context, opt WatchOptions, out func(trace.Event)) error {
	return errors.New("watch: watching a neighbour table needs Linux")
}
