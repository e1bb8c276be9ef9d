//go:build linux

package watch

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	binary.NativeEndian.PutUint64(b[0:8], uint64(unix.CmsgLen(len(data))))
	binary.NativeEndian.PutUint32(b[8:12], uint32(level))
	binary.NativeEndian.PutUint32(b[12:16], uint32(typ))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func timespec(sec, nsec int64) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b[0:8], uint64(sec))
	binary.NativeEndian.PutUint64(b[8:16], uint64(nsec))
	return b
}

// slowTimestamp is the general parse the fast path must agree with.
func slowTimestamp(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			return time.Unix(int64(binary.NativeEndian.Uint64(m.Data[0:8])), int64(binary.NativeEndian.Uint64(m.Data[8:16]))), true
		}
	}
	return time.Time{}, false
}

func TestTimestamp(t *testing.T) {
	want := time.Unix(1796293222, 123456789)
	got, ok := timestamp(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(1796293222, 123456789)))
	if !ok || !got.Equal(want) {
		t.Errorf("timestamp = %v, %v; want %v", got, ok, want)
	}
	if _, ok := timestamp(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMP, timespec(1, 2))); ok {
		t.Error("SCM_TIMESTAMP (microseconds) taken for SCM_TIMESTAMPNS")
	}
	if _, ok := timestamp(nil); ok {
		t.Error("no control message, yet a timestamp")
	}
}

// FuzzTimestamp: the in-place read and the general parse agree on any
// bytes, and neither panics.
func FuzzTimestamp(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(1796293222, 123456789)))
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMP, timespec(1, 2)))
	f.Add(cmsg(unix.SOL_PACKET, unix.SCM_TIMESTAMPNS, timespec(1, 2)))
	f.Add(append(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(5, 6))...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		a, aok := timestamp(oob)
		b, bok := slowTimestamp(oob)
		if aok != bok || !a.Equal(b) {
			t.Errorf("timestamp = %v, %v; general parse %v, %v", a, aok, b, bok)
		}
	})
}
