package vm

import (
	"fmt"
	"io"
	"strings"
)

// cpioWriter writes the "newc" cpio format the kernel unpacks into its
// initial rootfs (Documentation/driver-api/early-userspace/buffer-format):
// a 110-byte ASCII header of thirteen 8-digit hex fields, the NUL-ended
// name, and the data, each padded to 4 bytes; "TRAILER!!!" ends it. No
// Go cpio library is available here, and the writer is small.
type cpioWriter struct {
	w   io.Writer
	off int64
	ino uint32
	err error
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
)

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.off += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// entry writes one header and its data; name has no leading slash.
func (c *cpioWriter) entry(name string, mode uint32, data []byte) error {
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.Contains(name, "\x00") {
		return fmt.Errorf("cpio: bad name %q", name)
	}
	c.ino++
	nlink := 1
	if mode&modeDir != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad()
	c.write(data)
	c.pad()
	return c.err
}

func (c *cpioWriter) dir(name string) error { return c.entry(name, modeDir|0o755, nil) }

func (c *cpioWriter) file(name string, perm uint32, data []byte) error {
	return c.entry(name, modeFile|perm, data)
}

// close writes the trailer.
func (c *cpioWriter) close() error {
	c.ino = 0
	return c.entry("TRAILER!!!", 0, nil)
}
