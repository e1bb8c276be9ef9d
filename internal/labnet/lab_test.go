package labnet

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
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

func TestNeighParamsApply(t *testing.T) {
	prof, err := kernel.Lookup(kernel.Closest("6.18.0").Name)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := neigh.NewTable(neigh.Config{Profile: prof, HZ: 250, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	d := tbl.AddDevice("eth0", arp.MAC{2, 0, 0, 0, 0, 1}, nil)
	p := NeighParams{ReachableTime: 23456 * time.Millisecond, BaseReachableTime: 30 * time.Second, RetransTime: time.Second,
		GCStaleTime: 60 * time.Second, DelayProbeTime: 5 * time.Second, AnycastDelay: time.Second, ProxyDelay: 801 * time.Millisecond,
		Locktime: 10 * time.Millisecond, QueueLenBytes: 212992, AppProbes: 1, UcastProbes: 2, McastProbes: 4, McastReprobes: 5, ProxyQlen: 64}
	p.Apply(d, 250)
	q := d.Params
	if q.BaseReachableTime != 7500 || q.RetransTime != 250 || q.GCStaleTime != 15000 || q.DelayProbeTime != 1250 ||
		q.AnycastDelay != 250 || q.ProxyDelay != 201 || q.Locktime != 3 {
		t.Errorf("times in jiffies at HZ=250 (rounded up) = %+v", q)
	}
	if q.UnresQlenBytes != 212992 || q.AppProbes != 1 || q.UcastProbes != 2 || q.McastProbes != 4 || q.McastReprobes != 5 || q.ProxyQlen != 64 {
		t.Errorf("counts = %+v", q)
	}
	if d.ReachableTime != 5864 {
		t.Errorf("reachable_time = %d jiffies, want 5864 (23456 ms at HZ=250, rounded up)", d.ReachableTime)
	}
}
