package advise

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"arplab/internal/sim"
)

// FuzzParseFleetYAML: any bytes give a fleet or a one-line error naming
// the file, never a panic; an error about a file that is YAML (only its
// meaning is wrong) also names the line, unless the file has no groups;
// a parsed fleet's shares sum to one and every group has a scenario the
// simulator accepts and builds.
func FuzzParseFleetYAML(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "fleet10.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("groups:\n  - {profile: rhel7.3, share: 2, traffic: vip, sysctls: {locktime: '0'}}\n"))
	f.Add([]byte("groups: [{profile: '4.9', patches: [+garp-reply]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := ParseFleetYAML(b, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			var doc yaml.Node
			if yaml.Unmarshal(b, &doc) == nil && !fuzzLineRE.MatchString(err.Error()) &&
				!strings.Contains(err.Error(), "no groups") && !strings.Contains(err.Error(), "empty fleet file") {
				t.Fatalf("error about a YAML file does not name the line: %v", err)
			}
			return
		}
		sum := 0.0
		for _, g := range fl.Groups {
			sum += g.Share
			s, err := groupScenario(g, DefaultMaxStale, g.ipv6())
			if err == nil {
				err = sim.Check(s)
			}
			if err != nil {
				t.Fatalf("group %s parsed but its scenario does not build: %v", g.Name, err)
			}
		}
		if sum < 0.999 || sum > 1.001 {
			t.Fatalf("shares sum to %v", sum)
		}
	})
}

var fuzzLineRE = regexp.MustCompile(`^fuzz\.yaml:\d+: `)

// FuzzParseDoctorReport: any bytes give a group or an error naming the
// file, never a panic.
func FuzzParseDoctorReport(f *testing.F) {
	f.Add([]byte(`{"report":{"release":"6.18.44","profile":"6.18","hz":250,"interfaces":[{"name":"eth0"}],` +
		`"conf":{"all":{"arp_accept":{"path":"p","value":"2"}}},"neigh":{"eth0":{"locktime":{"path":"p","value":"100"}}},` +
		`"gc":{"gc_thresh1":{"path":"p","value":"128"}},"entries":3},"advice":[]}`))
	f.Add([]byte(`{"report":{"profile":"rhel7.3","conf":{"eth0":{"drop_gratuitous_arp":{"state":"absent on this kernel"}}}}}`))
	f.Add([]byte(`{"report":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, _, err := ParseDoctorReport(b, "host.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "host.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if g.Profile == "" || g.Traffic != DefaultTraffic {
			t.Fatalf("group %+v", g)
		}
	})
}
