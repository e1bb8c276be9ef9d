package kernel

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Resolve maps what a user typed for a kernel to a profile, and says why
// that profile: a profile name ("rhel9", "6.1"), "latest"/"auto", a RHEL
// minor ("rhel9.2", "el8.6"), or a `uname -r` string
// ("5.14.0-427.13.1.el9_4.x86_64", "6.1.0-27-amd64", "6.9.3"). A kernel
// of a line with a profile gets that profile, minus the back-ports its
// build or stable release predates (Carry.Since); any other kernel gets the
// newest profile at or below its release, plus the catalogued patches
// released in between. why is "" for an exact profile name. An unknown name
// is an error that suggests the nearest profile name.
//
// Resolve is the one place where names become profiles: the scenario
// loader, --profile, replay, verify and doctor all come through it (via
// Lookup or Closest).
func Resolve(s string) (p Profile, why string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Profile{}, "", fmt.Errorf("empty kernel profile name (known: %s)", strings.Join(Names(), ", "))
	case len(s) > 200:
		return Profile{}, "", fmt.Errorf("kernel profile %.20q…: longer than 200 characters", s)
	case s == "latest" || s == "auto":
		p, _ := byName(Latest)
		return p, s + " is " + Latest, nil
	}
	if p, ok := byName(s); ok {
		return p, "", nil
	}
	if m := rhelAlias.FindStringSubmatch(strings.ToLower(s)); m != nil {
		return resolveAlias(s, m)
	}
	if p, why, ok := resolvedName(s); ok {
		return p, why, nil
	}
	if k := distroKey(s); k == "al2" || k == "amzn2" || k == "amazonlinux2" {
		return Profile{}, "", fmt.Errorf("kernel profile %q: Amazon Linux 2 ships kernel 4.14 and kernel-5.10 side by side; give profile 4.14 or 5.10, or the host's `uname -r`", s)
	}
	if d, ok := distroAlias(s); ok {
		p, _ := byName(d.profile)
		return p, fmt.Sprintf("%s is %s, whose kernel is the %s line: profile %s (for one host's exact kernel, give its `uname -r`)", s, d.desc, d.profile, d.profile), nil
	}
	if m := versionRE.FindStringSubmatch(s); m != nil {
		return resolveRelease(s, m)
	}
	return Profile{}, "", unknownName(s)
}

// rhelAlias matches "rhel9", "rhel9.2", "el8_6", "centos7", "rocky-9.4".
var rhelAlias = regexp.MustCompile(`^(?:rhel|el|centos|alma|almalinux|rocky)[-_ ]?([0-9]{1,2})(?:[._]([0-9]{1,2}))?$`)

// resolvedName reads back a name Resolve or WithPatches made: a profile
// name and patch edits, "-patch" for a back-port the kernel predates and
// "+patch" for one released after the profile ("rhel9-clamp-timestamps",
// "5.15+ntf-managed+arp-evict-nocarrier"). Such names appear in every
// output that names a profile (run, verify, doctor --json, advise), so they
// must resolve to the same profile when fed back; without this,
// "5.15-forced-gc-budget" would read as an upstream 5.15 with an unknown
// suffix, back-port and all.
func resolvedName(s string) (Profile, string, bool) {
	for _, base := range Profiles {
		rest, ok := strings.CutPrefix(s, base.Name)
		if !ok || rest == "" || (rest[0] != '-' && rest[0] != '+') {
			continue
		}
		edits, ok := patchEdits(rest)
		if !ok {
			continue
		}
		q, err := base.WithPatches(edits)
		if err != nil || q.Name != s {
			continue
		}
		return q, fmt.Sprintf("%s is profile %s with the patch edits %s", s, base.Name, strings.Join(edits, " ")), true
	}
	return Profile{}, "", false
}

