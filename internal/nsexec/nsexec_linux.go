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
	"errors"
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
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("nsexec: network namespace %q: %w", name, err)
	}
	defer target.Close()
	if err := In(target, fn); err != nil {
		var ee *EnterError
		if errors.As(err, &ee) {
			return fmt.Errorf("nsexec: enter network namespace %q: %w", name, ee.Err)
		}
		return err
	}
	return nil
}

// EnterError is returned by In when the thread could not join the
// namespace (fn did not run), so callers can tell it from fn's own error.
type EnterError struct{ Err error }

func (e *EnterError) Error() string { return "nsexec: enter network namespace: " + e.Err.Error() }
func (e *EnterError) Unwrap() error { return e.Err }

// In runs fn on a fresh goroutine locked to an OS thread that has entered
// ns, and switches the thread back afterwards.
func In(ns netns.NsHandle, fn func() error) error {
	return Switched(func() error { return netns.Set(ns) }, fn)
}

// Switched runs fn on a fresh goroutine locked to an OS thread that enter
// has moved to another network namespace (setns, or unshare for a new
// one), and puts the thread back in its original namespace before
// unlocking it. If enter fails, fn does not run and the error is an
// *EnterError. If switching back fails the thread stays locked and the
// runtime destroys it when the goroutine ends: no goroutine ever runs in a
// namespace it did not ask for. Goroutines fn starts do not inherit it.
func Switched(enter, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nsexec: current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := enter(); err != nil {
			runtime.UnlockOSThread() // enter failed: still where it was
			errc <- &EnterError{Err: err}
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("nsexec: return to the original namespace: %w (thread discarded)", err)
			return // still locked: the thread dies with this goroutine
		}
		runtime.UnlockOSThread()
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
