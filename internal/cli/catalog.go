package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"arplab/internal/kernel"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
)

func scenariosCmd(e *env) *cobra.Command {
	var show string
	c := &cobra.Command{
		Use:   "scenarios",
		Short: "list the built-in scenarios (--show NAME prints one as YAML)",
		Args:  cobra.NoArgs,
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
	kernel.Profile
	Flags   map[string]bool   `json:"flags"`
	Sysctls map[string]string `json:"sysctls"`
}

func profilesCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "profiles [NAME]",
		Short: "list kernel profiles and patches, or show one profile",
		Long: `Without NAME: every kernel profile, the distribution kernels each one
covers, and every patch (name, first release, commit, one-line effect).
With NAME: that profile's patches, the evidence for each patch's presence
(for the distribution and LTS profiles), what is unknown, its §9.1
feature flags and its default neighbour sysctls.

NAME may also be a ` + "`uname -r`" + ` string or a RHEL minor; arplab says which
profile it picked and why:
  arplab profiles 5.14.0-427.13.1.el9_4.x86_64    # rhel9
  arplab profiles 6.1.0-27-amd64                  # 6.1 (Debian 12)
  arplab profiles rhel9.2                         # rhel9 without the 9.3/9.4 back-ports`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
				return json.NewEncoder(e.stdout).Encode(map[string]any{"profiles": kernel.Profiles, "patches": kernel.Patches, "flags": kernel.FlagTable})
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tRELEASE\tHZ\tDESCRIPTION")
			for _, p := range kernel.Profiles {
				def := ""
				if p.Name == kernel.DefaultProfile {
					def = " (default)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s%s\n", p.Name, p.Release, p.HZ, p.Description, def)
			}
			fmt.Fprintln(tw, "\nPROFILE\tCOVERS (--profile also takes a `uname -r` string)")
			for _, p := range kernel.Profiles {
				if p.Covers != "" {
					fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Covers)
				}
			}
			fmt.Fprintln(tw, "\nPATCH\tRELEASE\tCOMMIT\tEFFECT")
			for _, p := range kernel.Patches {
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
	flags := map[string]bool{}
	for _, fl := range kernel.FlagTable {
		flags[fl.ID] = f.Flag(fl.ID)
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(profileJSON{Profile: p, Flags: flags, Sysctls: sys})
	}
	w := e.stdout
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
		if f.Flag(fl.ID) {
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
