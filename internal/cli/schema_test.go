package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"arplab/internal/kernel"
	"arplab/internal/live/doctor"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// schemaDir holds the JSON Schemas of every --json output (docs/trace.md).
const schemaDir = "../../docs/schemas"

const schemaBase = "https://arplab.invalid/schemas/"

// schemas compiles every schema in docs/schemas, by file name.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s: %v", schemaDir, err)
	}
	c := jsonschema.NewCompiler()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		s, err := c.Compile(schemaBase + filepath.Base(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = s
	}
	return out
}

// validateOutput checks every line of a --json output: events against the
// event schema, output lines against the schema their kind names. It
// returns the number of lines of each kind.
func validateOutput(t *testing.T, name, out string, sch map[string]*jsonschema.Schema, byKind map[trace.Kind]string) map[string]int {
	t.Helper()
	n := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		var k struct {
			Kind trace.Kind `json:"kind"`
		}
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatalf("%s:%d: not JSON: %v", name, line, err)
		}
		which := "trace-event"
		if k.Kind == "" || !k.Kind.Valid() {
			which = byKind[k.Kind]
		}
		s := sch[which]
		if s == nil {
			t.Fatalf("%s:%d: no schema for kind %q", name, line, k.Kind)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("%s:%d (%s): %v", name, line, which, err)
			if len(n) > 20 {
				t.FailNow()
			}
		}
		n[which]++
	}
	return n
}

// TestJSONOutputsMatchTheirSchemas runs every built-in scenario with
// --json (trace and summary), one matrix and one Monte Carlo per the
// matrix's scenario rows, and replays a capture, and validates every line
// against docs/schemas with a JSON Schema validator.
func TestJSONOutputsMatchTheirSchemas(t *testing.T) {
	sch := schemas(t)
	for _, name := range scenario.Builtins() {
		out, errs, code := run(t, "run", name, "--json")
		if code != ExitOK && code != ExitExpected {
			t.Fatalf("run %s: exit %d: %s", name, code, errs)
		}
		n := validateOutput(t, "run "+name, out, sch, map[trace.Kind]string{trace.OutputSummary: "run-summary"})
		if n["run-summary"] != 1 || n["trace-event"] < 3 {
			t.Errorf("run %s: %v lines, want events and one summary", name, n)
		}
		out, errs, code = run(t, "matrix", name, "--scenario-rows", "--json")
		if code != ExitOK && code != ExitExpected {
			t.Fatalf("matrix %s: exit %d: %s", name, code, errs)
		}
		if n := validateOutput(t, "matrix "+name, out, sch, map[trace.Kind]string{trace.OutputMatrixRow: "matrix-row"}); n["matrix-row"] < 1 {
			t.Errorf("matrix %s: no rows", name)
		}
	}
	out, _, _ := run(t, "matrix", "vip-failover", "--json", "--runs", "2")
	validateOutput(t, "matrix vip-failover --runs 2", out, sch, map[trace.Kind]string{trace.OutputMatrixRow: "matrix-row"})
	out, _, _ = run(t, "run", "moving-window", "--runs", "3", "--json")
	if n := validateOutput(t, "run --runs", out, sch, map[trace.Kind]string{trace.OutputMonteCarlo: "montecarlo"}); n["montecarlo"] != 1 {
		t.Errorf("run --runs: %v", n)
	}
	pcap := filepath.Join(t.TempDir(), "vip.pcap")
	if _, errs, code := run(t, "run", "vip-failover", "--pcap", pcap, "--no-fixes"); code != ExitOK {
		t.Fatal(errs)
	}
	out, errs, code := run(t, "replay", pcap, "--host", "192.168.50.10", "--json")
	if code != ExitOK {
		t.Fatalf("replay: exit %d: %s", code, errs)
	}
	if n := validateOutput(t, "replay", out, sch, map[trace.Kind]string{trace.OutputSummary: "replay-summary"}); n["replay-summary"] != 1 {
		t.Errorf("replay: %v", n)
	}
}

