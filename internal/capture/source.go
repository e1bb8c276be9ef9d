package capture

import (
	"errors"
	"io"
)

// source is a read buffer that hands out whole records as slices of its own
// memory, so the hot loop neither copies a record twice nor allocates. It is
// bufio.Reader without the parts we do not need, plus the file offset every
// error message wants.
type source struct {
	r   io.Reader
	buf []byte
	pos int   // buf[pos:end] is unread
	end int   //
	off int64 // file offset of buf[pos]
	err error // first error from r; io.EOF at the end of input

	// fixed: buf is the whole input (a mapped file or a slice given by
	// the caller), never copied, moved or grown.
	fixed bool
	// ahead, when set, reads the input on another goroutine and hands
	// over whole blocks (pooled: buf is one of them).
	ahead  *readAhead
	pooled bool
}

// newFixedSource reads from data in place: records are slices of data.
func newFixedSource(data []byte) *source {
	return &source{buf: data, end: len(data), err: io.EOF, fixed: true}
}

// initialBuf holds a few thousand small frames, enough that refills are rare
// without making tiny files (and fuzz inputs) pay for a large allocation.
const initialBuf = 64 << 10

// fileBuf is the read size for a file Open opens: a capture file is
// usually large, and every read call costs a system call.
const fileBuf = 1 << 20

func newSource(r io.Reader) *source { return newSourceSize(r, initialBuf) }

func newSourceSize(r io.Reader, size int) *source {
	return &source{r: r, buf: make([]byte, size)}
}

// fill tries to make n unread bytes available and reports whether it did.
// When it returns false, s.err says why (io.EOF when the input ended first)
// and whatever was left is still unread. The buffer grows by doubling and
// only while data keeps arriving, so a corrupt length field near the end of
// a small file cannot make it allocate the full (possibly huge) length.
func (s *source) fill(n int) bool {
	if s.end-s.pos >= n {
		return true
	}
	if s.fixed {
		return false // s.err is io.EOF: there is no more
	}
	if s.ahead != nil {
		for s.end-s.pos < n {
			if !s.next() {
				return false
			}
		}
		return true
	}
	if s.pos > 0 {
		copy(s.buf, s.buf[s.pos:s.end])
		s.end -= s.pos
		s.pos = 0
	}
	zero := 0
	for s.end < n {
		if s.err != nil {
			return false
		}
		if s.end == len(s.buf) {
			nb := make([]byte, min(n, 2*len(s.buf)))
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
		m, err := s.r.Read(s.buf[s.end:])
		if m < 0 || m > len(s.buf)-s.end {
			m, err = 0, errBadRead // a broken io.Reader must not corrupt the buffer
		}
		s.end += m
		switch {
		case err != nil:
			s.err = err
		case m == 0:
			// io.Reader allows (0, nil); give up after as many as bufio does.
			if zero++; zero >= 100 {
				s.err = io.ErrNoProgress
			}
		default:
			zero = 0
		}
	}
	return true
}

var errBadRead = errors.New("io.Reader returned an invalid byte count")

// unread returns the buffered, unread bytes without consuming them.
func (s *source) unread() []byte { return s.buf[s.pos:s.end] }

// advance consumes n buffered bytes.
func (s *source) advance(n int) {
	s.pos += n
	s.off += int64(n)
}

// discard consumes n bytes, buffered or not, without keeping them: used to
// step over pcapng blocks we do not parse, however large. It reports whether
// all n bytes were there.
func (s *source) discard(n int64) bool {
	for n > 0 {
		if s.pos == s.end && !s.fill(1) {
			return false
		}
		k := int64(s.end - s.pos)
		if k > n {
			k = n
		}
		s.advance(int(k))
		n -= k
	}
	return true
}
