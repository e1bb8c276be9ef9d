package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRender: whatever a saved --json file holds (a trace, output lines,
// a doctor, advise or profiles document, or a broken one), render draws
// it or says in one line what is wrong with it: no panic, exit 0, 1 or 2.
func FuzzRender(f *testing.F) {
	for _, args := range [][]string{{"profiles", "rhel7.3", "--json"}, {"profiles", "rhel7.3", "4.12", "--json"}, {"doctor", "--json"}} {
		if out, _, code := run(f, args...); code == ExitOK {
			f.Add([]byte(out))
		}
	}
	f.Add([]byte("{\n  \"kind\": \"advise\",\n  \"fleet\": {\"groups\": []},\n  \"target\": {\"max_failure\": 0.01}\n}\n"))
	f.Add([]byte(`{"kind":"doctor","report":{"release":"6.1.0","profile":"6.1","flags":{"f99":true}},"advice":[]}`))
	f.Add([]byte(`{"kind":"profile_comparison","a":"x","b":"y","patches":[{"name":"p","a":true}]}`))
	f.Add([]byte("{\"time\":0,\"kind\":\"header\",\"source\":\"watch\"}\n{\"kind\":\"summary\",\"fixes\":[]}\n"))
	f.Add([]byte("{\n\"kind\": \"profiles\"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "in.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs, code := run(t, "render", p)
		if code != ExitOK && code != ExitError && code != ExitUsage {
			t.Fatalf("render: exit %d: %s", code, errs)
		}
	})
}
