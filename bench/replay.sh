#!/usr/bin/env bash
# Capture replay speed beside tcpdump, on one core.
#
# Generates a capture of N frames (default 10 million; internal/replay
# writeBenchCapture: host 10.0.0.1 with 250 neighbours, nine frames in ten
# ARP for existing entries, the rest TCP and its ACKs, 5 µs apart), then
# times in the same run:
#   - arplab's replay with a quiet sink (the Summary only; goal ≥ 5 million
#     frames/s),
#   - the same replay writing every event as a JSON line (to /dev/null),
#   - `tcpdump -n -r FILE > /dev/null`, the baseline replay must beat.
# Replays use the test binary of internal/replay (TestReplayBenchFile), the
# best of RUNS; tcpdump the best of RUNS too.
#
# Usage: bench/replay.sh [N]        FILE=/path/to.pcap keeps the capture
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-${N:-10000000}}
RUNS=${RUNS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FILE=${FILE:-$WORK/replay-bench.pcap}
BIN=$WORK/replay.test
export GOMAXPROCS=1
ONECPU=()
if command -v taskset >/dev/null; then ONECPU=(taskset -c 0); fi

go test -c -o "$BIN" ./internal/replay
if [ ! -s "$FILE" ]; then
	echo "== generating $N frames into $FILE"
	"$BIN" -test.run '^TestGenerateBenchCapture$' -out "$FILE" -n "$N" >/dev/null
fi
echo "== $FILE: $(( $(stat -c %s "$FILE") / 1000000 )) MB"

echo "== arplab replay (internal/replay, profile 6.18, one core)"
quiet=$("${ONECPU[@]}" "$BIN" -test.run '^TestReplayBenchFile$' -replay "$FILE" -runs "$RUNS" | grep '^replay')
echo "$quiet"
frames=$(echo "$quiet" | sed -E 's/^replay \(quiet\): ([0-9]+) frames.*/\1/')
"${ONECPU[@]}" "$BIN" -test.run '^TestReplayBenchFile$' -replay "$FILE" -runs 1 -json | grep '^replay'

echo "== tcpdump -n -r FILE > /dev/null ($(tcpdump --version 2>&1 | head -1))"
best=""
for _ in $(seq "$RUNS"); do
	start=$(date +%s.%N)
	"${ONECPU[@]}" tcpdump -n -r "$FILE" >/dev/null 2>&1
	end=$(date +%s.%N)
	t=$(echo "$end - $start" | bc -l)
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
printf 'tcpdump: %d frames in %.3f s = %.2f million frames/s\n' "$frames" "$best" "$(echo "$frames / $best / 1000000" | bc -l)"

echo "== in-memory benchmark (200,000 frames per op)"
go test ./internal/replay -run '^$' -bench 'BenchmarkReplay' -benchtime 20x -count 3 | grep -E '^Benchmark'
