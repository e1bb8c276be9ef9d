//go:build linux

// Package nsexec runs code inside a named network namespace, the way
// `ip netns exec NAME` does for a whole process, but for one function.
//
// Linux attaches the network namespace to a thread, not to a process, and a
// socket belongs to the namespace it was created in for its whole life. So a
// function run here may open sockets (AF_PACKET, netlink, files under
// /proc/sys/net) and hand them back: they keep working in the namespace after
// Do returns, from any goroutine.
package nsexec

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs fn on an OS thread that has joined the network namespace name
// (/run/netns/name, as created by `ip netns add`). An empty name runs fn in
// the caller's namespace. Goroutines that fn starts do not inherit the
// namespace.
func Do(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is unlocked only once it is back in its own
		// namespace; otherwise it dies with this goroutine, which is how
		// the Go runtime disposes of a thread in an unknown state.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nsexec: current network namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(name)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nsexec: network namespace %q: %w", name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nsexec: enter network namespace %q: %w", name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// Handle opens the namespace name for the netlink package's *At functions.
// An empty name returns the caller's namespace. The caller closes it.
func Handle(name string) (netns.NsHandle, error) {
	if name == "" {
		h, err := netns.Get()
		if err != nil {
			return netns.None(), fmt.Errorf("nsexec: current network namespace: %w", err)
		}
		return h, nil
	}
	h, err := netns.GetFromName(name)
	if err != nil {
		return netns.None(), fmt.Errorf("nsexec: network namespace %q: %w", name, err)
	}
	return h, nil
}
