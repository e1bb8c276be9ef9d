package testkit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// SharedCaptures is the directory of tcpdump's test captures that every
// reader must take without a panic: ../shared/captures/tcpdump-tests
// beside the repository. A checkout without it skips the tests that need
// it; under CI (the CI environment variable set, as .ci/run does) its
// absence fails them, so that a landing never passes on a skip.
func SharedCaptures(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "captures", "tcpdump-tests")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("the shared captures are missing: %s (CI needs ../shared beside the repository)", dir)
		}
		t.Skipf("the shared captures are not beside this checkout: %s", dir)
	} else if err != nil {
		t.Fatal(err)
	}
	return dir
}

// RepoRoot is the directory holding go.mod, found upwards from the
// working directory (a test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("testkit: no go.mod above the working directory")
		}
		dir = up
	}
}
