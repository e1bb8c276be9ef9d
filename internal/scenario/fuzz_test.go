package scenario

import (
	"testing"
)

// FuzzParse: any bytes give a scenario or an error naming the file, never
// a panic; a scenario that parses survives Clone and Apply.
func FuzzParse(f *testing.F) {
	for _, n := range Builtins() {
		b, _ := BuiltinSource(n)
		f.Add(b)
	}
	f.Add([]byte("name: x\nduration: 1s\n"))
	f.Add([]byte("name: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "fuzz.yaml")
		if err != nil {
			if len(err.Error()) < len("fuzz.yaml") || err.Error()[:len("fuzz.yaml")] != "fuzz.yaml" {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		c := s.Clone()
		if c.Name != s.Name || len(c.Script) != len(s.Script) {
			t.Fatal("clone differs")
		}
		if _, err := s.Apply(Variation{Profile: "6.18", Set: []string{"locktime=50"}}); err != nil && len(s.Hosts) > 0 {
			t.Logf("apply: %v", err)
		}
	})
}

// FuzzNeighCmd: `ip neigh` command parsing never panics, and a parsed
// command written with String parses back to itself.
func FuzzNeighCmd(f *testing.F) {
	for _, s := range []string{"replace 10.0.0.2 lladdr 02:00:00:00:00:02 nud stale dev eth0", "del 10.0.0.2 dev eth0", "flush dev eth0", "add 1.2.3.4 nud", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseNeighCmd(s)
		if err == nil && c.Dev == "" {
			t.Fatalf("%q parsed without a dev", s)
		}
		if err != nil {
			return
		}
		// String writes what ParseNeighCmd reads back.
		back, err := ParseNeighCmd(c.String())
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", s, c.String(), err)
		}
		if back.String() != c.String() || back.Op != c.Op || back.IP != c.IP || back.Dev != c.Dev {
			t.Fatalf("%q → %q → %q", s, c.String(), back.String())
		}
	})
}
