#!/usr/bin/env bash
# Regenerates cmd/arplab/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the arplab binary (Go's -pgo=auto: a
# default.pgo beside the main package). The profile is the simulator's:
# BenchmarkFailure (single runs) and BenchmarkMonteCarlo (the path of
# `arplab run --runs N`), on one core, built with -trimpath so that the
# profile names source files by import path. Rerun it after large changes
# to the simulator's hot path; bench/sim.sh shows the effect (about a
# tenth less CPU per Monte Carlo run when it was added).
set -euo pipefail
cd "$(dirname "$0")/.."
GOMAXPROCS=1 go test -trimpath ./internal/sim -run '^$' -bench '^(BenchmarkMonteCarlo|BenchmarkFailure)$' \
	-benchtime 15x -cpuprofile cmd/arplab/default.pgo -o "$(mktemp -d)/sim.test" | grep -E '^Benchmark'
echo "wrote cmd/arplab/default.pgo ($(stat -c %s cmd/arplab/default.pgo) bytes)"
