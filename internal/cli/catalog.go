package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

func scenariosCmd(e *env) *cobra.Command {
	var show string
	c := &cobra.Command{
		Use:   "scenarios",
		Short: "list the built-in scenarios (--show NAME prints one as YAML)",
		Long: `List the built-in scenarios, each with the first sentence of its
description: the seed's failure, and one scenario per mechanism that
decides what a Linux peer does with a GARP (locktime, arp_accept,
drop_gratuitous_arp, shared-route confirmations, probing, gc_thresh1, …).

A built-in name works wherever a scenario file does: run, matrix, lab,
verify. --show NAME prints its YAML, a starting point for your own file
(the format is docs/scenarios.md); the checks at its end say what the
scenario expects, and decide the exit code of "arplab run".

Examples:
  arplab scenarios
  arplab scenarios --show vip-failover > my-vip.yaml
  arplab run my-vip.yaml --profile rhel7.3
  arplab matrix moving-window`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if show != "" {
				b, ok := scenario.BuiltinSource(show)
				if !ok {
					return usagef("no built-in scenario %q (known: %s)", show, strings.Join(scenario.Builtins(), ", "))
				}
				_, err := e.stdout.Write(b)
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
			for _, n := range scenario.Builtins() {
				s, err := scenario.Load(n)
				if err != nil {
					return err
				}
				fmt.Fprintf(tw, "%s\t%s\n", n, firstSentence(s.Description))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&show, "show", "", "print the named built-in scenario's YAML")
	return c
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// profileJSON is the JSON shape of `arplab profiles NAME --json`.
type profileJSON struct {
	Kind trace.Kind `json:"kind"`
	kernel.Profile
	Flags   kernel.FlagMap    `json:"flags"`
	Sysctls map[string]string `json:"sysctls"`
}

func profilesCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "profiles [NAME [OTHER]]",
		Short: "list kernel profiles and patches, show one profile, or compare two",
		Long: `Without NAME: every kernel profile, the distribution kernels each one
covers, and every patch (name, first release, commit, one-line effect).
With NAME: that profile's patches, the evidence for each patch's presence
(for the distribution and LTS profiles), what is unknown, its §9.1
feature flags and its default neighbour sysctls. With NAME OTHER: the two
kernels side by side, patch by patch, then the flags and sysctls that
differ.

NAME may also be a ` + "`uname -r`" + ` string, a RHEL minor or a distribution
release (ubuntu22.04, debian12, al2023, …); arplab says which
profile it picked and why:
  arplab profiles 5.14.0-427.13.1.el9_4.x86_64    # rhel9
  arplab profiles 6.1.0-27-amd64                  # 6.1 (Debian 12)
  arplab profiles rhel9.2                         # rhel9 without the 9.3/9.4 back-ports
  arplab profiles ubuntu24.04                     # 6.8
  arplab profiles rhel7.3 4.12                    # compared patch by patch`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				a, err := kernel.Lookup(args[0])
				if err != nil {
					return usageError{err}
				}
				b, err := kernel.Lookup(args[1])
				if err != nil {
					return usageError{err}
				}
				return compareProfiles(e, a, b, asJSON)
			}
			if len(args) == 1 {
				p, why, err := kernel.Resolve(args[0])
				if err != nil {
					return usageError{err}
				}
				if why != "" && !asJSON {
					fmt.Fprintf(e.stdout, "%s\n\n", why)
				}
				return showProfile(e, p, asJSON)
			}
			if asJSON {
				// one JSON style for every output: snake_case keys
				type flag struct {
					ID      string `json:"id"`
					Meaning string `json:"meaning"`
				}
				var flags []flag
				for _, f := range kernel.FlagTable {
					flags = append(flags, flag{f.ID, f.Meaning})
				}
				return json.NewEncoder(e.stdout).Encode(map[string]any{"kind": trace.OutputProfiles, "profiles": kernel.Profiles, "patches": kernel.Patches, "flags": flags})
			}
			return writeCatalogText(e.stdout, kernel.Profiles, kernel.Patches)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return c
}

func showProfile(e *env, p kernel.Profile, asJSON bool) error {
	f := p.Features()
	params := neigh.DefaultParams(p.HZ, p.UnresQlenBytes)
	sys := params.Sysctls()
	if !f.McastResolicit {
		delete(sys, "mcast_resolicit")
	}
	pj := profileJSON{Kind: trace.OutputProfile, Profile: p, Flags: kernel.FlagsOf(f), Sysctls: sys}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(pj)
	}
	return writeProfileText(e.stdout, pj)
}

