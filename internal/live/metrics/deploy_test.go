package metrics

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"arplab/internal/live/doctor"
	"arplab/internal/live/watch"
)

// repo is the repository root, from this package's directory.
var repo = filepath.Join("..", "..", "..")

// families returns the arplab_* metric families an exporter that has seen
// one of everything exposes.
func families(t *testing.T) []string {
	t.Helper()
	names, _ := exposition(t)
	return names
}

// exposition returns the arplab_* families an exporter that has seen one
// of everything exposes, and the label names of every family it exposes
// (Go's and the process's too).
func exposition(t *testing.T) (names []string, labels map[string]map[string]bool) {
	t.Helper()
	e := New(Options{PerIP: true, Settings: func() (doctor.Report, error) {
		return doctor.Report{Release: "6.18.0", Profile: "6.18", GC: map[string]doctor.Setting{"gc_thresh1": {Value: "128"}}}, nil
	}})
	ip := netip.MustParseAddr("10.99.0.100")
	e.Frame(watch.FrameVerdict{Dev: "o0", IP: ip, Shape: watch.ShapeGARPRequest, Verdict: watch.VerdictIgnored, Rule: watch.RuleLocktime})
	e.Entry(watch.EntryChange{Dev: "o0", IP: ip, From: watch.StateProbe, To: watch.StateFailed})
	e.Probe("o0", true)
	e.ND(watch.NDVerdict{Dev: "o0", Type: 136, Target: netip.MustParseAddr("2001:db8::10"), Verdict: watch.VerdictIgnored, Reason: "failed"})
	e.NDProbe("o0", false)
	e.IgnoredUpdate("o0", watch.RuleLocktime)
	e.Dead(watch.DeadChange{Dev: "o0", IP: ip, Since: time.Now(), MAC: "02:00:00:00:00:aa", Dead: true})
	e.Health(watch.Health{Tracepoint: true, EventsLost: 1, FramesLost: 1, Resync: true})
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	labels = map[string]map[string]bool{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), Namespace+"_") {
			out = append(out, mf.GetName())
		}
		ls := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				ls[l.GetName()] = true
			}
		}
		labels[mf.GetName()] = ls
	}
	// every registered family must show here, or the checks below would
	// miss the ones this exporter was not shown an event for
	var reg []string
	for _, d := range e.Descs() {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %s", d)
		}
		if strings.HasPrefix(m[1], Namespace+"_") {
			reg = append(reg, m[1])
		}
	}
	slices.Sort(out)
	slices.Sort(reg)
	if !slices.Equal(out, slices.Compact(reg)) {
		t.Fatalf("registered arplab families %v, exposed after one of everything %v: show exposition() an event for each", reg, out)
	}
	return out, labels
}

// fqName reads a metric's name from prometheus.Desc's String.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var metricName = regexp.MustCompile(`\barplab_[a-z_]+[a-z]\b`)

