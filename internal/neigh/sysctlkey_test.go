package neigh

import (
	"strings"
	"testing"
)

// TestSplitSysctlKey: the one sysctl key parser, with and without a bare
// name allowed.
func TestSplitSysctlKey(t *testing.T) {
	for _, c := range []struct {
		key, kind, dev, name string
		bareOnly, bad        bool // bareOnly: SplitSysctl refuses it, SplitSysctlKey takes it
	}{
		{key: "net.ipv4.neigh.eth0.locktime", kind: "neigh", dev: "eth0", name: "locktime"},
		{key: "neigh.default.gc_thresh1", kind: "neigh", dev: "default", name: "gc_thresh1"},
		{key: "net/ipv4/conf/all/arp_accept", kind: "conf", dev: "all", name: "arp_accept"},
		{key: "/proc/sys/net/ipv4/conf/eth1/arp_ignore", kind: "conf", dev: "eth1", name: "arp_ignore"},
		{key: "net.ipv4.neigh.eth0.100.locktime", kind: "neigh", dev: "eth0.100", name: "locktime"},
		{key: "locktime", name: "locktime", bareOnly: true},
		{key: "arp_accept", name: "arp_accept", bareOnly: true},
		{key: "", bad: true},
		{key: "neigh.locktime", bad: true},
		{key: "net.ipv6.conf.all.forwarding", bad: true},
		{key: "route.eth0.mtu", bad: true},
		{key: "neigh..locktime", bad: true},
		{key: "neigh.eth0.", bad: true},
	} {
		kind, dev, name, err := SplitSysctlKey(c.key)
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Errorf("SplitSysctlKey(%q) = %q %q %q, %v; want an error naming it", c.key, kind, dev, name, err)
			}
			continue
		}
		if err != nil || kind != c.kind || dev != c.dev || name != c.name {
			t.Errorf("SplitSysctlKey(%q) = %q %q %q, %v; want %q %q %q", c.key, kind, dev, name, err, c.kind, c.dev, c.name)
		}
		_, _, _, err = SplitSysctl(c.key)
		if (err != nil) != c.bareOnly {
			t.Errorf("SplitSysctl(%q): err %v, want an error only for a bare name", c.key, err)
		}
	}
}

// FuzzSplitSysctlKey: any key splits without a panic, into a kind of
// neigh, conf or none (a bare name), a name without dots, and a result
// that joins back into a key splitting the same way.
func FuzzSplitSysctlKey(f *testing.F) {
	for _, s := range []string{"net.ipv4.neigh.eth0.locktime", "locktime", "/proc/sys/net/ipv4/conf/all/arp_accept", "neigh.eth0.100.x", "a/b", ".", "neigh..x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		kind, dev, name, err := SplitSysctlKey(key)
		if err != nil {
			return
		}
		if name == "" || strings.ContainsAny(name, "./") {
			t.Fatalf("SplitSysctlKey(%q): name %q", key, name)
		}
		switch kind {
		case "":
			if dev != "" {
				t.Fatalf("SplitSysctlKey(%q): a bare name with device %q", key, dev)
			}
			return
		case "neigh", "conf":
		default:
			t.Fatalf("SplitSysctlKey(%q): kind %q", key, kind)
		}
		k2, d2, n2, err := SplitSysctl(kind + "." + dev + "." + name)
		if err != nil || k2 != kind || d2 != dev || n2 != name {
			t.Fatalf("SplitSysctlKey(%q) = %q %q %q, but joined back it splits to %q %q %q, %v", key, kind, dev, name, k2, d2, n2, err)
		}
	})
}
