package garp

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

var (
	mac   = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0xbb}
	ip    = netip.MustParseAddr("10.99.0.100")
	gwMAC = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
)

const (
	bc   = "ff:ff:ff:ff:ff:ff"
	own  = "02:00:00:00:00:bb"
	zero = "00:00:00:00:00:00"
	req  = "request"
	rep  = "reply"
	vip  = "10.99.0.100"
)

// row is a frame spelled field by field, so a diff names the field.
type row struct {
	At       string
	EthDst   string
	Op       string
	HRD, PRO uint16
	SHA, SIP string
	THA, TIP string
}

func rowOf(f Frame) row {
	p := f.Packet
	return row{f.At.String(), f.EthDst.String(), p.Op.String(), p.HardwareType, p.ProtocolType,
		p.SHA.String(), p.SIP.String(), p.THA.String(), p.TIP.String()}
}

// g is an expected gratuitous frame: sha = own MAC, sip = tip = vip.
func g(at, ethDst, op, tha string) row {
	return row{at, ethDst, op, 1, 0x0800, own, vip, tha, vip}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name   string
		preset string
		o      Options
		want   []row
	}{
		{"arping-U default", "arping-U", Options{}, []row{
			g("0s", bc, req, bc), g("1s", bc, req, bc), g("2s", bc, req, bc),
		}},
		{"arping-U -c 1", "arping-U", Options{Count: 1}, []row{
			g("0s", bc, req, bc),
		}},
		{"arping-U -c 5 -i 2 -w 4", "arping-U", Options{Count: 5, Interval: 2 * vtime.Second, Deadline: 4 * vtime.Second}, []row{
			// -w 4 keeps the frame at exactly 4 s: the interval timerfd is
			// armed first and fires before the deadline timerfd.
			g("0s", bc, req, bc), g("2s", bc, req, bc), g("4s", bc, req, bc),
		}},
		{"arping-A default", "arping-A", Options{}, []row{
			g("0s", bc, rep, own), g("1s", bc, rep, own), g("2s", bc, rep, own),
		}},
		{"arping-A delayed", "arping-A", Options{Count: 2, Delay: 250 * vtime.Millisecond}, []row{
			g("0.25s", bc, rep, own), g("1.25s", bc, rep, own),
		}},
		{"neutron-legacy", "neutron-legacy", Options{}, []row{
			g("0s", bc, rep, own), g("1s", bc, rep, own), g("2s", bc, rep, own),
		}},
		{"neutron", "neutron", Options{}, []row{
			g("0s", bc, req, bc), g("0.001s", bc, rep, own),
			g("2.002s", bc, req, bc), g("2.003s", bc, rep, own),
			g("4.004s", bc, req, bc), g("4.005s", bc, rep, own),
		}},
		{"neutron with iputils 20221126", "neutron", Options{ArpingLinger: vtime.Second}, []row{
			// each arping -c 1 waits for its 1 s timer tick before exiting
			g("0s", bc, req, bc), g("1.001s", bc, rep, own),
			g("4.002s", bc, req, bc), g("5.003s", bc, rep, own),
			g("8.004s", bc, req, bc), g("9.005s", bc, rep, own),
		}},
		{"neutron no latency", "neutron", Options{Count: 2, StartupLatency: None}, []row{
			g("0s", bc, req, bc), g("0s", bc, rep, own),
			g("2s", bc, req, bc), g("2s", bc, rep, own),
		}},
		{"keepalived default", "keepalived", Options{}, []row{
			g("0s", bc, req, bc), g("0s", bc, req, bc), g("0s", bc, req, bc), g("0s", bc, req, bc), g("0s", bc, req, bc),
			g("5s", bc, req, bc), g("5s", bc, req, bc), g("5s", bc, req, bc), g("5s", bc, req, bc), g("5s", bc, req, bc),
		}},
		{"keepalived neutron config", "keepalived", Options{MasterRepeat: 1, MasterDelay: 60 * vtime.Second}, []row{
			g("0s", bc, req, bc), g("60s", bc, req, bc),
		}},
		{"keepalived min garp", "keepalived", Options{MasterRepeat: 1, MasterDelay: None}, []row{
			g("0s", bc, req, bc),
		}},
		// garp_interval: the repeats held back collapse into one pending
		// GARP (keepalived keeps a flag per address, not a queue;
		// measured on keepalived 2.2.7, live/garp's lab test)
		{"keepalived garp_interval", "keepalived", Options{MasterRepeat: 3, GARPInterval: 100 * vtime.Millisecond, MasterDelay: 2 * vtime.Second}, []row{
			g("0s", bc, req, bc), g("0.1s", bc, req, bc),
			g("2s", bc, req, bc), g("2.1s", bc, req, bc),
		}},
		{"keepalived garp_interval longer than the delay", "keepalived", Options{MasterRepeat: 2, GARPInterval: 3 * vtime.Second, MasterDelay: 1 * vtime.Second}, []row{
			// the second burst comes while the first one's pending GARP
			// waits: it merges into it
			g("0s", bc, req, bc), g("3s", bc, req, bc),
		}},
		{"keepalived refresh inside garp_interval", "keepalived", Options{MasterRepeat: 2, MasterDelay: None, GARPInterval: 4 * vtime.Second,
			MasterRefresh: 3 * vtime.Second, Deadline: 10 * vtime.Second}, []row{
			// 0 at once, its repeat pending for 4 s; the refresh at 3 s
			// merges into it; the one at 6 s waits for 8 s; 9 s merges
			g("0s", bc, req, bc), g("4s", bc, req, bc), g("8s", bc, req, bc),
		}},
		{"keepalived refresh", "keepalived", Options{MasterRepeat: 1, MasterDelay: None, MasterRefresh: 10 * vtime.Second, MasterRefreshRepeat: 2, Deadline: 25 * vtime.Second}, []row{
			g("0s", bc, req, bc),
			g("10s", bc, req, bc), g("10s", bc, req, bc),
			g("20s", bc, req, bc), g("20s", bc, req, bc),
		}},
		{"metallb", "metallb", Options{}, []row{
			g("0s", bc, req, bc), g("0s", bc, rep, bc),
			g("1.1s", bc, req, bc), g("1.1s", bc, rep, bc),
			g("2.2s", bc, req, bc), g("2.2s", bc, rep, bc),
			g("3.3s", bc, req, bc), g("3.3s", bc, rep, bc),
			g("4.4s", bc, req, bc), g("4.4s", bc, rep, bc),
		}},
		{"cilium", "cilium", Options{}, []row{
			g("0s", bc, rep, bc),
		}},
		{"kube-vip", "kube-vip", Options{}, []row{
			g("0s", bc, rep, own), g("3s", bc, req, bc), g("6s", bc, rep, own),
		}},
		{"kube-vip rate 500ms", "kube-vip", Options{Count: 4, Interval: 500 * vtime.Millisecond}, []row{
			g("0s", bc, rep, own), g("0.5s", bc, req, bc), g("1s", bc, rep, own), g("1.5s", bc, req, bc),
		}},
		{"kernel-notify", "kernel-notify", Options{}, []row{
			g("0s", bc, req, zero),
		}},
		{"ucarp", "ucarp", Options{Delay: vtime.Second}, []row{
			g("1s", bc, req, own),
		}},
		{"custom default", Custom, Options{Mode: ModeRequest}, []row{
			g("0s", bc, req, bc),
		}},
		{"custom both", Custom, Options{Mode: ModeBoth, Count: 2, Interval: 600 * vtime.Millisecond}, []row{
			g("0s", bc, req, bc), g("0s", bc, rep, own),
			g("0.6s", bc, req, bc), g("0.6s", bc, rep, own),
		}},
		{"custom unicast reply with zero THA", Custom, Options{Mode: ModeReply, THA: &arp.Zero, EthDst: &gwMAC}, []row{
			g("0s", "02:00:00:00:00:01", rep, zero),
		}},
		{"custom deadline", Custom, Options{Mode: ModeReply, Count: 10, Interval: 300 * vtime.Millisecond, Deadline: vtime.Second}, []row{
			g("0s", bc, rep, own), g("0.3s", bc, rep, own), g("0.6s", bc, rep, own), g("0.9s", bc, rep, own),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Schedule(tt.preset, mac, ip, tt.o)
			if err != nil {
				t.Fatalf("Schedule(%q, %+v): %v", tt.preset, tt.o, err)
			}
			var got []row
			for _, f := range fs {
				got = append(got, rowOf(f))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Schedule(%q, %+v) (-want +got):\n%s", tt.preset, tt.o, diff)
			}
		})
	}
}

