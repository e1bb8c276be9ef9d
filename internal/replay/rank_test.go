package replay

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/testkit"
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
	if _, err := RankProfiles(func() (io.Reader, error) { return os.Open(path) }, path, Options{Host: "10.9.9.9"}); err == nil {
		t.Error("ranking for a host the capture does not show succeeded")
	}
}
