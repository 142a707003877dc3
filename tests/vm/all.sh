#!/usr/bin/env bash
# all.sh — every guest-side suite, one after the other, in one boot of the IPVS VM (run by
# scripts/vm/run-tests.sh; cwd = the payload dir, this directory as ./vm, the lvsd binary as
# ./lvsd, the matrix as MATRIX).
#
# usage: all.sh [--ipvsadm-only] [--keepalived] [--only SUITES] MATRIX
#   default         lvsd under test: traffic.sh with ipvsadm (the harness) and with
#                   `./lvsd ipvs apply -f {}`; compare.sh on MATRIX and on ./vm/pairs (config
#                   side by lvsd, and `./lvsd ipvs list -n` against `ipvsadm -Ln`); drift.sh;
#                   syncd.sh; seed001.sh --director lvsd (the blog's two directors, checkers,
#                   failover); colocated-lvsd.sh (issue 8: two directors that are also real
#                   servers, no loop, takeover, handback, kill -9)
#   --ipvsadm-only  ipvsadm alone, no lvsd: traffic.sh ipvsadm, compare.sh --apply ipvsadm,
#                   drift.sh --apply ipvsadm --foreign skip, syncd.sh --ipvsadm (seed001: only
#                   with --keepalived)
#   --keepalived    also hold the matrix and the traffic configurations to keepalived itself
#                   (needs ./keepalived): compare.sh --apply keepalived, traffic.sh via ka-apply.sh,
#                   seed001.sh --director keepalived
#   --only SUITES   comma-separated subset of traffic,compare,drift,syncd,seed001,colocated,
#                   metrics (metrics.sh: the kernel's counters in `lvsd run`'s scrape),
#                   operate (operate.sh: drain, disable, enable, demote, promote with traffic)
# Prints each suite's output, a table of the suites, and the closing line
# "vm: N passed, N failed[, N skipped]" (skipped = known failures, tests/vm/known-failures);
# exit status 1 if anything failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
V=$HERE
WITH_LVSD=1 KEEPALIVED=0 ONLY=traffic,compare,drift,syncd,seed001,colocated,metrics,operate
while [ $# -gt 0 ]; do
  case $1 in
    --ipvsadm-only) WITH_LVSD=0; shift ;;
    --keepalived) KEEPALIVED=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "all: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# = 1 ] || { echo "usage: all.sh [--ipvsadm-only] [--keepalived] [--only SUITES] MATRIX" >&2; exit 2; }
MATRIX=$1
LOG=$(mktemp "${TMPDIR:-/tmp}/lvsd-all.XXXXXX")
ROWS=() FAILED=0
want() { [[ ,$ONLY, == *,$1,* ]]; }

suite() { # LABEL COMMAND...
  local label=$1 t=$EPOCHREALTIME rc p f x; shift
  echo "=== $label: $*"
  "$@" 2>&1 | tee "$LOG.one"; rc=${PIPESTATUS[0]}
  cat "$LOG.one" >> "$LOG"
  p=$(grep -c '^PASS ' "$LOG.one") f=$(grep -c '^FAIL ' "$LOG.one") x=$(grep -c '^XFAIL ' "$LOG.one")
  [ "$rc" = 0 ] || FAILED=1
  [ "$rc" = 0 ] || [ "$f" -gt 0 ] || { echo "FAIL $label: exit status $rc"; echo "FAIL $label" >> "$LOG"; f=1; }
  ROWS+=("$(printf '%-28s %4s passed %4s failed %4s known failures %7.1f s' "$label" "$p" "$f" "$x" \
    "$(( (${EPOCHREALTIME/./} - ${t/./}) / 1000 ))e-3")")
}

if [ $WITH_LVSD = 1 ] && ! ./lvsd ipvs --help > /dev/null 2>&1; then
  echo "FAIL ./lvsd ipvs --help does not work: is ./lvsd an lvsd with the ipvs subcommand?"; exit 1
fi
if [ $KEEPALIVED = 1 ] && ! command -v keepalived > /dev/null; then
  echo "FAIL --keepalived: no keepalived in the guest"; exit 1
fi

if want traffic; then
  suite "traffic (ipvsadm)" bash "$V/traffic.sh" ipvsadm
  [ $WITH_LVSD = 1 ] && suite "traffic (lvsd)" bash "$V/traffic.sh" './lvsd ipvs apply -f {}'
  [ $KEEPALIVED = 1 ] && suite "traffic (keepalived)" bash "$V/traffic.sh" "bash $V/ka-apply.sh {}"
fi
if want compare; then
  # the generated matrix, and the hand-written pairs of tests/vm/pairs (real-world configurations)
  for dir in "$MATRIX" "$V/pairs"; do
    [ -d "$dir/ipvsadm-commands" ] || continue
    what=matrix; [ "$dir" = "$MATRIX" ] || what=pairs
    if [ $WITH_LVSD = 1 ]; then
      suite "compare $what (lvsd)" bash "$V/compare.sh" --apply './lvsd ipvs apply -f {}' --list './lvsd ipvs list -n' "$dir"
    else
      suite "compare $what (ipvsadm)" bash "$V/compare.sh" --apply ipvsadm "$dir"
    fi
    [ $KEEPALIVED = 1 ] && suite "compare $what (keepalived)" bash "$V/compare.sh" --apply keepalived "$dir"
  done
fi
if want drift; then
  if [ $WITH_LVSD = 1 ]; then suite "drift (lvsd run)" bash "$V/drift-daemon.sh"; fi
  if [ $WITH_LVSD = 1 ]; then suite "drift (lvsd)" bash "$V/drift.sh" "$MATRIX"
  else suite "drift (ipvsadm self-test)" bash "$V/drift.sh" --apply ipvsadm --foreign skip "$MATRIX"; fi
fi
if want syncd; then
  if [ $WITH_LVSD = 1 ]; then suite "syncd (lvsd)" bash "$V/syncd.sh"
  else suite "syncd (ipvsadm)" bash "$V/syncd.sh" --ipvsadm; fi
fi
if want seed001; then
  if [ $WITH_LVSD = 1 ]; then suite "seed001 (lvsd)" bash "$V/seed001.sh" --director lvsd; fi
  if [ $KEEPALIVED = 1 ]; then suite "seed001 (keepalived)" bash "$V/seed001.sh" --director keepalived; fi
fi
if want colocated && [ $WITH_LVSD = 1 ]; then
  suite "colocated (lvsd)" bash "$V/colocated-lvsd.sh"
fi
if want metrics && [ $WITH_LVSD = 1 ]; then
  suite "metrics (lvsd)" bash "$V/metrics.sh"
fi
if want operate && [ $WITH_LVSD = 1 ]; then
  suite "operate (lvsd)" bash "$V/operate.sh"
fi

echo "=== summary"
printf '%s\n' "${ROWS[@]}"
P=$(grep -c '^PASS ' "$LOG") F=$(grep -c '^FAIL ' "$LOG") X=$(grep -c '^XFAIL ' "$LOG")
grep -E '^X(FAIL|PASS) ' "$LOG"
rm -f "$LOG" "$LOG.one"
if [ "$X" -gt 0 ]; then echo "vm: $P passed, $F failed, $X skipped"; else echo "vm: $P passed, $F failed"; fi
[ "$F" = 0 ] && [ $FAILED = 0 ]
