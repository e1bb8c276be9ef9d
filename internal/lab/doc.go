// Package lab runs a scenario on the running kernel and records what
// happened: RunScenario builds the scenario's network out of namespaces
// (internal/labnet), sets its sysctls, injects its GARP schedules from raw
// sockets, runs real TCP/UDP flows, and records every frame the observed
// hosts saw, every neigh:* tracepoint (internal/ktrace), netlink snapshots
// of their tables and the kernel's jiffies grid (internal/kclock). The
// record, a LabRun, is plain data: it can be read the way the kernel lived
// it (Verdicts, Stamps, Events) and turned into the inputs of one observed
// host (Inputs), which internal/verify feeds to the model.
//
// Scenario checks are judged by scenario.Check.Judge, as in the simulator.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package lab
