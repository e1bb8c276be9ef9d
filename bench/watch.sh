#!/usr/bin/env bash
# Cost of `arplab watch --metrics` on a busy segment: arpflood (beside this
# script) drives RATE ARP frames/s (default 10,000) for SECONDS (default 10)
# from one namespace of a veth pair to the other, where the watcher runs
# with --metrics --quiet (the tracepoint is tried, as a service would).
# Printed beside the frames/s the watcher counted: its CPU% of one core
# over the flood (utime+stime from /proc), its RSS before, at a third, two
# thirds and the end of the flood (flat: constant memory), after, and its
# peak RSS (VmHWM). Needs root and iproute2. Everything stays inside
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

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$watcher/stat"; }
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$watcher/status"; }
metric() { curl -sf "127.0.0.1:$port/metrics" | awk -v m="$1" 'index($0, m) == 1 {n += $2} END {printf "%d", n}'; }

# measure LABEL [ENV=VALUE…]: one watcher, one flood, one line
measure() {
  label=$1
  shift
  port=$(( 20000 + ($$ + RANDOM) % 20000 ))
  env "$@" "$tmp/arplab" watch --netns "$o" o0 --metrics "127.0.0.1:$port" --quiet 2>"$tmp/watch.err" &
  watcher=$!
  for _ in $(seq 100); do
    curl -sf "127.0.0.1:$port/metrics" >/dev/null && break
    sleep 0.1
  done
  rss0=$(kb VmRSS)
  c0=$(metric arplab_arp_frames_received_total)
  t0=$(ticks)
  start=$(date +%s.%N)
  # RSS every second of the flood: constant memory means flat thirds
  : >"$tmp/rss"
  ( while kill -0 "$watcher" 2>/dev/null; do kb VmRSS >>"$tmp/rss"; sleep 1; done ) &
  sampler=$!
  flood=$("$tmp/arpflood" -netns "$s" -dev s0 -rate "$rate" -seconds "$seconds")
  end=$(date +%s.%N)
  t1=$(ticks)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  thirds=$(awk '{v[NR] = $1} END {n = NR; printf "%d/%d/%d MiB", v[int((n + 2) / 3)] / 1024, v[int((2 * n + 2) / 3)] / 1024, v[n] / 1024}' "$tmp/rss")
  # the watcher emits 250 ms after a frame: wait until the count settles
  c1=$(metric arplab_arp_frames_received_total)
  for _ in $(seq 50); do
    sleep 0.2
    c=$(metric arplab_arp_frames_received_total)
    [ "$c" = "$c1" ] && break
    c1=$c
  done
  lost=$(metric arplab_watch_frames_lost_total)
  tp=$(metric arplab_watch_tracepoint_available)
  rss1=$(kb VmRSS)
  hwm=$(kb VmHWM)
  kill "$watcher"
  wait "$watcher" 2>/dev/null || true
  watcher=""
  sent=${flood##*: }
  awk -v label="$label" -v sent="${sent% frames/s}" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
      -v start="$start" -v end="$end" -v rss0="$rss0" -v rss1="$rss1" -v hwm="$hwm" -v tp="$tp" -v lost="$lost" -v thirds="$thirds" 'BEGIN {
    wall = end - start
    printf "%-24s %-10d %-13.0f %-12d %-14.1f %-11s %-18s %-11s %-11s %s\n", label, sent, (c1 - c0) / wall, lost, \
      100 * (t1 - t0) / hz / wall, int(rss0 / 1024) " MiB", thirds, int(rss1 / 1024) " MiB", int(hwm / 1024) " MiB", tp
  }'
}

printf "arplab watch --metrics --quiet: %s s of ARP at %s frames/s (tracepoint tried)\n" "$seconds" "$rate"
printf "%-24s %-10s %-13s %-12s %-14s %-11s %-18s %-11s %-11s %s\n" "watcher" "sent fr/s" "counted fr/s" "lost frames" \
  "CPU % of core" "RSS before" "RSS 1/3,2/3,end" "RSS after" "max RSS" "tracepoint"
measure "default (GOMAXPROCS=$(nproc))"
# the systemd unit and the Containerfile run it so: one goroutine does
# nearly all the work, and more Ps only spin waking each other
measure "GOMAXPROCS=1 (service)" GOMAXPROCS=1
