package labsys

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestPermissionError(t *testing.T) {
	var err error = &PermissionError{Op: "create netns arplab-1-a", Err: syscall.EPERM}
	if !errors.Is(err, ErrNotPermitted) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("%v does not match ErrNotPermitted and os.ErrPermission", err)
	}
	const want = "lab needs root (CAP_NET_ADMIN and CAP_NET_RAW): create netns arplab-1-a: operation not permitted"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestPermErr(t *testing.T) {
	if PermErr("x", nil) != nil {
		t.Error("PermErr(nil) is not nil")
	}
	if err := PermErr("open y", syscall.EACCES); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("PermErr(EACCES) = %v, want a PermissionError", err)
	}
	err := PermErr("open y", syscall.ENOENT)
	if errors.Is(err, ErrNotPermitted) || !errors.Is(err, syscall.ENOENT) || err.Error() != "lab: open y: no such file or directory" {
		t.Errorf("PermErr(ENOENT) = %v", err)
	}
}

func TestValidNames(t *testing.T) {
	for _, n := range []string{"arplab-1-t0", "a.b_c"} {
		if err := ValidFileName("name", n, 20); err != nil {
			t.Errorf("ValidFileName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "a/b", "a b", strings.Repeat("x", 21)} {
		if ValidFileName("name", n, 20) == nil {
			t.Errorf("ValidFileName(%q) accepted", n)
		}
	}
	for _, n := range []string{"", "a:b", "a/b", "a b", "sixteen-chars-xx"} {
		if ValidIfName(n) == nil {
			t.Errorf("ValidIfName(%q) accepted", n)
		}
	}
	if err := ValidIfName("eth0.100"); err != nil {
		t.Errorf("ValidIfName(eth0.100): %v", err)
	}
}

func TestKernelRelease(t *testing.T) {
	rel, err := KernelRelease()
	if err != nil || rel == "" {
		t.Fatalf("KernelRelease() = %q, %v", rel, err)
	}
	t.Logf("kernel %s", rel)
}
func TestPrefixPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"arplab-123", 123, true},
		{"arplab-123-obs", 123, true},
		{"arplab-123-t4-sw-lan", 123, true},
		{"arplab-123-t0-tracefs", 123, true},
		{"arplab-", 0, false},
		{"arplab-x1", 0, false},
		{"arplab-0", 0, false},
		{"other-123", 0, false},
	} {
		pid, ok := PrefixPID(tc.name, StalePrefix)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("PrefixPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}
