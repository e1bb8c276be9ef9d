package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"arplab/internal/advise"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

type adviseArgs struct {
	fleet, announcer, maxStale, html string
	maxFailure                       float64
	maxFrames, workers               int
	seed                             uint64
	json, ipv6                       bool
}

const adviseLong = `Find the announcement that makes every client of a fleet switch to the
new MAC when a VIP moves, with its odds.

FLEET is a comma list of kernel profiles (rhel7.3,4.9,6.18; see
"arplab profiles"), a YAML fleet file (groups with profile, sysctls,
share and traffic: idle, vip or subnet; docs/advise.md), or a directory
of "arplab doctor --json" outputs gathered from real hosts.

--announcer is keepalived, neutron, neutron-legacy, kube-vip, metallb,
cilium, arping or custom; only that tool's real knobs are searched
(keepalived's vrrp_garp_*, Neutron's send_arp_for_ha, kube-vip's
vip_arpRate, …). Every candidate runs the failover scenario of every
group under Monte Carlo timing in the simulator; a run fails when the
client still caches the old MAC --max-stale after the move.

Printed: the recommended setting (fewest frames, then fastest) whose
failure probability is at most --max-failure on every group with 95%
confidence, the Pareto frontier (frames vs worst-group p99 convergence),
the announcer's default group by group with the rule that made it fail,
and the configuration to paste. MetalLB and Cilium have no knob: the
alternatives (host sysctls, a supplementary announcement) are given.

--ipv6 advises an IPv6 VIP: the clients run IPv6 neighbour discovery and
the announcers (keepalived's VRRPv3 NAs with vrrp_gna_interval, metallb's
NDP mode, custom NAs with their count, interval and O flag) send
unsolicited Neighbour Advertisements. IPv6 settings in a fleet file are
bare net/ipv6/conf names (drop_unsolicited_na, accept_untracked_na, …) or
full net.ipv6.* keys.

Exit status 3 when no setting meets the target.

Examples:
  arplab advise --fleet rhel7.3,4.9,6.18 --announcer keepalived
  arplab advise --fleet rhel7.3 --announcer neutron --max-failure 0.01 --json
  arplab advise --fleet fleet.yaml --announcer kube-vip --html advise.html
  arplab advise --fleet ./doctor-reports/ --announcer metallb
  arplab advise --fleet 4.19,6.18 --announcer keepalived --ipv6`

// maxWorkers bounds --workers (advise's simulations at once).
const maxWorkers = 256

func adviseCmd(e *env) *cobra.Command {
	a := &adviseArgs{}
	c := &cobra.Command{
		Use:   "advise --fleet FLEET --announcer NAME",
		Short: "search an announcer's knobs for the GARP schedule that converges on a whole fleet",
		Long:  adviseLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runAdvise(e, a) },
	}
	f := c.Flags()
	f.StringVar(&a.fleet, "fleet", "", "profiles (comma list), a YAML fleet file or a directory of doctor --json outputs")
	f.StringVar(&a.announcer, "announcer", "", "keepalived, neutron, neutron-legacy, kube-vip, metallb, cilium, arping or custom")
	f.Float64Var(&a.maxFailure, "max-failure", advise.DefaultMaxFailure, "largest acceptable failure probability per group")
	f.StringVar(&a.maxStale, "max-stale", "10s", "a client still on the old MAC this long after the move counts as a failure")
	f.IntVar(&a.maxFrames, "max-frames", 0, "consider only settings that send at most N frames within --max-stale (0: any)")
	f.Uint64Var(&a.seed, "seed", advise.DefaultSeed, "master seed")
	f.IntVar(&a.workers, "workers", 0, "simulations at once (default: every core; the result does not depend on it)")
	f.BoolVar(&a.json, "json", false, "print one JSON document")
	f.StringVar(&a.html, "html", "", "also write an HTML report with the frontier chart to this file")
	f.BoolVar(&a.ipv6, "ipv6", false, "the VIP is IPv6: unsolicited NA announcers (keepalived, metallb, custom)")
	return c
}

func runAdvise(e *env, a *adviseArgs) error {
	if a.fleet == "" || a.announcer == "" {
		return usagef("advise needs --fleet and --announcer (see arplab advise --help)")
	}
	stale, err := scenario.ParseDuration(a.maxStale)
	if err != nil {
		return usagef("--max-stale: %v", err)
	}
	// 0 means "the default" to advise.Options; from the command line it is
	// a value, and out of range like any other below 100 ms.
	if stale <= 0 {
		return usagef("--max-stale %s: want 100ms..300s", a.maxStale)
	}
	if a.workers < 0 {
		return usagef("--workers %d: want a count of simulations at once (0: every core)", a.workers)
	}
	fleet, err := advise.ParseFleet(a.fleet)
	if err != nil {
		return usageError{err}
	}
	opt := advise.Options{MaxFailure: a.maxFailure, MaxStale: stale, MaxFrames: a.maxFrames, Seed: a.seed, Workers: a.workers, IPv6: a.ipv6}
	// each worker holds a simulation: bounded like the other counts
	if a.workers < 0 || a.workers > maxWorkers {
		return usagef("--workers %d is out of range (allowed: 1 to %d, or 0 for every core)", a.workers, maxWorkers)
	}
	if a.maxFailure == 0 {
		return usagef("--max-failure 0: no finite number of runs can show a zero failure probability; give e.g. 0.01")
	}
	if _, err := advise.LookupAnnouncer(a.announcer, stale, a.ipv6); err != nil {
		return usageError{err}
	}
	if err := advise.CheckOptions(opt); err != nil {
		return usageError{err}
	}
	res, err := advise.Advise(e.ctx, fleet, a.announcer, opt)
	if err != nil {
		if errors.Is(err, e.ctx.Err()) && e.ctx.Err() != nil {
			return e.ctx.Err() // exitCode says "interrupted by SIGINT", once
		}
		return err
	}
	out := bufio.NewWriter(e.stdout)
	if a.json {
		err = writeAdviseJSON(out, res)
	} else {
		err = res.Text(out)
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if a.html != "" {
		if err := writeFile(a.html, func(w io.Writer) error { return res.HTML(w) }); err != nil {
			return err
		}
	}
	if res.Recommendation == nil {
		return expectError{fmt.Errorf("no setting of %s meets p(failure) ≤ %g on every group (see the alternatives)", a.announcer, opt.MaxFailure)}
	}
	return nil
}

// writeAdviseJSON writes advise's result as one indented JSON document
// whose kind says what it is (docs/schemas/advise.schema.json), so that
// render tells it from a trace.
func writeAdviseJSON(w io.Writer, res *advise.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Kind trace.Kind `json:"kind"`
		*advise.Result
	}{trace.OutputAdvise, res})
}
