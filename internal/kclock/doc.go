// Package kclock is the running kernel's clock as the lab needs it: which
// CONFIG_HZ it ticks at (spec §12.1: sysctls hide HZ, so it must be
// detected), where its jiffies grid lies on CLOCK_MONOTONIC (Fit, from
// moments the kernel stamped jiffies), and MonoNs, which puts a Go time on
// CLOCK_MONOTONIC, the clock of tracepoint and packet timestamps.
//
// With the grid known, an input the lab recorded in nanoseconds can be fed
// to the model at the jiffy the kernel processed it, and a comparison can
// say how far it was from a tick edge (Clock.Edge).
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package kclock
