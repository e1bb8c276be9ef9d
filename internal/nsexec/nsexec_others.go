//go:build !linux

// Package nsexec runs code inside a named network namespace; only Linux has
// them.
package nsexec

import "errors"

var errUnimplemented = errors.New("nsexec: network namespaces exist only on Linux")

// Do runs fn when name is empty and fails otherwise.
func Do(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	return errUnimplemented
}