// patchEdits splits "-a-b+c" into edits of known patch names, which may
// themselves contain dashes ("-accept-untracked-na-subnet" is one edit, not
// "-accept-untracked-na" and "-subnet"): it tries the longest name first
// and backs off.
func patchEdits(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	if s[0] != '-' && s[0] != '+' {
		return nil, false
	}
	for end := len(s); end > 1; end-- {
		if end < len(s) && s[end] != '-' && s[end] != '+' {
			continue
		}
		if _, ok := PatchByName(s[1:end]); !ok {
			continue
		}
		if more, ok := patchEdits(s[end:]); ok {
			return append([]string{s[:end]}, more...), true
		}
	}
	return nil, false
}

// distroRelease is a distribution release operators name instead of a
// kernel ("ubuntu22.04", "debian12", "al2023"): the profile of its GA
// kernel line, as the profiles' Covers fields list them.
type distroRelease struct{ profile, desc string }

// distroReleases are the releases issue 15 names and their neighbours.
// Amazon Linux 2 is left out on purpose: it ships kernel 4.14 and
// kernel-5.10 side by side, so only its `uname -r` says which.
var distroReleases = map[string]distroRelease{
	"ubuntu20.04": {"5.4", "Ubuntu 20.04 focal"},
	"ubuntu22.04": {"5.15", "Ubuntu 22.04 jammy"},
	"ubuntu24.04": {"6.8", "Ubuntu 24.04 noble"},
	"debian10":    {"4.19", "Debian 10 buster"},
	"debian11":    {"5.10", "Debian 11 bullseye"},
	"debian12":    {"6.1", "Debian 12 bookworm"},
	"debian13":    {"6.12", "Debian 13 trixie"},
	"al2023":      {"6.1", "Amazon Linux 2023 (its default kernel)"},
}

// distroCodenames are the same releases by code name.
var distroCodenames = map[string]string{
	"focal": "ubuntu20.04", "jammy": "ubuntu22.04", "noble": "ubuntu24.04",
	"buster": "debian10", "bullseye": "debian11", "bookworm": "debian12", "trixie": "debian13",
	"amzn2023": "al2023", "amazonlinux2023": "al2023",
}

// distroAlias looks s up among distroReleases, ignoring case, a space,
// dash or underscore after the distribution's name ("Ubuntu 22.04",
// "debian-12") and a code name ("jammy").
func distroAlias(s string) (distroRelease, bool) {
	k := distroKey(s)
	if c, ok := distroCodenames[k]; ok {
		k = c
	}
	d, ok := distroReleases[k]
	return d, ok
}

// distroKey folds a distribution release name for lookup: lower case,
// without spaces, dashes and underscores.
func distroKey(s string) string {
	k := strings.ToLower(s)
	for _, sep := range []string{" ", "-", "_"} {
		k = strings.ReplaceAll(k, sep, "")
	}
	return k
}

// versionRE matches a release: major.minor[.sublevel] and the rest of a
// uname -r string, which must start with a separator.
var versionRE = regexp.MustCompile(`^v?([0-9]{1,3})\.([0-9]{1,3})(?:\.([0-9]{1,6}))?((?:[-+._~].*)?)$`)

// elGA is the build number of each RHEL minor's GA kernel
// (3.10.0-N.el7, 4.18.0-N.el8, 5.14.0-N.el9). The builds the spec read are
// 7.3 514, 7.8 1127, 8.1 147, 8.3 240, 8.8 477, 8.10 553, 9.0 70, 9.3 362,
// 9.4 427, 9.6 570 and 9.7 611; the others are recalled.
var elGA = map[int][]int{
	7: {123, 229, 327, 514, 693, 862, 957, 1062, 1127, 1160},
	8: {80, 147, 193, 240, 305, 348, 372, 425, 477, 513, 553},
	9: {70, 162, 284, 362, 427, 503, 570, 611},
}

var elBase = map[int]string{7: "3.10.0", 8: "4.18.0", 9: "5.14.0"}

