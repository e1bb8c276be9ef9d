package capture

// Tests over the tcpdump test-suite captures in ../shared/captures
// (README.md there says where they come from and what INDEX.tsv holds).

import (
	"arplab/internal/testkit"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
)

// sharedFiles lists the shared captures (testkit.SharedCaptures says
// what happens when they are missing).
func sharedFiles(t testing.TB) []string {
	t.Helper()
	sharedDir := testkit.SharedCaptures(t)
	ents, err := os.ReadDir(sharedDir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") {
			files = append(files, filepath.Join(sharedDir, n))
		}
	}
	if len(files) == 0 {
		t.Fatalf("no captures in %s", sharedDir)
	}
	return files
}

// indexRow is the part of INDEX.tsv the tests compare with.
type indexRow struct {
	format    string
	linkTypes string
	frames    int
	arpEth    string // "-" when capinfo.py does not walk the link type
}

func readIndex(t *testing.T) map[string]indexRow {
	t.Helper()
	f, err := os.Open(filepath.Join(testkit.SharedCaptures(t), "INDEX.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]indexRow{}
	sc := bufio.NewScanner(f)
	var col map[string]int
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if col == nil {
			col = map[string]int{}
			for i, name := range fields {
				col[name] = i
			}
			continue
		}
		frames, err := strconv.Atoi(fields[col["frames"]])
		if err != nil {
			t.Fatalf("INDEX.tsv: %v", err)
		}
		rows[fields[col["file"]]] = indexRow{
			format:    fields[col["format"]],
			linkTypes: fields[col["linktype"]],
			frames:    frames,
			arpEth:    fields[col["arp_ethertype_frames"]],
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestSharedCaptures reads every shared capture to the end. The files are
// well-formed at the file level (README.md), so each must either be
// refused at Open for its link type or read to io.EOF; and the counts must
// agree with the independent parser that built INDEX.tsv: every record is
// either returned or skipped, and the ARP frames are the ones it found.
func TestSharedCaptures(t *testing.T) {
	files := sharedFiles(t)
	index := readIndex(t)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			row, ok := index[name]
			if !ok {
				t.Fatalf("%s has no INDEX.tsv row", name)
			}
			r, err := Open(path)
			if err != nil {
				if !errors.Is(err, ErrUnsupportedLinkType) || row.format != "pcap" {
					t.Fatalf("Open: %v", err)
				}
				want := fmt.Sprintf("capture: %s: link type %s (", path, row.linkTypes)
				if !strings.HasPrefix(err.Error(), want) {
					t.Errorf("Open error = %q, want it to start with %q", err, want)
				}
				return
			}
			defer r.Close()
			if r.Format() != row.format {
				t.Errorf("Format() = %q, want %q", r.Format(), row.format)
			}
			var got, arps, last int
			for {
				f, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next after record %d: %v", last, err)
				}
				if f.Index <= last {
					t.Fatalf("record index %d after %d", f.Index, last)
				}
				last = f.Index
				got++
				if f.EtherType == ether.EtherTypeARP {
					arps++
				}
			}
			skipped := 0
			for _, n := range r.Skipped() {
				skipped += n
			}
			if got+skipped != row.frames {
				t.Errorf("returned %d + skipped %d (%v) records, INDEX.tsv counts %d", got, skipped, r.Skipped(), row.frames)
			}
			if row.arpEth != "-" && strconv.Itoa(arps) != row.arpEth {
				t.Errorf("%d ARP frames, INDEX.tsv counts %s", arps, row.arpEth)
			}
		})
	}
}

// pcapgoRecord is one record as pcapgo reads it.
type pcapgoRecord struct {
	time            int64
	capLen, origLen int
	data            []byte
}

// readPcapgo reads a file with pcapgo, recovering from its panics (see
// TestPcapgoNgReaderPanics) so the comparison can report them.
func readPcapgo(path string) (recs []pcapgoRecord, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pcapgo panicked: %v", p)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var read func() ([]byte, int64, int, int, error)
	if strings.HasSuffix(path, ".pcapng") {
		ng, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		read = func() ([]byte, int64, int, int, error) {
			d, ci, err := ng.ReadPacketData()
			return d, ci.Timestamp.UnixNano(), ci.CaptureLength, ci.Length, err
		}
	} else {
		pr, err := pcapgo.NewReader(f)
		if err != nil {
			return nil, err
		}
		read = func() ([]byte, int64, int, int, error) {
			d, ci, err := pr.ReadPacketData()
			return d, ci.Timestamp.UnixNano(), ci.CaptureLength, ci.Length, err
		}
	}
	for {
		d, ts, c, o, err := read()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, pcapgoRecord{ts, c, o, d})
	}
}

