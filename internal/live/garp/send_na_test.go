package garp

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	sched "arplab/internal/garp"
	"arplab/internal/vtime"
	"arplab/internal/wire/ipv6"
	"arplab/internal/wire/ndisc"
)

var testVIP6 = netip.MustParseAddr("2001:db8:99::100")

func TestDryRunNA(t *testing.T) {
	var out bytes.Buffer
	fs := mustSchedule(t, sched.NASchedule, "metallb", testMAC, testVIP6, sched.Options{})
	sent, err := SendNA(context.Background(), "nonexistent0", fs[:2], SendOptions{DryRun: true, Out: &out, MAC: testMAC})
	if err != nil || len(sent) != 0 {
		t.Fatalf("DryRun on a missing interface: %d sent, %v (a dry run must not look at the interface)", len(sent), err)
	}
	// Fields by hand: the MAC 02:00:00:00:00:bb, its EUI-64 link-local
	// fe80::ff:fe00:bb as source; the checksum is the one tcpdump calls
	// "sum ok" for this frame.
	want := `frame 1/2 at +0s on nonexistent0: eth dst 33:33:00:00:00:01 src 02:00:00:00:00:bb type 86dd, 86 bytes
  eth    3333000000010200000000bb86dd
  ipv6   6000000000203afffe80000000000000000000fffe0000bbff020000000000000000000000000001
  icmpv6 8800` + naCheck(t, fs[0]) + `2000000020010db8009900000000000000000100
  option 02010200000000bb
  na     NA fe80::ff:fe00:bb > ff02::1 hlim 255 target 2001:db8:99::100 [O] tll 02:00:00:00:00:bb
  linux  override NA: an existing entry (REACHABLE, STALE, DELAY, PROBE) takes this MAC at once, STALE; no locktime (§10.3); FAILED entries, hosts without an entry and drop_unsolicited_na=1 ignore it
frame 2/2 at +1.1s on nonexistent0:`
	if got := out.String(); !strings.HasPrefix(got, want) {
		t.Errorf("DryRun output:\n%s\nwant it to start with:\n%s", got, want)
	}
}

// naCheck is the frame's checksum field in hex, verified independently of
// the encoder by summing the whole message with it (RFC 4443 §2.3: 0).
func naCheck(t *testing.T, f sched.NAFrame) string {
	t.Helper()
	b := f.Append(nil, testMAC)[14+ipv6.HeaderLen:]
	if ndisc.Checksum(f.Msg.Src, f.Msg.Dst, b) != 0 {
		t.Fatalf("frame checksum does not verify")
	}
	const hex = "0123456789abcdef"
	return string([]byte{hex[b[2]>>4], hex[b[2]&15], hex[b[3]>>4], hex[b[3]&15]})
}

func TestShapeNA(t *testing.T) {
	base := mustSchedule(t, sched.NASchedule, "keepalived", testMAC, testVIP6, sched.Options{MasterRepeat: 1, MasterDelay: sched.None})[0].Msg
	mod := func(f func(m *ndisc.Message)) *ndisc.Message { m := base; f(&m); return &m }
	tests := []struct {
		m    *ndisc.Message
		want string
	}{
		{&base, "override NA"},
		{mod(func(m *ndisc.Message) { m.Override = false }), "non-override NA"},
		{mod(func(m *ndisc.Message) { m.HopLimit = 64 }), "hop limit 64"},
		{mod(func(m *ndisc.Message) { m.Code = 1 }), "code 1"},
		{mod(func(m *ndisc.Message) { m.Solicited = true }), "solicited NA sent to a multicast"},
		{mod(func(m *ndisc.Message) { m.HasTargetLL = false }), "never installs a MAC"},
	}
	for _, tt := range tests {
		if got := ShapeNA(tt.m); !strings.Contains(got, tt.want) {
			t.Errorf("ShapeNA(%v) = %q, want it to contain %q", tt.m, got, tt.want)
		}
	}
}

func TestSendNARejectsBadSchedules(t *testing.T) {
	fs := mustSchedule(t, sched.NASchedule, sched.Custom, testMAC, testVIP6, sched.Options{Count: 2})
	fs[0].At, fs[1].At = vtime.Second, 0
	ns := mustSchedule(t, sched.NASchedule, sched.Custom, testMAC, testVIP6, sched.Options{})
	ns[0].Msg.Type = ndisc.TypeNeighborSolicitation
	for _, tt := range []struct {
		name   string
		frames []sched.NAFrame
		want   string
	}{
		{"empty", nil, "no frames"},
		{"out of order", fs, "must be in time order"},
		{"NS", ns, "not an IPv6 neighbour advertisement"},
	} {
		if _, err := SendNA(context.Background(), "x", tt.frames, SendOptions{DryRun: true}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: SendNA error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
