package sim

import (
	"strings"
	"testing"

	"arplab/internal/kernel"
	"arplab/internal/scenario"
)

// TestFixesLeaveOutNoOps: a candidate that changes nothing (the profile the
// host already runs, a patch its kernel already carries) is not a fix, and
// a generic candidate that does not apply (a sender preset without a GARP)
// is not listed either.
func TestFixesLeaveOutNoOps(t *testing.T) {
	s, err := scenario.Load("probe-heals") // no GARP sender in it
	if err != nil {
		t.Fatal(err)
	}
	s, err = s.Apply(scenario.Variation{Profile: "5.4"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := kernel.Lookup("5.4")
	if !p.Has("timestamps-on-change") {
		t.Fatal("5.4 is expected to carry timestamps-on-change")
	}
	for _, c := range []struct {
		v    scenario.Variation
		same bool
	}{
		{scenario.Variation{Patches: []string{"+timestamps-on-change"}}, true},
		{scenario.Variation{Profile: "5.4"}, true},
		{scenario.Variation{Patches: []string{"-timestamps-on-change", "+timestamps-on-change"}}, true},
		{scenario.Variation{Patches: []string{"-timestamps-on-change"}}, false},
		{scenario.Variation{Profile: "4.12"}, false},
		{scenario.Variation{Set: []string{"arp_accept=1"}}, false},
	} {
		cv, err := s.Apply(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := sameSetup(s, cv); got != c.same {
			t.Errorf("%+v: sameSetup = %v, want %v", c.v, got, c.same)
		}
	}
	s.Fixes = nil
	for _, r := range Fixes(s, Options{}) {
		if r.Label == "+timestamps-on-change" {
			t.Errorf("Fixes lists +timestamps-on-change on a 5.4 host that already carries it")
		}
		if r.Err != "" {
			t.Errorf("Fixes lists a generic candidate that does not apply: %s: %s", r.Label, r.Err)
		}
	}
}

// TestFixesNotCreditedForPacketLoss: with half the frames lost, a fix that
// passes with one seed but fails as often as the baseline over many seeds
// is not credited with the fix; it is listed with the reason.
func TestFixesNotCreditedForPacketLoss(t *testing.T) {
	s, err := scenario.Load("gateway-failover")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = s.Apply(scenario.Variation{Set: []string{"segment.loss=0.5"}}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(s, Options{})
	if err != nil || res.FlowsOK {
		t.Fatalf("the lossy baseline should fail: %v %v", res, err)
	}
	found := false
	for _, r := range Fixes(s, Options{}) {
		if r.Fixed {
			t.Errorf("%s credited with fixing packet loss", r.Label)
		}
		if r.Why != "" {
			found = true
			if !strings.Contains(r.Why, "packet loss") {
				t.Errorf("%s: reason %q", r.Label, r.Why)
			}
		}
	}
	if !found {
		t.Error("no candidate passed with this seed: the test does not exercise the check")
	}
	if !creditedAgainstLoss(2, 16) || creditedAgainstLoss(16, 16) || creditedAgainstLoss(9, 16) {
		t.Error("creditedAgainstLoss: want at most half the baseline's failures")
	}
}

// TestProfileFlagAndSetAgree: --profile and --set profile= give the same
// kernel, dropping the file's patch edits in both cases, and profile names
// say each net change once.
func TestProfileFlagAndSetAgree(t *testing.T) {
	s, err := scenario.Load("failure")
	if err != nil {
		t.Fatal(err)
	}
	s, err = s.Apply(scenario.Variation{Patches: []string{"+small-retrans"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Apply(scenario.Variation{Profile: "5.4"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Apply(scenario.Variation{Set: []string{"profile=5.4"}})
	if err != nil {
		t.Fatal(err)
	}
	if pa, pb := ProfileNames(a), ProfileNames(b); strings.Join(pa, ",") != strings.Join(pb, ",") || pa[0] != "5.4" {
		t.Errorf("--profile gives %v, --set profile= gives %v; want both [5.4]", pa, pb)
	}
	c, err := s.Apply(scenario.Variation{Patches: []string{"-small-retrans", "+clamp-timestamps"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ProfileNames(c)[0]; got != "rhel7.3+clamp-timestamps" {
		t.Errorf("profile name %q, want rhel7.3+clamp-timestamps (edits that cancel leave no trace)", got)
	}
}

// TestFixesJudgedByTheVerdict: a scenario that expects its flow to fail
// (false-confirm) still gets the fixes that make the flow survive.
func TestFixesJudgedByTheVerdict(t *testing.T) {
	s, err := scenario.Load("false-confirm")
	if err != nil {
		t.Fatal(err)
	}
	s.Fixes = []scenario.Variation{{Label: "4.11 confirmation series", Patches: []string{"+replace-dst-confirm"}}}
	rows := Fixes(s, Options{})
	if len(rows) != 1 || !rows[0].Fixed || rows[0].OK {
		t.Fatalf("fix rows %+v: want the per-socket confirmation credited although it breaks the scenario's expectation", rows)
	}
}

// TestMatrixRowsSayWhatTheyChange: with a patch edit on the observed host,
// a patch row's label starts from the kernel as run (edits included), the
// edit itself is offered removed rather than added again, no patch row
// simulates the baseline unchanged, and the plain profile is a row of its
// own.
func TestMatrixRowsSayWhatTheyChange(t *testing.T) {
	s, err := scenario.Load("failure")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = s.Apply(scenario.Variation{Patches: []string{"+timestamps-on-change"}}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, v := range DefaultMatrix(s) {
		labels[v.Label] = true
		if len(v.Patches) != 1 || !strings.HasSuffix(v.Label, " "+v.Patches[0]) {
			continue // not a generated patch row (the scenario's own rows follow them)
		}
		c, err := s.Apply(v)
		if err != nil {
			t.Fatalf("%s: %v", v.Label, err)
		}
		if sameSetup(s, c) {
			t.Errorf("row %q simulates the baseline unchanged", v.Label)
		}
		if !strings.HasPrefix(v.Label, "rhel7.3+timestamps-on-change ") {
			t.Errorf("row %q does not start from the kernel as run", v.Label)
		}
	}
	for _, want := range []string{"rhel7.3+timestamps-on-change +garp-reply", "rhel7.3+timestamps-on-change -timestamps-on-change", "profile rhel7.3"} {
		if !labels[want] {
			t.Errorf("no row %q", want)
		}
	}
	if labels["rhel7.3 +garp-reply"] || labels["rhel7.3+timestamps-on-change +timestamps-on-change"] {
		t.Error("a row is labelled from the profile without the host's edits")
	}
}
