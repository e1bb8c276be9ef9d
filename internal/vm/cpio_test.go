package vm

import (
	"bytes"
	"strconv"
	"testing"
)

// TestCPIOLayout checks the newc layout field by field: magic, name size,
// file size, 4-byte alignment of every header and of the data, and the
// trailer. (The kernel unpacking it is the VM test's job.)
func TestCPIOLayout(t *testing.T) {
	var b bytes.Buffer
	c := &cpioWriter{w: &b}
	c.dir("dev")
	c.file("init", 0o755, []byte("hello"))
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if err := c.entry("", 0, nil); err == nil {
		t.Error("an empty name was accepted")
	}
	data := b.Bytes()
	var names []string
	for off := 0; off < len(data); {
		if off%4 != 0 {
			t.Fatalf("header at %d not 4-aligned", off)
		}
		h := data[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("magic %q at %d", h[:6], off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, nameSize := field(1), field(6), field(11)
		name := string(data[off+110 : off+110+nameSize-1])
		if data[off+110+nameSize-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		names = append(names, name)
		start := (off + 110 + nameSize + 3) &^ 3
		if name == "init" {
			if string(data[start:start+size]) != "hello" || mode != 0o100755 {
				t.Errorf("init: mode %o data %q", mode, data[start:start+size])
			}
		}
		if name == "dev" && mode != 0o40755 {
			t.Errorf("dev: mode %o", mode)
		}
		off = (start + size + 3) &^ 3
	}
	if len(names) != 3 || names[2] != "TRAILER!!!" {
		t.Errorf("entries %v", names)
	}
}
