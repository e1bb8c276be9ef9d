// Package verifysuite holds the scenarios `arplab verify` runs by default:
// each one exercises a rule of the ARP and neighbour code on the running
// kernel, with offsets kept away from jiffy, locktime and timer boundaries
// (docs/divergences.md says what the kernel does that the spec did not).
// They are ordinary scenario files and also load with scenario.Load(path).
package verifysuite

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"arplab/internal/scenario"
)

//go:embed *.yaml
var files embed.FS

// Dir is where the files live in the repository.
const Dir = "scenarios/verify"

// Names lists the suite's scenarios, sorted.
func Names() []string {
	ents, _ := files.ReadDir(".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Load parses the suite scenario called name.
func Load(name string) (*scenario.Scenario, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("verify suite: no scenario %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return scenario.Parse(b, Dir+"/"+name+".yaml")
}

// All loads every scenario of the suite.
func All() ([]*scenario.Scenario, error) {
	var out []*scenario.Scenario
	for _, n := range Names() {
		s, err := Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
