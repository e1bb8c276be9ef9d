package replay

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"arplab/internal/capture"
	"arplab/internal/testkit"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ipv4"
)

func TestIdentifyHost(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		link    capture.LinkType
		build   func(c *capBuilder)
		wantIP  string
		wantMAC arp.MAC
		prefix  string
	}{
		{name: "IP, from an ARP request it sent", host: "10.0.0.1", link: capture.Ethernet,
			build: func(c *capBuilder) {
				c.arp(t0, arp.Broadcast, macG, request(macG, ipG, ipF)) // someone else first
				c.arp(t0+ms, arp.Broadcast, macHost, request(macHost, ipHost, ipG))
			}, wantIP: "10.0.0.1", wantMAC: macHost, prefix: "10.0.0.1/24"},
		{name: "IP with prefix, from an IPv4 frame to it", host: "10.0.0.1/16", link: capture.Ethernet,
			build: func(c *capBuilder) {
				c.tcp(t0, macHost, macG, tcp(ipG, ipHost, 80, 40000, 1, 2, ipv4.FlagACK, 0))
			}, wantIP: "10.0.0.1", wantMAC: macHost, prefix: "10.0.0.1/16"},
		{name: "IP, from an ARP reply to it (SLL: no destination address)", host: "10.0.0.1", link: capture.LinuxSLL,
			build: func(c *capBuilder) {
				c.sll(t0, pktHost, macG, ether.EtherTypeARP, reply(macG, ipG, macHost, ipHost).Append(nil))
			}, wantIP: "10.0.0.1", wantMAC: macHost, prefix: "10.0.0.1/24"},
		{name: "MAC, from its ARP frame", host: "02:00:00:00:00:01", link: capture.Ethernet,
			build: func(c *capBuilder) {
				c.tcp(t0, macG, macHost, tcp(netip.MustParseAddr("192.168.9.9"), ipG, 1, 2, 0, 0, ipv4.FlagSYN, 0))
				c.arp(t0+ms, arp.Broadcast, macHost, request(macHost, ipHost, ipG))
			}, wantIP: "10.0.0.1", wantMAC: macHost, prefix: "10.0.0.1/24"},
		{name: "MAC, from its IPv4 frames when it never ARPs", host: "02:00:00:00:00:01", link: capture.Ethernet,
			build: func(c *capBuilder) {
				c.tcp(t0, macG, macHost, tcp(ipHost, ipG, 40000, 80, 0, 0, ipv4.FlagSYN, 0))
			}, wantIP: "10.0.0.1", wantMAC: macHost, prefix: "10.0.0.1/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCap(t, tt.link)
			tt.build(c)
			sum, err := ReplayReader(bytes.NewReader(c.bytes()), "t.pcap", Options{Host: tt.host}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Host.String() != tt.wantIP || sum.HostMAC != tt.wantMAC.String() || sum.Prefix.String() != tt.prefix {
				t.Errorf("host %v %s %v, want %s %s %s", sum.Host, sum.HostMAC, sum.Prefix, tt.wantIP, tt.wantMAC, tt.prefix)
			}
			// A reader that cannot seek is buffered while identifying: the
			// replay must see the same frames.
			stream, err := ReplayReader(iotest.OneByteReader(bytes.NewReader(c.bytes())), "t.pcap", Options{Host: tt.host}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Frames != stream.Frames || sum.Frames != c.n {
				t.Errorf("frames: seekable %d, streamed %d, written %d", sum.Frames, stream.Frames, c.n)
			}
		})
	}
}

func TestHostNotFound(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	c.arp(t0, arp.Broadcast, macG, request(macG, ipG, ipF))
	for _, host := range []string{"10.0.0.1", "02:00:00:00:00:01"} {
		_, err := ReplayReader(bytes.NewReader(c.bytes()), "t.pcap", Options{Host: host}, nil)
		if !errors.Is(err, ErrHostNotFound) || !strings.Contains(err.Error(), host) {
			t.Errorf("host %s: err %v, want ErrHostNotFound naming it", host, err)
		}
	}
}

