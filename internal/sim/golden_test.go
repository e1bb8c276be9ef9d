package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"arplab/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current simulator")

// goldenFile holds, per built-in scenario, the SHA-256 and size of its
// JSON trace with seed 42, plain and with Monte Carlo variation. A change
// to any trace fails TestGoldenTraces; regenerate on purpose only, with
//
//	go test ./internal/sim -run TestGoldenTraces -update
//
// and say in the commit why the traces changed.
const goldenFile = "testdata/golden.txt"

func TestGoldenTraces(t *testing.T) {
	var b strings.Builder
	for _, name := range scenario.Builtins() {
		s, err := scenario.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, vary := range []bool{false, true} {
			tr := runJSON(t, s, 42, vary)
			sum := sha256.Sum256(tr)
			fmt.Fprintf(&b, "%s vary=%v %s %d\n", name, vary, hex.EncodeToString(sum[:]), len(tr))
			if d := os.Getenv("ARPLAB_GOLDEN_DUMP"); d != "" {
				os.WriteFile(filepath.Join(d, fmt.Sprintf("%s-vary=%v.jsonl", name, vary)), tr, 0o644)
			}
		}
	}
	got := b.String()
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("trace changed:\n  want %s\n  got  %s", w, g)
			}
		}
		t.Log("set ARPLAB_GOLDEN_DUMP=DIR to write the traces for a diff against the previous commit's")
	}
}
