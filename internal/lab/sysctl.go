package lab

import (
	"fmt"
	"strings"
)

// sysctlPath turns a key into a path under /proc/sys. Keys come in the
// sysctl(8) dotted form ("net.ipv4.conf.eth0.arp_accept") or in path form
// ("net/ipv4/neigh/eth0/locktime"); use the path form for interfaces whose
// names contain dots ("net/ipv4/conf/eth0.100/arp_accept"). Only keys under
// net/ are accepted: they are the per-namespace ones.
func sysctlPath(key string) (string, error) {
	k := strings.TrimSpace(key)
	k = strings.TrimPrefix(k, "/proc/sys/")
	k = strings.TrimPrefix(k, "/")
	if !strings.Contains(k, "/") {
		k = strings.ReplaceAll(k, ".", "/")
	}
	if !strings.HasPrefix(k, "net/") {
		return "", fmt.Errorf("lab: sysctl %q is not under net/ (only network sysctls are per namespace)", key)
	}
	for _, part := range strings.Split(k, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("lab: bad sysctl key %q", key)
		}
	}
	return "/proc/sys/" + k, nil
}
