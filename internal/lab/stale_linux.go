package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CleanStale removes what killed runs left behind: namespaces in
// /run/netns, trace instances, private tracefs mounts, lock files and
// root-namespace links (by name or alias) whose names start with
// prefixRoot+"<pid>" (prefixRoot is normally StalePrefix, "arplab-") where
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
		pid, ok := prefixPID(name, prefixRoot)
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

	// Trace instances need a tracefs to be seen through: the standard
	// one, else a private mount of ours (a stale one will do before we
	// remove it), else a temporary one.
	mounts := tracefsMounts()
	root := ""
	if isTracefs(tracefsDefault) {
		root = tracefsDefault
	} else if len(mounts) > 0 {
		root = mounts[0]
	} else {
		tmp := filepath.Join(stateDir, fmt.Sprintf("%s%d-clean-tracefs", StalePrefix, os.Getpid()))
		if err := mountTracefs(tmp); err == nil {
			root = tmp
			defer unmountTracefs(tmp)
		}
	}
	if root != "" {
		ents, _ := os.ReadDir(filepath.Join(root, "instances"))
		for _, e := range ents {
			if isDead(e.Name()) {
				if err := removeInstance(filepath.Join(root, "instances", e.Name())); err != nil {
					errs = append(errs, err)
					continue
				}
				removed = append(removed, "trace-instance "+e.Name())
			}
		}
	}
	for _, m := range mounts {
		if isDead(filepath.Base(m)) {
			if err := unmountTracefs(m); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, "tracefs-mount "+m)
		}
	}

	// Links in our own (normally the root) namespace. Labs never make
	// any, but a crash between steps of a future primitive might.
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			a := l.Attrs()
			if isDead(a.Name) || isDead(a.Alias) {
				if err := netlink.LinkDel(l); err != nil {
					errs = append(errs, permErr("delete link "+a.Name, err))
					continue
				}
				removed = append(removed, "link "+a.Name)
			}
		}
	}

	// Lock files last: they are what marks a run as alive.
	locks, _ := filepath.Glob(filepath.Join(stateDir, prefixRoot+"*.lock"))
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

// tracefsMounts lists tracefs mount points under stateDir.
func tracefsMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts... - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if fields[sep+1] == "tracefs" && strings.HasPrefix(mp, stateDir+"/") {
			out = append(out, mp)
		}
	}
	return out
}

// unescapeMountinfo undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