// pcapgoTimeWraps lists files whose out-of-range microsecond fields pcapgo
// multiplies by 1000 in 32 bits, so its timestamps wrap and ours do not.
var pcapgoTimeWraps = map[string]bool{"timestamp_invalid_micro.pcap": true}

// TestAgainstPcapgo checks this reader against gopacket's pcapgo, record by
// record, on every shared capture both can read: same timestamps, lengths
// and bytes (the Payload must be the tail of pcapgo's record).
func TestAgainstPcapgo(t *testing.T) {
	for _, path := range sharedFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, err := Open(path)
			if err != nil {
				t.Skipf("Open: %v", err)
			}
			defer r.Close()
			want, perr := readPcapgo(path)
			if perr != nil {
				t.Logf("pcapgo stopped after %d records: %v", len(want), perr)
			}
			n := 0
			for {
				f, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				if f.Index > len(want) {
					if perr == nil {
						t.Fatalf("record %d: pcapgo read only %d records", f.Index, len(want))
					}
					break
				}
				w := want[f.Index-1]
				if f.Time != w.time && !pcapgoTimeWraps[filepath.Base(path)] {
					t.Errorf("record %d: Time = %d, pcapgo %d", f.Index, f.Time, w.time)
				}
				if f.CapLen != w.capLen || f.OrigLen != w.origLen {
					t.Errorf("record %d: CapLen, OrigLen = %d, %d, pcapgo %d, %d", f.Index, f.CapLen, f.OrigLen, w.capLen, w.origLen)
				}
				if !bytes.HasSuffix(w.data, f.Payload) || len(w.data) != f.CapLen {
					t.Errorf("record %d: Payload is not the tail of pcapgo's %d bytes", f.Index, len(w.data))
				}
			}
			if perr == nil {
				skipped := 0
				for _, k := range r.Skipped() {
					skipped += k
				}
				if n+skipped != len(want) {
					t.Errorf("read %d + skipped %d records, pcapgo %d", n, skipped, len(want))
				}
			}
		})
	}
}

// readAll reads every frame, copying each so it outlives the next Next.
func readAll(t *testing.T, r *Reader) []Frame {
	t.Helper()
	var out []Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		c := *f
		c.Payload = bytes.Clone(f.Payload)
		out = append(out, c)
	}
}

func decodeARP(t *testing.T, f Frame) arp.Packet {
	t.Helper()
	var p arp.Packet
	if err := p.Unmarshal(f.Payload); err != nil {
		t.Fatalf("record %d: arp.Unmarshal: %v", f.Index, err)
	}
	return p
}

