package cli

import (
	"arplab/internal/advise"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsYAMLExamplesRun: every ```yaml block in docs/ is a scenario that
// runs in the simulator and whose checks hold (exit 0), or a fleet file
// (a top-level groups: list, docs/advise.md) that the advisor parses, so
// the formats' documentation cannot drift from the formats.
func TestDocsYAMLExamplesRun(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	dir := t.TempDir()
	n := 0
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(b, -1) {
			n++
			name := filepath.Base(d) + "#" + string(rune('1'+i))
			f := filepath.Join(dir, strings.ReplaceAll(name, "#", "-")+".yaml")
			if err := os.WriteFile(f, m[1], 0o644); err != nil {
				t.Fatal(err)
			}
			if y := strings.TrimLeft(string(m[1]), " \n"); strings.HasPrefix(y, "groups:") {
				if _, err := advise.ParseFleetYAML(m[1], name); err != nil {
					t.Errorf("%s: fleet file: %v", name, err)
				}
				continue
			}
			out, errs, code := run(t, "run", f, "--no-fixes")
			if code != ExitOK {
				t.Errorf("%s: exit %d: %s\n%s", name, code, errs, out)
			}
		}
	}
	if n == 0 {
		t.Fatal("no YAML examples found in docs/")
	}
}
