#!/usr/bin/env bash
# Runs inside the VM (cwd = payload). One mode per boot, so that no measurement pays for the
# kernel's background work after an earlier one (flushing 36,000 destinations and their rate
# estimators keeps a single emulated CPU busy for a long time).
#   bench.sh lvsd     lvsd ipvs apply: empty -> full, nothing changed, one weight, one server added
#   bench.sh ipvsadm  ipvsadm -R: empty -> full
#   bench.sh daemon   lvsd run: start on the full table, then SIGHUP with one weight changed
set -uo pipefail
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
timed() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>timed.err; local rc=$?; local t1=$EPOCHREALTIME; echo "$(ms "$t0" "$t1") $rc"; }
count() { ipvsadm -Ln | grep -c -- '->' ; }
case "${1:-lvsd}" in
lvsd)
  set -- $(timed ./lvsd ipvs apply -f big.conf); echo "lvsd apply, empty -> full: $1 ms (rc $2, $(count) destinations)"; cat timed.err
  set -- $(timed ./lvsd ipvs apply -f big.conf); echo "lvsd apply, nothing changed: $1 ms (rc $2)"
  set -- $(timed ./lvsd ipvs apply -f big-weight.conf); echo "lvsd apply, one weight changed: $1 ms (rc $2)"; cat timed.err
  set -- $(timed ./lvsd ipvs apply -f big-plus1.conf); echo "lvsd apply, one real server added (and the weight back): $1 ms (rc $2)"; cat timed.err
  ;;
ipvsadm)
  t0=$EPOCHREALTIME; ipvsadm -R < big.ipvsadm; t1=$EPOCHREALTIME
  echo "ipvsadm -R, empty -> full: $(ms "$t0" "$t1") ms ($(count) destinations)"
  ;;
daemon)
  cp big.conf cur.conf
  t0=$EPOCHREALTIME
  ./lvsd run -f cur.conf --socket /tmp/lvsd-bench.sock --drift-interval 3600 2>run.log &
  pid=$!
  for _ in $(seq 1 1200); do grep -q "IPVS (start)" run.log && break; sleep 0.05; done
  echo "lvsd run: start -> table programmed: $(ms "$t0" "$EPOCHREALTIME") ms"
  grep "IPVS (start)" run.log | sed 's/^.*IPVS/lvsd run: IPVS/'
  cp big-weight.conf cur.conf
  t0=$EPOCHREALTIME
  kill -HUP $pid
  for _ in $(seq 1 1200); do grep -q "IPVS (reload): 1 operation" run.log && break; sleep 0.02; done
  t1=$EPOCHREALTIME
  grep "IPVS (reload)" run.log | sed 's/^.*IPVS/lvsd run: IPVS/'
  echo "lvsd run: SIGHUP -> reload applied: $(ms "$t0" "$t1") ms (most of it parsing the 2.3 MB file)"
  kill $pid; wait $pid 2>/dev/null
  ;;
esac