// TestOptionErrors: every bad option is rejected before the capture is
// read, with the item named.
func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"no host", Options{}, "no host given"},
		{"host is neither", Options{Host: "banana"}, `"banana" is neither`},
		{"host is IPv6 loopback", Options{Host: "::1"}, `"::1": not a unicast address`},
		{"host is an IPv6 prefix too long", Options{Host: "2001:db8::1/128"}, "prefix length must be 1 to 126"},
		{"host MAC is broadcast", Options{Host: "ff:ff:ff:ff:ff:ff"}, "unicast"},
		{"bad prefix", Options{Host: "10.0.0.1/33"}, "10.0.0.1/33"},
		{"bad HZ", Options{Host: "10.0.0.1", HZ: 123}, "HZ=123"},
		{"sysctl without value", Options{Host: "10.0.0.1", Sysctls: []string{"locktime"}}, `sysctl "locktime": want key=value`},
		{"sysctl unknown", Options{Host: "10.0.0.1", Sysctls: []string{"lockdown=1"}}, `sysctl "lockdown=1": unknown key`},
		{"sysctl not a number", Options{Host: "10.0.0.1", Sysctls: []string{"net.ipv4.neigh.eth0.locktime=abc"}}, `sysctl "net.ipv4.neigh.eth0.locktime=abc"`},
		{"sysctl conf not on this kernel", Options{Host: "10.0.0.1", Profile: profile(t, "rhel7.3"), Sysctls: []string{"drop_gratuitous_arp=1"}}, "added in 4.6"},
		{"reachable time not a number", Options{Host: "10.0.0.1", Sysctls: []string{"reachable_time_ms=soon"}}, `sysctl "reachable_time_ms=soon"`},
		{"initial without MAC", Options{Host: "10.0.0.1", Initial: []string{"10.0.0.10"}}, `initial entry "10.0.0.10"`},
		{"initial bad MAC", Options{Host: "10.0.0.1", Initial: []string{"10.0.0.10=52:54:zz:ac:fb:f4"}}, `initial entry "10.0.0.10=52:54:zz:ac:fb:f4"`},
		{"initial bad state", Options{Host: "10.0.0.1", Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,SLEEPY"}}, "SLEEPY"},
		{"initial invalid state", Options{Host: "10.0.0.1", Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4,FAILED"}}, "has no usable lladdr"},
		{"initial bad IP", Options{Host: "10.0.0.1", Initial: []string{"224.0.0.1=52:54:00:ac:fb:f4"}}, "not a unicast IP address"},
	}
	data := failureCapture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReplayReader(bytes.NewReader(data), "t.pcap", tt.opt, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestSysctls: the keys reach the right table, whatever their spelling.
func TestSysctls(t *testing.T) {
	tests := []struct {
		sysctl  string
		verdict string // of the first GARP of failureCapture on rhel7.3
	}{
		// locktime 0 (USER_HZ): 100 ticks since the SYN > 0 → honoured.
		{"locktime=0", "honoured"},
		{"net.ipv4.neigh.eth0.locktime=0", "honoured"},
		{"net/ipv4/neigh/ens3/locktime=0", "honoured"},
		{"neigh.default.locktime=0", "honoured"},
		{"locktime=100", "ignored"},
		// arp_accept changes nothing for a GARP reply on 3.10 (spec §4.4 table).
		{"net.ipv4.conf.all.arp_accept=1", "ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.sysctl, func(t *testing.T) {
			_, evs := replayBytes(t, failureCapture(t), Options{Host: "10.0.0.1", Profile: profile(t, "rhel7.3"),
				Sysctls: []string{tt.sysctl}, Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4"}})
			if got := kinds(evs, trace.KindARP)[0].Verdict; got != tt.verdict {
				t.Errorf("first GARP %s, want %s", got, tt.verdict)
			}
		})
	}
}

// TestOtherLinks: with `tcpdump -i any` a frame seen on another interface
// (or the same frame seen again on a bridge) is not the host's.
func TestOtherLinks(t *testing.T) {
	c := newCap(t, capture.LinuxSLL2)
	c.sll2(t0, 2, pktOutgoing, macHost, ether.EtherTypeARP, request(macHost, ipHost, ipG).Append(nil))
	c.sll2(t0+ms, 2, pktHost, macG, ether.EtherTypeARP, reply(macG, ipG, macHost, ipHost).Append(nil))
	c.sll2(t0+ms, 7, pktHost, macG, ether.EtherTypeARP, reply(macG, ipG, macHost, ipHost).Append(nil))
	sum, _ := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1"})
	if sum.OtherLink != 1 || sum.Received != 1 {
		t.Errorf("other link %d, received %d; want 1, 1", sum.OtherLink, sum.Received)
	}
}

// TestReachableTime: reachable_time_ms fixes the device's reachable_time,
// and the header records it either way.
func TestReachableTime(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	c.arp(t0, arp.Broadcast, macHost, request(macHost, ipHost, ipF))
	c.arp(t0+4000*ms, arp.Broadcast, macNew, request(macNew, ipF, ipG))
	_, evs := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1", Profile: profile(t, "rhel7.3"), HZ: 1000,
		Sysctls: []string{"reachable_time_ms=2000"}, Initial: []string{"10.0.0.20=02:00:00:00:00:20,REACHABLE"}})
	if got := evs[0].Attrs["reachable_time_ms"]; got != "2000" {
		t.Errorf("header reachable_time_ms = %q, want 2000", got)
	}
	// Installed at tick 998999 (locktime+1 before the first frame), the
	// REACHABLE timer runs 2000 ticks later, finds now ≤ confirmed +
	// reachable_time (time_before_eq) and re-arms HZ/2 later, when G
	// leaves REACHABLE (spec §2.2).
	for _, e := range kinds(evs, trace.KindState) {
		if e.IP == ipG.String() && e.OldState == "REACHABLE" {
			if *e.Jiffies != 1_001_499 {
				t.Errorf("G left REACHABLE at tick %d, want 1001499", *e.Jiffies)
			}
			return
		}
	}
	t.Error("G never left REACHABLE")
}

// TestSilentHost: a host that never speaks in the capture is replayed
// when given as IP@MAC; without the MAC the error lists the hosts that do
// speak, so the user can pick one.
func TestSilentHost(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	c.arp(t0, arp.Broadcast, macNew, testkit.GARPRequest(ipF, macNew))
	c.arp(t0+100*ms, arp.Broadcast, macNew, testkit.GARPRequest(ipF, macNew))
	c.arp(t0+200*ms, arp.Broadcast, macG, request(macG, ipG, ipF))
	data := c.bytes()

	_, err := ReplayReader(bytes.NewReader(data), "silent.pcap", Options{Host: "10.0.0.1"}, nil)
	if !errors.Is(err, ErrHostNotFound) || !strings.Contains(err.Error(), "10.0.0.10@fa:16:3e:00:00:01 (2 frames)") ||
		!strings.Contains(err.Error(), "--host 10.0.0.1@MAC") {
		t.Fatalf("err = %v, want the candidates and the IP@MAC hint", err)
	}
	for _, tt := range []struct {
		accept string
		want   int // entries created for F by its GARPs
	}{{"0", 0}, {"1", 1}, {"2", 1}} {
		sum, err := ReplayReader(bytes.NewReader(data), "silent.pcap",
			Options{Host: "10.0.0.1/24@02:00:00:00:00:01", Sysctls: []string{"arp_accept=" + tt.accept}}, nil)
		if err != nil {
			t.Fatalf("arp_accept=%s: %v", tt.accept, err)
		}
		if sum.HostMAC != macHost.String() || sum.Verdicts["created"] != tt.want {
			t.Errorf("arp_accept=%s: host %s, verdicts %v; want %d created", tt.accept, sum.HostMAC, sum.Verdicts, tt.want)
		}
	}
	for _, bad := range []string{"10.0.0.1@ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01@02:00:00:00:00:02", "10.0.0.1@x"} {
		if _, err := parseHost(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestNoFrames: a capture without a single frame cannot be replayed, for
// any way of naming the host, and the error says so rather than "host not
// found"; when the reader skipped every record, it says how many and why.
// One frame is enough: a host given as IP@MAC that never appears in it is
// replayed (TestSilentHost).
func TestNoFrames(t *testing.T) {
	empty := newCap(t, capture.Ethernet).bytes()
	for _, host := range []string{"10.0.0.1", "10.0.0.1/24@02:00:00:00:00:01", "02:00:00:00:00:01"} {
		_, err := ReplayReader(bytes.NewReader(empty), "empty.pcap", Options{Host: host}, nil)
		if !errors.Is(err, ErrNoFrames) || errors.Is(err, ErrHostNotFound) || err.Error() != "replay: no frames: empty.pcap holds no frames: nothing to replay" {
			t.Errorf("--host %s: err = %v, want ErrNoFrames naming the capture", host, err)
		}
	}
	c := newCap(t, capture.Ethernet)
	c.raw(t0, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) // cut inside the Ethernet header
	c.raw(t0+ms, []byte{1, 2, 3})
	_, err := ReplayReader(bytes.NewReader(c.bytes()), "cut.pcap", Options{Host: "10.0.0.1@02:00:00:00:00:01"}, nil)
	if !errors.Is(err, ErrNoFrames) || !strings.Contains(err.Error(), "the reader skipped all 2 records (2 ") {
		t.Errorf("err = %v, want ErrNoFrames counting the 2 skipped records", err)
	}
	// What ErrNoFrames stops short of: one GARP for another host, and the
	// host that never appears has the entry it made.
	c = newCap(t, capture.Ethernet)
	c.arp(t0, arp.Broadcast, macG, request(macG, ipG, ipG))
	var rec trace.Recorder
	sum, err := ReplayReader(bytes.NewReader(c.bytes()), "one.pcap", Options{Host: "10.0.0.1@02:00:00:00:00:01", Sysctls: []string{"arp_accept=1"}}, &rec)
	if err != nil || sum.Frames != 1 || sum.Verdicts["created"] != 1 {
		t.Errorf("one GARP: %d frames, verdicts %v, err %v; want the entry created", sum.Frames, sum.Verdicts, err)
	}
}
