package labsys

import (
	"fmt"
	"os"
	"strings"
)

// StateDir holds per-process lock files and private tracefs mounts.
const StateDir = "/run/arplab"

// WriteProc writes value to a /proc or tracefs file (no O_CREATE, no
// trailing newline), reporting the write's or the close's error.
func WriteProc(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(value)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// ValidFileName accepts names that are safe as file names under /run/netns
// and as tracefs instances: 1 to max letters, digits, '-', '_' or '.'.
func ValidFileName(what, name string, max int) error {
	if name == "" || len(name) > max {
		return fmt.Errorf("lab: %s %q must have 1 to %d characters", what, name, max)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("lab: %s %q: only letters, digits, '-', '_' and '.' are allowed", what, name)
		}
	}
	if name == "." || name == ".." {
		return fmt.Errorf("lab: %s %q is not a name", what, name)
	}
	return nil
}

// ValidIfName applies the kernel's dev_valid_name rules.
func ValidIfName(name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return fmt.Errorf("lab: interface name %q must have 1 to 15 characters", name)
	}
	if strings.ContainsAny(name, "/: \t\n") {
		return fmt.Errorf("lab: interface name %q contains '/', ':' or whitespace", name)
	}
	return nil
}

// StalePrefix starts the name of everything a lab run creates (namespaces,
// trace instances, tracefs mounts, lock files): "arplab-<pid>[-tag]", so
// that a later run can tell a killed run's leftovers from a live run's.
const StalePrefix = "arplab-"

// PrefixPID extracts <pid> from root+"<pid>" or root+"<pid>-...".
func PrefixPID(name, root string) (int, bool) {
	rest, ok := strings.CutPrefix(name, root)
	if !ok {
		return 0, false
	}
	digits := rest
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		digits = rest[:i]
	}
	if digits == "" || len(digits) > 9 {
		return 0, false
	}
	pid := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		pid = pid*10 + int(c-'0')
	}
	return pid, pid > 0
}
