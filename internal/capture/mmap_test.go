package capture

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"arplab/internal/testkit"
)

// TestOpenMapped: Open reads a regular file in place (mapped), handing
// pages back as it goes, and returns exactly the frames, offsets and skip
// counts that a stream read of the same file does; a gzip-compressed file
// is still read as a stream.
func TestOpenMapped(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("files are not mapped here")
	}
	var buf bytes.Buffer
	cw, err := NewWriter(&buf, Ethernet, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := testkit.BusySegment(20_000, 50, 1_700_000_000*1e9, cw.WritePacket); err != nil {
		t.Fatal(err)
	}
	data := append(buf.Bytes(), 1, 2, 3) // a truncated last record is counted
	dir := t.TempDir()
	path := filepath.Join(dir, "busy.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	was := releaseEvery
	releaseEvery = 3 * pageSize // release many times over the file
	defer func() { releaseEvery = was }()

	stream, err := NewReader(bytes.NewReader(data), path)
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, stream)
	mapped, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if mapped.unmap == nil {
		t.Fatal("Open did not map a regular file")
	}
	got := readAll(t, mapped)
	if len(got) != len(want) || len(got) < 20_000 {
		t.Fatalf("mapped read %d frames, stream %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("frame %d: payload differs", i+1)
		}
		g.Payload, w.Payload = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("frame %d: mapped %+v, stream %+v", i+1, g, w)
		}
	}
	if g, w := mapped.Offset(), stream.Offset(); g != w || g != int64(len(data)) {
		t.Errorf("offset: mapped %d, stream %d, file %d", g, w, len(data))
	}
	if g, w := mapped.Skipped(), stream.Skipped(); g[SkipTruncatedRecord] != 1 || len(g) != len(w) {
		t.Errorf("skipped: mapped %v, stream %v", g, w)
	}
	if err := mapped.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := mapped.Next(); err != io.EOF {
		t.Errorf("Next after Close: %v, want io.EOF", err)
	}

	// gzip: not mapped, read as before
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(data)
	zw.Close()
	gz := filepath.Join(dir, "busy.pcap.gz")
	if err := os.WriteFile(gz, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zr, err := Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if zr.unmap != nil {
		t.Error("Open mapped a gzip file")
	}
	if n := len(readAll(t, zr)); n != len(want) {
		t.Errorf("gzip: %d frames, want %d", n, len(want))
	}
}

// TestNewReaderBytes: readers sharing one capture in memory read it
// independently, each the whole of it.
func TestNewReaderBytes(t *testing.T) {
	var buf bytes.Buffer
	cw, err := NewWriter(&buf, Ethernet, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := testkit.BusySegment(2_000, 20, 1_700_000_000*1e9, cw.WritePacket); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	a, err := NewReaderBytes(data, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewReaderBytes(data, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Next(); err != nil { // a ahead of b
		t.Fatal(err)
	}
	fb, fa := readAll(t, b), readAll(t, a)
	if len(fb) != 2_000 || len(fa) != 1_999 {
		t.Fatalf("read %d and %d frames, want 2000 and 1999", len(fb), len(fa))
	}
	if _, err := NewReaderBytes(data[:10], "short"); err == nil {
		t.Error("a 10-byte capture opened")
	}
}
