package neigh

import "testing"

// TestSplitSysctlKeyFamily: the net.ipv6. prefix picks nd_tbl and the rest
// of the key goes through the one key parser (/proc/sys/ paths, dotted
// device names); without it a key, short or bare, is IPv4's; an IPv6 bare
// name is refused, and SplitSysctlFamily refuses bare names of either.
func TestSplitSysctlKeyFamily(t *testing.T) {
	for _, tc := range []struct {
		key                  string
		fam                  Family
		kind, dev, name      string
		wantErr, wantFullErr bool
	}{
		{key: "/proc/sys/net/ipv6/conf/eth0.100/accept_untracked_na", fam: IPv6, kind: "conf", dev: "eth0.100", name: "accept_untracked_na"},
		{key: "net.ipv6.neigh.eth0.retrans_time_ms", fam: IPv6, kind: "neigh", dev: "eth0", name: "retrans_time_ms"},
		{key: "net.ipv4.neigh.eth0.locktime", fam: IPv4, kind: "neigh", dev: "eth0", name: "locktime"},
		{key: "locktime", fam: IPv4, name: "locktime", wantFullErr: true},
		{key: "net.ipv6.locktime", wantErr: true, wantFullErr: true},
		{key: "net.ipv6.neigh.eth0", wantErr: true, wantFullErr: true},
	} {
		fam, kind, dev, name, err := SplitSysctlKeyFamily(tc.key)
		if (err != nil) != tc.wantErr {
			t.Errorf("SplitSysctlKeyFamily(%q) error %v, want error %v", tc.key, err, tc.wantErr)
			continue
		}
		if err == nil && (fam != tc.fam || kind != tc.kind || dev != tc.dev || name != tc.name) {
			t.Errorf("SplitSysctlKeyFamily(%q) = %v %q %q %q, want %v %q %q %q", tc.key, fam, kind, dev, name, tc.fam, tc.kind, tc.dev, tc.name)
		}
		if _, _, _, _, err := SplitSysctlFamily(tc.key); (err != nil) != tc.wantFullErr {
			t.Errorf("SplitSysctlFamily(%q) error %v, want error %v", tc.key, err, tc.wantFullErr)
		}
	}
}
