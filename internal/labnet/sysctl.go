package labnet

import (
	"fmt"
	"strings"
)

// sysctlPath turns a key into a path under /proc/sys. A key is the path
// below /proc/sys ("net/ipv4/neigh/eth0/locktime"), the one form that
// works for interfaces whose names contain dots; scenario keys are split
// by scenario.SplitSysctl and joined in this form by the runner. Only keys
// under net/ are accepted: they are the per-namespace ones.
func sysctlPath(key string) (string, error) {
	if !strings.HasPrefix(key, "net/") {
		return "", fmt.Errorf("lab: sysctl %q is not a path under net/ (e.g. net/ipv4/neigh/eth0/locktime; only network sysctls are per namespace)", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("lab: bad sysctl key %q", key)
		}
	}
	return "/proc/sys/" + key, nil
}
