package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"

	"arplab/internal/wire/ether"
)

// Errors that callers may want to branch on; they arrive wrapped in *Error,
// which adds the file and the position.
var (
	// ErrNotCapture: the file starts with neither a pcap nor a pcapng magic
	// number (nor gzip around one).
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrUnsupportedLinkType: a classic pcap file of a link type arplab
	// cannot decode. (pcapng files may mix link types per interface, so
	// there records of other types are skipped and counted instead.)
	ErrUnsupportedLinkType = errors.New("link type is not supported (want Ethernet, Linux SLL or SLL2)")
	// ErrCorrupt: a header or length field that cannot be right. Reading
	// stops there, because every later offset depends on it.
	ErrCorrupt = errors.New("corrupt capture file")
)

// Error describes why a capture file cannot be opened or read further, and
// where: the byte offset lets a user look at the spot with a hex dump, and
// the record number matches tcpdump's `-#` numbering.
type Error struct {
	File   string
	Offset int64 // byte offset in the file (after gzip decompression); -1 if none applies
	Record int   // 1-based record the problem belongs to; 0 for file-level headers
	Err    error
}

// Error formats as "capture: FILE: byte offset N (record R): problem".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("capture: ")
	b.WriteString(e.File)
	b.WriteString(": ")
	if e.Offset >= 0 {
		b.WriteString("byte offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		if e.Record > 0 {
			fmt.Fprintf(&b, " (record %d)", e.Record)
		}
		b.WriteString(": ")
	} else if e.Record > 0 {
		fmt.Fprintf(&b, "record %d: ", e.Record)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying cause, so errors.Is works with the sentinels.
func (e *Error) Unwrap() error { return e.Err }

type format uint8

const (
	formatPcap format = iota + 1
	formatPcapng
)

// Magic numbers, as the first four bytes read little-endian.
const (
	magicMicro      = 0xa1b2c3d4 // classic pcap, microsecond timestamps
	magicNano       = 0xa1b23c4d // classic pcap, nanosecond timestamps
	magicKuznetzov  = 0xa1b2cd34 // Alexey Kuznetzov's patched libpcap: 24-byte record headers
	magicMicroSwap  = 0xd4c3b2a1
	magicNanoSwap   = 0x4d3cb2a1
	magicKuzSwap    = 0x34cdb2a1
	magicPcapngSHB  = 0x0a0d0d0a // pcapng Section Header Block type, same in both byte orders
	pcapFileHdrLen  = 24
	pcapRecHdrLen   = 16
	kuzRecHdrLen    = 24
	linkTypeMask    = 0x03ffffff // LT_LINKTYPE: the upper bits carry FCS information
	gzipMagic0      = 0x1f
	gzipMagic1      = 0x8b
	pcapVersionMajr = 2
)

// MaxSnapLen is libpcap's MAXIMUM_SNAPLEN. A classic pcap record claiming to
// have captured more than this (or than the file's snap length, if larger)
// has a corrupt header; libpcap refuses such records too.
const MaxSnapLen = 262144

// maxRecordLen bounds the per-record limit when a file declares a huge snap
// length, so that a corrupt header cannot make us buffer gigabytes.
const maxRecordLen = 16 << 20

// Reader reads frames from a classic pcap or a pcapng file, one record at a
// time, and normalises each to a Frame.
//
// Classic pcap and pcapng are both parsed here rather than by
// gopacket/pcapgo, although pcapgo is what the team chose (field notes
// §C.4). Robustness decided it; speed alone would not have, since pcapgo
// is within budget and does not allocate per record:
//
//   - Speed. pcapgo's Reader does not allocate per record with
//     ZeroCopyReadPacketData, but it reads each record through two io.ReadFull
//     calls and builds a time.Time. On a synthetic capture of Ethernet ARP
//     frames (bench_test.go, 2 shared vCPUs, best of 8) pcapgo takes 29-50
//     ns per record before any link-layer decoding, and NgReader 110 ns;
//     Next takes 15 ns (pcap) and 22 ns (pcapng) including it. Replay's
//     budget is 200 ns per frame end to end (5 million frames/s).
//   - Robustness. pcapgo's Reader stops at the first record longer than the
//     file's snap length (four of tcpdump's test captures have one; tcpdump
//     reads them), and its NgReader panics on hostile input: an if_tsresol
//     of 2^-64 divides by zero, and a one-byte epb_flags option indexes
//     out of range (TestPcapgoNgReaderPanics). A capture is untrusted
//     input, so this reader must never panic.
//
// pcapgo stays in use where it is sound: Writer wraps pcapgo.Writer, and the
// tests check this reader against pcapgo on every shared capture.
type Reader struct {
	name    string
	src     *source
	closer  io.Closer
	format  format
	frame   Frame
	tags    [ether.MaxTags]ether.Tag // scratch for the VLAN tag walk, so Next does not allocate
	index   int                      // records seen so far, skipped ones included
	skipped map[string]int
	err     error // sticky: io.EOF or *Error once reading has ended

	// classic pcap
	big    bool     // big-endian file
	fracNs int64    // nanoseconds per unit of the sub-second field: 1000 or 1
	recHdr int      // record header length: 16, or 24 for Kuznetzov files
	link   LinkType // the file's single link type
	maxCap int      // largest believable captured length

	// pcapng
	ng ngState
}

// Open opens the capture file at path; the caller must Close it. The format
// (pcap or pcapng, either byte order, optionally gzip-compressed) is
// detected from the magic number, not from the file name. The file is
// read as a stream, in large reads: mapped, a long capture's pages would
// count against the process's memory as it went (MapFile maps one for
// readers that read the same part many times).
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	var src *source
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 2 && (magic[0] != gzipMagic0 || magic[1] != gzipMagic1) {
		src = newAheadSource(f) // a plain file: read on another core
	} else {
		src = newSourceSize(f, fileBuf)
	}
	r, err := newReader(src, f, path)
	if err != nil {
		if src.ahead != nil {
			src.ahead.stop()
		}
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a capture from rd. name is used only in error messages
// (a file name, or "stdin"). It reads the file header, and for pcapng also
// up to the first interface description, so that LinkType is meaningful
// straight away.
func NewReader(rd io.Reader, name string) (*Reader, error) {
	return newReader(newSource(rd), rd, name)
}

// NewReaderBytes reads a capture held in memory, in place: frames'
// payloads are slices of data, which must not change while the Reader is
// in use. Many Readers may share one data (RankProfiles reads a capture's
// start once per kernel profile).
func NewReaderBytes(data []byte, name string) (*Reader, error) {
	return newReader(newFixedSource(data), nil, name)
}

// newReader reads the headers from s, whose input is rd (nil for a fixed
// source).
func newReader(s *source, rd io.Reader, name string) (*Reader, error) {
	r := &Reader{name: name, src: s, skipped: map[string]int{}}
	s.fill(4) // a short file is diagnosed below, after a look for gzip
	if b := s.unread(); len(b) >= 2 && b[0] == gzipMagic0 && b[1] == gzipMagic1 {
		var zin io.Reader = bytes.NewReader(b)
		if rd != nil {
			zin = io.MultiReader(zin, rd)
		}
		zr, err := gzip.NewReader(zin)
		if err != nil {
			return nil, r.errorf(0, 0, "%w: bad gzip stream: %v", ErrNotCapture, err)
		}
		r.src = newSource(zr)
		s = r.src
		s.fill(4)
	}
	if len(s.unread()) < 4 {
		if s.err != io.EOF && s.err != io.ErrUnexpectedEOF {
			return nil, r.errorf(0, 0, "reading the file header: %v", s.err)
		}
		return nil, r.errorf(0, 0, "%w: file is %d bytes long", ErrNotCapture, len(s.unread()))
	}
	switch magic := binary.LittleEndian.Uint32(s.unread()); magic {
	case magicMicro, magicNano, magicKuznetzov, magicMicroSwap, magicNanoSwap, magicKuzSwap:
		if err := r.openPcap(magic); err != nil {
			return nil, err
		}
	case magicPcapngSHB:
		if err := r.openPcapng(); err != nil {
			return nil, err
		}
	default:
		return nil, r.errorf(0, 0, "%w (magic number %#08x)", ErrNotCapture, magic)
	}
	return r, nil
}

// openPcap reads the 24-byte classic pcap file header.
func (r *Reader) openPcap(magic uint32) error {
	s := r.src
	if !s.fill(pcapFileHdrLen) {
		return r.readErr(fmt.Sprintf("file header is truncated (%d of %d bytes)", len(s.unread()), pcapFileHdrLen))
	}
	h := s.unread()[:pcapFileHdrLen]
	r.format = formatPcap
	r.big = magic == magicMicroSwap || magic == magicNanoSwap || magic == magicKuzSwap
	r.fracNs = 1000
	if magic == magicNano || magic == magicNanoSwap {
		r.fracNs = 1
	}
	r.recHdr = pcapRecHdrLen
	if magic == magicKuznetzov || magic == magicKuzSwap {
		r.recHdr = kuzRecHdrLen
	}
	if major, minor := r.u16(h[4:6]), r.u16(h[6:8]); major != pcapVersionMajr {
		return r.errorf(4, 0, "%w: pcap version %d.%d, want 2.x", ErrCorrupt, major, minor)
	}
	snap := r.u32(h[16:20])
	r.maxCap = MaxSnapLen
	if snap > MaxSnapLen {
		r.maxCap = int(min(snap, maxRecordLen))
	}
	r.link = LinkType(r.u32(h[20:24]) & linkTypeMask)
	if !r.link.supported() {
		return r.errorf(-1, 0, "link type %d (%s) is not supported (want Ethernet, Linux SLL or SLL2): %w",
			uint32(r.link), r.link, ErrUnsupportedLinkType)
	}
	s.advance(pcapFileHdrLen)
	return nil
}

// Next returns the next usable frame. At the end of the file it returns
// io.EOF; a file that cannot be read further returns an *Error, and every
// later call returns the same error. Records that cannot be used (see the
// Skip* reasons) are counted in Skipped and passed over, not returned.
//
// The Frame and its Payload are valid only until the next call.
func (r *Reader) Next() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.format == formatPcap {
		return r.nextPcap()
	}
	return r.nextPcapng()
}

// nextPcap is the hot loop: one classic pcap record per iteration, no
// allocation, no copying beyond the buffered read.
func (r *Reader) nextPcap() (*Frame, error) {
	s := r.src
	for {
		if !s.fill(r.recHdr) {
			return nil, r.endOfInput()
		}
		h := s.unread()
		var sec, frac, capLen, origLen uint32
		if r.big {
			sec = binary.BigEndian.Uint32(h[0:4])
			frac = binary.BigEndian.Uint32(h[4:8])
			capLen = binary.BigEndian.Uint32(h[8:12])
			origLen = binary.BigEndian.Uint32(h[12:16])
		} else {
			sec = binary.LittleEndian.Uint32(h[0:4])
			frac = binary.LittleEndian.Uint32(h[4:8])
			capLen = binary.LittleEndian.Uint32(h[8:12])
			origLen = binary.LittleEndian.Uint32(h[12:16])
		}
		r.index++
		if capLen > uint32(r.maxCap) {
			return nil, r.fail(&Error{File: r.name, Offset: s.off + 8, Record: r.index,
				Err: fmt.Errorf("%w: captured length %d exceeds the %d-byte limit", ErrCorrupt, capLen, r.maxCap)})
		}
		n := r.recHdr + int(capLen)
		if !s.fill(n) {
			return nil, r.endOfInput()
		}
		rec := s.unread()[:n]
		s.advance(n)
		f := &r.frame
		f.Index = r.index
		// Seconds are unsigned in the file format (valid until 2106), and
		// an out-of-range sub-second field is kept as it is: tcpdump prints
		// such stamps as invalid but still shows the packet.
		f.Time = int64(sec)*1e9 + int64(frac)*r.fracNs
		f.CapLen, f.OrigLen = int(capLen), int(origLen)
		f.Interface = 0
		if reason := decodeLink(f, &r.tags, r.link, rec[r.recHdr:]); reason != "" {
			r.skipped[reason]++
			continue
		}
		if r.recHdr == kuzRecHdrLen && r.link == Ethernet {
			f.PktType, f.HasPktType = pktTypeFromLinux(uint16(rec[22]))
		}
		return f, nil
	}
}

// endOfInput ends reading when fill came up short: a clean end, a truncated
// last record (counted, then io.EOF, as tcpdump warns and stops), or a read
// error.
func (r *Reader) endOfInput() error {
	s := r.src
	if s.err != io.EOF && s.err != io.ErrUnexpectedEOF { // gzip reports truncation as ErrUnexpectedEOF
		return r.fail(&Error{File: r.name, Offset: s.off + int64(len(s.unread())), Err: s.err})
	}
	if len(s.unread()) > 0 {
		r.skipped[SkipTruncatedRecord]++
		s.advance(len(s.unread()))
	}
	r.err = io.EOF
	return io.EOF
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// errorf builds an *Error at byte offset off (-1 for none).
func (r *Reader) errorf(off int64, record int, format string, args ...any) error {
	return &Error{File: r.name, Offset: off, Record: record, Err: fmt.Errorf(format, args...)}
}

// readErr reports a header that could not be read whole.
func (r *Reader) readErr(what string) error {
	s := r.src
	if s.err != nil && s.err != io.EOF && s.err != io.ErrUnexpectedEOF {
		return &Error{File: r.name, Offset: s.off + int64(len(s.unread())), Err: s.err}
	}
	return r.errorf(s.off, 0, "%s: %w", what, io.ErrUnexpectedEOF)
}

func (r *Reader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// Skipped returns how many records were passed over, by reason (the Skip*
// constants, or "unsupported link type N (NAME)"). The map is a copy.
func (r *Reader) Skipped() map[string]int { return maps.Clone(r.skipped) }

// LinkType names the link type as tcpdump does ("EN10MB", "LINUX_SLL").
// For pcapng it lists the distinct link types of the interfaces described
// so far, comma-separated, because each interface may have its own.
func (r *Reader) LinkType() string {
	if r.format == formatPcap {
		return r.link.String()
	}
	names := make([]string, len(r.ng.links))
	for i, lt := range r.ng.links {
		names[i] = lt.String()
	}
	return strings.Join(names, ",")
}

// Offset is how many bytes of the capture were consumed so far (after
// gzip decompression): with the file's size, how far a reading has come.
func (r *Reader) Offset() int64 { return r.src.off }

// Format returns "pcap" or "pcapng".
func (r *Reader) Format() string {
	if r.format == formatPcap {
		return "pcap"
	}
	return "pcapng"
}

// Close closes the file opened by Open. It is a no-op for NewReader.
func (r *Reader) Close() error {
	if a := r.src.ahead; a != nil {
		a.stop() // before the file closes under it
	}
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}

// MapFile maps the capture file f for NewReaderBytes, when it is a regular
// file arplab can read in place (not gzip-compressed); unmap releases it
// once no Reader uses it. ok is false otherwise, and f is to be read as a
// stream.
func MapFile(f *os.File) (data []byte, unmap func() error, ok bool) {
	m, ok := mapFile(f)
	if !ok {
		return nil, nil, false
	}
	if len(m) >= 2 && m[0] == gzipMagic0 && m[1] == gzipMagic1 {
		unmapFile(m)
		return nil, nil, false
	}
	return m, func() error { return unmapFile(m) }, true
}
