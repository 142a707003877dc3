#!/usr/bin/env bash
# drift-daemon.sh — `lvsd run` repairs its IPVS table: after `ipvsadm -C`, and after a real
# server is deleted by hand, the next drift check (--drift-interval 1) puts the table back and
# the log says so. Runs in the IPVS VM (cwd = payload), in a namespace of its own.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
CONF="$(dirname "$0")/nat.conf"
NS=lvsd-dd-$$
ip netns add $NS
ip -n $NS link set lo up
LOG=/tmp/$NS.log
ip netns exec $NS ./lvsd run -f "$CONF" --socket /tmp/$NS.sock --drift-interval 1 2>"$LOG" &
PID=$!
dd_cleanup() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; ip netns del $NS 2>/dev/null; }
trap dd_cleanup EXIT
list() { ip netns exec $NS ipvsadm -Ln | sort; }
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
  local n=$(( $1 * 20 )); shift
  while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done; return 1
}
if wait_for 20 grep -q "IPVS (start)" "$LOG"; then pass "daemon programmed the table"; else fail "daemon never programmed the table"; cat "$LOG"; exit 1; fi
WANT=$(list)
same() { [ "$(list)" = "$WANT" ]; }
[ "$(echo "$WANT" | grep -c -- '->')" -gt 0 ] && pass "table has destinations" || fail "empty table"
ip netns exec $NS ipvsadm -C
if wait_for 5 same; then pass "ipvsadm -C repaired by the next drift check"; else fail "not repaired after ipvsadm -C"; echo "$WANT" > /tmp/$NS.want; list > /tmp/$NS.have; diff /tmp/$NS.want /tmp/$NS.have; fi
# Delete one destination by hand.
LINE=$(ip netns exec $NS ipvsadm -Sn | grep -- '-a ' | head -1)
SVC=$(echo "$LINE" | awk '{print $2, $3}')
RS=$(echo "$LINE" | awk '{for (i = 1; i <= NF; i++) if ($i == "-r") print $(i + 1)}')
ip netns exec $NS ipvsadm -d $SVC -r "$RS"
if wait_for 5 same; then pass "deleted destination $RS put back"; else fail "destination $RS not put back"; fi
grep -q "drifted" "$LOG" && pass "the log reports the drift" || fail "no drift line in the log"
summary drift-daemon