func resolveAlias(s string, m []string) (Profile, string, error) {
	major, _ := strconv.Atoi(m[1])
	if major == 10 && m[2] == "" || major == 10 && m[2] == "0" {
		return resolveEL(s, 10, nil, "RHEL 10.0")
	}
	builds, ok := elGA[major]
	if !ok {
		return Profile{}, "", fmt.Errorf("kernel profile %q: no RHEL %d profile (%sRHEL 7, 8, 9 and 10.0 are modelled)", s, major, didYouMean(strings.ToLower(s), append(Names(), "latest")))
	}
	minor := len(builds) - 1
	if m[2] != "" {
		minor, _ = strconv.Atoi(m[2])
		if minor >= len(builds) {
			return Profile{}, "", fmt.Errorf("kernel profile %q: RHEL %d.%d is not a release the profiles know (newest: %d.%d)", s, major, minor, major, len(builds)-1)
		}
	}
	build := fmt.Sprintf("%s-%d", elBase[major], builds[minor])
	return resolveEL(s, major, nums(build), fmt.Sprintf("RHEL %d.%d (GA kernel %s)", major, minor, build))
}

func resolveRelease(s string, m []string) (Profile, string, error) {
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	sub := -1
	if m[3] != "" {
		sub, _ = strconv.Atoi(m[3])
	}
	rest := m[4]
	base := fmt.Sprintf("%d.%d", major, minor)
	if el := elSuffix.FindStringSubmatch(rest); el != nil {
		n, _ := strconv.Atoi(el[1])
		return resolveEL(s, n, nums(s), fmt.Sprintf("%s is a RHEL %d kernel", s, n))
	}
	k := kind{line: base, sub: sub}
	switch {
	case strings.Contains(rest, ".amzn"):
		k.desc = fmt.Sprintf("%s is an Amazon Linux kernel of the %s line (rows inferred [I] from %s.y)", s, base, base)
	case sub == 0 && debianABI.MatchString(rest):
		k.sub = -1
		k.desc = fmt.Sprintf("%s is a Debian kernel of the %s line; its ABI number does not give the stable release, so the line's stable back-ports are assumed", s, base)
	case debianUpstream.MatchString(rest):
		k.desc = fmt.Sprintf("%s is a Debian kernel of upstream %d.%d.%d", s, major, minor, sub)
	case sub == 0 && ubuntuABI.MatchString(rest):
		k.sub, k.ubuntu = -1, fmt.Sprintf("%s.0-%s", base, ubuntuABI.FindStringSubmatch(rest)[1])
		k.desc = fmt.Sprintf("%s is an Ubuntu kernel of the %s line", s, base)
	case rest == "" || rest[0] == '+' || strings.HasPrefix(rest, "-rc"):
		k.desc = fmt.Sprintf("%s is an upstream kernel", s)
	default:
		k.desc = fmt.Sprintf("%s: suffix %q not recognised, read as upstream %s", s, rest, strings.TrimSuffix(s, rest))
	}
	if sub < 0 {
		k.sub = -1
	}
	return resolveLine(s, k)
}

var (
	elSuffix       = regexp.MustCompile(`\.el([0-9]{1,2})(?:[_.][0-9]+)*(?:\.|$)`)
	debianFlavour  = `(?:amd64|arm64|cloud-amd64|cloud-arm64|rt-amd64|rt-arm64|686|686-pae|armmp|armmp-lpae|marvell|powerpc64le|s390x|mips64r2el|loong64)`
	debianABI      = regexp.MustCompile(`^-[0-9]+-` + debianFlavour + `$`)
	debianUpstream = regexp.MustCompile(`^\+deb[0-9]+(?:u[0-9]+)?-` + debianFlavour + `$`) // 6.12.118+deb12-amd64: the upstream release is in the name
	ubuntuABI      = regexp.MustCompile(`^-([0-9]+)-(?:generic|lowlatency|aws|azure|gcp|gke|gkeop|oracle|kvm|ibm|nvidia|raspi|oem|realtime|intel-iotg|virtual)(?:-[0-9a-z]+)?$`)
)

