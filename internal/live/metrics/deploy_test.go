package metrics

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"arplab/internal/live/doctor"
	"arplab/internal/live/watch"
)

// repo is the repository root, from this package's directory.
var repo = filepath.Join("..", "..", "..")

// families returns the arplab_* metric families an exporter that has seen
// one of everything exposes.
func families(t *testing.T) []string {
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
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), Namespace+"_") {
			out = append(out, mf.GetName())
		}
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
		t.Fatalf("registered arplab families %v, exposed after one of everything %v: show families() an event for each", reg, out)
	}
	return out
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

// TestRulesAndDashboardUseRealMetrics: every arplab_* name in the alert
// rules and the Grafana dashboard is one the exporter exposes.
func TestRulesAndDashboardUseRealMetrics(t *testing.T) {
	fams := families(t)
	for _, f := range []string{"deploy/prometheus/alerts.yml", "deploy/prometheus/alerts_test.yml", "deploy/grafana/arplab-dashboard.json"} {
		text := read(t, f)
		if strings.HasSuffix(f, ".json") {
			var d struct {
				Panels []struct {
					Title   string
					Targets []struct{ Expr string }
				}
			}
			if err := json.Unmarshal([]byte(text), &d); err != nil || len(d.Panels) == 0 {
				t.Errorf("%s: not a dashboard with panels: %v", f, err)
			}
			for _, p := range d.Panels {
				if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
					t.Errorf("%s: panel %q has no query", f, p.Title)
				}
			}
		}
		names := metricName.FindAllString(text, -1)
		if len(names) == 0 {
			t.Errorf("%s names no metric", f)
		}
		for _, n := range names {
			if !slices.Contains(fams, n) {
				t.Errorf("%s uses %s, which the exporter does not expose", f, n)
			}
		}
	}
}

// TestAlertRules runs promtool on the rules and their unit tests. CI
// installs promtool (Debian's prometheus package); elsewhere the test
// skips when it is missing, and fails in CI.
func TestAlertRules(t *testing.T) {
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
