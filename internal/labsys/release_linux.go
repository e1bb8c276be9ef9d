package labsys

import "golang.org/x/sys/unix"

// KernelRelease returns `uname -r` of the running kernel.
func KernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}
