#!/usr/bin/env bash
# run-checkers.sh — the health-checker benchmark (tests/vm-bench/checkers.sh), keepalived vs lvsd:
# N real servers (default 1,000 / 5,000 / 10,000, 100 per virtual server) with TCP_CHECK,
# delay_loop 1, connect_timeout 1; per run the daemon's CPU time and memory over a 20 s window
# after a 10 s warm-up, and the checks per second that reached the real servers.
#
# usage: tests/vm-bench/run-checkers.sh [options]     (as root for --host; after cargo build --release)
#   --sizes LIST      comma-separated real-server counts (default 1000,5000,10000)
#   --daemons LIST    keepalived,lvsd (default both; keepalived = the host's, copied into the VM)
#   --host            also run lvsd on the host kernel, in namespaces (no IPVS there: lvsd logs
#                     the error and checks on): absolute numbers without emulation
#   --host-only       only that
#   --warmup S --window S   (default 10, 20)
#   --lvsd PATH       (default target/release/lvsd)
# The VM runs under TCG emulation (one emulated CPU): compare keepalived and lvsd there by their
# ratios; the --host figures are the absolute ones. One VM boot per measurement. Prints each
# run's notes and a table; the RESULT lines are kept in target/vm-bench-checkers.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=1000,5000,10000 DAEMONS=keepalived,lvsd HOST=0 VMRUNS=1 WARMUP=10 WINDOW=20
LVSD=target/release/lvsd
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --daemons) DAEMONS=$2; shift 2 ;;
    --host) HOST=1; shift ;;
    --host-only) HOST=1; VMRUNS=0; shift ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --lvsd) LVSD=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-checkers: unknown argument $1" >&2; exit 2 ;;
  esac
done
d=$(mktemp -d /tmp/lvsd-chkbench-host.XXXXXX)
trap 'rm -rf "$d"' EXIT
OUT=${CARGO_TARGET_DIR:-target}/vm-bench-checkers.txt
: > "$d/results"

# the listener: std + libc only, built alone so that it does not wait for the workspace
rustc --edition 2021 -O -C debuginfo=0 crates/check/examples/listen_many.rs -o "$d/listen_many"

want() { [[ ,$DAEMONS, == *,$1,* ]]; }
if want lvsd && [ ! -x "$LVSD" ]; then echo "run-checkers: no lvsd at $LVSD (cargo build --release)" >&2; exit 2; fi
if want keepalived && [ $VMRUNS = 1 ] && ! command -v keepalived >/dev/null; then
  echo "run-checkers: keepalived is not installed" >&2; exit 2
fi
ARGS="--warmup $WARMUP --window $WINDOW"
for n in ${SIZES//,/ }; do
  if [ $VMRUNS = 1 ]; then
    for daemon in ${DAEMONS//,/ }; do
      echo "=== vm: $daemon, $n real servers"
      if [ $daemon = keepalived ]; then bin=(-x "$(command -v keepalived)") extra=""
      else bin=(-x "$LVSD") extra="--lvsd ./$(basename "$LVSD")"; fi
      scripts/vm/ipvs-vm.sh -t 900 -m 2048 -x "$d/listen_many" "${bin[@]}" -c tests/vm-bench/checkers.sh \
        "bash checkers.sh --daemon $daemon --rs $n $ARGS $extra" 2>&1 | tee -a "$d/log" | grep -v '^RESULT' || true
      grep '^RESULT' "$d/log" | tail -1 | grep -q "daemon=$daemon rs=$n " &&
        grep '^RESULT' "$d/log" | tail -1 >> "$d/results" || echo "  (no result)"
    done
  fi
  if [ $HOST = 1 ] && want lvsd; then
    echo "=== host: lvsd, $n real servers"
    bash tests/vm-bench/checkers.sh --daemon lvsd --rs "$n" --lvsd "$LVSD" --listen "$d/listen_many" $ARGS \
      2>&1 | tee -a "$d/log" | grep -v '^RESULT' || true
    grep '^RESULT' "$d/log" | tail -1 | grep -q "daemon=lvsd rs=$n where=host" &&
      grep '^RESULT' "$d/log" | tail -1 >> "$d/results" || echo "  (no result)"
  fi
done
cp "$d/results" "$OUT"

echo
echo "checker benchmark: TCP_CHECK, delay_loop 1, connect_timeout 1, $WINDOW s window after $WARMUP s warm-up"
awk '
  function v(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "-" }
  BEGIN { printf "%-5s %-10s %6s %8s %8s %7s %8s %8s %9s %9s %9s\n", "where", "daemon", "RS", "start s", "CPU s", "CPU %", "RSS MB", "HWM MB", "checks/s", "nominal", "status/s" }
  {
    w = v("where"); d = v("daemon"); n = v("rs")
    printf "%-5s %-10s %6s %8s %8s %7s %8.1f %8.1f %9s %9s %9s\n", w, d, n, v("start_s"), v("cpu_s"), v("cpu_pct"),
      v("rss_kb") / 1024, v("hwm_kb") / 1024, v("checks_per_s"), v("nominal_per_s"), v("status_checks_per_s")
    if (w == "vm") { cpu[d, n] = v("cpu_s"); rss[d, n] = v("rss_kb"); rate[d, n] = v("checks_per_s"); if (!(n in seen)) { seen[n] = 1; order[++ns] = n } }
  }
  END {
    for (i = 1; i <= ns; i++) { n = order[i]; if (!((("keepalived", n) in cpu) && (("lvsd", n) in cpu))) continue
      if (!hdr++) print "\nlvsd / keepalived in the VM (CPU time per check, RSS):"
      ck = rate["keepalived", n] > 0 ? cpu["keepalived", n] / rate["keepalived", n] : 0
      cl = rate["lvsd", n] > 0 ? cpu["lvsd", n] / rate["lvsd", n] : 0
      printf "  %6s RS: CPU time per check x%s, RSS x%s\n", n, (ck > 0 ? sprintf("%.2f", cl / ck) : "-"), \
        (rss["keepalived", n] > 0 ? sprintf("%.2f", rss["lvsd", n] / rss["keepalived", n]) : "-")
    }
  }' "$d/results"
echo "(RESULT lines in $OUT)"
