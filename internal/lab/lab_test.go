package lab

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestSysctlPath(t *testing.T) {
	for _, tc := range []struct {
		key, want, err string
	}{
		{key: "net.ipv4.conf.eth0.arp_accept", want: "/proc/sys/net/ipv4/conf/eth0/arp_accept"},
		{key: "net/ipv4/neigh/eth0/locktime", want: "/proc/sys/net/ipv4/neigh/eth0/locktime"},
		{key: "net/ipv4/conf/eth0.100/arp_accept", want: "/proc/sys/net/ipv4/conf/eth0.100/arp_accept"},
		{key: "/proc/sys/net/ipv4/neigh/default/gc_thresh1", want: "/proc/sys/net/ipv4/neigh/default/gc_thresh1"},
		{key: "kernel.hostname", err: "not under net/"},
		{key: "net/ipv4/../../kernel/hostname", err: "bad sysctl key"},
		{key: "net//x", err: "bad sysctl key"},
	} {
		got, err := sysctlPath(tc.key)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("sysctlPath(%q) error = %v, want %q", tc.key, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("sysctlPath(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
}

func TestPrefixPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"arplab-123", 123, true},
		{"arplab-123-obs", 123, true},
		{"arplab-123-t4-sw-lan", 123, true},
		{"arplab-123-t0-tracefs", 123, true},
		{"arplab-", 0, false},
		{"arplab-x1", 0, false},
		{"arplab-0", 0, false},
		{"other-123", 0, false},
	} {
		pid, ok := prefixPID(tc.name, StalePrefix)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("prefixPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"", "lab", "arplab-", "arplab-12/x", "arplab-12 x"} {
		if _, err := New(p); err == nil {
			t.Errorf("New(%q) succeeded", p)
		}
	}
}

func TestIfName(t *testing.T) {
	l := &Lab{runID: "abc123"}
	if got := l.IfName("o"); got != "oabc123" {
		t.Errorf("IfName(o) = %q", got)
	}
	if got := l.IfName("averyverylongname"); len(got) != 15 || !strings.HasSuffix(got, "abc123") {
		t.Errorf("IfName(long) = %q, want 15 characters ending in the run id", got)
	}
}

func TestPermissionError(t *testing.T) {
	var err error = &PermissionError{Op: "create netns arplab-1-a", Err: syscall.EPERM}
	if !errors.Is(err, ErrNotPermitted) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("%v does not match ErrNotPermitted and os.ErrPermission", err)
	}
	const want = "lab needs root (CAP_NET_ADMIN and CAP_NET_RAW): create netns arplab-1-a: operation not permitted"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestRoundHZ(t *testing.T) {
	for rate, want := range map[float64]int{249.1: 250, 99: 100, 1003: 1000, 301: 300, 500: 500, 24: 24} {
		if got := RoundHZ(rate); got != want {
			t.Errorf("RoundHZ(%v) = %d, want %d", rate, got, want)
		}
	}
}

func TestConfigHZ(t *testing.T) {
	hz, err := configHZ(strings.NewReader("# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"))
	if err != nil || hz != 250 {
		t.Errorf("configHZ = %d, %v; want 250", hz, err)
	}
	if _, err := configHZ(strings.NewReader("CONFIG_X=y\n")); err == nil {
		t.Error("configHZ without CONFIG_HZ succeeded")
	}
}
