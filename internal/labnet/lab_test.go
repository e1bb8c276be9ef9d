package labnet

import (
	"strings"
	"testing"
)

func TestSysctlPath(t *testing.T) {
	for _, tc := range []struct {
		key, want, err string
	}{
		{key: "net.ipv4.conf.eth0.arp_accept", err: "not a path under net/"},
		{key: "net/ipv4/neigh/eth0/locktime", want: "/proc/sys/net/ipv4/neigh/eth0/locktime"},
		{key: "net/ipv4/conf/eth0.100/arp_accept", want: "/proc/sys/net/ipv4/conf/eth0.100/arp_accept"},
		{key: "net/ipv4/neigh/default/gc_thresh1", want: "/proc/sys/net/ipv4/neigh/default/gc_thresh1"},
		{key: "/proc/sys/net/ipv4/neigh/default/gc_thresh1", err: "not a path under net/"},
		{key: "kernel/hostname", err: "not a path under net/"},
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
