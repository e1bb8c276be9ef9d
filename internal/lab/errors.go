package lab

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrNotPermitted matches every error caused by missing privileges:
// errors.Is(err, ErrNotPermitted) is true for them.
var ErrNotPermitted = errors.New("lab needs root (CAP_NET_ADMIN and CAP_NET_RAW)")

// ErrUnsupported is returned on systems other than Linux.
var ErrUnsupported = fmt.Errorf("lab: not supported on %s (network namespaces are Linux-only)", runtime.GOOS)

// ErrClosed is returned by operations on a closed Lab, port or tracer.
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
