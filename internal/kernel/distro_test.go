package kernel

import (
	"strings"
	"testing"
)

// markerRows are the rows of ../shared/spec/distro-kernels.md, in table
// order, as catalogue patch names.
var markerRows = []struct{ id, patch string }{
	{"C1", PGARPRequestOverride}, {"C2", PRerandomise}, {"C3", PRerandomiseOnWrite}, {"C4", PMcastResolicit},
	{"C5", PProbeResetsCounter}, {"C6", PDeadEntryNoop}, {"C7", PDropGratuitousARP}, {"C8", PTimerWheel},
	{"C9", PSameMACKeepsState}, {"C10", PReplaceDstConfirm}, {"C11", PGARPReply}, {"C12", PTimestampsOnChange},
	{"C13", PGARPAlwaysOverride}, {"C14", PConfirmOnARP}, {"C15", PDeleteUnlinks}, {"C16", PARPAcceptSubnet},
	{"C17", PClampTimestamps}, {"C18", PEvictNoCarrierSysctl}, {"C19", PManaged}, {"C20", PExtValidated},
	{"X1", PEvictOnCarrierDown}, {"X2", PGCList}, {"X3", PSmallRetrans}, {"X4", PForcedGCNoARP},
	{"X5", PForcedGCBudget}, {"X6", PIntervalProbe}, {"X7", PNTFUse},
}

// TestDistroRows holds each new profile against the spec's tables, row by
// row: P present (in the line's current kernels), A absent, U unknown.
// Columns: distro-kernels.md §2 (rhel8 = 8.8–8.10), §3 (rhel9 = 9.4–9.6),
// §7 (5.10.y), §5/§9 (5.15.y), §8 (6.1.y), §9 (6.6.y, 6.12.y), §6 (6.8),
// and §11's first releases for mainline 4.18 and 5.14.
func TestDistroRows(t *testing.T) {
	//               C1..........C13 C14 C15 C16-C20 X1-X7
	want := map[string]string{
		"4.18":  "PPPPPPPPPPPPP" + "U" + "P" + "AAAAA" + "AAAAAAA",
		"rhel8": "PPPPPPPPPPPPP" + "A" + "P" + "AAAAA" + "PPPPAAA",
		"5.10":  "PPPPPPPPPPPPP" + "P" + "P" + "APAAA" + "PPPPPAP",
		"5.14":  "PPPPPPPPPPPPP" + "P" + "P" + "AAAAA" + "PPPPAAA",
		"rhel9": "PPPPPPPPPPPPP" + "P" + "P" + "APAPA" + "PPPPAAP",
		"5.15":  "PPPPPPPPPPPPP" + "P" + "P" + "APAAA" + "PPPPPAU",
		"6.1":   "PPPPPPPPPPPPP" + "P" + "P" + "PPPPA" + "PPPPPPP",
		"6.6":   "PPPPPPPPPPPPP" + "P" + "P" + "PPPPA" + "PPPPPPP",
		"6.8":   "PPPPPPPPPPPPP" + "P" + "P" + "PPPPA" + "PPPPPPP",
		"6.12":  "PPPPPPPPPPPPP" + "P" + "P" + "PPPPA" + "PPPPPPP",
	}
	letter := map[Status]byte{Present: 'P', Absent: 'A', Unknown: 'U'}
	for name, row := range want {
		p, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Carry{}
		for _, c := range p.Carries() {
			got[c.Patch] = c
		}
		if len(got) != len(Patches) {
			t.Errorf("%s: %d evidence rows for %d catalogued patches", name, len(got), len(Patches))
		}
		for i, r := range markerRows {
			c, ok := got[r.patch]
			if !ok {
				t.Errorf("%s %s (%s): no evidence row", name, r.id, r.patch)
				continue
			}
			if letter[c.Status] != row[i] {
				t.Errorf("%s %s (%s) = %s, want %c (evidence %q)", name, r.id, r.patch, c.Status, row[i], c.Evidence)
			}
			if c.Evidence == "" {
				t.Errorf("%s %s: no evidence", name, r.id)
			}
			if p.Has(r.patch) != c.In() {
				t.Errorf("%s %s: patch list says %v, evidence row %s", name, r.id, p.Has(r.patch), c)
			}
		}
	}
}

