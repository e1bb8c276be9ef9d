#!/usr/bin/env bash
# Figures for the model and the simulator, from Go benchmarks:
#   - model: ns per received ARP frame on an existing entry (goal < 200 ns,
#     0 allocations), ns per timer event, bytes per entry in a 1M table;
#   - simulator on the built-in "failure": simulated seconds per wall second
#     (goal ≥ 100,000×), events per second on one core (goal ≥ 10 million),
#     Monte Carlo runs per second.
# No peer simulator models Linux GARP semantics (field-notes §D), so these
# figures stand alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOMAXPROCS=1
echo "== model (internal/neigh)"
go test ./internal/neigh -run '^$' -bench 'ReceiveARPExistingEntry|TimerEvent' -benchmem -count 3 | grep -E '^Benchmark'
go test ./internal/neigh -run '^$' -bench 'MemoryPerEntry' -benchtime 1x | grep -E '^Benchmark'
echo "== simulator (internal/sim, scenario failure: 330 simulated seconds)"
go test ./internal/sim -run '^$' -bench 'Failure' -benchtime 200x -benchmem -count 3 | grep -E '^Benchmark'
