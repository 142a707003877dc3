#!/usr/bin/env bash
# run-tests.sh — lvsd's IPVS tests in the IPVS VM (scripts/vm/ipvs-vm.sh), one boot for all:
# traffic.sh (NAT, DR, TUN through real IPVS, the director programmed by ipvsadm and by lvsd),
# compare.sh (the matrix of gen-matrix.sh: lvsd's table == ipvsadm's), drift.sh (re-applying
# repairs the table), syncd.sh (sync daemons), seed001.sh (seed 001 end to end: two directors,
# VRRP failover, TCP_CHECK removing and re-adding a real server; lvsd, and keepalived with
# --keepalived). Builds nothing: the lvsd binary must exist (cargo build --release); the VM
# cache is built on first use (scripts/setup.sh does it).
#
# usage: scripts/vm/run-tests.sh [options] [LVSD]
#   LVSD              the lvsd binary (default target/release/lvsd)
#   --ipvsadm-only    no lvsd: every suite with ipvsadm alone (checks the harness itself)
#   --keepalived      also hold the matrix and the traffic configurations to keepalived itself
#                     (the host's /usr/sbin/keepalived is copied into the VM; ~1 min more)
#   --only SUITES     comma-separated subset of traffic,compare,drift,syncd,seed001,colocated,metrics,operate (all by
#                     default; e.g. `--ipvsadm-only --keepalived --only seed001`: seed 001 under
#                     keepalived alone, ~40 s)
#   --matrix DIR      write the matrix there and keep it (default: a temporary directory)
#   --timeout S       VM timeout (default 900)
# Closing line: "vm: N passed, N failed[, N skipped]" (skipped: tests/vm/known-failures); exit
# status 0 only if nothing failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
VMDIR=${LVSD_VM_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/vm}
LVSD=$ROOT/target/release/lvsd
GUEST_ARGS=() WITH_LVSD=1 KEEPALIVED=0 MATRIX="" TIMEOUT=900

while [ $# -gt 0 ]; do
  case $1 in
    --ipvsadm-only) WITH_LVSD=0; GUEST_ARGS+=(--ipvsadm-only); shift ;;
    --keepalived) KEEPALIVED=1; GUEST_ARGS+=(--keepalived); shift ;;
    --only) GUEST_ARGS+=(--only "$2"); shift 2 ;;
    --matrix) MATRIX=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run-tests: unknown option $1" >&2; exit 2 ;;
    *) LVSD=$1; shift ;;
  esac
done

T0=$(date +%s%N)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-vmtests.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VM=("$ROOT/scripts/vm/ipvs-vm.sh" --dir "$VMDIR" --timeout "$TIMEOUT")

"${VM[@]}" --build                      # no-op when the cache is up to date
COPY=(-c "$ROOT/tests/vm:vm")
if [ $WITH_LVSD = 1 ]; then
  [ -x "$LVSD" ] || { echo "run-tests: no lvsd binary at $LVSD (cargo build --release)" >&2; exit 2; }
  COPY+=(-x "$LVSD")
  [ "$(basename "$LVSD")" = lvsd ] || COPY=(-c "$ROOT/tests/vm:vm" -c "$LVSD:lvsd")
  # metrics.sh checks a scrape with promtool and the dashboard's expressions with a Prometheus
  # server when they are there (scripts/setup.sh installs them)
  for t in promtool prometheus; do
    if command -v $t >/dev/null; then COPY+=(-x "$(command -v $t)"); fi
  done
  COPY+=(-c "$ROOT/contrib/grafana/lvsd-dashboard.json:dashboard.json")
fi
if [ $KEEPALIVED = 1 ]; then
  command -v keepalived >/dev/null || { echo "run-tests: --keepalived: keepalived is not installed" >&2; exit 2; }
  COPY+=(-x "$(command -v keepalived)")
fi

# the matrix is generated here (bash under emulation is ~50x slower), for the schedulers the
# guest kernel has (Debian 12's 6.1: no twos)
[ -n "$MATRIX" ] || MATRIX=$WORK/matrix
bash "$ROOT/tests/vm/gen-matrix.sh" --schedulers "$(tr '\n' ' ' < "$VMDIR/schedulers")" "$MATRIX"
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos; do
  grep -qx "$s" "$VMDIR/schedulers" || echo "run-tests: note: the guest kernel ($(cut -d' ' -f2 "$VMDIR/kernel")) has no ip_vs_$s: not in the matrix"
done
COPY+=(-c "$MATRIX:matrix")

set +e
"${VM[@]}" "${COPY[@]}" "bash vm/all.sh ${GUEST_ARGS[*]} matrix" | tee "$WORK/out"
rc=${PIPESTATUS[0]}
set -e
secs=$(( ($(date +%s%N) - T0) / 1000000 ))
echo "run-tests: $(printf '%d.%03d' $((secs / 1000)) $((secs % 1000))) s in all (rc $rc)"
if ! grep -qE '^vm: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$WORK/out"; then
  echo "vm: $(grep -c '^PASS ' "$WORK/out") passed, $(( $(grep -c '^FAIL ' "$WORK/out") + 1 )) failed"
  exit 1
fi
grep '^vm: ' "$WORK/out" | tail -1
exit "$rc"