// TestSchemasRejectTheOldStyle: the schemas would have caught the Go field
// names of the old summary line and an output line without a kind.
func TestSchemasRejectTheOldStyle(t *testing.T) {
	sch := schemas(t)
	for which, bad := range map[string]string{
		"run-summary": `{"kind":"summary","summary":{"Scenario":"x","OK":true},"fixes":[]}`,
		"matrix-row":  `{"Label":"baseline","OK":true}`,
		"montecarlo":  `{"scenario":"x","seed":1,"profiles":[],"montecarlo":{"Runs":1}}`,
		"trace-event": `{"time":1,"kind":"arp","Verdict":"ignored"}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch[which].Validate(v) == nil {
			t.Errorf("%s accepts %s", which, bad)
		}
	}
}

func TestSnakeKeys(t *testing.T) {
	for in, want := range map[string]string{
		"HZMethod": "hz_method", "VerdictsAgree": "verdicts_agree", "ExactJ": "exact_j",
		"IP": "ip", "FrameDesc": "frame_desc", "time": "time", "old_lladdr": "old_lladdr", "Frames": "frames",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
	m, err := snakeJSON(struct {
		NearEdge int
		Inner    struct{ MaxProbes int }
		Attrs    map[string]string `json:"attrs"`
	}{NearEdge: 1, Attrs: map[string]string{"clock.Host1": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if string(b) != `{"attrs":{"clock.Host1":"x"},"inner":{"max_probes":0},"near_edge":1}` {
		t.Errorf("snakeJSON = %s", b)
	}
}

// TestEveryJSONOutputIsSnakeCase: every output uses one style: every field
// name is snake_case. Maps whose keys are data (host names, sysctl names,
// interface names, an announcer's knobs) are not field names and are
// skipped; the §9.1 flags are keys too and are written in lowercase.
func TestEveryJSONOutputIsSnakeCase(t *testing.T) {
	dataMaps := map[string]bool{"attrs": true, "profiles": true, "verdicts": true, "skipped": true,
		"sysctls": true, "conf": true, "neigh": true, "gc": true, "settings": true}
	field := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !field.MatchString(k) {
					t.Errorf("%s: field %q is not snake_case", path, k)
				}
				if dataMaps[k] {
					if m, ok := e.(map[string]any); ok {
						for dk, de := range m {
							walk(path+"."+k+"["+dk+"]", de)
						}
						continue
					}
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	for _, args := range [][]string{
		{"profiles", "--json"}, {"profiles", "rhel7.3", "--json"}, {"profiles", "rhel7.3", "6.18", "--json"},
		{"doctor", "--json"}, {"run", "failure", "--json"}, {"matrix", "moving-window", "--json", "--runs", "2"},
		{"advise", "--fleet", "../advise/testdata/fleet10.yaml", "--announcer", "keepalived", "--json"},
	} {
		out, errs, code := run(t, args...)
		if code != ExitOK && code != ExitExpected {
			if args[0] == "doctor" {
				continue // doctor cannot read every host; TestDoctorJSON says so
			}
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		dec := json.NewDecoder(strings.NewReader(out)) // advise writes one indented document
		for i := 1; dec.More(); i++ {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%v value %d: %v", args, i, err)
			}
			walk(strings.Join(args, " "), v)
		}
	}
}

// TestReportOutputsMatchTheirSchemas: doctor, advise and profiles --json
// (each one document with its kind) hold to their schemas in docs/schemas:
// doctor on this host and on a report of every severity, advise on a
// profile list and on the ten-group fleet file, profiles for the catalog,
// every profile and one comparison.
func TestReportOutputsMatchTheirSchemas(t *testing.T) {
	sch := schemas(t)
	check := func(which, name, out string) {
		t.Helper()
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sch[which].Validate(v); err != nil {
			t.Errorf("%s (%s): %v", name, which, err)
		}
	}
	for _, c := range []struct {
		which string
		args  []string
	}{
		{"profiles", []string{"profiles", "--json"}},
		{"profile-comparison", []string{"profiles", "rhel7.3", "6.18", "--json"}},
		{"profile-comparison", []string{"profiles", "6.18", "6.18", "--json"}},
		{"advise", []string{"advise", "--fleet", "rhel7.3,6.18", "--announcer", "keepalived", "--json"}},
		{"advise", []string{"advise", "--fleet", "../advise/testdata/fleet10.yaml", "--announcer", "keepalived", "--json"}},
		{"advise", []string{"advise", "--fleet", "6.18", "--announcer", "cilium", "--json"}},
		{"doctor", []string{"doctor", "--json"}},
	} {
		out, errs, code := run(t, c.args...)
		if code != ExitOK && code != ExitExpected {
			if c.which == "doctor" {
				t.Logf("doctor cannot read this host (%s); the report below stands in", errs)
				continue
			}
			t.Fatalf("%v: exit %d: %s", c.args, code, errs)
		}
		check(c.which, strings.Join(c.args, " "), out)
	}
	for _, p := range kernel.Profiles {
		out, errs, code := run(t, "profiles", p.Name, "--json")
		if code != ExitOK {
			t.Fatalf("profiles %s: exit %d: %s", p.Name, code, errs)
		}
		check("profile", "profiles "+p.Name, out)
	}
	// a report whose advice has every severity, on a host whose
	// interfaces carry names no field name could (dashes, dots)
	r := doctor.Report{Release: "3.10.0-514.el7.x86_64", Profile: "rhel7.3", Flags: kernel.FlagsOf(kernel.Features{}),
		Interfaces: []doctor.Interface{{Name: "veth-a.100", MAC: "02:00:00:00:00:01", Up: true, Addrs: []string{"10.0.0.1/24"}}},
		Conf: map[string]map[string]doctor.Setting{"all": {"arp_accept": {Path: "/proc/sys/net/ipv4/conf/all/arp_accept", Value: "0"}},
			"veth-a.100": {"drop_gratuitous_arp": {Path: "/proc/sys/net/ipv4/conf/veth-a.100/drop_gratuitous_arp", Value: "1"}}},
		Neigh: map[string]map[string]doctor.Setting{"veth-a.100": {"locktime": {Path: "/proc/sys/net/ipv4/neigh/veth-a.100/locktime", Value: "100"}}},
		GC: map[string]doctor.Setting{"gc_thresh1": {Path: "/proc/sys/net/ipv4/neigh/default/gc_thresh1", Value: "128"},
			"gc_thresh2": {Path: "/proc/sys/net/ipv4/neigh/default/gc_thresh2", State: doctor.Absent}}, Entries: 3}
	adv := doctor.Advise(r)
	sev := map[string]bool{}
	for _, a := range adv {
		sev[a.Severity] = true
	}
	b, err := json.Marshal(map[string]any{"kind": trace.OutputDoctor, "report": r, "advice": adv})
	if err != nil {
		t.Fatal(err)
	}
	check("doctor", "a rhel7.3 report", string(b))
	if len(sev) < 2 {
		t.Errorf("the stand-in report's advice has severities %v; want more than one to exercise the schema", sev)
	}
	// and the schemas are not empty promises: the old styles fail
	for which, bad := range map[string]string{
		"doctor":             `{"kind":"doctor","report":{"release":"x","profile":"6.18","flags":{"F1":true},"interfaces":[],"conf":{},"neigh":{},"gc":{},"entries":0},"advice":[]}`,
		"profile":            `{"kind":"profile","name":"x","release":"1","patches":[],"hz":250,"flags":{"F1":true},"sysctls":{}}`,
		"advise":             `{"kind":"advise","fleet":{"Groups":[]},"announcer":{},"target":{},"recommendation":null,"frontier":[],"defaults":[],"config":[],"search":{}}`,
		"profiles":           `{"profiles":[{}],"patches":[{}],"flags":[]}`,
		"profile-comparison": `{"kind":"profile_comparison","a":"x","b":"y","patches":[{"Name":"p"}],"flags":[],"sysctls":[]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch[which].Validate(v) == nil {
			t.Errorf("%s accepts %s", which, bad)
		}
	}
}
