package replay

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/testkit"
	"arplab/internal/vtime"
)

// TestRankIPv4Features: profiles that differ only in features ipv4Features
// drops replay an IPv4 host's busy segment (requests, replies, GARPs with
// MAC moves, TCP) to the same summary, so RankProfiles may replay one of
// them for all; and there are such profiles, or the test says nothing.
func TestRankIPv4Features(t *testing.T) {
	var buf bytes.Buffer
	cw, err := capture.NewWriter(&buf, capture.Ethernet, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := testkit.BusySegment(40_000, 200, 1_700_000_000*1e9, cw.WritePacket); err != nil {
		t.Fatal(err)
	}
	type key struct {
		f      kernel.Features
		hz, ql int
	}
	first := map[key]kernel.Profile{}
	pairs := 0
	for _, n := range kernel.Names() {
		p, err := kernel.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		k := key{ipv4Features(p.Features()), p.HZ, p.UnresQlenBytes}
		q, ok := first[k]
		if !ok {
			first[k] = p
			continue
		}
		if q.Features() == p.Features() {
			continue // alike in every feature: nothing to show
		}
		pairs++
		replayAs := func(p kernel.Profile) Summary {
			s, err := ReplayReader(bytes.NewReader(buf.Bytes()), "busy.pcap", Options{Host: "10.0.0.1/16", Profile: p, Quiet: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.Profile = ""
			return s
		}
		if a, b := replayAs(q), replayAs(p); !reflect.DeepEqual(a, b) {
			t.Errorf("%s and %s differ only in IPv6 features but replay an IPv4 host differently:\n%+v\n%+v", q.Name, p.Name, a, b)
		}
	}
	if pairs == 0 {
		t.Skip("no two profiles differ only in IPv6 features")
	}
}

// TestRankMapped: ranking a capture file (mapped once, the host
// identified once for every group) gives the fits that ranking the same
// bytes opened anew per group does.
func TestRankMapped(t *testing.T) {
	var buf bytes.Buffer
	cw, err := capture.NewWriter(&buf, capture.Ethernet, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := testkit.BusySegment(30_000, 100, 1_700_000_000*1e9, cw.WritePacket); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "busy.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := Options{Host: "10.0.0.1/16"}
	want, err := RankProfiles(func() (io.Reader, error) { return bytes.NewReader(buf.Bytes()), nil }, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	opens := 0
	got, err := RankProfiles(func() (io.Reader, error) { opens++; return os.Open(path) }, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mapped ranking differs:\n%+v\nwant\n%+v", got, want)
	}
	if opens != 1 {
		t.Errorf("the capture file was opened %d times, want once", opens)
	}
	// one worker, more once woken (or never woken): the same fits
	wake := make(chan struct{})
	time.AfterFunc(time.Millisecond, func() { close(wake) })
	for _, w := range []<-chan struct{}{wake, make(chan struct{})} {
		o := opt
		o.RankWorkers, o.RankWake = 1, w
		got, err := RankProfiles(func() (io.Reader, error) { return os.Open(path) }, path, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ranking with one worker and a wake-up differs:\n%+v\nwant\n%+v", got, want)
		}
	}
	if _, err := RankProfiles(func() (io.Reader, error) { return os.Open(path) }, path, Options{Host: "10.9.9.9"}); err == nil {
		t.Error("ranking for a host the capture does not show succeeded")
	}
}

// TestDecodedFrames: frames decoded once read back as the capture reader
// reads them, and at the limit the reader's state (offset, skips) is the
// one a replay stopping there sees; past the end of a shorter capture,
// the reader's own io.EOF.
func TestDecodedFrames(t *testing.T) {
	var buf bytes.Buffer
	cw, err := capture.NewWriter(&buf, capture.Ethernet, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := testkit.BusySegment(3_000, 20, 1_700_000_000*1e9, cw.WritePacket); err != nil {
		t.Fatal(err)
	}
	data := append(buf.Bytes(), 9, 9) // a truncated record at the end
	for _, limit := range []int{1_000, 5_000} {
		d, ok := decodeFrames(data, "busy.pcap", limit)
		if !ok {
			t.Fatal("decodeFrames refused the capture")
		}
		cr, err := capture.NewReaderBytes(data, "busy.pcap")
		if err != nil {
			t.Fatal(err)
		}
		dr := &decodedReader{d: d}
		if dr.Format() != cr.Format() || dr.LinkType() != cr.LinkType() {
			t.Errorf("format %s %s, want %s %s", dr.Format(), dr.LinkType(), cr.Format(), cr.LinkType())
		}
		n := 0
		for ; n < limit; n++ {
			want, werr := cr.Next()
			got, gerr := dr.Next()
			if werr != nil || gerr != nil {
				if werr != io.EOF || gerr != io.EOF {
					t.Fatalf("frame %d: error %v, want %v", n+1, gerr, werr)
				}
				break
			}
			if !reflect.DeepEqual(*got, *want) {
				t.Fatalf("frame %d: %+v, want %+v", n+1, *got, *want)
			}
		}
		if !reflect.DeepEqual(dr.Skipped(), cr.Skipped()) || dr.Offset() != cr.Offset() {
			t.Errorf("limit %d: skipped %v at %d, want %v at %d", limit, dr.Skipped(), dr.Offset(), cr.Skipped(), cr.Offset())
		}
		if limit == 1_000 {
			if _, err := dr.Next(); err == nil || err == io.EOF {
				t.Errorf("read past the limit: %v", err)
			}
		} else if n != 3_000 || dr.Skipped()[capture.SkipTruncatedRecord] != 1 {
			t.Errorf("read %d frames, skipped %v; want 3000 and the truncated record", n, dr.Skipped())
		}
	}
}

// TestReadMappedFault: a capture file cut short under its mapping (rotated
// while ranking reads it) is an error naming the file, not a crash; any
// other panic stays a panic.
func TestReadMappedFault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, make([]byte, 3*os.Getpagesize()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	data, unmap, ok := capture.MapFile(f)
	f.Close()
	if !ok {
		t.Skip("files are not mapped here")
	}
	defer unmap()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	var b byte
	err = readMapped(data, path, func() { b = data[len(data)-1] })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "changed while it was read") {
		t.Errorf("reading past the cut: %v (read %d)", err, b)
	}
	defer func() {
		if recover() == nil {
			t.Error("a panic outside the mapping was swallowed")
		}
	}()
	var m map[string]int
	readMapped(data, path, func() { m["x"] = 1 })
}

// TestOnLink4: the word forms of the prefix test and of usableIP that the
// hot path uses agree with netip's for every prefix length, on random and
// special addresses.
func TestOnLink4(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := [][4]byte{{}, {255, 255, 255, 255}, {127, 0, 0, 1}, {224, 0, 0, 1}, {239, 255, 255, 255}, {240, 0, 0, 1}, {10, 0, 0, 1}, {10, 0, 255, 255}}
	for bits := 0; bits <= 32; bits++ {
		host := [4]byte{10, 0, byte(rng.IntN(256)), byte(rng.IntN(256))}
		p := netip.PrefixFrom(netip.AddrFrom4(host), bits)
		var r replayer
		r.net4, r.mask4 = words4(p)
		for i := range 2000 {
			a := [4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
			switch {
			case i < len(special):
				a = special[i]
			case i%3 == 0:
				a[0], a[1] = host[0], host[1] // near the host
			}
			addr := netip.AddrFrom4(a)
			if got, want := r.onLink4(a), p.Contains(addr); got != want {
				t.Fatalf("%v in %v: %v, want %v", addr, p, got, want)
			}
			if got, want := usable4(a), usableIP(addr); got != want {
				t.Fatalf("usable %v: %v, want %v", addr, got, want)
			}
		}
	}
}

// TestJiffiesAtSpan: the tick span jiffiesAt keeps answers as the clock
// does, for every HZ and phase, times going forward, back and far.
func TestJiffiesAtSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, hz := range []int{100, 250, 300, 1000} {
		tick := int64(1e9 / hz)
		clock := vtime.Clock{HZ: hz, Base: 1_000_000, Phase: vtime.Duration(rng.Int64N(tick))}
		r := replayer{clock: clock}
		ns := int64(0)
		for i := range 20_000 {
			switch i % 5 {
			case 0:
				ns += rng.Int64N(40 * tick)
			case 1:
				ns = max(ns-rng.Int64N(2*tick), 0)
			case 2:
				ns += rng.Int64N(1e12) // a gap of minutes
			default:
				ns += rng.Int64N(tick / 10)
			}
			if got, want := r.jiffiesAt(ns), clock.Jiffies(vtime.Time(ns)); got != want {
				t.Fatalf("HZ=%d: jiffiesAt(%d) = %d, want %d", hz, ns, got, want)
			}
		}
	}
}
