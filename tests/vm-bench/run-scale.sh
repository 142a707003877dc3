#!/usr/bin/env bash
# run-scale.sh — issue 15's benchmark: keepalived 2.2.7 and lvsd on the same 2,000 x 18
# configuration in the same VM boot (tests/vm-bench/scale.sh), RUNS boots (default 3, the order
# of the two daemons alternating), then the medians and the ratios lvsd / keepalived. Issue 17
# adds one real server taken out of service each daemon's way (an edit and SIGHUP; `lvsd rs
# disable`).
#
# With --checks: a TCP_CHECK in every real server, the checks answered (see scale.sh): start,
# the one-change reloads (time, and the fewest destinations in the kernel after them: a flap
# would show), RSS. delay_loop 60 (keepalived's default), not issue 15's 10: 36,000 checks every
# 10 s are 3,600 a second, and the VM's one emulated CPU completes ~1,300 a second for either
# daemon: keepalived's checks then time out and flap (4,910 check failures in one trial run),
# which measures the emulator, not the daemons. --delay S sets it.
#
# usage: tests/vm-bench/run-scale.sh [--runs N] [--lvsd PATH] [--checks]   (after cargo build --release)
# The RESULT lines are kept in target/vm-bench-scale.txt (with --checks: vm-bench-scale-checks.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=3 LVSD=target/release/lvsd CHECKS="" DELAY=60
while [ $# -gt 0 ]; do
  case $1 in
    --checks) CHECKS=--checks; shift ;;
    --delay) DELAY=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --lvsd) LVSD=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-scale: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$LVSD" ] || { echo "run-scale: no lvsd at $LVSD (cargo build --release)" >&2; exit 2; }
KA=$(command -v keepalived) || { echo "run-scale: keepalived is not installed" >&2; exit 2; }
d=$(mktemp -d /tmp/lvsd-scale.XXXXXX)
trap 'rm -rf "$d"' EXIT
TCP_DELAY=$DELAY bash tests/vm-bench/gen.sh "$d"
OUT=${CARGO_TARGET_DIR:-target}/vm-bench-scale${CHECKS:+-checks}.txt
TMO=900; [ -n "$CHECKS" ] && TMO=1500
# the reloads are timed by watch_dest (one netlink dump every 10 ms, no process per poll)
cargo build --release -q -p lvsd-ipvs --example watch_dest
WATCH=${CARGO_TARGET_DIR:-target}/release/examples/watch_dest
PAYLOAD=(-x "$WATCH" -c "$d/big.conf" -c "$d/big-weight.conf" -c "$d/big-plus1.conf" -c "$d/big-minus1.conf")
if [ -n "$CHECKS" ]; then
  # the listener: std + libc only, built alone
  rustc --edition 2021 -O -C debuginfo=0 crates/check/examples/listen_many.rs -o "$d/listen_many"
  PAYLOAD=(-x "$WATCH" -c "$d/big-tcp.conf" -c "$d/big-tcp-weight.conf" -c "$d/big-tcp-plus1.conf" -x "$d/listen_many")
fi
: > "$d/results"
echo "host load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)${CHECKS:+; delay_loop $DELAY}"
for i in $(seq 1 "$RUNS"); do
  order=keepalived,lvsd; [ $((i % 2)) = 0 ] && order=lvsd,keepalived
  echo "=== run $i ($order)"
  scripts/vm/ipvs-vm.sh -q -t $TMO -m 2048 -x "$LVSD" -x "$KA" "${PAYLOAD[@]}" \
    -c tests/vm:vm -c tests/vm-bench:bench \
    "bash bench/scale.sh --order $order --lvsd ./$(basename "$LVSD") $CHECKS" 2>&1 | tee -a "$d/log" |
    sed 's/^RESULT /  /'
done
echo "host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
grep '^RESULT' "$d/log" > "$d/results" || true
cp "$d/results" "$OUT"
if [ -n "$CHECKS" ]; then
  awk -f tests/vm-bench/median.awk -v rows="start_ms:start -> table complete (ms)|w_ms:SIGHUP one weight -> applied (ms)|w_min_dests:  fewest destinations in the 5 s after|a_ms:SIGHUP one server added -> applied (ms)|a_min_dests:  fewest destinations in the 5 s after|rss_start_kb:RSS after start (kB)|rss_reload_kb:RSS after the reloads (kB)" "$d/results"
  echo "(RESULT lines in $OUT)"
  exit 0
fi
awk '
  function v(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
  function med(d, k,   n, i, j, t, a) {
    n = cnt[d]; for (i = 1; i <= n; i++) a[i] = val[d, k, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
  }
  {
    d = v("daemon"); n = ++cnt[d]; hz = v("hz")
    split("start_ms rss_start_kb w_ms w_user w_sys a_ms a_user a_sys rss_reload_kb o_ms o_user o_sys", ks, " ")
    for (i in ks) val[d, ks[i], n] = v(ks[i]) + 0
    val[d, "w_cpu", n] = v("w_user") + v("w_sys"); val[d, "a_cpu", n] = v("a_user") + v("a_sys")
    val[d, "o_cpu", n] = v("o_user") + v("o_sys")
  }
  END {
    if (!cnt["lvsd"] || !cnt["keepalived"]) { print "run-scale: results missing"; exit 1 }
    ms = 1000 / hz
    printf "\nmedians of %d runs          keepalived        lvsd   lvsd/keepalived\n", cnt["lvsd"]
    split("start_ms:start -> table complete (ms)|w_ms:SIGHUP one weight -> applied (ms)|w_cpu:  CPU from the signal to idle (ms)|w_user:    of it user (ms)|w_sys:    of it system (ms)|a_ms:SIGHUP one server added -> applied (ms)|a_cpu:  CPU from the signal to idle (ms)|a_user:    of it user (ms)|a_sys:    of it system (ms)|rss_start_kb:RSS after start (kB)|rss_reload_kb:RSS after the reloads (kB)|o_ms:one server out of service (ms)|o_cpu:  CPU from the request to idle (ms)", rows, "|")
    for (i = 1; i in rows; i++) {
      split(rows[i], kv, ":"); k = kv[1]
      f = (k ~ /cpu|user|sys/) ? ms : 1
      a = med("keepalived", k) * f; b = med("lvsd", k) * f
      printf "%-38s %10.0f  %10.0f   %s\n", kv[2], a, b, (a > 0 ? sprintf("%.2f", b / a) : "-")
    }
  }' "$d/results"
echo "(RESULT lines in $OUT)"
