package verifysuite

import (
	"path/filepath"
	"testing"

	"arplab/internal/scenario"
)

// TestEveryScenarioLoads: every file parses both embedded and through
// scenario.Load(path), as `arplab lab FILE` loads it.
func TestEveryScenarioLoads(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no scenarios")
	}
	for _, n := range names {
		s, err := Load(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if s.Name != n {
			t.Errorf("%s.yaml: name %q differs from the file name", n, s.Name)
		}
		if _, err := scenario.Load(filepath.Join(".", n+".yaml")); err != nil {
			t.Errorf("scenario.Load(%s.yaml): %v", n, err)
		}
		if s.Description == "" || len(s.Checks) == 0 {
			t.Errorf("%s: a verify scenario needs a description and checks", n)
		}
	}
	if _, err := Load("nosuch"); err == nil {
		t.Error("Load(nosuch) succeeded")
	}
}