// TestDocsListEveryMetricAndAlert: docs/metrics.md names every metric the
// exporter registers (families checks they are all exposed) and every
// alert in deploy/prometheus/alerts.yml, and no metric it does not.
func TestDocsListEveryMetricAndAlert(t *testing.T) {
	docs := read(t, "docs/metrics.md")
	fams := families(t)
	if len(fams) < 20 {
		t.Fatalf("only %d families exposed: %v", len(fams), fams)
	}
	for _, f := range fams {
		if !strings.Contains(docs, "`"+f+"`") {
			t.Errorf("docs/metrics.md does not list %s", f)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+- alert: (\S+)`).FindAllStringSubmatch(read(t, "deploy/prometheus/alerts.yml"), -1) {
		if !strings.Contains(docs, "`"+m[1]+"`") {
			t.Errorf("docs/metrics.md does not list alert %s", m[1])
		}
	}
	// and nothing documented that does not exist
	for _, name := range metricName.FindAllString(docs, -1) {
		if !slices.Contains(fams, name) {
			t.Errorf("docs/metrics.md names %s, which the exporter does not expose", name)
		}
	}
}

// deployExpr is one PromQL expression in deploy/, with where it is.
type deployExpr struct {
	where, expr string
	label       string // for Grafana's label_values(METRIC, LABEL): LABEL
}

// deployExprs returns every PromQL expression in the alert rules, their
// promtool tests' input series, and the Grafana dashboard (panel targets
// at any depth, variable queries, annotations).
func deployExprs(t *testing.T) []deployExpr {
	t.Helper()
	var out []deployExpr
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal([]byte(read(t, "deploy/prometheus/alerts.yml")), &rules); err != nil {
		t.Fatalf("deploy/prometheus/alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, deployExpr{where: "alerts.yml " + r.Alert, expr: r.Expr})
		}
	}
	var tests struct {
		Tests []struct {
			InputSeries []struct{ Series string } `yaml:"input_series"`
			PromQL      []struct{ Expr string }   `yaml:"promql_expr_test"`
		}
	}
	if err := yaml.Unmarshal([]byte(read(t, "deploy/prometheus/alerts_test.yml")), &tests); err != nil {
		t.Fatalf("deploy/prometheus/alerts_test.yml: %v", err)
	}
	for i, tc := range tests.Tests {
		for _, s := range tc.InputSeries {
			out = append(out, deployExpr{where: fmt.Sprintf("alerts_test.yml test %d series", i+1), expr: s.Series})
		}
		for _, q := range tc.PromQL {
			out = append(out, deployExpr{where: fmt.Sprintf("alerts_test.yml test %d", i+1), expr: q.Expr})
		}
	}
	var dash any
	if err := json.Unmarshal([]byte(read(t, "deploy/grafana/arplab-dashboard.json")), &dash); err != nil {
		t.Fatalf("deploy/grafana/arplab-dashboard.json: %v", err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				s, ok := x.(string)
				switch {
				case k == "expr" && ok:
					out = append(out, deployExpr{where: "dashboard " + path, expr: s})
				case k == "query" && ok && strings.HasPrefix(path, "templating"):
					if m := labelValuesQuery.FindStringSubmatch(s); m != nil {
						out = append(out, deployExpr{where: "dashboard " + path, expr: m[1], label: m[2]})
					}
				default:
					walk(path+"."+k, x)
				}
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	for k, v := range dash.(map[string]any) {
		walk(k, v)
	}
	return out
}

// labelValues are the values the exporter gives its enumerated labels.
func labelValues() map[string][]string {
	v := map[string][]string{
		"family": familyNames[:],
		"cause":  {"other", "enobufs"},
		"kind":   {"broadcast", "unicast", "multicast"},
	}
	for i := range watch.NumVerdicts {
		v["verdict"] = append(v["verdict"], i.String())
	}
	for i := range watch.NumRules {
		v["rule"] = append(v["rule"], i.String())
	}
	for i := range watch.NumShapes {
		v["shape"] = append(v["shape"], i.String())
	}
	for i := range watch.NumStates {
		v["state"] = append(v["state"], i.String())
	}
	return v
}

// TestRulesAndDashboardUseRealMetrics: every expression in the alert
// rules, their tests and the Grafana dashboard names metrics the exporter
// exposes, matches on labels those metrics have (with values the exporter
// gives them, for the enumerated labels), and groups by labels they have.
func TestRulesAndDashboardUseRealMetrics(t *testing.T) {
	_, labels := exposition(t)
	// Prometheus' own series beside the exporter's
	labels["ALERTS"] = map[string]bool{"alertname": true, "alertstate": true, "severity": true, "dev": true, "rule": true}
	labels["up"] = map[string]bool{}
	values := labelValues()
	exprs := deployExprs(t)
	where := map[string]int{}
	for _, x := range exprs {
		where[strings.Fields(x.where)[0]]++
		u, err := parseUse(x.expr)
		if err != nil {
			t.Errorf("%s: %q: %v", x.where, x.expr, err)
			continue
		}
		if len(u.selectors) == 0 {
			t.Errorf("%s: %q names no metric", x.where, x.expr)
		}
		have := map[string]bool{"instance": true, "job": true}
		for _, s := range u.selectors {
			ls, ok := labels[s.name]
			if !ok {
				t.Errorf("%s: %q uses %s, which the exporter does not expose", x.where, x.expr, s.name)
				continue
			}
			for l := range ls {
				have[l] = true
			}
			for _, m := range s.matchers {
				if !ls[m.label] && m.label != "instance" && m.label != "job" && m.label != "__name__" {
					t.Errorf("%s: %q matches %s on %q, a label it does not have", x.where, x.expr, s.name, m.label)
				}
				known, enum := values[m.label]
				if !enum || (m.op != "=" && m.op != "=~") {
					continue
				}
				alts := []string{m.value}
				if m.op == "=~" {
					alts = plainAlternatives(m.value)
				}
				for _, a := range alts {
					if !slices.Contains(known, a) {
						t.Errorf("%s: %q wants %s=%q; the exporter's values are %v", x.where, x.expr, m.label, a, known)
					}
				}
			}
		}
		for _, l := range append(u.grouping, x.label) {
			if l != "" && !have[l] {
				t.Errorf("%s: %q groups or picks by %q, which none of its metrics has", x.where, x.expr, l)
			}
		}
	}
	// every source was read
	for _, w := range []string{"alerts.yml", "alerts_test.yml", "dashboard"} {
		if where[w] < 3 {
			t.Errorf("only %d expressions read from %s", where[w], w)
		}
	}
}

// TestAlertRules runs promtool on the rules and their unit tests. CI
// installs promtool (Debian's prometheus package); elsewhere the test
// skips when it is missing, and fails in CI.
func TestAlertRules(t *testing.T) {
	// every alert has promtool tests
	tests := read(t, "deploy/prometheus/alerts_test.yml")
	for _, x := range deployExprs(t) {
		if name, ok := strings.CutPrefix(x.where, "alerts.yml "); ok && !strings.Contains(tests, "alertname: "+name+"\n") {
			t.Errorf("alert %s has no test in deploy/prometheus/alerts_test.yml", name)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool missing in CI: .ci/run installs Debian's prometheus package, which ships it")
		}
		t.Skip("needs promtool (Debian's prometheus package) on PATH")
	}
	dir := filepath.Join(repo, "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestContainerGrantsWhatTheUnitGrants: the container example (no
// container engine runs in CI, so it is held to the systemd unit, whose
// capabilities internal/cli TestServiceCapabilitiesSuffice runs under)
// drops every capability but the unit's two, shares the host's network,
// bind-mounts tracefs, runs `watch --quiet --metrics`, and builds with
// the Go release go.mod names.
func TestContainerGrantsWhatTheUnitGrants(t *testing.T) {
	unit := read(t, "deploy/systemd/arplab-watch.service")
	cf := read(t, "deploy/container/Containerfile")
	m := regexp.MustCompile(`(?m)^CapabilityBoundingSet=(.+)$`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatal("the unit has no CapabilityBoundingSet")
	}
	var unitCaps []string
	for _, c := range strings.Fields(m[1]) {
		unitCaps = append(unitCaps, strings.TrimPrefix(c, "CAP_"))
	}
	// the documented run command: comment lines joined at their backslashes
	var runLine string
	for _, l := range strings.Split(cf, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, "#"))
		if runLine != "" || strings.HasPrefix(l, "podman run") {
			runLine += " " + strings.TrimSuffix(l, "\\")
			if !strings.HasSuffix(l, "\\") {
				break
			}
		}
	}
	args := strings.Fields(runLine)
	var drop, add []string
	for i, a := range args[:len(args)-1] {
		switch a {
		case "--cap-drop":
			drop = append(drop, args[i+1])
		case "--cap-add":
			add = append(add, args[i+1])
		}
	}
	slices.Sort(add)
	slices.Sort(unitCaps)
	if !slices.Equal(drop, []string{"all"}) || !slices.Equal(add, unitCaps) {
		t.Errorf("container run drops %v and adds %v; want all dropped and the unit's %v added", drop, add, unitCaps)
	}
	for _, want := range []string{"--network host", "-v /sys/kernel/tracing:/sys/kernel/tracing", "--metrics "} {
		if !strings.Contains(runLine, want) {
			t.Errorf("container run %q lacks %q", runLine, want)
		}
	}
	if !strings.Contains(cf, `ENTRYPOINT ["/usr/local/bin/arplab", "watch", "--quiet"]`) {
		t.Error("the Containerfile's entry point is not `arplab watch --quiet`")
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(read(t, "go.mod"))
	if goVersion == nil || !strings.Contains(cf, "golang:"+goVersion[1]+"-") {
		t.Errorf("the Containerfile does not build with Go %v (go.mod)", goVersion)
	}
}
