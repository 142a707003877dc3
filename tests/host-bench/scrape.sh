#!/usr/bin/env bash
# scrape.sh — issue 16's scrape benchmark on the host: lvsd with the 2,000 x 18 configuration
# of tests/vm-bench/gen.sh (36,000 real servers; --checks: a TCP_CHECK each, all failing fast
# to a closed port in the namespace) in a network namespace of its own, `--metrics-listen`
# on its loopback; RUNS scrapes (default 9) with curl. Prints the median time, the size, and
# the daemon's peak RSS (VmHWM) before and after the scrapes. This kernel has no IPVS: the
# kernel's counters are not in these scrapes (tests/vm/metrics.sh scrapes them in the VM).
# usage: tests/host-bench/scrape.sh [--checks] [RUNS]   (as root, after cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/../.."
CONF=big.conf
[ "${1:-}" = --checks ] && { CONF=big-tcp.conf; shift; }
RUNS=${1:-9}
LVSD=${CARGO_TARGET_DIR:-target}/release/lvsd
d=$(mktemp -d /tmp/lvsd-scrape.XXXXXX)
ns=lvsd-scrape-$$
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT
TCP_DELAY=5 bash tests/vm-bench/gen.sh "$d" >/dev/null
ip netns add "$ns"
ip -n "$ns" link set lo up
# the real servers' addresses are local and refuse at once (no listener on 8080)
ip -n "$ns" route add local 172.16.0.0/12 dev lo
ip netns exec "$ns" "$LVSD" run -f "$d/$CONF" --socket "$d/s.sock" --realserver-state "$d/rs.json" \
  --metrics-listen 127.0.0.1:9650 >"$d/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  ip netns exec "$ns" curl -sf -o /dev/null http://127.0.0.1:9650/ && break; sleep 0.1
done
sleep 3
hwm() { awk '$1 == "VmHWM:" { print $2 }' /proc/"$pid"/status; }
rss() { awk '$1 == "VmRSS:" { print $2 }' /proc/"$pid"/status; }
h0=$(hwm); r0=$(rss)
for _ in $(seq 1 "$RUNS"); do
  ip netns exec "$ns" curl -s -o "$d/scrape.txt" -w '%{time_total} %{size_download}\n' \
    http://127.0.0.1:9650/metrics
done | sort -n > "$d/times"
h1=$(hwm); r1=$(rss)
med=$(awk -v n="$RUNS" 'NR == int((n + 1) / 2) { printf "%.1f", $1 * 1000 }' "$d/times")
size=$(awk 'NR == 1 { print $2 }' "$d/times")
echo "configuration: $CONF ($(grep -c real_server "$d/$CONF") real servers); host load $(cut -d' ' -f1 /proc/loadavg)"
echo "scrape: median of $RUNS: $med ms; $size bytes, $(wc -l < "$d/scrape.txt") lines"
echo "daemon: peak RSS $h0 kB before the scrapes, $h1 kB after (+$((h1 - h0)) kB); RSS $r0 -> $r1 kB"
if command -v promtool >/dev/null; then
  promtool check metrics < "$d/scrape.txt" && echo "promtool check metrics: ok"
fi
