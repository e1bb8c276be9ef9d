package kernel

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		why      []string // substrings of the explanation
	}{
		{"rhel9", "rhel9", nil},
		{"latest", "6.18", []string{"latest is 6.18"}},
		{"5.14.0-427.13.1.el9_4.x86_64", "rhel9", []string{"RHEL 9 kernel", "profile rhel9"}},
		{"5.14.0-570.32.1.el9_6.x86_64", "rhel9", nil},
		{"5.14.0-362.8.1.el9_3.x86_64", "rhel9-clamp-timestamps", []string{"predates 427.13.1, the first with clamp-timestamps"}},
		{"5.14.0-70.13.1.el9_0.x86_64", "rhel9-ntf-use-update-ntf-managed-clamp-timestamps", nil},
		{"5.14.0-611.5.1.el9_7.x86_64", "rhel9", []string{"newer than the last one read (570.32.1)"}},
		{"4.18.0-553.el8_10.x86_64", "rhel8", []string{"RHEL 8 kernel"}},
		{"4.18.0-425.19.2.el8_7.x86_64", "rhel8-gc-list-dead-entry-keeps-state-forced-gc-noarp", []string{"predates 477.10.1"}},
		{"4.18.0-147.5.1.el8_1.x86_64", "rhel8-evict-on-carrier-down-gc-list-small-retrans-dead-entry-keeps-state-forced-gc-noarp", nil},
		{"3.10.0-514.el7", "rhel7.3", nil},
		{"3.10.0-514.22.1.el7.x86_64", "rhel7.3", nil},
		{"3.10.0-693.el7.x86_64", "rhel7.3", []string{"between 7.3 (514) and 7.8 (1127)", "--profile rhel7.8"}},
		{"3.10.0-327.el7", "rhel7.3", []string{"older than 7.3"}},
		{"3.10.0-1160.el7.x86_64", "rhel7.8", nil},
		{"6.12.0-55.9.1.el10_0.x86_64", "6.12", []string{"RHEL 10.0"}},
		{"rhel9.2", "rhel9-ntf-use-update-ntf-managed-clamp-timestamps", []string{"RHEL 9.2"}},
		{"el8.10", "rhel8", nil},
		{"rhel7", "rhel7.8", nil},
		{"6.1.0-27-amd64", "6.1", []string{"Debian kernel of the 6.1 line", "back-ports are assumed"}},
		{"5.10.0-20-amd64", "5.10", nil},
		{"6.12.118+deb12-amd64", "6.12", []string{"Debian kernel of upstream 6.12.118"}},
		{"6.1.10+deb12-amd64", "6.1-clamp-timestamps-forced-gc-budget", nil},
		{"6.1.10", "6.1-clamp-timestamps-forced-gc-budget", []string{"6.1.10 predates 6.1.15"}},
		{"6.1.15", "6.1-forced-gc-budget", nil},
		{"6.1.200", "6.1", nil},
		{"5.15.0-91-generic", "5.15-forced-gc-budget", []string{"Ubuntu kernel", "predates Ubuntu 5.15.0-102"}},
		{"5.15.0-60-generic", "5.15-clamp-timestamps-forced-gc-budget", nil},
		{"5.15.0-105-generic", "5.15", nil},
		{"6.8.0-45-generic", "6.8", nil},
		{"6.1.102-111.182.amzn2023.x86_64", "6.1", []string{"Amazon Linux"}},
		{"6.9.3", "6.8", []string{"no 6.9 profile", "newest at or below"}},
		{"5.16.3", "5.15+ntf-managed+arp-evict-nocarrier+ndisc-evict-nocarrier", []string{"released up to 5.16"}},
		{"6.18.44-fc-v782", "6.18", []string{"not recognised"}},
		{"6.19.0-rc2", "6.18", nil},
		{"4.13.0", "4.12+delete-unlinks", nil},
		{"ubuntu22.04", "5.15", []string{"Ubuntu 22.04 jammy", "the 5.15 line", "uname -r"}},
		{"Ubuntu 24.04", "6.8", []string{"Ubuntu 24.04 noble"}},
		{"debian-12", "6.1", []string{"Debian 12 bookworm"}},
		{"bookworm", "6.1", nil},
		{"trixie", "6.12", nil},
		{"buster", "4.19", nil},
		{"AL2023", "6.1", []string{"Amazon Linux 2023"}},
	} {
		p, why, err := Resolve(tc.in)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.in, err)
			continue
		}
		if p.Name != tc.want {
			t.Errorf("Resolve(%q) = %s, want %s (%s)", tc.in, p.Name, tc.want, why)
		}
		if tc.in != tc.want && why == "" {
			t.Errorf("Resolve(%q): no explanation", tc.in)
		}
		for _, w := range tc.why {
			if !strings.Contains(why, w) {
				t.Errorf("Resolve(%q) why = %q, want it to say %q", tc.in, why, w)
			}
		}
		roundTrip(t, tc.in, p)
		// A dropped back-port's evidence row says why.
		for _, c := range p.Carries() {
			if !p.Has(c.Patch) && c.Status == Present {
				t.Errorf("Resolve(%q): %s marked present but not in the patch list", tc.in, c.Patch)
			}
		}
	}
}

func TestResolveErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":          "empty kernel profile name",
		"rhel99":    "no RHEL 99 profile",
		"rhel9.12":  "not a release the profiles know",
		"rhle9":     `did you mean "rhel9"`,
		"6.1x":      `did you mean "6.1"`,
		"2.6.32":    "older than every profile",
		"lastest":   `did you mean "latest"`,
		"1.0-el9_4": "older than every profile",
		"al2":       "kernel 4.14 and kernel-5.10 side by side",
		"ubuntu":    `did you mean "ubuntu`,
		"debain12":  `did you mean "debian12"`,
		"linux":     "or a distribution release such as ubuntu22.04",
	} {
		_, _, err := Resolve(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

// FuzzResolve: any string resolves to a profile with a consistent patch
// list and an explanation, or fails with a one-line error; never a panic.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"rhel9", "5.14.0-427.13.1.el9_4.x86_64", "4.18.0-553.el8_10.x86_64", "3.10.0-514.el7",
		"6.1.0-27-amd64", "6.9.3", "5.15.0-91-generic", "el8_6", "6.12.0-55.el10", "ubuntu22.04", "al2", "9.99999.1", "3.10.0-99999999999999.el7", "rhel", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, why, err := Resolve(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %v", s, err)
			}
			return
		}
		if p.Name == "" || p.Release == "" {
			t.Fatalf("Resolve(%q) = empty profile", s)
		}
		if why == "" && p.Name != strings.TrimSpace(s) {
			t.Fatalf("Resolve(%q) = %s without a reason", s, p.Name)
		}
		if !utf8.ValidString(why) && utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 explanation for %q", s)
		}
		for _, n := range p.Patches {
			if _, ok := PatchByName(n); !ok {
				t.Fatalf("Resolve(%q): unknown patch %q", s, n)
			}
		}
		roundTrip(t, s, p)
	})
}

// roundTrip: the name Resolve gave p resolves to p again (outputs print
// it, and users and scenario files feed it back).
func roundTrip(t *testing.T, in string, p Profile) {
	t.Helper()
	q, _, err := Resolve(p.Name)
	if err != nil {
		t.Fatalf("Resolve(%q) = %s, which does not resolve: %v", in, p.Name, err)
	}
	if q.Name != p.Name || strings.Join(q.Patches, ",") != strings.Join(p.Patches, ",") {
		t.Fatalf("Resolve(%q) = %s %v, but %s resolves to %s %v", in, p.Name, p.Patches, p.Name, q.Name, q.Patches)
	}
}
