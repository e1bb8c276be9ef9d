package capture

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"arplab/internal/testkit"
)

// TestMapFile: a capture file mapped by MapFile reads, in place, exactly
// the frames, offsets and skip counts a stream read of it does; a
// gzip-compressed file is not mapped (it is read as a stream).
func TestMapFile(t *testing.T) {
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
	stream, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	want := readAll(t, stream)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, unmap, ok := MapFile(f)
	f.Close() // the mapping outlives the descriptor
	if !ok {
		t.Fatal("MapFile did not map a regular file")
	}
	defer unmap()
	mapped, err := NewReaderBytes(m, path)
	if err != nil {
		t.Fatal(err)
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

	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(data)
	zw.Close()
	gz := filepath.Join(dir, "busy.pcap.gz")
	if err := os.WriteFile(gz, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	if _, _, ok := MapFile(zf); ok {
		t.Error("MapFile mapped a gzip file")
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
