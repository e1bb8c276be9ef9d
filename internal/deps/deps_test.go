package deps

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// allowed lists, per package (relative to internal/), the arplab packages
// it may import. Standard-library imports are always allowed; third-party
// modules are allowed only where listed under "ext:". Every package of the
// module must be listed: TestEveryPackageListed fails for a new one.
var allowed = map[string][]string{
	"vtime":      {},
	"addrmap":    {},
	"trace":      {"wire/arp", "wire/ndisc"},
	"kernel":     {},
	"wire/arp":   {},
	"wire/ether": {"wire/arp"},
	"wire/ipv4":  {},
	"wire/ipv6":  {"wire/ether", "wire/ipv4"},
	"wire/ndisc": {"wire/arp", "wire/ether", "wire/ipv6"},
	"neigh":      {"addrmap", "vtime", "kernel", "trace", "wire/arp", "wire/ether", "wire/ndisc"},
	"stack":      {"neigh", "kernel", "trace", "vtime", "wire/arp", "wire/ipv4", "wire/ndisc", "wire/ipv6"},
	"testkit":    {"wire/arp", "wire/ether", "wire/ipv4", "wire/ndisc"},
	"garp":       {"vtime", "wire/arp", "wire/ether", "wire/ndisc"},
	"report":     {"trace", "addrmap"},
	"capture":    {"wire/arp", "wire/ether", "wire/ndisc", "ext:github.com/gopacket/gopacket"},
	"scenario":   {"garp", "kernel", "neigh", "vtime", "wire/arp", "ext:go.yaml.in/yaml/v3"},
	"sim":        {"neigh", "kernel", "scenario", "garp", "stack", "trace", "vtime", "wire/arp", "wire/ether", "wire/ipv4", "wire/ndisc", "wire/ipv6"},
	"replay":     {"addrmap", "capture", "kernel", "neigh", "stack", "trace", "vtime", "wire/arp", "wire/ether", "wire/ipv4", "wire/ndisc", "wire/ipv6"},

	// The lab side: privileged plumbing at the bottom, the scenario runner
	// and the verifier on top. ktrace knows nothing of namespaces or
	// scenarios, so live/watch can use it alone.
	"nsexec": {"ext:github.com/vishvananda/netns", "ext:golang.org/x/sys"},
	"labsys": {"ext:golang.org/x/sys"},
	"kclock": {"labsys", "ext:golang.org/x/sys"},
	"ktrace": {"labsys", "neigh", "wire/arp", "ext:golang.org/x/sys"},
	"labnet": {"labsys", "kclock", "ktrace", "neigh", "nsexec", "vtime", "wire/arp", "wire/ether",
		"ext:github.com/vishvananda/netlink", "ext:github.com/vishvananda/netns", "ext:github.com/mdlayher/packet",
		"ext:golang.org/x/net/bpf", "ext:golang.org/x/sys"},
	"lab": {"labnet", "ktrace", "kclock", "labsys", "neigh", "scenario", "garp", "trace", "wire/arp", "wire/ether", "wire/ipv4", "wire/ndisc", "wire/ipv6",
		"ext:golang.org/x/sys"},
	"verify": {"capture", "replay", "lab", "labnet", "ktrace", "kclock", "labsys", "neigh", "kernel", "scenario", "stack", "trace", "vtime", "wire/arp",
		"wire/ether", "wire/ipv4", "wire/ndisc", "../scenarios/verify"},

	// The live tools: no scenario runner, no model driver.
	"live/livetest": {"nsexec", "wire/arp", "ext:github.com/vishvananda/netlink", "ext:golang.org/x/sys", "ext:github.com/gopacket/gopacket"},
	"live/garp": {"garp", "nsexec", "vtime", "wire/arp", "wire/ether", "wire/ndisc", "wire/ipv6",
		"ext:github.com/mdlayher/packet", "ext:github.com/vishvananda/netns", "ext:golang.org/x/net/bpf", "ext:golang.org/x/sys"},
	"live/watch": {"kclock", "ktrace", "neigh", "nsexec", "trace", "wire/arp", "wire/ether", "wire/ndisc",
		"ext:github.com/mdlayher/packet", "ext:github.com/vishvananda/netlink", "ext:github.com/vishvananda/netns",
		"ext:golang.org/x/net/bpf", "ext:golang.org/x/sys"},
	"live/doctor": {"kernel", "nsexec", "ext:github.com/vishvananda/netlink", "ext:golang.org/x/sys"},

	"deps": {},
	// The verify suite's scenario files, embedded.
	"../scenarios/verify": {"scenario"},
	// advise runs the simulator and quotes doctor's advice (its pure part).
	"advise": {"sim", "scenario", "garp", "kernel", "neigh", "vtime", "wire/arp", "live/doctor", "ext:go.yaml.in/yaml/v3"},
	"vm":     {"ext:golang.org/x/sys/unix", "ext:github.com/ulikunitz/xz"},
	// bench/watch.sh's ARP load generator
	"../bench/arpflood": {"nsexec", "wire/arp", "wire/ether", "ext:github.com/mdlayher/packet", "ext:golang.org/x/sys"},
	// bench/replay.sh's capture generator
	"../bench/replaygen": {"capture", "testkit"},
	// the Prometheus exporter sits on the watcher, never the other way
	"live/metrics": {"live/watch", "live/doctor", "ext:github.com/prometheus/client_golang"},
}

