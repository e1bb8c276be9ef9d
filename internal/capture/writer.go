package capture

import (
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer writes a classic pcap file, the format every tool opens: arplab
// uses it to save the frames a scenario sends so that they can be inspected
// with `tcpdump -r` or replayed later. It wraps pcapgo.Writer, which is
// correct for writing; only pcapgo's reading side was replaced (see Reader).
//
// Writer does not buffer: pcapgo issues two writes per packet, so wrap a
// file in a bufio.Writer (and flush it) when writing many frames.
type Writer struct {
	w     *pcapgo.Writer
	nanos bool
}

// NewWriter writes the pcap file header to w and returns a Writer for
// records of the given link type. With nanosecond set the file uses the
// nanosecond magic number (tcpdump reads both; use it when the timestamps
// come from the simulator, whose clock is in nanoseconds).
func NewWriter(w io.Writer, linkType LinkType, nanosecond bool) (*Writer, error) {
	pw := pcapgo.NewWriter(w)
	if nanosecond {
		pw = pcapgo.NewWriterNanos(w)
	}
	if err := pw.WriteFileHeader(MaxSnapLen, layers.LinkType(linkType)); err != nil {
		return nil, fmt.Errorf("capture: writing pcap file header: %w", err)
	}
	return &Writer{w: pw, nanos: nanosecond}, nil
}

// maxPcapTime is the last second a pcap record can hold: its seconds field
// is an unsigned 32-bit number.
const maxPcapTime = 1<<32 - 1

// WritePacket appends one record holding data, captured whole, stamped
// timeNs nanoseconds after the Unix epoch. A microsecond file truncates the
// stamp to whole microseconds. Times before 1970 or after 2106 cannot be
// represented and are an error rather than silently wrapped.
func (w *Writer) WritePacket(timeNs int64, data []byte) error {
	if timeNs < 0 || timeNs/1e9 > maxPcapTime {
		return fmt.Errorf("capture: packet time %d ns is outside the pcap range (1970 to 2106)", timeNs)
	}
	if len(data) > MaxSnapLen {
		return fmt.Errorf("capture: packet of %d bytes exceeds the %d-byte snap length", len(data), MaxSnapLen)
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(0, timeNs),
		CaptureLength: len(data),
		Length:        len(data),
	}
	if err := w.w.WritePacket(ci, data); err != nil {
		return fmt.Errorf("capture: writing packet: %w", err)
	}
	return nil
}
