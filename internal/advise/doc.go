// Package advise answers the operator's question "what do I configure so
// that every client switches when the VIP moves?" for a whole fleet of
// Linux clients with mixed kernels and settings.
//
// It models the fleet as groups (a kernel profile, sysctls, a share of the
// fleet and a traffic pattern), turns each group into a failover scenario
// for the simulator (internal/sim), and searches the announcer's real knobs
// (keepalived's vrrp_garp_*, Neutron's send_arp_for_ha, kube-vip's
// vip_arpRate, …; internal/garp models how each tool sends) for the setting
// with the fewest frames whose failure probability — an entry still on the
// old MAC after the allowed stale time — stays under the target on every
// group, with its 95% Wilson interval.
//
// The search is adaptive: a coarse grid is screened with a few Monte Carlo
// runs per group, only the candidates that can still be on the Pareto
// frontier (frames vs worst-group p99 convergence) are run to a decided
// interval, and the grid is refined around the frontier. Every run's seed
// is derived by name from the master seed, the candidate and the group, and
// every decision is taken on whole batches in a fixed order, so the result
// is the same byte for byte for any number of workers.
//
// Why a default fails is read from the model itself: the explanation of the
// first GARP the group's kernel ignored (spec §4.4, §5 step 8), as the
// simulator recorded it.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package advise
