package capture

import (
	"arplab/internal/testkit"
	"arplab/internal/wire/ndisc"
	"bytes"
	"compress/gzip"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// fuzzResult is everything a read of a whole file produces.
type fuzzResult struct {
	Frames  []Frame
	Err     string
	Skipped map[string]int
}

// readFuzz reads a file to the end through rd, checking the invariants
// that hold for any input.
func readFuzz(t *testing.T, rd io.Reader, size int) fuzzResult {
	return readFuzzWith(t, func() (*Reader, error) { return NewReader(rd, "fuzz") }, size)
}

// readFuzzWith is readFuzz for a reader open makes (in place, read ahead).
func readFuzzWith(t *testing.T, open func() (*Reader, error), size int) fuzzResult {
	r, err := open()
	if err == nil {
		defer r.Close()
	}
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("NewReader error %v is a %T, want *Error", err, err)
		}
		return fuzzResult{Err: err.Error()}
	}
	var res fuzzResult
	last := 0
	// Every record and block occupies at least 12 bytes, so a reader that
	// returns more frames than the input has bytes is looping.
	for i := 0; ; i++ {
		if i > size {
			t.Fatalf("more than %d frames from %d bytes", i, size)
		}
		f, err := r.Next()
		if err != nil {
			if err != io.EOF {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("Next error %v is a %T, want io.EOF or *Error", err, err)
				}
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("Next after %v returned %v, want the same error", err, again)
			}
			res.Err = err.Error()
			break
		}
		if f.Index <= last || len(f.Payload) > f.CapLen || f.CapLen > size {
			t.Fatalf("frame %d after %d: %d-byte payload, CapLen %d, input %d bytes", f.Index, last, len(f.Payload), f.CapLen, size)
		}
		last = f.Index
		// the ND decoder runs on every frame's payload too
		var m ndisc.Message
		if err := f.ND(&m); err == nil && (!f.IsND() && m.HopLimit == 0 && m.Type == 0) {
			t.Fatalf("frame %d: ND decoded nothing without an error", f.Index)
		}
		c := *f
		c.Payload = bytes.Clone(f.Payload)
		res.Frames = append(res.Frames, c)
	}
	res.Skipped = r.Skipped()
	return res
}

// FuzzReader feeds arbitrary bytes to NewReader and Next. Nothing may
// panic, errors must be *Error, and reading through a one-byte-at-a-time
// reader must give exactly the same frames, counts and error as reading
// from memory (which catches buffer-refill bugs). Seeds: the hand-made files
// of the reader tests here, and in testdata/fuzz/FuzzReader the first bytes
// of tcpdump's test captures.
func FuzzReader(f *testing.F) {
	for _, bf := range benchFiles() {
		f.Add(append(bytes.Clone(bf.head), bf.body[:200]...))
	}
	f.Add(newPcapFile(beOrder, magicNano, uint32(LinuxSLL2)).record(1, 2, testkit.SLL2(0x0806, 3, 1, 0, macA[:]), 0).bytes())
	f.Add(newPcapFile(leOrder, magicKuznetzov, uint32(Ethernet)).record(1, 2, ethGARP, 0).bytes())
	f.Add(newPcapFile(leOrder, magicMicro, uint32(LinuxSLL)).record(1, 2, testkit.SLL(0, 1, macA[:], 0x8100), 0).bytes())
	f.Add(newNgFile().section(beOrder).
		iface(Ethernet, 0, ngOpt{optIfTsresol, []byte{0x80 | 20}}, u64opt(beOrder, optIfTsoffset, 1000)).
		iface(LinuxSLL, 64).
		epb(1, 1, ethGARP, u32opt(beOrder, optEpbFlags, 2)).spb(60, ethGARP).pb(0, 0, ethReply).
		block(4, make([]byte, 8)).bytes())
	f.Add(newPcapFile(leOrder, magicMicro, uint32(Ethernet)).record(1, 0, ethNA, 0).bytes())
	f.Add(newPcapFile(leOrder, magicMicro, uint32(LinuxSLL2)).record(1, 0, append(testkit.SLL2(0x86dd, 2, 1, 4, macA[:]), na6...), 0).bytes())
	f.Add(gzipped(newPcapFile(leOrder, magicMicro, 1).record(1, 0, ethTagged, 0).bytes()))
	f.Fuzz(func(t *testing.T, data []byte) {
		size := plainSize(data)
		fast := readFuzz(t, bytes.NewReader(data), size)
		slow := readFuzz(t, iotest.OneByteReader(bytes.NewReader(data)), size)
		if diff := cmp.Diff(fast, slow); diff != "" {
			t.Fatalf("bytes.Reader and OneByteReader disagree (-fast +slow):\n%s", diff)
		}
		// in place (ranking's mapped file) and read ahead (Open's plain
		// files, never gzip): the same frames, skips and errors
		inPlace := readFuzzWith(t, func() (*Reader, error) { return NewReaderBytes(data, "fuzz") }, size)
		if diff := cmp.Diff(fast, inPlace); diff != "" {
			t.Fatalf("a stream and the reader in place disagree (-stream +in place):\n%s", diff)
		}
		if len(data) < 2 || data[0] != gzipMagic0 || data[1] != gzipMagic1 {
			ahead := readFuzzWith(t, func() (*Reader, error) {
				// small blocks: every record crosses one, many do not
				// fit the room kept for a cut record
				src := newAheadSourceSize(bytes.NewReader(data), 64, 256)
				r, err := newReader(src, nil, "fuzz")
				if err != nil {
					src.ahead.stop()
				}
				return r, err
			}, size)
			if diff := cmp.Diff(fast, ahead); diff != "" {
				t.Fatalf("a stream and the reader ahead disagree (-stream +ahead):\n%s", diff)
			}
		}
	})
}

// plainSize is the size of the capture data holds: its length, or for a
// gzip stream (the reader decompresses those) the length decompressed, so
// that the bounds readFuzz checks hold for compressed input too.
func plainSize(data []byte) int {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return len(data)
	}
	n, _ := io.Copy(io.Discard, zr)
	return max(len(data), int(n))
}
