#!/usr/bin/env bash
# Cost of `arplab watch --metrics` on a busy segment: arpflood (beside this
# script) drives RATE ARP frames/s (default 10,000) for SECONDS (default 10)
# from one namespace of a veth pair to the other, where the watcher runs
# with --metrics --quiet (the tracepoint is tried, as a service would).
# Printed beside the frames/s the watcher counted: its CPU% of one core
# over the flood (utime+stime from /proc), its RSS before and after, and
# its peak RSS (VmHWM). Needs root and iproute2. Everything stays inside
# the two namespaces this script creates and removes; the exporter listens
# on loopback.
#
#   sudo bench/watch.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-10000}
seconds=${2:-10}
[ "$(id -u)" = 0 ] || { echo "bench/watch.sh needs root (namespaces, AF_PACKET)" >&2; exit 2; }

tmp=$(mktemp -d)
s="arplabb-$$-s"
o="arplabb-$$-o"
watcher=""
cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null && wait "$watcher" 2>/dev/null
  ip netns del "$s" 2>/dev/null || true
  ip netns del "$o" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

go build -o "$tmp/arplab" ./cmd/arplab
go build -o "$tmp/arpflood" ./bench/arpflood

ip netns add "$s"
ip netns add "$o"
for ns in "$s" "$o"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add s0 netns "$s" type veth peer name o0 netns "$o"
ip -n "$s" addr add 10.98.0.2/16 dev s0
ip -n "$o" addr add 10.98.0.1/16 dev o0
ip -n "$s" link set s0 up
ip -n "$o" link set o0 up
# wait until both ends carry frames (linkwatch activates the qdisc)
for _ in $(seq 100); do
  ip -n "$s" link show s0 | grep -q 'state UP' && ! ip -n "$s" link show s0 | grep -q 'qdisc noop' && break
  sleep 0.05
done

port=$(( 20000 + $$ % 20000 ))
"$tmp/arplab" watch --netns "$o" o0 --metrics "127.0.0.1:$port" --quiet 2>"$tmp/watch.err" &
watcher=$!
for _ in $(seq 100); do
  curl -sf "127.0.0.1:$port/metrics" >/dev/null && break
  sleep 0.1
done
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$watcher/stat"; }
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$watcher/status"; }
counted() { curl -sf "127.0.0.1:$port/metrics" | awk '/^arplab_arp_frames_received_total/ {n += $2} END {printf "%d", n}'; }

rss0=$(kb VmRSS)
c0=$(counted)
t0=$(ticks)
start=$(date +%s.%N)
flood=$("$tmp/arpflood" -netns "$s" -dev s0 -rate "$rate" -seconds "$seconds")
end=$(date +%s.%N)
t1=$(ticks)
sleep 1 # the watcher emits 250 ms after a frame
c1=$(counted)
rss1=$(kb VmRSS)
hwm=$(kb VmHWM)
tp=$(curl -sf "127.0.0.1:$port/metrics" | awk '/^arplab_watch_tracepoint_available/ {print $2}')
lost=$(curl -sf "127.0.0.1:$port/metrics" | awk '/^arplab_watch_frames_lost_total/ {printf "%d", $2}')

awk -v rate="$rate" -v flood="$flood" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v start="$start" -v end="$end" -v rss0="$rss0" -v rss1="$rss1" -v hwm="$hwm" -v tp="$tp" -v lost="$lost" 'BEGIN {
  wall = end - start
  printf "arplab watch --metrics --quiet (tracepoint available: %s), %s\n", tp, flood
  printf "%-12s %-13s %-12s %-14s %-11s %-11s %-11s\n", "target fr/s", "counted fr/s", "lost frames", "watcher CPU %", "RSS before", "RSS after", "max RSS"
  printf "%-12d %-13.0f %-12d %-14.1f %-11s %-11s %-11s\n", rate, (c1 - c0) / wall, lost, 100 * (t1 - t0) / hz / wall, \
    int(rss0 / 1024) " MiB", int(rss1 / 1024) " MiB", int(hwm / 1024) " MiB"
}'