// TestBackportSince is the first kernel of each line that carries a
// back-port, as the spec's tables give it.
func TestBackportSince(t *testing.T) {
	for _, tc := range []struct{ profile, patch, since, ubuntu string }{
		{"rhel8", PEvictOnCarrierDown, "4.18.0-240", ""},
		{"rhel8", PGCList, "4.18.0-477.10.1", ""},
		{"rhel9", PClampTimestamps, "5.14.0-427.13.1", ""},
		{"rhel9", PManaged, "5.14.0-362.8.1", ""},
		{"5.10", PClampTimestamps, "5.10.171", ""},
		{"5.10", PForcedGCBudget, "5.10.209", ""},
		{"5.10", PNTFUse, "5.10.80", ""},
		{"5.15", PClampTimestamps, "5.15.97", "5.15.0-72"},
		{"5.15", PForcedGCBudget, "5.15.148", "5.15.0-102"},
		{"6.1", PClampTimestamps, "6.1.15", ""},
		{"6.1", PForcedGCBudget, "6.1.74", ""},
		{"6.6", PForcedGCBudget, "6.6.13", ""},
	} {
		p, _ := Lookup(tc.profile)
		found := false
		for _, c := range p.Carries() {
			if c.Patch == tc.patch {
				found = true
				if c.Since != tc.since || c.Ubuntu != tc.ubuntu || c.Status != Present {
					t.Errorf("%s %s: %s, want present since %s (Ubuntu %q)", tc.profile, tc.patch, c, tc.since, tc.ubuntu)
				}
			}
		}
		if !found {
			t.Errorf("%s has no row for %s", tc.profile, tc.patch)
		}
	}
}

// TestDistroFlags is the §9.1 flags the new profiles give the model.
func TestDistroFlags(t *testing.T) {
	cols := []string{"4.18", "rhel8", "5.10", "5.14", "rhel9", "5.15", "6.1", "6.6", "6.8", "6.12"}
	table := map[string]string{
		"F1":  "YYYYYYYYYY",
		"F4":  "YYYYYYYYYY",
		"F5":  "--YYYYYYYY", // RHEL 8 never took confirm-on-arp; 4.18 is before it
		"F12": "-YYYYYYYYY",
		"F13": "-YYYYYYYYY",
		"F14": "------YYYY", // arp_accept=2 from 6.0
		"F15": "-YYYYYYYYY",
		"F16": "--Y-YYYYYY", // the clamp: stable 5.10.171/5.15.97/6.1.15, RHEL 9.4; not RHEL 8
	}
	for flag, row := range table {
		for i, col := range cols {
			p, err := Lookup(col)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := p.Features().Flag(flag), row[i] == 'Y'; got != want {
				t.Errorf("%s on %s = %v, want %v", flag, col, got, want)
			}
		}
	}
}

// Unknowns are said, and every profile lists where its rows came from.
func TestUnknownsAndCaveats(t *testing.T) {
	p, _ := Lookup("4.18")
	if u := p.Unknowns(); len(u) != 1 || u[0].Patch != PConfirmOnARP || u[0].In() || !strings.HasPrefix(u[0].Evidence, "[U]") {
		t.Errorf("4.18 unknowns = %+v", u)
	}
	if p, _ := Lookup("rhel9"); len(p.Caveats) == 0 || !strings.Contains(p.Caveats[0], "9.7") {
		t.Errorf("rhel9 caveats = %q", p.Caveats)
	}
	for _, p := range Profiles {
		if p.Source == "" || p.Description == "" {
			t.Errorf("profile %s lacks a source or description", p.Name)
		}
	}
}
