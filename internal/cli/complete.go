package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"arplab/internal/advise"
	"arplab/internal/garp"
	"arplab/internal/kernel"
	"arplab/internal/scenario"
	"arplab/internal/verify"
)

// This file holds the command line's conventions: --version, and shell
// completion of the names a user would otherwise look up (scenarios,
// profiles, patches, sender presets). Cobra's `arplab completion bash|zsh|
// fish|powershell` writes the scripts that call back into these.

// version describes this build from what the Go toolchain recorded: the
// module version (or "devel"), the VCS revision and time, and whether the
// tree was modified.
func version() string {
	v, rev, when, dirty := "devel", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		v += " " + bi.GoVersion
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev
		if dirty {
			v += "+modified"
		}
	}
	if when != "" {
		v += " " + when
	}
	return v
}

// completeScenario offers the built-in scenarios for the first argument
// and files otherwise (a YAML scenario).
func completeScenario(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range scenario.Builtins() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveDefault // and files: a scenario may be a path
}

// completeLabScenario offers, for lab and verify, the verify suite's
// scenarios (which those commands look up first) and the built-ins, and
// files.
func completeLabScenario(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, n := range verify.Suite() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	more, d := completeScenario(cmd, nil, toComplete)
	return append(out, more...), d
}

// completeAnnouncers offers advise's announcers (IPv4 and IPv6 alike: the
// names are shared where both exist).
func completeAnnouncers(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	seen := map[string]bool{}
	for _, a := range append(advise.Announcers(0), advise.Announcers6(0)...) {
		if !seen[a.Name] && strings.HasPrefix(a.Name, toComplete) {
			seen[a.Name] = true
			out = append(out, a.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeFleet offers profile names after the last comma of a profile
// list (--fleet rhel7.3,6.1<TAB>), and files (a fleet file or a directory
// of doctor reports).
func completeFleet(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	head := ""
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		head, toComplete = toComplete[:i+1], toComplete[i+1:]
	}
	names, _ := completeProfiles(c, args, toComplete)
	for i := range names {
		names[i] = head + names[i]
	}
	if head != "" {
		return names, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	return names, cobra.ShellCompDirectiveDefault | cobra.ShellCompDirectiveNoSpace
}

// completeProfiles offers profile names.
func completeProfiles(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, p := range kernel.Profiles {
		if strings.HasPrefix(p.Name, toComplete) {
			out = append(out, fmt.Sprintf("%s\t%s", p.Name, p.Description))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completePatches offers +name and -name for every patch.
func completePatches(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, p := range kernel.Patches {
		for _, sign := range []string{"+", "-"} {
			if strings.HasPrefix(sign+p.Name, toComplete) {
				out = append(out, fmt.Sprintf("%s%s\t%s", sign, p.Name, p.Effect))
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completePresets offers the GARP sender presets.
func completePresets(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, p := range garp.Presets() {
		if strings.HasPrefix(p.Name, toComplete) {
			out = append(out, p.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeSet offers the --set keys, and after "profile=" or "preset="
// their values.
func completeSet(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	for _, k := range []string{"profile=", "preset="} {
		if v, ok := strings.CutPrefix(toComplete, k); ok {
			f := completeProfiles
			if k == "preset=" {
				f = completePresets
			}
			names, d := f(c, args, v)
			for i := range names {
				names[i] = k + names[i]
			}
			return names, d
		}
	}
	var out []string
	for _, k := range []string{"profile=", "preset=", "hz=", "cpus=", "arp_accept=", "locktime=", "drop_gratuitous_arp=",
		"garp.count=", "garp.interval=", "garp.mode=", "segment.loss=", "segment.latency=", "segment.jitter="} {
		if strings.HasPrefix(k, toComplete) {
			out = append(out, k)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// registerCompletions attaches the completions to every command that takes
// those names, found by flag and command name so each command file stays
// as it is.
func registerCompletions(root *cobra.Command) {
	flagFuncs := map[string]func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective){
		"profile": completeProfiles, "patch": completePatches, "preset": completePresets, "set": completeSet,
		"announcer": completeAnnouncers, "fleet": completeFleet,
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, f := range flagFuncs {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, f)
			}
		}
		switch c.Name() {
		case "run", "matrix":
			c.ValidArgsFunction = completeScenario
		case "lab":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return completeLabScenario(cmd, nil, toComplete)
			}
		case "verify":
			c.ValidArgsFunction = func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				return completeLabScenario(cmd, nil, toComplete) // any number of scenarios
			}
		case "profiles":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) >= 2 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return completeProfiles(cmd, args, toComplete)
			}
		case "scenarios":
			if c.Flags().Lookup("show") != nil {
				_ = c.RegisterFlagCompletionFunc("show", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
					names, _ := completeScenario(cmd, nil, toComplete)
					return names, cobra.ShellCompDirectiveNoFileComp
				})
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}
