#!/usr/bin/env bash
# Figures for the model and the simulator.
#
# 1. The `arplab` binary as a user runs it, on every core: a Monte Carlo
#    study of the built-in "failure" (330 simulated seconds per run),
#    `arplab run failure --runs N` for N = 2,000 and LARGE (default
#    100,000), text and --json, each timed with GNU time (wall seconds, user
#    CPU seconds, peak RSS). Reported: simulated seconds per wall second
#    (runs x 330 / wall; goal >= 10^6 on the runs 2,000 study) and runs per
#    second. The text and --json results must agree (same study), and do.
# 2. In-process Go benchmarks on one core:
#    - model: ns per received ARP frame on an existing entry (goal < 200
#      ns, 0 allocations), ns per timer event, bytes per entry in a 1M table;
#    - simulator on "failure": one run per op (simulated seconds per wall
#      second, events per second), and BenchmarkMonteCarlo, the study's own
#      path (RunMonteCarlo, 200 runs per op).
# No peer simulator models Linux GARP semantics (field-notes §D), so these
# figures stand alone; the before/after of a change is the same script on
# both commits.
#
# Usage: bench/sim.sh            LARGE=20000 bench/sim.sh (a shorter study)
#        SKIP_GO=1 bench/sim.sh  (the binary only)
#        ARPLAB=/path/to/arplab bench/sim.sh (time that build instead, e.g.
#        an older commit's, on the same machine in the same session)
set -euo pipefail
cd "$(dirname "$0")/.."
LARGE=${LARGE:-100000}
[ -x /usr/bin/time ] || { echo "bench/sim.sh needs GNU time (/usr/bin/time, Debian package time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${ARPLAB:-$work/arplab}
[ -n "${ARPLAB:-}" ] || go build -o "$bin" ./cmd/arplab
# the scenario's length, from the built-in itself
simlen=$(sed -nE 's/^duration: *([0-9.]+)s *$/\1/p' internal/scenario/builtin/failure.yaml)
[ -n "$simlen" ] || { echo "bench/sim.sh: no duration in internal/scenario/builtin/failure.yaml" >&2; exit 1; }

echo "== arplab run failure --runs N (the binary, $(nproc) cores, GOMAXPROCS unset; $(go version | cut -d' ' -f3))"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-38s %9s %9s %10s %14s %9s\n' command wall_s user_s max_rss_MB sim_s_per_s runs_per_s
for runs in 2000 "$LARGE"; do
	for mode in text json; do
		args=(run failure --runs "$runs")
		[ "$mode" = json ] && args+=(--json)
		(cd "$work" && /usr/bin/time -f '%e %U %M' -o "$work/time" "$bin" "${args[@]}" >"$work/out.$mode")
		read -r wall user rss <"$work/time"
		printf '%-38s %9.2f %9.2f %10.1f %14.0f %9.0f\n' "arplab ${args[*]}" "$wall" "$user" \
			"$(echo "$rss / 1024" | bc -l)" "$(echo "$runs * $simlen / $wall" | bc -l)" "$(echo "$runs / $wall" | bc -l)"
	done
	# the two modes report the same study
	failed=$(sed -nE 's/^failed ([0-9]+) of.*/\1/p' "$work/out.text")
	jfailed=$(sed -nE 's/.*"failures":([0-9]+).*/\1/p' "$work/out.json")
	if [ "$failed" != "$jfailed" ]; then
		echo "bench/sim.sh: text says $failed failures, --json $jfailed" >&2
		exit 1
	fi
	sed -n 2p "$work/out.text" | sed 's/^/   /'
done

[ -n "${SKIP_GO:-}" ] && exit 0
export GOMAXPROCS=1
echo "== model (internal/neigh, one core)"
go test ./internal/neigh -run '^$' -bench 'ReceiveARPExistingEntry|TimerEvent' -benchmem -count 3 | grep -E '^Benchmark'
go test ./internal/neigh -run '^$' -bench 'MemoryPerEntry' -benchtime 1x | grep -E '^Benchmark'
echo "== simulator (internal/sim, scenario failure: $simlen simulated seconds per run, one core)"
go test ./internal/sim -run '^$' -bench '^BenchmarkFailure$' -benchtime 200x -benchmem -count 3 | grep -E '^Benchmark'
go test ./internal/sim -run '^$' -bench '^BenchmarkMonteCarlo$' -benchtime 3x -count 3 | grep -E '^Benchmark'
