package vm

import (
	"os"
	"path/filepath"
	"testing"
)

// testKernels are Debian's packaged kernels unpacked by .ci/run (or by
// hand: apt-get download linux-image-…-unsigned; dpkg -x).
func testKernels(t *testing.T) []string {
	t.Helper()
	root := os.Getenv("ARPLAB_VM_KERNELS")
	if root == "" {
		t.Skip("ARPLAB_VM_KERNELS is not set: it names a directory where linux-image packages were unpacked with dpkg -x (.ci/run sets it)")
	}
	ks, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(ks) == 0 {
		t.Skipf("no kernel images under %s/boot", root)
	}
	return ks
}

func TestResolveModules(t *testing.T) {
	for _, k := range testKernels(t) {
		dir, err := ModulesDir(k)
		if err != nil {
			t.Fatal(err)
		}
		mods, builtin, err := resolveModules(dir, GuestModules)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		pos := map[string]int{}
		for i, m := range mods {
			names = append(names, m.Name)
			pos[m.Name] = i
			if len(m.Data) < 4 || string(m.Data[1:4]) != "ELF" {
				t.Errorf("%s: %s is not a decompressed ELF module", k, m.Name)
			}
		}
		t.Logf("%s: load %v (built in: %v)", filepath.Base(k), names, builtin)
		for _, n := range []string{"veth", "bridge", "stp", "llc"} {
			if _, ok := pos[n]; !ok {
				t.Errorf("%s: %s not resolved (%v)", k, n, names)
			}
		}
		if pos["llc"] > pos["stp"] || pos["stp"] > pos["bridge"] {
			t.Errorf("%s: dependencies after their users: %v", k, names)
		}
	}
	if _, _, err := resolveModules(t.TempDir(), []string{"veth"}); err == nil {
		t.Error("an empty module tree resolved veth")
	}
}
