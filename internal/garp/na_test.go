package garp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ndisc"
)

var (
	naMAC = arp.MAC{0x02, 0, 0, 0, 0, 0x0a}
	naVIP = netip.MustParseAddr("2001:db8::10")
)

// The expected frames were written from spec §10.1's field table and
// checksummed by a separate implementation (Python's struct and
// ipaddress), not by wire/ndisc: eth dst, src, type; IPv6 version/class/
// flow, payload length 32, next header 58, hop limit 255, src, ff02::1;
// NA type 136 code 0 checksum, flags, target; TLLAO.
const (
	wantKeepalivedNA = "333300000001" + "02000000000a" + "86dd" +
		"60000000" + "0020" + "3a" + "ff" + "20010db8000000000000000000000010" + "ff020000000000000000000000000001" +
		"88" + "00" + "f903" + "20000000" + "20010db8000000000000000000000010" +
		"0201" + "02000000000a"
	wantKeepalivedRouterNA = "33330000000102000000000a86dd6000000000203aff20010db8000000000000000000000010" +
		"ff0200000000000000000000000000018800" + "7903" + "a0000000" + "20010db8000000000000000000000010020102000000000a"
	wantMetalLBNA = "33330000000102000000000a86dd6000000000203aff" + "fe80000000000000000000fffe00000a" +
		"ff020000000000000000000000000001880029422000000020010db8000000000000000000000010020102000000000a"
)

func naHex(t *testing.T, f NAFrame) string {
	t.Helper()
	return hex.EncodeToString(f.Append(nil, naMAC))
}

func naTimes(fs []NAFrame) []vtime.Duration {
	var at []vtime.Duration
	for _, f := range fs {
		at = append(at, f.At)
	}
	return at
}

func TestNAPresetFrames(t *testing.T) {
	s := vtime.Second
	ms := vtime.Millisecond
	cases := []struct {
		preset string
		o      Options
		want   string
		at     []vtime.Duration
	}{
		{"keepalived", Options{}, wantKeepalivedNA, []vtime.Duration{0, 0, 0, 0, 0, 5 * s, 5 * s, 5 * s, 5 * s, 5 * s}},
		{"keepalived", Options{Forwarding: true, MasterRepeat: 2, GNAInterval: 200 * ms, MasterDelay: None}, wantKeepalivedRouterNA,
			[]vtime.Duration{0, 200 * ms}},
		// vrrp_gna_interval: five repeats collapse into one at once and one
		// pending; a burst inside the interval sends only its pending one
		{"keepalived", Options{GNAInterval: 100 * ms, MasterDelay: 2 * s}, wantKeepalivedNA,
			[]vtime.Duration{0, 100 * ms, 2 * s, 2*s + 100*ms}},
		{"keepalived", Options{GNAInterval: 3 * s, MasterDelay: 2 * s, MasterRepeat: 1}, wantKeepalivedNA,
			[]vtime.Duration{0, 3 * s}},
		{"keepalived", Options{MasterRepeat: 1, MasterDelay: None, MasterRefresh: 10 * s, Deadline: 30 * s, Delay: s}, wantKeepalivedNA,
			[]vtime.Duration{s, 11 * s, 21 * s, 31 * s}},
		{"metallb", Options{}, wantMetalLBNA, []vtime.Duration{0, 1100 * ms, 2200 * ms, 3300 * ms, 4400 * ms}},
		{"kernel-notify", Options{}, wantKeepalivedNA, []vtime.Duration{0}},
		{"kernel-notify", Options{Forwarding: true}, wantKeepalivedRouterNA, []vtime.Duration{0}},
		{"ndsend", Options{}, wantMetalLBNA, []vtime.Duration{0}},
		{Custom, Options{}, wantKeepalivedNA, []vtime.Duration{0}},
	}
	for _, c := range cases {
		fs, err := NASchedule(c.preset, naMAC, naVIP, c.o)
		if err != nil {
			t.Errorf("%s %+v: %v", c.preset, c.o, err)
			continue
		}
		if got := naTimes(fs); !slices.Equal(got, c.at) {
			t.Errorf("%s %+v: frames at %v, want %v", c.preset, c.o, got, c.at)
		}
		for i, f := range fs {
			if got := naHex(t, f); got != c.want {
				t.Errorf("%s frame %d:\n got %s\nwant %s", c.preset, i+1, got, c.want)
				break
			}
		}
	}
}