// writeProfileText prints one profile as `arplab profiles NAME` does;
// render prints a saved `profiles NAME --json` the same way.
func writeProfileText(w io.Writer, pj profileJSON) error {
	p, sys := pj.Profile, pj.Sysctls
	fmt.Fprintf(w, "%s — %s (release %s, HZ %d, read from %s)\n\npatches:\n", p.Name, p.Description, p.Release, p.HZ, p.Source)
	if len(p.Patches) == 0 {
		fmt.Fprintln(w, "  (none: the behaviour of the 3.10 tree)")
	}
	for _, n := range p.Patches {
		pt, _ := kernel.PatchByName(n)
		eff := pt.Effect
		if pt.DocumentedOnly {
			eff = "(documented only: not modelled) " + eff
		}
		fmt.Fprintf(w, "  %-24s %-6s %-13s %s\n", pt.Name, pt.Release, pt.Commit, eff)
	}
	if p.Covers != "" {
		fmt.Fprintf(w, "\ncovers: %s\n", p.Covers)
	}
	if len(p.Evidence) > 0 {
		fmt.Fprintln(w, "\nevidence (../shared/spec/distro-kernels.md; [V-src] source read, [V-cl] changelog, [V-ml] stable mail, [D] derived, [I] inferred, [U] unknown):")
		for _, c := range p.Evidence {
			fmt.Fprintf(w, "  %-24s %-30s %s\n", c.Patch, c.String(), c.Evidence)
		}
	}
	if u := p.Unknowns(); len(u) > 0 || len(p.Caveats) > 0 {
		fmt.Fprintln(w, "\nunknown:")
		for _, c := range u {
			fmt.Fprintf(w, "  %s: %s\n", c.Patch, c.String())
		}
		for _, c := range p.Caveats {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	fmt.Fprintln(w, "\nflags (spec §9.1):")
	for _, fl := range kernel.FlagTable {
		v := "-"
		if pj.Flags[fl.ID] {
			v = "Y"
		}
		fmt.Fprintf(w, "  %-4s %s  %s\n", fl.ID, v, fl.Meaning)
	}
	fmt.Fprintln(w, "\ndefault sysctls (neigh/<dev>/, as /proc shows them):")
	for _, n := range neigh.ParamNames() {
		if v, ok := sys[n]; ok {
			fmt.Fprintf(w, "  %-24s %s\n", n, v)
		}
	}
	fmt.Fprintln(w, "  gc_thresh1/2/3           128 / 512 / 1024 (neigh/default only)")
	return nil
}

// compareProfiles prints two kernels patch by patch, then the feature
// flags and default sysctls that differ: what changes between them, and
// why (the patch that changes it).
func compareProfiles(e *env, a, b kernel.Profile, asJSON bool) error {
	var patches []patchRow
	for _, p := range kernel.Patches {
		if a.Has(p.Name) || b.Has(p.Name) {
			patches = append(patches, patchRow{p.Name, p.Release, p.Commit, a.Has(p.Name), b.Has(p.Name)})
		}
	}
	fa, fb := a.Features(), b.Features()
	var flags []diff
	for _, fl := range kernel.FlagTable {
		if fa.Flag(fl.ID) != fb.Flag(fl.ID) {
			flags = append(flags, diff{fl.ID + " " + fl.Meaning, yn(fa.Flag(fl.ID)), yn(fb.Flag(fl.ID))})
		}
	}
	sa := neigh.DefaultParams(a.HZ, a.UnresQlenBytes).Sysctls()
	sb := neigh.DefaultParams(b.HZ, b.UnresQlenBytes).Sysctls()
	var sys []diff
	for _, n := range neigh.ParamNames() {
		if sa[n] != sb[n] {
			sys = append(sys, diff{n, sa[n], sb[n]})
		}
	}
	if a.HZ != b.HZ {
		sys = append(sys, diff{"HZ", fmt.Sprint(a.HZ), fmt.Sprint(b.HZ)})
	}
	cmp := comparisonJSON{Kind: trace.OutputProfileComparison, A: a.Name, B: b.Name, ADescription: a.Description, BDescription: b.Description,
		Patches: patches, Flags: flags, Sysctls: sys}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(cmp)
	}
	return writeComparisonText(e.stdout, cmp)
}

// comparisonJSON is the JSON shape of `arplab profiles A B --json`.
type comparisonJSON struct {
	Kind         trace.Kind `json:"kind"`
	A            string     `json:"a"`
	B            string     `json:"b"`
	ADescription string     `json:"a_description"`
	BDescription string     `json:"b_description"`
	Patches      []patchRow `json:"patches"`
	Flags        []diff     `json:"flags"`
	Sysctls      []diff     `json:"sysctls"`
}

// patchRow is one patch of a comparison: in A, in B, or both.
type patchRow struct {
	Name    string `json:"name"`
	Release string `json:"release"`
	Commit  string `json:"commit,omitempty"`
	A       bool   `json:"a"`
	B       bool   `json:"b"`
}

// diff is a flag or sysctl whose value differs between A and B.
type diff struct {
	Name string `json:"name"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// writeComparisonText prints two profiles side by side as `arplab
// profiles A B` does; render prints a saved comparison the same way.
func writeComparisonText(w io.Writer, c comparisonJSON) error {
	patches, flags, sys := c.Patches, c.Flags, c.Sysctls
	fmt.Fprintf(w, "%s (%s) vs %s (%s)\n\n", c.A, c.ADescription, c.B, c.BDescription)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "PATCH\tRELEASE\tCOMMIT\t%s\t%s\n", c.A, c.B)
	same := 0
	for _, p := range patches {
		mark := ""
		if p.A != p.B {
			mark = "  ←"
		} else {
			same++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\n", p.Name, p.Release, orDash(p.Commit), yn(p.A), yn(p.B), mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d patch(es) differ, %d in both\n", len(patches)-same, same)
	if len(flags) > 0 {
		fmt.Fprintln(w, "\nflags that differ (spec §9.1):")
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "  FLAG\t%s\t%s\n", c.A, c.B)
		for _, f := range flags {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, f.A, f.B)
		}
		tw.Flush()
	}
	if len(sys) > 0 {
		fmt.Fprintln(w, "\ndefault sysctls that differ:")
		for _, d := range sys {
			fmt.Fprintf(w, "  %-24s %s: %s  %s: %s\n", d.Name, c.A, d.A, c.B, d.B)
		}
	}
	return nil
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "-"
}