// TestWireBytes pins the 28 ARP bytes of each THA shape, grouped by field.
func TestWireBytes(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	hdr := func(op byte) []byte { return []byte{0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, op} }
	sha := []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0xbb}
	addr := []byte{10, 99, 0, 100}
	tests := []struct {
		preset string
		want   []byte
	}{
		{"arping-U", cat(hdr(1), sha, addr, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, addr)},
		{"arping-A", cat(hdr(2), sha, addr, sha, addr)},
		{"cilium", cat(hdr(2), sha, addr, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, addr)},
		{"kernel-notify", cat(hdr(1), sha, addr, make([]byte, 6), addr)},
		{"ucarp", cat(hdr(1), sha, addr, sha, addr)},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			fs, err := Schedule(tt.preset, mac, ip, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := fs[0].Packet.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("%s bytes:\n got % x\nwant % x", tt.preset, got, tt.want)
			}
		})
	}
}

func TestScheduleErrors(t *testing.T) {
	tests := []struct {
		name    string
		preset  string
		ip      netip.Addr
		o       Options
		wantErr string
	}{
		{"unknown preset", "arpingU", ip, Options{}, `unknown preset "arpingU"`},
		{"IPv6", "arping-U", netip.MustParseAddr("2001:db8::1"), Options{}, "not IPv4"},
		{"knob not honoured", "cilium", ip, Options{Count: 3}, `preset "cilium" has no knob Count`},
		{"THA on a preset", "arping-U", ip, Options{THA: &arp.Zero}, "no knob THA"},
		{"negative count", "arping-U", ip, Options{Count: -1}, "Count = -1"},
		{"negative duration", "arping-U", ip, Options{Delay: -5}, "cannot be negative"},
		{"arping sub-second interval", "arping-A", ip, Options{Interval: 500 * vtime.Millisecond}, "whole seconds"},
		{"arping sub-second deadline", "arping-A", ip, Options{Deadline: 1500 * vtime.Millisecond}, "-w takes whole seconds"},
		{"arping -i 0", "arping-U", ip, Options{Interval: None}, "-i 0"},
		{"kube-vip rate too low", "kube-vip", ip, Options{Interval: 300 * vtime.Millisecond}, "below 500 ms"},
		{"keepalived refresh unbounded", "keepalived", ip, Options{MasterRefresh: 10 * vtime.Second}, "set Deadline"},
		{"keepalived refresh repeat alone", "keepalived", ip, Options{MasterRefreshRepeat: 2}, "refresh is off"},
		{"custom bad mode", Custom, ip, Options{Mode: "gratuitous"}, `mode "gratuitous"`},
		{"custom no mode", Custom, ip, Options{}, `mode ""`},
		{"linger on arping", "arping-U", ip, Options{ArpingLinger: vtime.Second}, "no knob ArpingLinger"},
		{"custom foreign knob", Custom, ip, Options{Mode: ModeReply, MasterRepeat: 2}, "no knob MasterRepeat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Schedule(tt.preset, mac, tt.ip, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Schedule(%q, %+v) error = %v, want one containing %q", tt.preset, tt.o, err, tt.wantErr)
			}
		})
	}
	if _, err := Schedule("nope", mac, ip, Options{}); !errors.Is(err, ErrUnknownPreset) {
		t.Errorf("unknown preset error = %v, want errors.Is ErrUnknownPreset", err)
	}
}

