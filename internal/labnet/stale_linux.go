package labnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"arplab/internal/ktrace"
	"arplab/internal/labsys"
)

// CleanStale removes what killed runs left behind: namespaces in
// /run/netns, trace instances, private tracefs mounts, lock files and
// root-namespace links (by name or alias) whose names start with
// prefixRoot+"<pid>" (prefixRoot is normally labsys.StalePrefix, "arplab-") where
// that process is gone. A process counts as alive if it exists or if it
// still holds its lock file in /run/arplab, which also protects runs in
// other PID namespaces. It returns what it removed, one "kind name" string
// each, and keeps going after errors (returning them joined).
func CleanStale(prefixRoot string) ([]string, error) {
	if prefixRoot == "" {
		return nil, errors.New("lab: CleanStale needs a prefix")
	}
	dead := map[int]bool{}
	isDead := func(name string) bool {
		pid, ok := labsys.PrefixPID(name, prefixRoot)
		if !ok {
			return false
		}
		d, seen := dead[pid]
		if !seen {
			d = !pidAlive(pid)
			dead[pid] = d
		}
		return d
	}
	var removed []string
	var errs []error

	// Namespaces (their links and bridges go with them).
	names, err := listNamedNS()
	if err != nil {
		errs = append(errs, fmt.Errorf("lab: list %s: %w", netnsDir, err))
	}
	for _, n := range names {
		if isDead(n) {
			if err := deleteNamedNS(n); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, "netns "+n)
		}
	}

	// Trace instances and private tracefs mounts.
	rm, errs2 := ktrace.RemoveStale(isDead)
	removed = append(removed, rm...)
	errs = append(errs, errs2...)

	// Links in our own (normally the root) namespace. Labs never make
	// any, but a crash between steps of a future primitive might.
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			a := l.Attrs()
			if isDead(a.Name) || isDead(a.Alias) {
				if err := netlink.LinkDel(l); err != nil {
					errs = append(errs, labsys.PermErr("delete link "+a.Name, err))
					continue
				}
				removed = append(removed, "link "+a.Name)
			}
		}
	}

	// Lock files last: they are what marks a run as alive.
	locks, _ := filepath.Glob(filepath.Join(labsys.StateDir, prefixRoot+"*.lock"))
	for _, f := range locks {
		if isDead(strings.TrimSuffix(filepath.Base(f), ".lock")) {
			if err := os.Remove(f); err == nil {
				removed = append(removed, "lockfile "+f)
			}
		}
	}
	return removed, errors.Join(errs...)
}

// pidAlive reports whether pid exists or still holds its lab lock file.
func pidAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	if err := unix.Kill(pid, 0); err == nil || errors.Is(err, unix.EPERM) {
		return true
	}
	f, err := os.Open(lockPath(pid))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true // someone holds it
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
