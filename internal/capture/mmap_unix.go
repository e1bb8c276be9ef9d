//go:build unix

package capture

import (
	"os"
	"syscall"
)

// mapFile maps a regular file read-only, for reading in place; ok is false
// when it cannot (not a regular file, empty, too large for the address
// space, or mmap refused), and the caller reads it as a stream instead.
func mapFile(f *os.File) (data []byte, ok bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() <= 0 || int64(int(st.Size())) != st.Size() {
		return nil, false
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	return data, true
}

func unmapFile(data []byte) error { return syscall.Munmap(data) }
