package labnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"arplab/internal/labsys"
	"arplab/internal/nsexec"
)

// netnsDir is where `ip netns` keeps named namespaces (bind mounts of
// /proc/<pid>/task/<tid>/ns/net).
const netnsDir = "/run/netns"

// inNS runs fn on an OS thread that has entered ns (nsexec.In), mapping a
// failure to enter it to the lab's permission error.
func inNS(ns netns.NsHandle, fn func() error) error {
	err := nsexec.In(ns, fn)
	var ee *nsexec.EnterError
	if errors.As(err, &ee) {
		return labsys.PermErr("enter netns", ee.Err)
	}
	return err
}

// ensureNetnsDir makes /run/netns a shared mount point, as `ip netns add`
// does, so that namespaces we create and namespaces iproute2 creates live
// in the same mount and `ip netns` sees ours.
func ensureNetnsDir() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return labsys.PermErr("create "+netnsDir, err)
	}
	made := false
	for {
		err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || made {
			return labsys.PermErr("make "+netnsDir+" a shared mount", err)
		}
		// Not a mount point yet: bind it onto itself, then retry.
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return labsys.PermErr("bind-mount "+netnsDir, err)
		}
		made = true
	}
}

// newNamedNS creates /run/netns/name holding a new network namespace and
// returns a handle to it. The calling goroutine's thread is untouched.
func newNamedNS(name string) (netns.NsHandle, error) {
	if err := ensureNetnsDir(); err != nil {
		return netns.None(), err
	}
	path := filepath.Join(netnsDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return netns.None(), labsys.PermErr("create "+path, err)
	}
	f.Close()

	err = nsexec.Switched(func() error { return unix.Unshare(unix.CLONE_NEWNET) }, func() error {
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		return labsys.PermErr("bind-mount netns "+name, unix.Mount(self, path, "none", unix.MS_BIND, ""))
	})
	var ee *nsexec.EnterError
	if errors.As(err, &ee) {
		err = labsys.PermErr("create netns "+name+" (unshare needs CAP_SYS_ADMIN)", ee.Err)
	}
	if err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return netns.None(), err
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		deleteNamedNS(name)
		return netns.None(), fmt.Errorf("lab: open netns %s: %w", name, err)
	}
	return h, nil
}

// deleteNamedNS removes /run/netns/name. The namespace itself goes away
// when nothing else refers to it (open handles, sockets, processes).
func deleteNamedNS(name string) error {
	path := filepath.Join(netnsDir, name)
	uerr := unix.Unmount(path, unix.MNT_DETACH)
	if uerr != nil && !errors.Is(uerr, unix.EINVAL) && !errors.Is(uerr, unix.ENOENT) {
		return labsys.PermErr("unmount "+path, uerr)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return labsys.PermErr("remove "+path, err)
	}
	return nil
}

// listNamedNS returns the names in /run/netns.
func listNamedNS() ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}