func mustMAC(t *testing.T, s string) arp.MAC {
	t.Helper()
	m, err := arp.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func utc(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04:05.999999999", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

// TestKnownCaptures asserts on the content of a few shared captures, with
// the expected values taken from tcpdump's own expected outputs (*.out,
// printed in UTC) or, where there is none, from the file's bytes.
func TestKnownCaptures(t *testing.T) {
	sharedFiles(t)
	tests := []struct {
		file        string
		wantFrames  int
		wantSkipped map[string]int
		wantLink    string
		check       func(t *testing.T, fs []Frame)
	}{
		{
			// arp-oobr.out: 2282 ARP requests, some with crafted THAs.
			file: "arp-oobr.pcap", wantFrames: 2282, wantLink: "EN10MB",
			check: func(t *testing.T, fs []Frame) {
				f := fs[0]
				// "1  2010-03-13 22:14:54.558191 00:1f:29:da:2d:79 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60:
				//  ... Request who-has 192.168.1.1 tell 192.168.1.104, length 46"
				want := Frame{Index: 1, Time: utc(t, "2010-03-13 22:14:54.558191"), HasEth: true, HasSrc: true,
					Dst: arp.Broadcast, Src: mustMAC(t, "00:1f:29:da:2d:79"), HardwareType: 1,
					EtherType: ether.EtherTypeARP, CapLen: 60, OrigLen: 60}
				if diff := cmp.Diff(want, f, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Payload" }, cmp.Ignore())); diff != "" {
					t.Errorf("frame 1 (-want +got):\n%s", diff)
				}
				p := decodeARP(t, f)
				wantP := arp.NewPacket(arp.OpRequest, mustMAC(t, "00:1f:29:da:2d:79"), netip.MustParseAddr("192.168.1.104"),
					arp.Zero, netip.MustParseAddr("192.168.1.1"))
				if p != wantP {
					t.Errorf("frame 1 ARP = %+v, want %+v", p, wantP)
				}
				// "2 ... Request who-has 192.168.1.1 (00:55:00:00:00:00) tell 192.168.1.104"
				if p := decodeARP(t, fs[1]); p.THA != mustMAC(t, "00:55:00:00:00:00") {
					t.Errorf("frame 2 THA = %v, want 00:55:00:00:00:00", p.THA)
				}
				// "4 ... 00:1f:29:da:2d:79 > ff:ff:ff:ff:6b:ff": not broadcast, but multicast.
				if got := fs[3].Dst; got != mustMAC(t, "ff:ff:ff:ff:6b:ff") || ether.Classify(got, macA) != ether.PktMulticast {
					t.Errorf("frame 4 Dst = %v (%v), want ff:ff:ff:ff:6b:ff (multicast)", got, ether.Classify(got, macA))
				}
			},
		},
		{
			// arp-too-long-tha.out: "ARP, Unknown Hardware (12336) (len 14), IPv4 (len 4), ... length 262126",
			// inside one 802.1ad tag; only 64 of 262144 bytes were captured.
			file: "arp-too-long-tha.pcap", wantFrames: 1, wantLink: "EN10MB",
			check: func(t *testing.T, fs []Frame) {
				f := fs[0]
				if f.CapLen != 64 || f.OrigLen != 262144 || f.VLANs != 1 || f.OuterVLAN != 0x030 || f.EtherType != ether.EtherTypeARP {
					t.Errorf("frame = CapLen %d OrigLen %d VLANs %d OuterVLAN %#x EtherType %#04x, want 64 262144 1 0x30 0x0806",
						f.CapLen, f.OrigLen, f.VLANs, f.OuterVLAN, f.EtherType)
				}
				var p arp.Packet
				if err := p.Unmarshal(f.Payload); !errors.Is(err, arp.ErrLengths) {
					t.Errorf("arp.Unmarshal error = %v, want %v (hardware length 14)", err, arp.ErrLengths)
				}
			},
		},
		{
			// 802.1ad_QinQ.out: S-tag vlan 200 around C-tag vlan 2001 around ARP.
			file: "802.1ad_QinQ.pcap", wantFrames: 2, wantLink: "EN10MB",
			check: func(t *testing.T, fs []Frame) {
				for _, f := range fs {
					if f.VLANs != 2 || f.OuterVLAN != 200 || f.EtherType != ether.EtherTypeARP {
						t.Errorf("frame %d: VLANs %d OuterVLAN %d EtherType %#04x, want 2 200 0x0806", f.Index, f.VLANs, f.OuterVLAN, f.EtherType)
					}
				}
				// "2 ... 00:80:ea:81:88:63 > 00:20:d2:5a:fb:3f ... Reply 172.21.79.100 is-at 00:80:ea:81:88:63"
				p := decodeARP(t, fs[1])
				if p.Op != arp.OpReply || p.SIP != netip.MustParseAddr("172.21.79.100") || p.SHA != mustMAC(t, "00:80:ea:81:88:63") {
					t.Errorf("frame 2 ARP = %+v, want reply 172.21.79.100 is-at 00:80:ea:81:88:63", p)
				}
				if fs[1].Dst != mustMAC(t, "00:20:d2:5a:fb:3f") {
					t.Errorf("frame 2 Dst = %v, want 00:20:d2:5a:fb:3f", fs[1].Dst)
				}
				if got, want := fs[1].Time, utc(t, "2019-12-08 21:59:54.599680"); got != want {
					t.Errorf("frame 2 Time = %d, want %d", got, want)
				}
			},
		},
		{
			// Nanosecond pcap, Linux SLL. `tcpdump -e -tttt --nano` prints
			// "2014-12-09 17:16:09.924505488 Out ethertype IPv4" then " In".
			file: "tcp-handshake-nano.pcap", wantFrames: 3, wantLink: "LINUX_SLL",
			check: func(t *testing.T, fs []Frame) {
				f := fs[0]
				if want := utc(t, "2014-12-09 17:16:09.924505488"); f.Time != want {
					t.Errorf("frame 1 Time = %d, want %d (nanosecond resolution)", f.Time, want)
				}
				// A PPP device (ARPHRD_PPP, 512) has no link-layer address.
				if !f.HasPktType || f.PktType != ether.PktOutgoing || f.HardwareType != 512 || f.HasSrc || f.HasEth || f.EtherType != ether.EtherTypeIPv4 {
					t.Errorf("frame 1 = %+v, want outgoing, hatype 512, no addresses, IPv4", f)
				}
				if len(f.Payload) != f.CapLen-16 || f.Payload[0] != 0x45 {
					t.Errorf("frame 1 Payload starts % x (%d bytes), want an IPv4 header after the 16-byte SLL header", f.Payload[:4], len(f.Payload))
				}
				if !fs[1].HasPktType || fs[1].PktType != ether.PktHost {
					t.Errorf("frame 2 PktType = %v, want host (tcpdump: In)", fs[1].PktType)
				}
			},
		},
		{file: "empty.pcap", wantLink: "EN10MB"},
		{file: "empty.pcapng", wantLink: "EN10MB"},
		{
			// Seconds are unsigned: 0xffffffff is 2106-02-07 06:28:15.
			file: "time_2106_max.pcap", wantFrames: 1, wantLink: "EN10MB",
			check: func(t *testing.T, fs []Frame) {
				if want := int64(1<<32-1) * 1e9; fs[0].Time != want {
					t.Errorf("Time = %d, want %d", fs[0].Time, want)
				}
			},
		},
		{
			file: "time_2107.pcapng", wantFrames: 1, wantLink: "EN10MB",
			check: func(t *testing.T, fs []Frame) {
				if want := utc(t, "2107-01-01 00:00:00"); fs[0].Time != want {
					t.Errorf("Time = %d, want %d", fs[0].Time, want)
				}
			},
		},
		{
			// tcpdump prints frame 2 as "17:16:10.1000000": the microsecond
			// field is 1000000. It is kept, so the time is a second later.
			file: "timestamp_invalid_micro.pcap", wantFrames: 3, wantLink: "LINUX_SLL",
			check: func(t *testing.T, fs []Frame) {
				if got, want := fs[1].Time, utc(t, "2014-12-09 17:16:11"); got != want {
					t.Errorf("frame 2 Time = %d, want %d", got, want)
				}
			},
		},
		{
			// A pcapng of link type NULL: opened, every record skipped and counted.
			file: "ospf2-seg-fault-1.pcapng", wantLink: "NULL",
			wantSkipped: map[string]int{"unsupported link type 0 (NULL)": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := Open(filepath.Join(testkit.SharedCaptures(t), tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.LinkType(); got != tt.wantLink {
				t.Errorf("LinkType() = %q, want %q", got, tt.wantLink)
			}
			fs := readAll(t, r)
			if len(fs) != tt.wantFrames {
				t.Fatalf("read %d frames, want %d", len(fs), tt.wantFrames)
			}
			want := tt.wantSkipped
			if want == nil {
				want = map[string]int{}
			}
			if diff := cmp.Diff(want, r.Skipped()); diff != "" {
				t.Errorf("Skipped() (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, fs)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF again", err)
			}
		})
	}
}

// TestUnsupportedPcapLinkType checks the Open error for a classic pcap of a
// link type arplab cannot decode: it names the file and the type.
func TestUnsupportedPcapLinkType(t *testing.T) {
	path := filepath.Join(testkit.SharedCaptures(t), "frf16_magic_ie-oobr.pcap")
	_, err := Open(path)
	want := "capture: " + path + ": link type 182 (MFR) is not supported (want Ethernet, Linux SLL or SLL2)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Open error = %v, want %q", err, want)
	}
	if !errors.Is(err, ErrUnsupportedLinkType) {
		t.Errorf("errors.Is(err, ErrUnsupportedLinkType) = false")
	}
}

// TestPcapgoNgReaderPanics records why Reader parses pcapng itself: pcapgo's
// NgReader panics on these two small hostile files. If a pcapgo upgrade makes
// this test fail, the panics are fixed and NgReader could be reconsidered.
// Reader must return an error for both.
func TestPcapgoNgReaderPanics(t *testing.T) {
	tests := []struct {
		name string
		file []byte
	}{
		{
			// if_tsresol 2^-64: pcapgo computes 1<<64 == 0 and divides by it.
			name: "TsresolDivideByZero",
			file: newNgFile().section(leOrder).
				iface(Ethernet, 0, ngOpt{optIfTsresol, []byte{0xc0}}).
				epb(0, 0, testkit.Ether(arp.Broadcast, macA, ether.EtherTypeARP, nil, testkit.GARPRequest(ipA, macA).Append(nil))).bytes(),
		},
		{
			// A 1-byte epb_flags option: pcapgo reads 4 bytes from it.
			name: "ShortEpbFlags",
			file: newNgFile().section(leOrder).iface(Ethernet, 0).
				epb(0, 0, testkit.Ether(arp.Broadcast, macA, ether.EtherTypeARP, nil, testkit.GARPRequest(ipA, macA).Append(nil)),
					ngOpt{optEpbFlags, []byte{1}}).bytes(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("pcapgo.NgReader did not panic; it may now be safe to use")
					}
				}()
				ng, err := pcapgo.NewNgReader(bytes.NewReader(tt.file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
				if err == nil {
					_, _, _ = ng.ZeroCopyReadPacketData()
				}
			}()
			r, err := NewReader(bytes.NewReader(tt.file), tt.name)
			if err == nil {
				for err == nil {
					_, err = r.Next()
				}
			}
			t.Logf("Reader: %v", err)
		})
	}
}