// anything marks the packages that may import every arplab package: the
// CLI (which nothing imports) and the command.
var anything = map[string][]string{
	"cli":           {"ext:github.com/spf13/cobra", "ext:github.com/spf13/pflag"},
	"../cmd/arplab": {},
}

func imports(t *testing.T, dir string) map[string]bool {
	out := map[string]bool{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs := token.NewFileSet()
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fs, filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[p] = true
		}
	}
	return out
}

// TestImportDirection: each package imports only what the layout allows,
// and nothing imports the CLI.
func TestImportDirection(t *testing.T) {
	root := ".."
	for pkg, ok := range allowed {
		checkImports(t, root, pkg, ok, false)
	}
	for pkg, ok := range anything {
		checkImports(t, root, pkg, ok, true)
	}
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Strings(dirs)
	for _, d := range dirs {
		if strings.HasSuffix(d, "/cli") {
			continue
		}
		if imports(t, d)["arplab/internal/cli"] {
			t.Errorf("%s imports internal/cli: nothing may", d)
		}
	}
}

// checkImports checks one package's imports against its list; with all,
// every arplab package is allowed and only third-party modules are checked.
func checkImports(t *testing.T, root, pkg string, ok []string, all bool) {
	t.Helper()
	set := map[string]bool{}
	for _, a := range ok {
		set[a] = true
	}
	for im := range imports(t, filepath.Join(root, pkg)) {
		switch {
		case strings.HasPrefix(im, "arplab/"):
			dep, inInternal := strings.CutPrefix(im, "arplab/internal/")
			if !inInternal {
				dep = "../" + strings.TrimPrefix(im, "arplab/")
			}
			if !all && !set[dep] {
				t.Errorf("internal/%s imports %s, which the layout forbids (docs/architecture.md)", pkg, dep)
			}
		case strings.Contains(strings.Split(im, "/")[0], "."):
			okExt := false
			for a := range set {
				if strings.HasPrefix(a, "ext:") && strings.HasPrefix(im, strings.TrimPrefix(a, "ext:")) {
					okExt = true
				}
			}
			if !okExt {
				t.Errorf("internal/%s imports third-party %s; only the edges (lab, live, replay, cli) may", pkg, im)
			}
		}
	}
}

// TestEveryPackageListed: every package of the module (a directory with a
// non-test Go file) has an entry, so a new package states what it may
// import instead of escaping the check.
func TestEveryPackageListed(t *testing.T) {
	module := filepath.Join("..", "..")
	filepath.WalkDir(module, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if name := d.Name(); p != module && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		ents, _ := os.ReadDir(p)
		hasGo := false
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
				hasGo = true
			}
		}
		if !hasGo {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join(module, "internal"), p)
		rel = filepath.ToSlash(rel)
		if _, ok := allowed[rel]; !ok {
			if _, ok := anything[rel]; !ok {
				t.Errorf("package %s is not in internal/deps's import table: add it with what it may import", rel)
			}
		}
		return nil
	})
}
