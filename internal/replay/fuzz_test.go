package replay

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"testing/iotest"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzReplay feeds arbitrary bytes to ReplayReader, for the host 10.0.0.1
// and for a host found in the bytes. Nothing may panic; an error must be
// "host not found" or the capture reader's; a replay that succeeds must
// write a valid trace; and the quiet replay, the recorded one and the one
// read one byte at a time (buffered while identifying the host) must agree.
//
// Seeds: the hand-made captures of the tests here, and in
// testdata/fuzz/FuzzReplay the captures of the tests written out plus the
// first bytes of tcpdump's test captures that hold ARP or IPv4 over
// Ethernet, SLL or QinQ.
func FuzzReplay(f *testing.F) {
	f.Add(failureCapture(f))
	f.Add(probeCapture(f, []sentProbe{{5002, macOld}, {7003, macOld}}))
	f.Add(confirmCapture(f))
	c := newCap(f, capture.LinuxSLL2)
	c.sll2(t0, 2, pktOutgoing, macHost, ether.EtherTypeARP, request(macHost, ipHost, ipG).Append(nil))
	c.sll2(t0+ms, 2, pktHost, macG, ether.EtherTypeARP, reply(macG, ipG, macHost, ipHost).Append(nil))
	c.sll2(t0+ms, 3, pktBroadcast, macG, ether.EtherTypeARP, garpReply(ipG, macNew).Append(nil))
	f.Add(c.bytes())
	f.Add(ipv6Capture(f, capture.Ethernet, 0))
	f.Add(ipv6Capture(f, capture.Ethernet, 7))
	f.Add(ipv6Capture(f, capture.LinuxSLL2, 0))
	prof, err := kernel.Lookup("rhel7.3")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, host := range []string{"10.0.0.1", "2001:db8::1", guessHostIn(data)} {
			opt := Options{Host: host, Profile: prof, Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,STALE"}}
			var rec trace.Recorder
			loud, err := ReplayReader(bytes.NewReader(data), "fuzz", opt, &rec)
			if err != nil {
				var ce *capture.Error
				if !errors.Is(err, ErrHostNotFound) && !errors.As(err, &ce) {
					t.Fatalf("host %s: error %v (%T) is neither host-not-found nor a *capture.Error", host, err, err)
				}
			}
			if len(rec.Events) > 0 {
				checkTrace(t, rec.Events)
			}
			opt.Quiet = true
			quiet, qerr := ReplayReader(bytes.NewReader(data), "fuzz", opt, nil)
			slow, serr := ReplayReader(iotest.OneByteReader(bytes.NewReader(data)), "fuzz", opt, nil)
			if errString(err) != errString(qerr) || errString(err) != errString(serr) {
				t.Fatalf("errors differ: recorded %v, quiet %v, one byte at a time %v", err, qerr, serr)
			}
			opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmp.Comparer(func(a, b float64) bool { return a == b || (a != a && b != b) })}
			if diff := cmp.Diff(loud, quiet, opts...); diff != "" {
				t.Fatalf("recorded and quiet summaries differ (-recorded +quiet):\n%s", diff)
			}
			if diff := cmp.Diff(quiet, slow, opts...); diff != "" {
				t.Fatalf("seekable and one-byte summaries differ (-seekable +slow):\n%s", diff)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// guessHostIn returns the first ARP sender address or IPv4 source in data,
// or 10.0.0.1.
func guessHostIn(data []byte) string {
	rd, err := capture.NewReader(bytes.NewReader(data), "fuzz")
	if err != nil {
		return "10.0.0.1"
	}
	var p arp.Packet
	for i := 0; i < 64; i++ {
		f, err := rd.Next()
		if err != nil {
			break
		}
		switch f.EtherType {
		case ether.EtherTypeARP:
			if p.Unmarshal(f.Payload) == nil && usableIP(p.SIP) {
				return p.SIP.String()
			}
		case ether.EtherTypeIPv4:
			if h, ok := ipv4.Parse(f.Payload); ok && usableIP(h.SrcAddr()) {
				return h.SrcAddr().String()
			}
		}
	}
	return "10.0.0.1"
}

func ipOf(b [4]byte) netip.Addr { return netip.AddrFrom4(b) }
