package capture

import (
	"errors"
	"io"
	"os"
)

// readAhead reads a file on a goroutine of its own, a block ahead of the
// frames being decoded: the read system calls (copying the file out of
// the page cache, a tenth of a replay's time) run on another core than
// the model. Blocks are handed over whole and not copied again: the
// source decodes in place in the block, and only the partial record at a
// block's end is copied, into the headroom in front of the next block.
type readAhead struct {
	full chan aheadBlock
	free chan []byte
	done chan struct{}
	head int // aheadHead, smaller in tests
}

type aheadBlock struct {
	buf []byte // data in buf[head:head+n]
	n   int
	err error // the read's error after those bytes (io.EOF at the end)
}

const (
	aheadBlocks = 4       // blocks in flight: read, queued and in use
	aheadSize   = 1 << 20 // bytes read per block
	// aheadHead is the room before a block's data for the rest of the
	// previous block (a record cut by the block's end); a longer rest
	// goes to a buffer of its own.
	aheadHead = 64 << 10
)

// newAheadSource reads r (a file) on its own goroutine until the end, an
// error, or stop.
func newAheadSource(r io.Reader) *source { return newAheadSourceSize(r, aheadHead, aheadSize) }

// newAheadSourceSize reads blocks of size bytes with head bytes of room.
func newAheadSourceSize(r io.Reader, head, size int) *source {
	a := &readAhead{full: make(chan aheadBlock, aheadBlocks), free: make(chan []byte, aheadBlocks+1), done: make(chan struct{}), head: head}
	for range aheadBlocks {
		a.free <- make([]byte, head+size)
	}
	go a.run(r)
	return &source{ahead: a}
}

func (a *readAhead) run(r io.Reader) {
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.done:
			return
		}
		n, err := io.ReadFull(r, b[a.head:])
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF // a short last block of a file: its end
		}
		select {
		case a.full <- aheadBlock{b, n, err}:
		case <-a.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// stop ends the reading goroutine (it may be blocked on handing over a
// block).
func (a *readAhead) stop() {
	select {
	case <-a.done:
	default:
		close(a.done)
	}
}

// next takes the next block into s, keeping the unread bytes in front of
// it; it reports false when there is none (s.err is set).
func (s *source) next() bool {
	if s.err != nil {
		return false
	}
	var blk aheadBlock
	select {
	case blk = <-s.ahead.full:
	case <-s.ahead.done: // Close: nothing more is read
		s.err = os.ErrClosed
		return false
	}
	head := s.ahead.head
	rest := s.buf[s.pos:s.end]
	data := blk.buf[head : head+blk.n]
	if len(rest) <= head {
		start := head - len(rest)
		copy(blk.buf[start:], rest)
		s.recycle()
		s.buf, s.pos, s.end, s.pooled = blk.buf, start, head+blk.n, true
	} else {
		// a record longer than the headroom: joined in a buffer of its own
		nb := make([]byte, len(rest)+len(data))
		copy(nb, rest)
		copy(nb[len(rest):], data)
		s.recycle()
		s.ahead.free <- blk.buf
		s.buf, s.pos, s.end, s.pooled = nb, 0, len(nb), false
	}
	if blk.err != nil {
		s.err = blk.err
	}
	return true
}

// recycle hands the current buffer back to the reading goroutine, if it
// is one of its blocks (the frames in it are no longer in use: fill runs
// within Next).
func (s *source) recycle() {
	if s.pooled {
		s.ahead.free <- s.buf
		s.pooled = false
	}
}
