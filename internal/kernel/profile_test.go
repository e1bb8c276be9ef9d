package kernel

import (
	"strings"
	"testing"
)

// TestFlagTable is spec §9.1: each profile column's flags, Y or –.
func TestFlagTable(t *testing.T) {
	// columns: 3.10/RHEL7.3, 3.14, 4.4, 4.9, 4.11, 4.12, 4.14, 4.19, 5.4, 6.18, RHEL 7.8
	cols := []string{"rhel7.3", "3.14", "4.4", "4.9", "4.11", "4.12", "4.14", "4.19", "5.4", "6.18", "rhel7.8"}
	table := map[string]string{
		"F1":  "-YYYYYYYYYY",
		"F2":  "-----YYYYYY",
		"F3":  "-----YYYYYY",
		"F4":  "-----YYYYYY",
		"F5":  "YYYYY-YYYY-",
		"F6":  "----YYYYYYY",
		"F7":  "---YYYYYYY-",
		"F8":  "-YYYYYYYYY-",
		"F9":  "--YYYYYYYYY",
		"F10": "--YYYYYYYY-",
		"F11": "---YYYYYYY-",
		"F12": "--------YY-",
		"F13": "---------Y-", // HZ/100 only on 6.18
		"F14": "---------Y-", // MAX, 0-2
		"F15": "--------YY-",
		"F16": "---------Y-",
	}
	for flag, row := range table {
		for i, col := range cols {
			p, err := Lookup(col)
			if err != nil {
				t.Fatal(err)
			}
			want := row[i] == 'Y'
			if got := p.Features().Flag(flag); got != want {
				t.Errorf("%s on %s = %v, want %v (spec §9.1)", flag, col, got, want)
			}
		}
	}
	if p, _ := Lookup("3.10"); p.Features() != (Features{ConfirmIneffective: true}) {
		t.Errorf("3.10 must have no patches: %+v", p.Features())
	}
}

func TestWithPatches(t *testing.T) {
	p, _ := Lookup("rhel7.3")
	q, err := p.WithPatches([]string{"+timestamps-on-change", "+replace-dst-confirm"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Name != "rhel7.3+timestamps-on-change+replace-dst-confirm" || !q.Features().TimestampsOnChange || !q.Features().PerSocketConfirm {
		t.Fatalf("%s %+v", q.Name, q.Features())
	}
	if q.Features().ConfirmIneffective {
		t.Error("timestamps-on-change without confirm-on-arp must make confirmation effective-only (4.12–4.18)")
	}
	for _, bad := range []string{"timestamps-on-change", "+nosuch", "+"} {
		if _, err := p.WithPatches([]string{bad}); err == nil {
			t.Errorf("edit %q accepted", bad)
		}
	}
	if _, err := Lookup("rhel7.4x"); err == nil || !strings.Contains(err.Error(), "rhel7.3") || !strings.Contains(err.Error(), `did you mean "rhel7.3"`) {
		t.Errorf("unknown profile error should suggest the nearest and list the known ones: %v", err)
	}
	if _, err := Lookup("2.6.32"); err == nil || !strings.Contains(err.Error(), "older than every profile") {
		t.Errorf("a kernel older than every profile: %v", err)
	}
}

func TestClosest(t *testing.T) {
	for rel, want := range map[string]string{
		"3.10.0-514.22.1.el7.x86_64": "rhel7.3",
		"3.10.0-1160.el7.x86_64":     "rhel7.8",
		"4.9.0-8-amd64":              "4.9",
		"5.10.0-20-amd64":            "5.10",
		"6.18.44-fc-v782":            "6.18",
		"4.13.0":                     "4.12+delete-unlinks",
		"not a release":              "6.18",
		"2.6.32-754.el6.x86_64":      "3.10", // older than every profile: the oldest, not the latest
		"3.2.0-4-amd64":              "3.10",
	} {
		if got := Closest(rel).Name; got != want {
			t.Errorf("Closest(%s) = %s, want %s", rel, got, want)
		}
	}
}

// Every patch is data with a title, a release and an effect, and the
// table is in release order (WithPatches and the profiles keep that order).
func TestPatchesAreDocumented(t *testing.T) {
	for i, p := range Patches {
		if p.Name == "" || p.Title == "" || p.Release == "" || p.Effect == "" || p.Spec == "" {
			t.Errorf("patch %+v is missing a field", p)
		}
		if i > 0 && !releaseLE(Patches[i-1].Release, p.Release) {
			t.Errorf("patch %s (%s) comes after %s (%s)", p.Name, p.Release, Patches[i-1].Name, Patches[i-1].Release)
		}
		if p.DocumentedOnly && len(p.Flags) > 0 {
			t.Errorf("patch %s is documented only but provides flags %v", p.Name, p.Flags)
		}
	}
}

// TestWithPatchesNamesNetChanges: a name says each net change once, in the
// order of the edits; edits that cancel or repeat what the profile has
// leave no trace.
func TestWithPatchesNamesNetChanges(t *testing.T) {
	p, _ := Lookup("5.4")
	for _, c := range []struct {
		edits []string
		want  string
	}{
		{[]string{"+small-retrans", "-small-retrans", "+clamp-timestamps"}, "5.4+clamp-timestamps"},
		{[]string{"+timestamps-on-change"}, "5.4"},
		{[]string{"-timestamps-on-change", "-timestamps-on-change"}, "5.4-timestamps-on-change"},
	} {
		q, err := p.WithPatches(c.edits)
		if err != nil {
			t.Fatal(err)
		}
		if q.Name != c.want {
			t.Errorf("%v: name %q, want %q", c.edits, q.Name, c.want)
		}
	}
}

// TestUnknownNamesSuggestTheNearest: a mistyped profile or patch name gets
// "did you mean", a name far from every known one does not.
func TestUnknownNamesSuggestTheNearest(t *testing.T) {
	_, err := Lookup("rhel73")
	if err == nil || !strings.Contains(err.Error(), `did you mean "rhel7.3"?`) {
		t.Errorf("Lookup(rhel73): %v", err)
	}
	_, err = Lookup("windows")
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("Lookup(windows) suggests something: %v", err)
	}
	p, _ := Lookup("6.18")
	_, err = p.WithPatches([]string{"+timestamp-on-change"})
	if err == nil || !strings.Contains(err.Error(), `did you mean "timestamps-on-change"?`) {
		t.Errorf("WithPatches(+timestamp-on-change): %v", err)
	}
}
