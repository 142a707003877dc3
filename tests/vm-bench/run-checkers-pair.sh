#!/usr/bin/env bash
# run-checkers-pair.sh — issue 15's checker rows: keepalived 2.2.7 and lvsd checking the same N
# real servers (TCP_CHECK, delay_loop 1; tests/vm-bench/checkers.sh) one after the other in the
# same VM boot, RUNS boots (default 3, the order alternating); then the medians and the ratios
# lvsd / keepalived of RSS, checks per second, and CPU per completed check split into user and
# system time (in the VM the guest kernel's TCP work is billed as system time to the daemon
# that connects).
#
# usage: tests/vm-bench/run-checkers-pair.sh [--rs N] [--runs N] [--lvsd PATH]
# The RESULT lines are kept in target/vm-bench-checkers-pair.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=10000 RUNS=3 LVSD=target/release/lvsd WARMUP=10 WINDOW=20
while [ $# -gt 0 ]; do
  case $1 in
    --rs) N=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --lvsd) LVSD=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-checkers-pair: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$LVSD" ] || { echo "run-checkers-pair: no lvsd at $LVSD (cargo build --release)" >&2; exit 2; }
KA=$(command -v keepalived) || { echo "run-checkers-pair: keepalived is not installed" >&2; exit 2; }
d=$(mktemp -d /tmp/lvsd-chkpair.XXXXXX)
trap 'rm -rf "$d"' EXIT
rustc --edition 2021 -O -C debuginfo=0 crates/check/examples/listen_many.rs -o "$d/listen_many"
OUT=${CARGO_TARGET_DIR:-target}/vm-bench-checkers-pair.txt
echo "host load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$RUNS"); do
  order="keepalived lvsd"; [ $((i % 2)) = 0 ] && order="lvsd keepalived"
  echo "=== run $i ($order), $N real servers"
  cmd=""
  for daemon in $order; do
    cmd="$cmd bash checkers.sh --daemon $daemon --rs $N --warmup $WARMUP --window $WINDOW --lvsd ./$(basename "$LVSD");"
  done
  scripts/vm/ipvs-vm.sh -q -t 900 -m 2048 -x "$d/listen_many" -x "$LVSD" -x "$KA" \
    -c tests/vm-bench/checkers.sh "$cmd" 2>&1 | tee -a "$d/log" | sed 's/^RESULT /  /'
done
echo "host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
grep '^RESULT' "$d/log" > "$d/results" || true
cp "$d/results" "$OUT"
awk -v WIN="$WINDOW" '
  function v(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
  function med(d, k,   n, i, j, t, a) {
    n = cnt[d]; for (i = 1; i <= n; i++) a[i] = val[d, k, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
  }
  {
    d = v("daemon"); n = ++cnt[d]
    val[d, "rss", n] = v("rss_kb") / 1024; val[d, "rate", n] = v("checks_per_s") + 0
    c = v("checks_per_s") * WIN
    val[d, "user", n] = c > 0 ? v("cpu_user_s") * 1e6 / c : 0
    val[d, "sys", n] = c > 0 ? v("cpu_sys_s") * 1e6 / c : 0
    val[d, "cpu", n] = c > 0 ? v("cpu_s") * 1e6 / c : 0
  }
  END {
    if (!cnt["lvsd"] || !cnt["keepalived"]) { print "run-checkers-pair: results missing"; exit 1 }
    printf "\nmedians of %d runs                    keepalived        lvsd   lvsd/keepalived\n", cnt["lvsd"]
    split("rss:RSS (MB)|rate:checks completed per second|cpu:CPU per completed check (us)|user:  of it user space (us)|sys:  of it system (us)", rows, "|")
    for (i = 1; i in rows; i++) {
      split(rows[i], kv, ":"); k = kv[1]
      a = med("keepalived", k); b = med("lvsd", k)
      printf "%-38s %10.1f  %10.1f   %s\n", kv[2], a, b, (a > 0 ? sprintf("%.2f", b / a) : "-")
    }
  }' "$d/results"
echo "(RESULT lines in $OUT; per-check CPU over the ${WINDOW} s window)"
