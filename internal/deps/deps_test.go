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
// modules are allowed only where listed under "ext".
var allowed = map[string][]string{
	"vtime":      {},
	"trace":      {},
	"kernel":     {},
	"wire/arp":   {},
	"wire/ether": {"wire/arp"},
	"neigh":      {"vtime", "kernel", "trace", "wire/arp"},
	"garp":       {"vtime", "wire/arp"},
	"report":     {"trace"},
	"capture":    {"wire/arp", "wire/ether", "ext:github.com/gopacket/gopacket"},
	"scenario":   {"garp", "kernel", "neigh", "vtime", "wire/arp", "ext:go.yaml.in/yaml/v3"},
	"sim":        {"neigh", "kernel", "scenario", "garp", "trace", "vtime", "wire/arp"},

	// the Prometheus exporter sits on the watcher, never the other way
	"live/metrics": {"live/watch", "live/doctor", "ext:github.com/prometheus/client_golang"},
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
		set := map[string]bool{}
		for _, a := range ok {
			set[a] = true
		}
		for im := range imports(t, filepath.Join(root, pkg)) {
			switch {
			case strings.HasPrefix(im, "arplab/internal/"):
				dep := strings.TrimPrefix(im, "arplab/internal/")
				if !set[dep] {
					t.Errorf("internal/%s imports internal/%s, which the layout forbids (docs/architecture.md)", pkg, dep)
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
