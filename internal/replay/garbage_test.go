package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"arplab/internal/capture"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// rawPcap builds classic pcap files by hand, for the damage capture.Writer
// refuses to write.
type rawPcap struct{ b []byte }

func newRawPcap(link uint32) *rawPcap {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4) // microsecond magic
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)               // thiszone, sigfigs
	b = binary.LittleEndian.AppendUint32(b, 262144) // snaplen
	b = binary.LittleEndian.AppendUint32(b, link)
	return &rawPcap{b: b}
}

// record appends a record claiming origLen bytes on the wire.
func (p *rawPcap) record(sec uint32, capLen, origLen uint32, data []byte) *rawPcap {
	p.b = binary.LittleEndian.AppendUint32(p.b, sec)
	p.b = binary.LittleEndian.AppendUint32(p.b, 0)
	p.b = binary.LittleEndian.AppendUint32(p.b, capLen)
	p.b = binary.LittleEndian.AppendUint32(p.b, origLen)
	p.b = append(p.b, data...)
	return p
}

func TestGarbage(t *testing.T) {
	hostARP := testkit.Ether(arp.Broadcast, macHost, ether.EtherTypeARP, nil, request(macHost, ipHost, ipG).Append(nil))
	lens := request(macG, ipG, ipHost).Append(nil)
	lens[4] = 8 // hardware address length 8
	notEth := request(macG, ipG, ipHost).Append(nil)
	notEth[1] = 0x20 // hardware type 32
	short := request(macG, ipG, ipHost).Append(nil)[:20]
	const sec = 1_700_000_000
	tests := []struct {
		name    string
		data    []byte
		err     string         // the error, if replay cannot start or stops
		skipped map[string]int // otherwise, what was counted
		check   func(t *testing.T, s Summary)
	}{
		{name: "empty", data: nil, err: "not a pcap or pcapng file"},
		{name: "text", data: []byte("this is not a capture, just text"), err: "not a pcap or pcapng file"},
		{name: "header only", data: newRawPcap(1).b, err: "holds no frames: nothing to replay"},
		{name: "unsupported link type", data: newRawPcap(147).record(sec, 4, 4, []byte{1, 2, 3, 4}).b, err: "not supported"},
		{name: "truncated last record", data: func() []byte {
			b := newRawPcap(1).record(sec, 60, 60, hostARP).record(sec+1, 60, 60, hostARP).b
			return b[:len(b)-30]
		}(), skipped: map[string]int{capture.SkipTruncatedRecord: 1}},
		{name: "snaplen cut inside the Ethernet header", data: newRawPcap(1).record(sec, 60, 60, hostARP).
			record(sec+1, 10, 60, hostARP[:10]).b, skipped: map[string]int{capture.SkipSnaplenCut: 1}},
		{name: "undecodable ARP payloads", data: newRawPcap(1).record(sec, 60, 60, hostARP).
			record(sec+1, 60, 60, testkit.Ether(macHost, macG, ether.EtherTypeARP, nil, lens)).
			record(sec+2, 60, 60, testkit.Ether(macHost, macG, ether.EtherTypeARP, nil, notEth)).
			record(sec+3, 34, 34, testkit.Ether(macHost, macG, ether.EtherTypeARP, nil, short)[:34]).b,
			skipped: map[string]int{arp.ErrLengths.Error(): 1, arp.ErrNotEthernet.Error(): 1, arp.ErrShort.Error(): 1}},
		{name: "corrupt length in the middle", data: newRawPcap(1).record(sec, 60, 60, hostARP).
			record(sec+1, 1<<30, 60, hostARP).b, err: "captured length 1073741824 exceeds"},
		{name: "time runs backwards, then jumps 77 years", data: newRawPcap(1).record(sec, 60, 60, hostARP).
			record(sec-10, 60, 60, hostARP).record(4_100_000_000, 60, 60, hostARP).record(4_100_000_001, 60, 60, hostARP).b,
			check: func(t *testing.T, s Summary) {
				if s.ClockBackwards != 1 || s.ClockJumps != 1 || s.Frames != 4 {
					t.Errorf("backwards %d, jumps %d, frames %d; want 1, 1, 4", s.ClockBackwards, s.ClockJumps, s.Frames)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec trace.Recorder
			start := time.Now()
			sum, err := ReplayReader(bytes.NewReader(tt.data), "bad.pcap", Options{Host: "10.0.0.1"}, &rec)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("replay took %v", d)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				if len(rec.Events) > 0 {
					// It stopped mid-file: what was replayed is still closed by a verdict.
					checkTrace(t, rec.Events)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkTrace(t, rec.Events)
			if tt.skipped != nil {
				if len(sum.Skipped) != len(tt.skipped) {
					t.Errorf("skipped %v, want %v", sum.Skipped, tt.skipped)
				}
				for k, v := range tt.skipped {
					if sum.Skipped[k] != v {
						t.Errorf("skipped[%q] = %d, want %d (all: %v)", k, sum.Skipped[k], v, sum.Skipped)
					}
				}
				notes := 0
				for _, e := range kinds(rec.Events, trace.KindNote) {
					if e.Cause == "skipped" {
						notes++
					}
				}
				if notes != len(tt.skipped) {
					t.Errorf("%d skip notes, want one per reason (%d)", notes, len(tt.skipped))
				}
			}
			if tt.check != nil {
				tt.check(t, sum)
			}
		})
	}
}

// TestCorruptMidFile: a capture that cannot be read to the end returns the
// reader's *capture.Error and the summary of what was replayed.
func TestCorruptMidFile(t *testing.T) {
	hostARP := testkit.Ether(arp.Broadcast, macHost, ether.EtherTypeARP, nil, request(macHost, ipHost, ipG).Append(nil))
	data := newRawPcap(1).record(1_700_000_000, 60, 60, hostARP).record(1_700_000_001, 1<<30, 60, hostARP).b
	sum, err := ReplayReader(bytes.NewReader(data), "bad.pcap", Options{Host: "10.0.0.1"}, nil)
	var ce *capture.Error
	if !errors.As(err, &ce) || ce.Record != 2 {
		t.Fatalf("err = %v, want a *capture.Error for record 2", err)
	}
	if sum.Frames != 1 || sum.Sent != 1 {
		t.Errorf("summary frames %d sent %d, want 1, 1", sum.Frames, sum.Sent)
	}
}