func TestCustomNA(t *testing.T) {
	src := netip.MustParseAddr("fe80::1")
	dst := netip.MustParseAddr("2001:db8::1")
	gw := arp.MAC{0x02, 0, 0, 0, 0, 0x01}
	fs, err := NASchedule(Custom, naMAC, naVIP, Options{Count: 3, Interval: 300 * vtime.Millisecond, NAFlags: "rs",
		Source: &src, Dest: &dst, EthDst: &gw, NoTLLAO: true, HopLimit: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[2].At != 600*vtime.Millisecond {
		t.Fatalf("got %v", fs)
	}
	m := fs[0].Msg
	if !m.Router || !m.Solicited || m.Override || m.HasTargetLL || m.HopLimit != 64 || m.Src != src || m.Dst != dst || fs[0].EthDst != gw {
		t.Errorf("custom NA: %v", fs[0])
	}
	// and it decodes back with a right checksum
	var back ndisc.Message
	if err := back.Unmarshal(fs[0].Append(nil, naMAC)[14:]); err != nil || !back.ChecksumOK || back.Target != naVIP {
		t.Errorf("decoded %v, %v", &back, err)
	}
	none, err := NASchedule(Custom, naMAC, naVIP, Options{NAFlags: "none", Dest: &ndisc.AllRouters})
	if err != nil || none[0].Msg.Override || none[0].EthDst != (arp.MAC{0x33, 0x33, 0, 0, 0, 2}) {
		t.Errorf("NAFlags none to ff02::2: %v, %v", none, err)
	}
}

func TestNAScheduleErrors(t *testing.T) {
	ll := netip.MustParseAddr("2001:db8::1")
	v4 := netip.MustParseAddr("192.0.2.1")
	cases := []struct {
		preset string
		ip     netip.Addr
		o      Options
		want   string
	}{
		{"arping-U", naVIP, Options{}, "unknown preset"},
		{"keepalived", v4, Options{}, "not IPv6"},
		{"keepalived", ndisc.AllNodes, Options{}, "multicast"},
		{"metallb", naVIP, Options{Count: 3}, "has no knob Count"},
		{"keepalived", naVIP, Options{GARPInterval: vtime.Second}, "has no knob GARPInterval"},
		{"keepalived", naVIP, Options{MasterRefresh: vtime.Second}, "set Deadline"},
		{Custom, naVIP, Options{NAFlags: "OX"}, "letters of R, S, O"},
		{Custom, naVIP, Options{Dest: &ll}, "give EthDst"},
		{Custom, naVIP, Options{HopLimit: 256}, "want 1..255"},
		{Custom, naVIP, Options{Source: &v4}, "want an IPv6 address"},
		{Custom, naVIP, Options{GNAInterval: -2}, "cannot be negative"},
	}
	for _, c := range cases {
		_, err := NASchedule(c.preset, naMAC, c.ip, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v %+v: error %v, want one saying %q", c.preset, c.ip, c.o, err, c.want)
		}
	}
	if _, err := NASchedule("nope", naMAC, naVIP, Options{}); !errors.Is(err, ErrUnknownPreset) {
		t.Errorf("unknown preset: %v", err)
	}
	// the IPv6 knobs are not IPv4 knobs
	if _, err := Schedule("keepalived", naMAC, netip.MustParseAddr("192.0.2.1"), Options{GNAInterval: vtime.Second}); err == nil {
		t.Error("the IPv4 keepalived preset took GNAInterval")
	}
}

func TestNAPresetsListed(t *testing.T) {
	var names []string
	for _, p := range NAPresets() {
		names = append(names, p.Name)
		if p.Description == "" || p.Source == "" {
			t.Errorf("%s: no description or source", p.Name)
		}
		if !slices.Contains(p.Knobs, KnobDelay) {
			t.Errorf("%s: no Delay knob (every sender can start late)", p.Name)
		}
	}
	if got := strings.Join(names, ","); got != "keepalived,metallb,kernel-notify,ndsend,custom" {
		t.Errorf("NAPresets = %s", got)
	}
}
