#!/usr/bin/env bash
# `arplab replay` as a user runs it, beside tcpdump, in one run.
#
# Generates (bench/replaygen, or takes FILE=) a capture of N frames
# (default 2 million: testkit.BusySegment, host 10.0.0.1/16 with 1,000
# neighbours, their requests, the host's replies, GARPs with MAC moves,
# dead MACs, unicast TCP, 20 µs apart), and the same frames repeated
# REPEAT times (default 10: 20 million frames) for the memory check; then
# times, with GNU time's elapsed seconds, CPU seconds (user + system) and
# peak memory (max RSS):
#   - arplab replay FILE --host 10.0.0.1/16            (text, the default;
#     goal: ≥ 30× tcpdump, peak < 300 MB, the same peak on the long file)
#   - arplab replay FILE --host 10.0.0.1/16 --json > /dev/null
#   - arplab replay FILE --host 10.0.0.1/16 --profile 6.18   (no profile
#     ranking: the replay alone)
#   - arplab replay FILE --host 10.0.0.1/16 --html F.html    (the page
#     too: its memory must not grow with the capture either)
#   - tcpdump -n -r FILE > /dev/null                     (the baseline)
# each the best of RUNS (default 3) by elapsed time, with the speed against
# tcpdump's in elapsed time and in CPU time (on a machine shared with other
# work the CPU ratio moves less); then the in-process Go benchmarks
# (internal/replay BenchmarkReplay, internal/cli BenchmarkReplayCommand,
# the CLI's own code path).
#
# Usage: bench/replay.sh [N]       FILE=busy.pcap keeps the capture,
#        LONG=busy-long.pcap keeps the long one, REPEAT=0 skips it,
#        ARPLAB=path times that binary instead of building one (an older
#        commit's, for a before/after in one session), GOBENCH=0 skips the
#        Go benchmarks, HTML=0 the --html row (before the page streamed, it
#        kept every event: gigabytes on the long capture).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-${N:-2000000}}
RUNS=${RUNS:-3}
REPEAT=${REPEAT:-10}
GOBENCH=${GOBENCH:-1}
HTML=${HTML:-1}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FILE=${FILE:-$WORK/busy.pcap}
LONG=${LONG:-$WORK/busy-long.pcap}
if [ ! -x /usr/bin/time ]; then
	echo "bench/replay.sh needs GNU time (/usr/bin/time): apt-get install time" >&2
	exit 1
fi
command -v tcpdump >/dev/null || { echo "bench/replay.sh needs tcpdump: apt-get install tcpdump" >&2; exit 1; }

if [ -n "${ARPLAB:-}" ]; then
	cp "$ARPLAB" "$WORK/arplab"
else
	go build -o "$WORK/arplab" ./cmd/arplab
fi
go build -o "$WORK/replaygen" ./bench/replaygen
if [ ! -s "$FILE" ]; then
	"$WORK/replaygen" -n "$N" -o "$FILE"
fi
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== tcpdump: $(tcpdump --version 2>&1 | head -1)"

# best NAME OUT CMD...: runs CMD RUNS times (stdout to OUT), prints the
# best elapsed time, and the CPU time and peak memory of that run.
best() {
	local name=$1 out=$2
	shift 2
	local bt="" bm="" bc=""
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M %U %S' -o "$WORK/t" "$@" >"$out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
		read -r t m u s <"$WORK/t"
		if [ -z "$bt" ] || [ "$(echo "$t < $bt" | bc -l)" = 1 ]; then bt=$t bm=$m bc=$(echo "$u + $s" | bc -l); fi
	done
	echo "$name|$bt|$bm|$bc"
}

# table FILE FRAMES: times every command on FILE and prints a table with
# each one's speed against tcpdump.
table() {
	local f=$1 frames=$2
	local mb=$(( $(stat -c %s "$f") / 1000000 ))
	echo "== $f: $frames frames, $mb MB (best of $RUNS)"
	{
		best "tcpdump -n -r F" /dev/null tcpdump -n -r "$f"
		best "arplab replay F --host H (text)" "$WORK/text.out" "$WORK/arplab" replay "$f" --host 10.0.0.1/16
		best "arplab replay F --host H --json" /dev/null "$WORK/arplab" replay "$f" --host 10.0.0.1/16 --json
		best "arplab replay F --host H --profile 6.18 (text)" /dev/null "$WORK/arplab" replay "$f" --host 10.0.0.1/16 --profile 6.18
		if [ "$HTML" = 1 ]; then
			best "arplab replay F --host H --html F.html (text)" /dev/null "$WORK/arplab" replay "$f" --host 10.0.0.1/16 --html "$WORK/page.html"
		fi
	} | awk -F'|' -v frames="$frames" '
		{ if (NR == 1) { base = $2; basec = $4 }
		  printf "%-48s %7.2f s %6.2f M frames/s %6.1fx tcpdump | CPU %6.2f s %6.1fx tcpdump | %6.0f MB peak\n", $1, $2, frames / $2 / 1e6, base / $2, $4, ($4 > 0 ? basec / $4 : 0), $3 / 1024 }'
	grep -m2 '^[0-9]* frames' "$WORK/text.out" | cut -c1-160
	if [ "$HTML" = 1 ]; then echo "HTML page: $(( $(stat -c %s "$WORK/page.html") / 1000 )) kB"; fi
}

table "$FILE" "$N"
if [ "$REPEAT" -gt 1 ]; then
	[ -s "$LONG" ] || "$WORK/replaygen" -n "$N" -repeat "$REPEAT" -o "$LONG"
	RUNS=1 table "$LONG" $(( N * REPEAT ))
fi

if [ "$GOBENCH" = 1 ]; then
	echo "== in-process Go benchmarks (200,000 frames per op)"
	go test ./internal/replay -run '^$' -bench 'BenchmarkReplay' -benchtime 10x -count 1 | grep -E '^Benchmark'
	go test ./internal/cli -run '^$' -bench 'BenchmarkReplayCommand' -benchtime 5x -count 1 | grep -E '^Benchmark'
fi