func TestPresetsListEveryPreset(t *testing.T) {
	want := []string{"arping-U", "arping-A", "neutron-legacy", "neutron", "keepalived", "metallb",
		"cilium", "kube-vip", "kernel-notify", "ucarp", "custom"}
	var got []string
	for _, p := range Presets() {
		got = append(got, p.Name)
		if p.Description == "" || p.Source == "" || len(p.Knobs) == 0 {
			t.Errorf("preset %q lacks a description, source or knobs: %+v", p.Name, p)
		}
		if !slices.Contains(p.Knobs, KnobDelay) {
			t.Errorf("preset %q has no Delay knob; every schedule can be shifted", p.Name)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Presets() names (-want +got):\n%s", diff)
	}
	// Presets returns copies: editing one must not change the table.
	Presets()[0].Knobs[0] = "X"
	if Presets()[0].Knobs[0] == "X" {
		t.Error("Presets() shares its Knobs slices with the package table")
	}
}

// TestEveryPresetIsGratuitous checks the invariant all senders share:
// sip == tip == the announced address and sha == the sender's MAC.
func TestEveryPresetIsGratuitous(t *testing.T) {
	for _, p := range Presets() {
		o := Options{}
		if p.Name == Custom {
			o.Mode = ModeBoth
		}
		fs, err := Schedule(p.Name, mac, ip, o)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if len(fs) == 0 {
			t.Fatalf("%s: empty schedule", p.Name)
		}
		for i, f := range fs {
			if f.Packet.SIP != ip || f.Packet.TIP != ip || f.Packet.SHA != mac {
				t.Errorf("%s frame %d = %v, want sip = tip = %v and sha = %v", p.Name, i, f, ip, mac)
			}
			if i > 0 && f.At < fs[i-1].At {
				t.Errorf("%s frame %d at %v before frame %d at %v", p.Name, i, f.At, i-1, fs[i-1].At)
			}
		}
	}
}

func TestFrameString(t *testing.T) {
	fs, err := Schedule("arping-A", mac, ip, Options{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := "+0s eth_dst=ff:ff:ff:ff:ff:ff reply sha=02:00:00:00:00:bb sip=10.99.0.100 tha=02:00:00:00:00:bb tip=10.99.0.100"
	if got := fs[0].String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
