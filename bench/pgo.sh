#!/usr/bin/env bash
# Regenerates cmd/arplab/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the arplab binary (Go's -pgo=auto: a
# default.pgo beside the main package). The profile is two merged: the
# simulator's (BenchmarkFailure, single runs, and BenchmarkMonteCarlo, the
# path of `arplab run --runs N`) and the replay's (BenchmarkReplayCommand
# text: `arplab replay F --host H` with --profile auto, the CLI's own
# path), each on one core, built with -trimpath so that the profile names
# source files by import path. Rerun it after large changes to either hot
# path; bench/sim.sh and bench/replay.sh show the effect (about a tenth
# less CPU per Monte Carlo run when it was added; the replay's part took
# about 8% off `arplab replay`'s CPU and elapsed time, and a profile of the
# simulator alone did nothing for the replay).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOMAXPROCS=1 go test -trimpath ./internal/sim -run '^$' -bench '^(BenchmarkMonteCarlo|BenchmarkFailure)$' \
	-benchtime 15x -cpuprofile "$tmp/sim.pprof" -o "$tmp/sim.test" | grep -E '^Benchmark'
GOMAXPROCS=1 go test -trimpath ./internal/cli -run '^$' -bench '^BenchmarkReplayCommand$/^text$' \
	-benchtime 8x -cpuprofile "$tmp/replay.pprof" -o "$tmp/cli.test" | grep -E '^Benchmark'
go tool pprof -proto "$tmp/sim.pprof" "$tmp/replay.pprof" >cmd/arplab/default.pgo
echo "wrote cmd/arplab/default.pgo ($(stat -c %s cmd/arplab/default.pgo) bytes)"
