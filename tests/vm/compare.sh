#!/usr/bin/env bash
# compare.sh — for each pair of a matrix (gen-matrix.sh), build the IPVS table twice, in two fresh
# network namespaces (IPVS tables are per namespace): once with the pair's ipvsadm commands, once
# from its keepalived.conf; then compare `ipvsadm -Ln`, `-Ln --thresholds`, `-Ln --tun-info` and
# `-L --timeout` (services and destinations in a canonical order) and print a unified diff on a
# mismatch. Runs as root in the IPVS VM (scripts/vm/run-tests.sh).
#
# usage: compare.sh [--apply CMD] [--list CMD] [--only REGEX] [-v] DIR
#   DIR           holds ipvsadm-commands/NAME.sh and lvsd-configs/NAME.conf
#   --apply CMD   applies a .conf inside the namespace; {} is the file (appended if absent).
#                 Default: `./lvsd ipvs apply -f {}`. Two special values:
#                   keepalived  keepalived itself, the reference (ka-apply.sh: its checker
#                               process, killed once started so that the table stays)
#                   ipvsadm     the pair's ipvsadm commands again (a self-test of the harness)
#   --list CMD    also compare CMD's output (e.g. `./lvsd ipvs list -n`) with `ipvsadm -Ln`, and
#                 CMD --thresholds with `ipvsadm -Ln --thresholds`, in the ipvsadm namespace, verbatim
#   --only REGEX  only the pairs whose name matches
#   -v            print each side's output
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

APPLY='./lvsd ipvs apply -f {}' LIST="" ONLY="" VERBOSE=0
while [ $# -gt 0 ]; do
  case $1 in
    --apply) APPLY=$2; shift 2 ;;
    --list) LIST=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -v) VERBOSE=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# = 1 ] || { echo "usage: compare.sh [--apply CMD] [--list CMD] [--only REGEX] DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd) || exit 2

# apply_conf NS CONF SH LOG: build the table from the configuration side
apply_conf() {
  local ns=$1 conf=$2 sh=$3 log=$4
  case $APPLY in
    ipvsadm) nsx "$ns" busybox sh -ec "ip link set lo up; . '$sh'" > "$log" 2>&1 ;;
    keepalived) nsx "$ns" busybox sh -c "ip link set lo up && bash '$HERE/ka-apply.sh' '$conf'" > "$log" 2>&1 ;;
    *) nsx "$ns" busybox sh -c "ip link set lo up && $(expand "$APPLY" "$conf")" > "$log" 2>&1 ;;
  esac
}

# known failures (tests/vm/known-failures) are lvsd's: they apply to the lvsd side only
case $APPLY in keepalived|ipvsadm) SUITE=compare-$APPLY ;; *) SUITE=compare ;; esac
T0=$EPOCHREALTIME
n=0
for sh in "$DIR"/ipvsadm-commands/*.sh; do
  name=$(basename "$sh" .sh)
  [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]] && continue
  conf=$DIR/lvsd-configs/$name.conf
  [ -f "$conf" ] || { fail "$name: no lvsd-configs/$name.conf"; continue; }
  n=$((n + 1)) t=$EPOCHREALTIME
  a=cmp-a$n b=cmp-b$n
  ns_pair $a $b
  side=$APPLY; [ "$APPLY" = keepalived ] || [ "$APPLY" = ipvsadm ] || side=config
  # (lo up first: IPVS refuses IPv4 real servers with EINVAL in a namespace whose lo is down)
  if ! nsx $a busybox sh -ec "ip link set lo up; . '$sh'" > "$TEST_TMP/a.log" 2>&1; then
    fail "$name: the ipvsadm commands failed"; sed 's/^/    /' "$TEST_TMP/a.log"
  elif ! apply_conf $b "$conf" "$sh" "$TEST_TMP/b.log"; then
    check_fail "$SUITE" "$name" "applying the configuration failed ($(expand "$APPLY" "lvsd-configs/$name.conf"))"
    sed 's/^/    /' "$TEST_TMP/b.log" | tail -20
  else
    ipvs_snapshot $a > "$TEST_TMP/a.snap"
    ipvs_snapshot $b > "$TEST_TMP/b.snap"
    nsvc=$(awk '/^## /{n++} n==1 && /^(TCP|UDP|SCTP|FWM) /{c++} END{print c+0}' "$TEST_TMP/a.snap")
    if [ "$nsvc" = 0 ]; then
      fail "$name: the ipvsadm side built an empty table"
    elif udiff "$TEST_TMP/a.snap" "$TEST_TMP/b.snap" "ipvsadm-commands/$name.sh" "$side: lvsd-configs/$name.conf"; then
      check_pass "$SUITE" "$name" "$nsvc services, $(ms_since "$t") ms"
    else
      check_fail "$SUITE" "$name" "the tables differ (- ipvsadm, + $side)"; printf '%s\n' "$UDIFF"
    fi
    [ "$VERBOSE" = 1 ] && { sed 's/^/    a: /' "$TEST_TMP/a.log"; sed 's/^/    b: /' "$TEST_TMP/b.log"; }
    if [ -n "$LIST" ]; then
      lst_ok=1 lst_diff=""
      # one exec for the four listings (each `ip netns exec` costs ~70 ms under emulation)
      nsx $a busybox sh -c "ipvsadm -Ln > '$TEST_TMP/l.want' 2>&1; $LIST > '$TEST_TMP/l.got' 2>&1
        ipvsadm -Ln --thresholds > '$TEST_TMP/l.want--thresholds' 2>&1
        $LIST --thresholds > '$TEST_TMP/l.got--thresholds' 2>&1"
      for opt in "" "--thresholds"; do
        if ! udiff "$TEST_TMP/l.want$opt" "$TEST_TMP/l.got$opt" "ipvsadm -Ln $opt" "$LIST $opt"; then
          lst_ok=0 lst_diff+=$UDIFF$'\n'
          if [ "$(ipvs_norm < "$TEST_TMP/l.want$opt")" = "$(ipvs_norm < "$TEST_TMP/l.got$opt")" ]; then
            lst_diff+="    (the same lines in another order)"$'\n'; fi
        fi
      done
      if [ $lst_ok = 1 ]; then pass "$name: $LIST"; else fail "$name: $LIST differs from ipvsadm -Ln"; printf '%s' "$lst_diff"; fi
    fi
  fi
  ns_del_all $a $b
done
[ $n -gt 0 ] || fail "no pair in $DIR${ONLY:+ matching $ONLY}"
echo "compare: $n pairs against ${APPLY} in $(ms_since "$T0") ms"
summary compare