// kind is a parsed non-RHEL release.
type kind struct {
	line   string // "6.1"
	sub    int    // stable sublevel, -1 when the string does not give it
	ubuntu string // "5.15.0-72" for an Ubuntu kernel
	desc   string
}

// resolveLine picks the newest mainline or LTS profile at or below k.line.
func resolveLine(s string, k kind) (Profile, string, error) {
	var best *Profile
	for i := range Profiles {
		p := &Profiles[i]
		if p.Family != "" || !releaseLE(p.Release, k.line) {
			continue
		}
		if best == nil || releaseLE(best.Release, p.Release) {
			best = p
		}
	}
	if best == nil {
		return Profile{}, "", fmt.Errorf("unknown kernel profile %q: older than every profile (the oldest is 3.10); did you mean \"3.10\"?", s)
	}
	p, _ := byName(best.Name)
	bestLine := lineOf(p.Release)
	if bestLine != k.line {
		// No profile for this line: the newest below it, plus every
		// catalogued patch first released up to k.line.
		var add []string
		for _, pt := range Patches {
			if !p.Has(pt.Name) && releaseLE(pt.Release, k.line) {
				add = append(add, "+"+pt.Name)
			}
		}
		why := fmt.Sprintf("%s; no %s profile, so %s, the newest at or below it", k.desc, k.line, p.Name)
		if len(add) == 0 {
			return p, why, nil
		}
		q, err := p.WithPatches(add)
		return q, why + fmt.Sprintf(", with the patches released up to %s (%s)", k.line, strings.Join(add, " ")), err
	}
	why := fmt.Sprintf("%s: profile %s", k.desc, p.Name)
	if p.Covers != "" {
		why += " (" + p.Covers + ")"
	}
	var drop, notes []string
	for _, c := range p.Evidence {
		if !c.In() || c.Since == "" {
			continue
		}
		switch {
		case k.ubuntu != "" && c.Ubuntu != "":
			if cmpNums(nums(k.ubuntu), nums(c.Ubuntu)) < 0 {
				drop = append(drop, c.Patch)
				notes = append(notes, fmt.Sprintf("%s predates Ubuntu %s, the first with %s", k.ubuntu, c.Ubuntu, c.Patch))
			}
		case k.sub >= 0:
			if cmpNums([]int{atoi(k.line, 0), atoi(k.line, 1), k.sub}, nums(c.Since)) < 0 {
				drop = append(drop, c.Patch)
				notes = append(notes, fmt.Sprintf("%s.%d predates %s, the first %s.y with %s", k.line, k.sub, c.Since, k.line, c.Patch))
			}
		}
	}
	return dropPatches(p, why, drop, notes)
}

