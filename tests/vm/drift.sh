#!/usr/bin/env bash
# drift.sh — the IPVS table comes back to the configuration whatever happened to it. For each
# chosen pair of a matrix (gen-matrix.sh), in a fresh network namespace: apply the configuration
# and take the listings (L1); then check that
#   1. a second apply changes nothing                                    (== L1)
#   2. after `ipvsadm -C`, an apply rebuilds the table                   (== L1)
#   3. after edits by hand to the services it manages — a scheduler changed with -E, a
#      destination deleted, a weight changed, a stray destination added — an apply repairs them
#                                                                        (== L1)
#   4. a service it does not manage (added by hand) survives an apply, and the rest is L1
# Today the apply is `lvsd ipvs apply` run again; once lvsd runs as a daemon in the guest, the same
# checks apply to its drift repair (APPLY becomes "wait for the daemon's next pass").
#
# usage: drift.sh [--apply CMD] [--foreign keep|skip] DIR [NAME...]
#   DIR        a matrix: DIR/lvsd-configs/NAME.conf, DIR/ipvsadm-commands/NAME.sh
#   NAME       pairs to use (default: sched-rr persist-v4 persist-v6 tun-v4 thresholds sh-flags
#              mixed-methods timeouts)
#   --apply    the apply command, run in the namespace, {} = the .conf (default:
#              `./lvsd ipvs apply -f {}`). `ipvsadm`: `ipvsadm -C` then the pair's ipvsadm
#              commands — an apply that is idempotent by construction, to check the harness
#   --foreign  keep (default): check 4 expects the foreign service kept (lvsd, like keepalived,
#              leaves alone what it did not declare); skip: no check 4 (`ipvsadm -C` removes all)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

APPLY='./lvsd ipvs apply -f {}' FOREIGN=keep
while [ $# -gt 0 ]; do
  case $1 in
    --apply) APPLY=$2; shift 2 ;;
    --foreign) FOREIGN=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "drift: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: drift.sh [--apply CMD] [--foreign keep|skip] DIR [NAME...]" >&2; exit 2; }
DIR=$(cd "$1" && pwd) || exit 2; shift
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(sched-rr persist-v4 persist-v6 tun-v4 thresholds sh-flags mixed-methods timeouts)

apply() { # NS NAME
  local ns=$1 name=$2
  if [ "$APPLY" = ipvsadm ]; then
    nsx "$ns" busybox sh -ec "ipvsadm -C; . '$DIR/ipvsadm-commands/$name.sh'"
  else
    nsx "$ns" busybox sh -c "$(expand "$APPLY" "$DIR/lvsd-configs/$name.conf")"
  fi
}

# same NAME STEP FILE: the namespace's listings against L1
same() {
  if udiff "$TEST_TMP/l1" "$3" "L1 (first apply)" "$2"; then pass "$1: $2"
  else fail "$1: $2: the table differs from the first apply's"; printf '%s\n' "$UDIFF"; fi
}

# the hand edits of check 3, made from `ipvsadm -Sn`: the first service gets another scheduler
# (-E, which also drops its persistence and flags), its first destination another weight, the
# last service loses its last destination and gains a stray one
HAND_EDITS='
set -e
ipvsadm -Sn > /tmp/drift-rules.$$
first_a=$(grep -m1 "^-A " /tmp/drift-rules.$$)
svc=${first_a#-A }; svc=${svc%% -s *}
sched=$(echo "$first_a" | sed "s/.* -s \([a-z]*\).*/\1/")
[ "$sched" = rr ] && new=wlc || new=rr
ipvsadm -E $svc -s $new
first_d=$(grep -F -m1 -e "-a $svc -r " /tmp/drift-rules.$$ || true)
if [ -n "$first_d" ]; then
  rest=${first_d#*-r }; addr=${rest%% *}; fwd=$(echo "$rest" | cut -d" " -f2)
  ipvsadm -e $svc -r $addr $fwd -w 42
fi
last_a=$(grep "^-A " /tmp/drift-rules.$$ | tail -1)
lsvc=${last_a#-A }; lsvc=${lsvc%% -s *}
last_d=$(grep -F -e "-a $lsvc -r " /tmp/drift-rules.$$ | tail -1 || true)
if [ -n "$last_d" ]; then rest=${last_d#*-r }; ipvsadm -d $lsvc -r ${rest%% *}; fi
case $lsvc in *"["*|*-6*) stray="[2001:db8:ff::1]:0" ;; *) stray=10.255.0.1 ;; esac
ipvsadm -a $lsvc -r $stray -g -w 1
rm -f /tmp/drift-rules.$$
'
FOREIGN_SVC="-A -t 10.255.0.9:9 -s rr"

n=0
for name in "${NAMES[@]}"; do
  [ -f "$DIR/lvsd-configs/$name.conf" ] || { fail "$name: no such pair in $DIR"; continue; }
  n=$((n + 1)) t=$EPOCHREALTIME ns=drift$n
  ns_add $ns
  if ! out=$(apply $ns "$name" 2>&1); then
    fail "$name: the first apply failed"; printf '%s\n' "$out" | sed 's/^/    /'; ns_del $ns; continue
  fi
  ipvs_snapshot $ns > "$TEST_TMP/l1"

  # 1. idempotent
  if out=$(apply $ns "$name" 2>&1); then
    ipvs_snapshot $ns > "$TEST_TMP/l"; same "$name" "second apply" "$TEST_TMP/l"
  else fail "$name: the second apply failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi

  # 2. flushed
  nsx $ns ipvsadm -C
  if out=$(apply $ns "$name" 2>&1); then
    ipvs_snapshot $ns > "$TEST_TMP/l"; same "$name" "apply after ipvsadm -C" "$TEST_TMP/l"
  else fail "$name: the apply after ipvsadm -C failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi

  # 3. edited by hand
  if ! out=$(nsx $ns bash -c "$HAND_EDITS" 2>&1); then
    fail "$name: the hand edits failed (harness)"; printf '%s\n' "$out" | sed 's/^/    /'
  else
    ipvs_snapshot $ns > "$TEST_TMP/edited"
    if cmp -s "$TEST_TMP/l1" "$TEST_TMP/edited"; then fail "$name: the hand edits changed nothing (harness)"; fi
    if out=$(apply $ns "$name" 2>&1); then
      ipvs_snapshot $ns > "$TEST_TMP/l"; same "$name" "apply after hand edits (-E, -e -w, -d, -a)" "$TEST_TMP/l"
    else fail "$name: the apply after hand edits failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi
  fi

  # 4. a foreign service
  if [ "$FOREIGN" = keep ]; then
    nsx $ns ipvsadm $FOREIGN_SVC
    if out=$(apply $ns "$name" 2>&1); then
      ipvs_snapshot $ns > "$TEST_TMP/l"
      if ! grep -q '^TCP  10.255.0.9:9 rr' "$TEST_TMP/l"; then
        fail "$name: the foreign service 10.255.0.9:9 was removed by the apply"
      else
        grep -v '^TCP  10.255.0.9:9 ' "$TEST_TMP/l" > "$TEST_TMP/l.rest"
        same "$name" "apply with a foreign service (kept, the rest as L1)" "$TEST_TMP/l.rest"
      fi
    else fail "$name: the apply with a foreign service failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi
  fi
  note "$name: $(ms_since "$t") ms"
  ns_del $ns
done
summary drift
