package capture

import (
	"arplab/internal/testkit"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"

	"github.com/google/go-cmp/cmp"
)

// TestWriterRoundTrip writes frames and reads them back: what the writer
// produces is exactly what the reader returns, up to the file's timestamp
// resolution.
func TestWriterRoundTrip(t *testing.T) {
	const t0 = 1700000000_123456789
	frames := [][]byte{ethGARP, ethReply, ethTagged}
	tests := []struct {
		name       string
		nanosecond bool
		wantTime   int64
	}{
		{name: "Microsecond", wantTime: 1700000000_123456000},
		{name: "Nanosecond", nanosecond: true, wantTime: t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, Ethernet, tt.nanosecond)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range frames {
				if err := w.WritePacket(t0+int64(i)*1e9, f); err != nil {
					t.Fatal(err)
				}
			}
			r, err := NewReader(&buf, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r)
			if len(got) != len(frames) {
				t.Fatalf("read %d frames, want %d", len(got), len(frames))
			}
			for i, f := range got {
				if want := tt.wantTime + int64(i)*1e9; f.Time != want {
					t.Errorf("frame %d Time = %d, want %d", i+1, f.Time, want)
				}
				var h ether.Header
				off, _ := h.Unmarshal(frames[i])
				want := Frame{Index: i + 1, Time: f.Time, HasEth: true, HasSrc: true, Dst: h.Dst, Src: h.Src,
					HardwareType: 1, VLANs: h.VLANs, OuterVLAN: h.Tags[0].ID, EtherType: h.EtherType,
					Payload: frames[i][off:], CapLen: len(frames[i]), OrigLen: len(frames[i])}
				if diff := cmp.Diff(want, f); diff != "" {
					t.Errorf("frame %d (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name    string
		timeNs  int64
		data    []byte
		wantErr string
	}{
		{"Before1970", -1, ethGARP, "capture: packet time -1 ns is outside the pcap range (1970 to 2106)"},
		{"After2106", (1 << 32) * 1e9, ethGARP, "capture: packet time 4294967296000000000 ns is outside the pcap range (1970 to 2106)"},
		{"TooLong", 0, make([]byte, MaxSnapLen+1), "capture: packet of 262145 bytes exceeds the 262144-byte snap length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(&bytes.Buffer{}, Ethernet, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket(tt.timeNs, tt.data); err == nil || err.Error() != tt.wantErr {
				t.Errorf("WritePacket error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterHeaderError(t *testing.T) {
	if _, err := NewWriter(failWriter{}, Ethernet, false); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("NewWriter error = %v, want the write error", err)
	}
}

// tcpdumpPath finds tcpdump, skipping the test when it is not installed.
func tcpdumpPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/tcpdump", "/usr/bin/tcpdump"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed")
	}
	return p
}

// TestTcpdumpReadsOurFiles has tcpdump decode files written by Writer and by
// the test builders, which checks both against an independent reader: the
// Writer's output, the SLL2 header layout, and the hand-made pcapng blocks
// that the synthetic reader tests rely on.
func TestTcpdumpReadsOurFiles(t *testing.T) {
	tcpdump := tcpdumpPath(t)
	dir := t.TempDir()

	var eth bytes.Buffer
	w, err := NewWriter(&eth, Ethernet, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]byte{ethGARP, ethReply, ethTagged} {
		if err := w.WritePacket(1700000000_000000001, f); err != nil {
			t.Fatal(err)
		}
	}
	var sll2 bytes.Buffer
	w, err = NewWriter(&sll2, LinuxSLL2, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, append(testkit.SLL2(ether.EtherTypeARP, 3, 1, 1, macA[:]), garpReq...)); err != nil {
		t.Fatal(err)
	}
	tsNs := ngOpt{optIfTsresol, []byte{9}}
	ngLE := newNgFile().section(leOrder).iface(Ethernet, 0, tsNs).epb(0, 1700000000_000000001, ethGARP).bytes()
	ngBE := newNgFile().section(beOrder).iface(Ethernet, 0, ngOpt{optIfTsresol, []byte{0x80 | 20}}).
		epb(0, 5<<20|1<<19, ethReply).spb(uint32(len(ethGARP)), ethGARP).pb(0, 0, ethTagged).bytes()

	// Without -e tcpdump prefixes "ARP, "; the ARP length is what follows
	// the link header and tags in a 60-byte frame.
	req := "Request who-has 10.0.0.10 tell 10.0.0.10"
	rep := "Reply 10.0.0.10 is-at 02:00:00:00:00:0a"
	tests := []struct {
		name string
		file []byte
		args []string
		want []string // lines, in order, each a substring of tcpdump's line
	}{
		{
			name: "EthernetNano", file: eth.Bytes(), args: []string{"-e", "--nano", "-tt"},
			want: []string{
				"1700000000.000000001 02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: " + req + ", length 46",
				"02:00:00:00:00:0a > 02:00:00:00:00:0b, ethertype ARP (0x0806), length 60: " + rep + ", length 46",
				"ethertype 802.1Q (0x8100), length 60: vlan 10, p 0, ethertype ARP (0x0806), " + req + ", length 42",
			},
		},
		{
			// "B": PACKET_BROADCAST as written in the SLL2 header.
			name: "SLL2", file: sll2.Bytes(), args: []string{"-e"},
			want: []string{" B   ifindex 3 02:00:00:00:00:0a ethertype ARP (0x0806), length 48: " + req + ", length 28"},
		},
		{
			name: "PcapngLittleEndian", file: ngLE, args: []string{"--nano", "-tt"},
			want: []string{"1700000000.000000001 ARP, " + req + ", length 46"},
		},
		{
			name: "PcapngBigEndian", file: ngBE, args: []string{"-tt"},
			want: []string{"5.500000 ARP, " + rep + ", length 46", "ARP, " + req + ", length 46", "ARP, " + req + ", length 42"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".pcap")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tcpdump, append([]string{"-n", "-r", path}, tt.args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("tcpdump: %v\n%s", err, out)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if !strings.HasPrefix(l, "reading from file") && !strings.HasPrefix(l, "Warning:") {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("tcpdump printed %d packet lines, want %d:\n%s", len(lines), len(tt.want), out)
			}
			for i, want := range tt.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("tcpdump line %d =\n  %s\nwant it to contain\n  %s", i+1, lines[i], want)
				}
			}
			// And our reader agrees on the number of ARP frames.
			r, err := NewReader(bytes.NewReader(tt.file), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range readAll(t, r) {
				var p arp.Packet
				if f.EtherType == ether.EtherTypeARP && p.Unmarshal(f.Payload) == nil {
					n++
				}
			}
			if n != len(tt.want) {
				t.Errorf("Reader decoded %d ARP packets, tcpdump %d", n, len(tt.want))
			}
		})
	}
}
