package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"arplab/internal/testkit"
)

// TestMapFile: a capture file read ahead by Open, or mapped by MapFile and
// read in place, gives exactly
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
	// frames of every size across the read-ahead's block boundaries:
	// small ones, and ones longer than the room kept for a cut record
	big := 0
	emit := func(ts int64, frame []byte) error {
		if big++; big%4001 == 0 {
			frame = append(bytes.Clone(frame), make([]byte, (big%3)*(aheadHead+5000))...)
		}
		return cw.WritePacket(ts, frame)
	}
	if err := testkit.BusySegment(30_000, 50, 1_700_000_000*1e9, emit); err != nil {
		t.Fatal(err)
	}
	data := append(buf.Bytes(), 1, 2, 3) // a truncated last record is counted
	if len(data) < 3*aheadSize {
		t.Fatalf("the capture is %d bytes, too short to cross blocks", len(data))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "busy.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	stream, err := NewReader(bytes.NewReader(data), path)
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, stream)
	ahead, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if ahead.src.ahead == nil {
		t.Fatal("Open does not read a plain file ahead")
	}
	sameFrames(t, "read ahead", readAll(t, ahead), want)
	if g, w := ahead.Offset(), stream.Offset(); g != w {
		t.Errorf("offset: read ahead %d, stream %d", g, w)
	}
	if g := ahead.Skipped(); g[SkipTruncatedRecord] != 1 {
		t.Errorf("skipped: read ahead %v", g)
	}
	if err := ahead.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ahead.Next(); err == nil {
		t.Error("Next after Close returned a frame")
	}
	// closed half way, with blocks in flight: the reading goroutine ends
	half, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := half.Next(); err != nil {
			t.Fatal(err)
		}
	}
	half.Close()
	// what was read already may still come; then the reading has ended
	for n := 0; ; n++ {
		_, err := half.Next()
		if err == nil && n < 30_000 {
			continue
		}
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Next after Close: %v after %d more frames", err, n)
		}
		break
	}
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
	sameFrames(t, "mapped", readAll(t, mapped), want)
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

// sameFrames compares frames read two ways.
func sameFrames(t *testing.T, how string, got, want []Frame) {
	t.Helper()
	if len(got) != len(want) || len(got) < 20_000 {
		t.Fatalf("%s: %d frames, stream %d", how, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("%s: frame %d: payload differs", how, i+1)
		}
		g.Payload, w.Payload = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: frame %d: %+v, stream %+v", how, i+1, g, w)
		}
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
