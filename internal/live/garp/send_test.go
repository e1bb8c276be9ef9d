package garp

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	sched "arplab/internal/garp"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

var (
	testMAC = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0xbb}
	testIP  = netip.MustParseAddr("10.99.0.100")
)

// mustSchedule is a preset's frames announcing ip at mac, from
// sched.Schedule (ARP) or sched.NASchedule (IPv6 NAs): the one prologue of
// the IPv4 and IPv6 tests, unit and lab. An error fails the test.
func mustSchedule[F any](t *testing.T, schedule func(string, arp.MAC, netip.Addr, sched.Options) ([]F, error),
	preset string, mac arp.MAC, ip netip.Addr, o sched.Options) []F {
	t.Helper()
	fs, err := schedule(preset, mac, ip, o)
	if err != nil {
		t.Fatalf("%s: %v", preset, err)
	}
	return fs
}

func TestDryRun(t *testing.T) {
	var out bytes.Buffer
	fs := mustSchedule(t, sched.Schedule, "metallb", testMAC, testIP, sched.Options{})
	sent, err := Send(context.Background(), "nonexistent0", fs[:2], SendOptions{DryRun: true, Out: &out})
	if err != nil {
		t.Fatalf("DryRun on a missing interface: %v (a dry run must not look at the interface)", err)
	}
	if len(sent) != 0 {
		t.Errorf("DryRun reported %d frames sent, want 0", len(sent))
	}
	want := `frame 1/2 at +0s on nonexistent0: eth dst ff:ff:ff:ff:ff:ff src <nonexistent0 MAC> type 0806
  hex    0001 0800 06 04 0001 0200000000bb 0a630064 ffffffffffff 0a630064
  arp    request sha 02:00:00:00:00:bb sip 10.99.0.100 tha ff:ff:ff:ff:ff:ff tip 10.99.0.100
  linux  GARP request: overrides an existing entry even inside locktime (4.12+)
frame 2/2 at +0s on nonexistent0: eth dst ff:ff:ff:ff:ff:ff src <nonexistent0 MAC> type 0806
  hex    0001 0800 06 04 0002 0200000000bb 0a630064 ffffffffffff 0a630064
  arp    reply sha 02:00:00:00:00:bb sip 10.99.0.100 tha ff:ff:ff:ff:ff:ff tip 10.99.0.100
  linux  unsolicited reply, NOT a GARP to Linux (tha != sha): ignored inside locktime
`
	if got := out.String(); got != want {
		t.Errorf("DryRun output:\n%s\nwant:\n%s", got, want)
	}
}

func TestShape(t *testing.T) {
	other := netip.MustParseAddr("10.99.0.1")
	tests := []struct {
		p    arp.Packet
		want string
	}{
		{arp.NewPacket(arp.OpRequest, testMAC, testIP, arp.Zero, testIP), "GARP request"},
		{arp.NewPacket(arp.OpReply, testMAC, testIP, testMAC, testIP), "GARP reply (tha == sha)"},
		{arp.NewPacket(arp.OpReply, testMAC, testIP, arp.Zero, testIP), "NOT a GARP"},
		{arp.NewPacket(arp.OpRequest, testMAC, testIP, arp.Zero, other), "not gratuitous"},
		{arp.NewPacket(3, testMAC, testIP, arp.Zero, testIP), "opcode 3"},
	}
	for _, tt := range tests {
		if got := Shape(tt.p); !strings.Contains(got, tt.want) {
			t.Errorf("Shape(%v %v→%v tha %v) = %q, want it to contain %q", tt.p.Op, tt.p.SIP, tt.p.TIP, tt.p.THA, got, tt.want)
		}
	}
}

func TestSendRejectsBadSchedules(t *testing.T) {
	fs := mustSchedule(t, sched.Schedule, "arping-U", testMAC, testIP, sched.Options{Count: 2})
	fs[0].At, fs[1].At = vtime.Second, 0
	tests := []struct {
		name   string
		frames []sched.Frame
		want   string
	}{
		{"empty", nil, "no frames"},
		{"out of order", fs, "must be in time order"},
		{"IPv6", []sched.Frame{{Packet: arp.Packet{SIP: netip.MustParseAddr("::1"), TIP: testIP}}}, "not IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Send(context.Background(), "x", tt.frames, SendOptions{DryRun: true})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Send error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