// resolveEL resolves a RHEL kernel by its major release and build.
func resolveEL(s string, major int, build []int, desc string) (Profile, string, error) {
	name := map[int]string{8: "rhel8", 9: "rhel9"}[major]
	switch major {
	case 7:
		// Only 7.3 and 7.8 were read (spec §9).
		n := 0
		if len(build) > 3 {
			n = build[3]
		}
		p, _ := byName("rhel7.3")
		switch {
		case n >= 1127:
			p, _ = byName("rhel7.8")
			return p, desc + fmt.Sprintf(": build %d is 7.8 (1127) or later, profile rhel7.8", n), nil
		case n > 514:
			return p, desc + fmt.Sprintf(": build %d is between 7.3 (514) and 7.8 (1127); those minors were not read and which first shipped the GARP and timestamp fixes is unknown (spec §11.3), so rhel7.3, the newest read at or below it (compare with --profile rhel7.8)", n), nil
		case n < 514 && n > 0:
			return p, desc + fmt.Sprintf(": build %d is older than 7.3 (514), the oldest RHEL 7 profile; rhel7.3", n), nil
		}
		return p, desc + ": profile rhel7.3", nil
	case 10:
		p, _ := byName("6.12")
		return p, desc + ": RHEL 10.0 (6.12.0-55.x) shows the same rows as 6.12.y [V-src], profile 6.12", nil
	case 8, 9:
	default:
		return Profile{}, "", fmt.Errorf("kernel %q: no profile for RHEL %d (RHEL 7, 8, 9 and 10.0 are modelled)", s, major)
	}
	p, _ := byName(name)
	why := desc + ": profile " + name + " (" + p.Description + ")"
	var drop, notes []string
	if len(build) > 3 {
		for _, c := range p.Evidence {
			if c.In() && c.Since != "" && cmpNums(build, nums(c.Since)) < 0 {
				drop = append(drop, c.Patch)
				notes = append(notes, fmt.Sprintf("build %s predates %s, the first with %s", joinNums(build[3:]), strings.TrimPrefix(c.Since, elBase[major]+"-"), c.Patch))
			}
		}
		if cmpNums(build, nums(p.ReadTo)) > 0 {
			why += fmt.Sprintf("; build %s is newer than the last one read (%s), so rows may have changed: %s",
				joinNums(build[3:]), strings.TrimPrefix(p.ReadTo, elBase[major]+"-"), strings.Join(p.Caveats[:1], ""))
		}
	}
	return dropPatches(p, why, drop, notes)
}

// dropPatches removes back-ports a kernel predates and records why.
func dropPatches(p Profile, why string, drop, notes []string) (Profile, string, error) {
	if len(drop) == 0 {
		return p, why, nil
	}
	edits := make([]string, len(drop))
	for i, d := range drop {
		edits[i] = "-" + d
	}
	q, err := p.WithPatches(edits)
	if err != nil {
		return q, why, err
	}
	for i := range q.Evidence {
		for j, d := range drop {
			if q.Evidence[i].Patch == d {
				q.Evidence[i].Evidence = notes[j]
			}
		}
	}
	return q, why + "; " + strings.Join(notes, "; "), nil
}

// lineOf is "6.1" for "6.1.y", "4.14" for "4.14.177".
func lineOf(release string) string {
	n := nums(release)
	if len(n) < 2 {
		return release
	}
	return fmt.Sprintf("%d.%d", n[0], n[1])
}

// nums reads the leading numbers of a release ("5.14.0-427.13.1.el9" →
// 5 14 0 427 13 1): digits separated by '.' or '-', up to anything else.
func nums(s string) []int {
	var out []int
	cur, in := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if cur < 1e8 {
				cur = cur*10 + int(c-'0')
			}
			in = true
		case (c == '.' || c == '-') && in:
			out = append(out, cur)
			cur, in = 0, false
		default:
			if in {
				out = append(out, cur)
			}
			return out
		}
	}
	if in {
		out = append(out, cur)
	}
	return out
}

// cmpNums compares two number lists over their common length, so that a
// build given as "427" counts as the same as "427.13.1".
func cmpNums(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func atoi(release string, i int) int {
	n := nums(release)
	if i < len(n) {
		return n[i]
	}
	return 0
}

func joinNums(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ".")
}

// unknownName is the error for a name that is neither a profile nor a
// release: it suggests the nearest profile name by edit distance.
func unknownName(s string) error {
	return fmt.Errorf("unknown kernel profile %q (%sknown: %s; or a distribution release such as ubuntu22.04, debian12, al2023; or a `uname -r` string such as 5.14.0-427.13.1.el9_4.x86_64)",
		s, didYouMean(strings.ToLower(s), suggestible()), strings.Join(Names(), ", "))
}

// suggestible is every name an unknown one may be a typo of: the
// profiles, "latest" and the distribution releases.
func suggestible() []string {
	names := append(Names(), "latest")
	for _, k := range slices.Sorted(maps.Keys(distroReleases)) {
		names = append(names, k)
	}
	return names
}
