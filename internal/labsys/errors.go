package labsys

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// ErrNotPermitted matches every error caused by missing privileges:
// errors.Is(err, ErrNotPermitted) is true for them.
var ErrNotPermitted = errors.New("lab needs root (CAP_NET_ADMIN and CAP_NET_RAW)")

// ErrUnsupported is returned on systems other than Linux.
var ErrUnsupported = fmt.Errorf("lab: not supported on %s (network namespaces are Linux-only)", runtime.GOOS)

// ErrClosed is returned by operations on a closed lab, port or tracer.
var ErrClosed = errors.New("lab: already closed")

// PermissionError reports an operation the kernel refused for lack of
// privilege. It matches ErrNotPermitted and unwraps to the system error
// (so errors.Is(err, os.ErrPermission) holds too).
type PermissionError struct {
	Op  string // what the lab was doing, e.g. "create netns arplab-42-a"
	Err error  // the system error, usually EPERM or EACCES
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("lab needs root (CAP_NET_ADMIN and CAP_NET_RAW): %s: %v", e.Op, e.Err)
}

// Unwrap returns the system error.
func (e *PermissionError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotPermitted.
func (e *PermissionError) Is(target error) bool { return target == ErrNotPermitted }

// PermErr turns EPERM/EACCES into a *PermissionError naming op and wraps
// any other error as "lab: op: err"; nil stays nil.
func PermErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return &PermissionError{Op: op, Err: err}
	}
	return fmt.Errorf("lab: %s: %w", op, err)
}