// evidenceTags are distro-kernels.md's evidence tags, strongest first.
var evidenceTags = []string{"V-src", "V-cl", "V-ml", "V-doc", "D", "I", "U"}

// evidenceSummary counts a distribution or LTS profile's patch rows by the
// tags their evidence carries (a row may carry several) and its unknowns:
// "47 rows: V-src 30, V-cl 6, D 12; 1 unknown".
func evidenceSummary(p kernel.Profile) string {
	var parts []string
	for _, tag := range evidenceTags {
		n := 0
		for _, c := range p.Evidence {
			if strings.Contains(c.Evidence, "["+tag+"]") {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", tag, n))
		}
	}
	s := fmt.Sprintf("%d rows: %s", len(p.Evidence), strings.Join(parts, ", "))
	if u := len(p.Unknowns()); u > 0 {
		s += fmt.Sprintf("; %d unknown", u)
	}
	if len(p.Caveats) > 0 {
		s += fmt.Sprintf("; %d caveat(s)", len(p.Caveats))
	}
	return s
}

// writeCatalogText prints the profiles and patches as `arplab profiles`
// does; render prints a saved `profiles --json` the same way.
func writeCatalogText(w io.Writer, profiles []kernel.Profile, patches []kernel.Patch) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tRELEASE\tHZ\tDESCRIPTION")
	for _, p := range profiles {
		def := ""
		if p.Name == kernel.DefaultProfile {
			def = " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s%s\n", p.Name, p.Release, p.HZ, p.Description, def)
	}
	fmt.Fprintln(tw, "\nPROFILE\tCOVERS (--profile also takes a `uname -r` string)")
	for _, p := range profiles {
		if p.Covers != "" {
			fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Covers)
		}
	}
	fmt.Fprintln(tw, "\nPROFILE\tEVIDENCE (patch rows by tag; `arplab profiles NAME` shows each row)\tREAD FROM")
	for _, p := range profiles {
		if len(p.Evidence) > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, evidenceSummary(p), p.Source)
		}
	}
	fmt.Fprintln(tw, "\nPATCH\tRELEASE\tCOMMIT\tEFFECT")
	for _, p := range patches {
		commit := p.Commit
		if commit == "" {
			commit = "-"
		}
		eff := p.Effect
		if p.DocumentedOnly {
			eff += " (documented only: not modelled)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Release, commit, eff)
	}
	return tw.Flush()
}
