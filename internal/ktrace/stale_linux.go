package ktrace

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"arplab/internal/labsys"
)

// RemoveStale removes the trace instances and private tracefs mounts of
// runs that are gone: those whose name isDead accepts. It returns what it
// removed, one "kind name" string each, and the errors it met on the way
// (it keeps going after each). Instances are seen through the standard
// tracefs, else through a private mount (a stale one will do before it is
// removed), else through a temporary mount of its own.
func RemoveStale(isDead func(name string) bool) (removed []string, errs []error) {
	mounts := PrivateMounts()
	root := ""
	if isTracefs(tracefsDefault) {
		root = tracefsDefault
	} else if len(mounts) > 0 {
		root = mounts[0]
	} else {
		tmp := filepath.Join(labsys.StateDir, fmt.Sprintf("%s%d-clean-tracefs", labsys.StalePrefix, os.Getpid()))
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
	return removed, errs
}

// PrivateMounts lists the tracefs mount points under labsys.StateDir:
// tracers' private mounts.
func PrivateMounts() []string {
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
		if fields[sep+1] == "tracefs" && strings.HasPrefix(mp, labsys.StateDir+"/") {
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
