//go:build !linux

package labsys

// KernelRelease is unsupported on this system.
func KernelRelease() (string, error) { return "", ErrUnsupported }
