package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"
)

// GuestModules are the modules the lab needs: veth pairs and bridges, and
// the netlink families vishvananda/netlink opens for every handle
// (NETLINK_XFRM, NETLINK_NETFILTER; the socket fails with "protocol not
// supported" when they are modules nobody loaded, and the guest has no
// modprobe for the kernel to call). Their dependencies come along; a
// module the kernel has built in (modules.builtin) is skipped.
var GuestModules = []string{"veth", "bridge", "xfrm_user", "nfnetlink"}

// module is one module to load in the guest, already decompressed.
type module struct {
	Name string
	Data []byte
}

// modName normalises a module name or file name ("nf-conntrack.ko.xz" →
// "nf_conntrack"), as the kernel treats '-' and '_' alike.
func modName(s string) string {
	s = filepath.Base(s)
	for _, ext := range []string{".xz", ".gz", ".zst"} {
		s = strings.TrimSuffix(s, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(s, ".ko"), "-", "_")
}

// resolveModules finds want and their dependencies in dir (a
// /lib/modules/RELEASE tree) and returns them in load order, dependencies
// first. Dependencies come from modules.dep when depmod has run, else from
// each module's own .modinfo "depends=" (a packaged kernel ships no
// modules.dep: depmod runs at install time).
func resolveModules(dir string, want []string) (mods []module, builtin []string, err error) {
	files := map[string]string{}
	err = filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			files[modName(d.Name())] = p
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("vm: modules in %s: %w", dir, err)
	}
	built := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			built[modName(sc.Text())] = true
		}
	}
	deps := readModulesDep(dir)
	done := map[string]bool{}
	var visit func(name string, stack []string) error
	visit = func(name string, stack []string) error {
		name = modName(name)
		if done[name] {
			return nil
		}
		for _, s := range stack {
			if s == name {
				return fmt.Errorf("vm: module dependency cycle: %s → %s", strings.Join(stack, " → "), name)
			}
		}
		if built[name] {
			done[name] = true
			builtin = append(builtin, name)
			return nil
		}
		p, ok := files[name]
		if !ok {
			return fmt.Errorf("vm: module %s: not in %s and not built in (modules.builtin)", name, dir)
		}
		data, err := readModule(p)
		if err != nil {
			return err
		}
		ds, ok := deps[name]
		if !ok {
			if ds, err = modinfoDepends(data); err != nil {
				return fmt.Errorf("vm: module %s (%s): %w", name, p, err)
			}
		}
		for _, d := range ds {
			if err := visit(d, append(stack, name)); err != nil {
				return err
			}
		}
		done[name] = true
		mods = append(mods, module{Name: name, Data: data})
		return nil
	}
	for _, w := range want {
		if err := visit(w, nil); err != nil {
			return nil, nil, err
		}
	}
	return mods, builtin, nil
}

// readModulesDep reads modules.dep ("kernel/a/b.ko: kernel/c.ko …") when
// it exists.
func readModulesDep(dir string) map[string][]string {
	b, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		mod, ds, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var names []string
		for _, d := range strings.Fields(ds) {
			names = append(names, modName(d))
		}
		out[modName(mod)] = names
	}
	return out
}

// readModule reads a module file, decompressing .ko.xz and .ko.gz: the
// kernel's finit_module can only decompress by itself from 6.4 on, so
// arplab always hands it plain ELF.
func readModule(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(p, ".xz"):
		if r, err = xz.NewReader(f); err != nil {
			return nil, fmt.Errorf("vm: %s: %w", p, err)
		}
	case strings.HasSuffix(p, ".gz"):
		if r, err = gzip.NewReader(f); err != nil {
			return nil, fmt.Errorf("vm: %s: %w", p, err)
		}
	case strings.HasSuffix(p, ".zst"):
		return nil, fmt.Errorf("vm: %s: zstd-compressed modules are not supported; decompress them first", p)
	}
	b, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("vm: %s: %w", p, err)
	}
	return b, nil
}

// modinfoDepends reads "depends=a,b" from a module's .modinfo section.
func modinfoDepends(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, err
	}
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	b, err := s.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var out []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					out = append(out, d)
				}
			}
			return out, nil
		}
	}
	return nil, nil
}
