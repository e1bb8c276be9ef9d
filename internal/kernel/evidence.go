package kernel

import "fmt"

// Status says whether a kernel line carries a patch.
type Status string

// The three answers ../shared/spec/distro-kernels.md gives for every row.
const (
	Present Status = "present"
	Absent  Status = "absent"
	// Unknown: nobody read the source or a changelog that would say.
	// The profile still has to model something, so the Carry records what
	// it assumes (Assumed), and `arplab profiles` and `doctor` say so.
	Unknown Status = "unknown"
)

// Carry is one patch's status in a profile with the evidence for it, in the
// tags of distro-kernels.md §0: [V-src] read in that kernel's own source,
// [V-cl] a distribution changelog line, [V-ml] a stable mail or queue push,
// [V-doc] a commit or merge-request page, [D] derived from the base release,
// [I] inferred from the stable branch a distribution follows, [U] unknown.
type Carry struct {
	Patch  string `json:"patch"`
	Status Status `json:"status"`
	// Assumed is what the model does with an Unknown patch: true means the
	// profile includes it.
	Assumed bool `json:"assumed,omitempty"`
	// Since is the first kernel of this line that carries a back-ported
	// patch, in the line's own numbering: an upstream stable release
	// ("5.15.97") for a mainline line, a build ("5.14.0-427.13.1") for a
	// RHEL line. Resolve drops the patch for an older kernel of the line.
	Since string `json:"since,omitempty"`
	// Ubuntu is the first Ubuntu kernel (uname -r without the flavour,
	// "5.15.0-72") that carries it, where a changelog says.
	Ubuntu string `json:"ubuntu,omitempty"`
	// Evidence is the sentence from the spec, with its tags.
	Evidence string `json:"evidence"`
}

// In reports whether the profile built from this row includes the patch.
func (c Carry) In() bool { return c.Status == Present || (c.Status == Unknown && c.Assumed) }

// String is the row as `arplab profiles NAME` prints it.
func (c Carry) String() string {
	s := string(c.Status)
	if c.Status == Unknown {
		if c.Assumed {
			s = "unknown (modelled as present)"
		} else {
			s = "unknown (modelled as absent)"
		}
	}
	if c.Since != "" {
		s += " since " + c.Since
	}
	if c.Ubuntu != "" {
		s += " (Ubuntu " + c.Ubuntu + ")"
	}
	return s
}

// rows builds Carry rows for several patches that share a status and the
// evidence for it.
func rows(st Status, evidence string, names ...string) []Carry {
	out := make([]Carry, len(names))
	for i, n := range names {
		out[i] = Carry{Patch: n, Status: st, Evidence: evidence}
	}
	return out
}

// backport is one patch a line carries from a point release on.
func backport(name, since, ubuntu, evidence string) []Carry {
	return []Carry{{Patch: name, Status: Present, Since: since, Ubuntu: ubuntu, Evidence: evidence}}
}

// unknown records a patch whose presence nobody established.
func unknown(name string, assumed bool, evidence string) []Carry {
	return []Carry{{Patch: name, Status: Unknown, Assumed: assumed, Evidence: "[U] " + evidence}}
}

// line fills p's Evidence and Patches for a kernel line based on mainline
// release base: every catalogued patch is present if its first release is
// at or below base and absent otherwise ([D]), and then each row in overs
// replaces that default with what the spec found. It panics on a patch name
// the catalogue lacks: the tables below are code, and a typo there is a
// programming error the tests catch at once.
func line(p Profile, base string, overs ...[]Carry) Profile {
	byName := map[string]Carry{}
	for _, o := range overs {
		for _, c := range o {
			if _, ok := PatchByName(c.Patch); !ok {
				panic(fmt.Sprintf("kernel: profile %s: unknown patch %q", p.Name, c.Patch))
			}
			if _, dup := byName[c.Patch]; dup {
				panic(fmt.Sprintf("kernel: profile %s: patch %q given twice", p.Name, c.Patch))
			}
			byName[c.Patch] = c
		}
	}
	p.Patches, p.Evidence = nil, nil
	for _, pt := range Patches {
		c, ok := byName[pt.Name]
		if !ok {
			c = Carry{Patch: pt.Name, Status: Absent, Evidence: fmt.Sprintf("[D] first mainline release %s is after %s", pt.Release, base)}
			if releaseLE(pt.Release, base) {
				c = Carry{Patch: pt.Name, Status: Present, Evidence: fmt.Sprintf("[D] first mainline release %s, base %s", pt.Release, base)}
			}
			if pt.Family == "ipv6" {
				c.Evidence += " (distro-kernels.md has no ND rows: not read for this line)"
			}
		}
		p.Evidence = append(p.Evidence, c)
		if c.In() {
			p.Patches = append(p.Patches, pt.Name)
		}
	}
	return p
}

// Carries returns the profile's patch rows with their evidence. Profiles
// from spec §9.1 (read tree by tree) have no rows of their own; for them
// every catalogued patch is present or absent as the column says.
func (p Profile) Carries() []Carry {
	if len(p.Evidence) > 0 {
		return p.Evidence
	}
	var out []Carry
	for _, pt := range Patches {
		c := Carry{Patch: pt.Name, Status: Absent, Evidence: "spec §9.1 column " + p.Source}
		if p.Has(pt.Name) {
			c.Status = Present
		}
		out = append(out, c)
	}
	return out
}

// Unknowns lists the rows whose presence is unknown.
func (p Profile) Unknowns() []Carry {
	var out []Carry
	for _, c := range p.Carries() {
		if c.Status == Unknown {
			out = append(out, c)
		}
	}
	return out
}
