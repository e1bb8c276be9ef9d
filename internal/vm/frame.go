package vm

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
)

// A frame is one line on the serial console:
//
//	@@arplab SEQ KIND BASE64 CRC
//
// SEQ counts frames from 0 so the host sees a lost one; KIND says where the
// payload goes; CRC is the IEEE CRC-32 (hex) of "SEQ KIND BASE64", so a
// line that kernel messages broke into is detected, not half-printed. The
// prefix may follow other console output on the same line.
const framePrefix = "@@arplab "

// Kinds of frame.
const (
	KindHello = "hello" // the guest's uname -r: init is running
	KindOut   = "out"   // bytes of the suite's stdout
	KindErr   = "err"   // bytes of the suite's stderr
	KindLog   = "log"   // a line about the guest's own setup (modules, mounts)
	KindExit  = "exit"  // the suite's exit code, in decimal; the last frame
)

// maxPayload bounds one frame's payload, so a frame is one short console
// write that kernel messages are unlikely to split.
const maxPayload = 600

// Frame is one decoded frame.
type Frame struct {
	Seq     uint64
	Kind    string
	Payload []byte
}

// AppendFrame appends the encoded frame, newline included.
func AppendFrame(b []byte, f Frame) []byte {
	body := strconv.FormatUint(f.Seq, 10) + " " + f.Kind + " " + base64.StdEncoding.EncodeToString(f.Payload)
	b = append(b, framePrefix...)
	b = append(b, body...)
	b = append(b, ' ')
	b = append(b, fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body)))...)
	return append(b, '\n')
}

// ParseFrame finds a frame in one console line. ok is false for a line
// without the prefix (ordinary console output); err says what is wrong with
// a line that has the prefix but is not a whole frame.
func ParseFrame(line string) (f Frame, ok bool, err error) {
	i := strings.Index(line, framePrefix)
	if i < 0 {
		return Frame{}, false, nil
	}
	rest := strings.TrimRight(line[i+len(framePrefix):], "\r\n")
	fields := strings.Split(rest, " ")
	if len(fields) != 4 {
		return Frame{}, true, fmt.Errorf("frame: %d fields, want 4", len(fields))
	}
	body := fields[0] + " " + fields[1] + " " + fields[2]
	sum, err := strconv.ParseUint(fields[3], 16, 32)
	if err != nil || len(fields[3]) != 8 {
		return Frame{}, true, fmt.Errorf("frame: checksum %.16q is not 8 hex digits", fields[3])
	}
	if uint32(sum) != crc32.ChecksumIEEE([]byte(body)) {
		return Frame{}, true, fmt.Errorf("frame: checksum mismatch (console output interleaved?)")
	}
	f.Seq, err = strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		return Frame{}, true, fmt.Errorf("frame: sequence %.24q: not a number", fields[0])
	}
	switch fields[1] {
	case KindHello, KindOut, KindErr, KindLog, KindExit:
	default:
		return Frame{}, true, fmt.Errorf("frame: unknown kind %.16q", fields[1])
	}
	f.Kind = fields[1]
	if f.Payload, err = base64.StdEncoding.DecodeString(fields[2]); err != nil {
		return Frame{}, true, fmt.Errorf("frame: payload: %v", err)
	}
	if len(f.Payload) > maxPayload {
		return Frame{}, true, fmt.Errorf("frame: payload of %d bytes, more than %d", len(f.Payload), maxPayload)
	}
	return f, true, nil
}

// frameWriter turns writes into frames of one kind on a shared console.
type frameWriter struct {
	c    *console
	kind string
}

func (w frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), maxPayload)
		if err := w.c.send(w.kind, p[:k]); err != nil {
			return n - len(p), err
		}
		p = p[k:]
	}
	return n, nil
}

// console numbers frames and writes each with one write call.
type console struct {
	w   io.Writer
	seq uint64
	buf []byte
}

func (c *console) send(kind string, payload []byte) error {
	c.buf = AppendFrame(c.buf[:0], Frame{Seq: c.seq, Kind: kind, Payload: payload})
	c.seq++
	_, err := c.w.Write(c.buf)
	return err
}
