#!/usr/bin/env bash
# colocated.sh — issue 8's benchmark: what a client sees while the VIP moves between two DR
# directors, for three setups in one VM run (kernel 6.1, the same lab and the same probe):
#   lvsd-colocated   two lvsd directors that are also real servers (tests/vm/colocated-lvsd/
#                    dir{1,2}.conf: the plain configuration, no fwmark, no scripts) + rs3
#   lvsd-dedicated   two lvsd directors that serve nothing; real servers rs3, rs4, rs5
#                    (colocated/ded-dir{1,2}.conf)
#   keepalived-seed  keepalived 2.2.7 run as seed 000 runs colocated directors by hand: fwmark 1
#                    set by an nft rule unless from the peer's MAC, notify scripts moving the VIP
#                    between eth0 and lo (colocated/ka-dir{1,2}.conf, ka-notify.sh)
# Transitions, each with a probe (one request after the other, busybox wget, 2 s timeout, from
# its own client address) running from 1 s before the event to WINDOW s after it:
#   stop      SIGTERM to dir1's daemon (MASTER): dir2 takes over
#   return    dir1's daemon restarted: it preempts back (handback from dir2)
#   kill9     kill -9 of dir1's daemon (and its children): dir2 takes over, dir1's kernel keeps
#             what the daemon left
# and after kill9 a round of N requests (failed, connections in both directors' tables).
# Prints RESULT lines "RESULT setup transition requests failed longest_gap_ms" and a table.
#
# Run (after cargo build --release; keepalived from the host, as run-tests.sh --keepalived):
#   scripts/vm/ipvs-vm.sh --timeout 900 -x target/release/lvsd -x "$(command -v keepalived)" \
#     -c tests/vm:vm -c tests/vm-bench:bench 'bash bench/colocated.sh'
# usage: colocated.sh [--window S] [--setups LIST] [--verbose]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VMDIR=$(cd "$HERE/../vm" && pwd)
. "$VMDIR/lib.sh"
WINDOW=8 SETUPS=lvsd-colocated,lvsd-dedicated,keepalived-seed VERBOSE=0 N=60
while [ $# -gt 0 ]; do
  case $1 in
    --window) WINDOW=$2; shift 2 ;;
    --setups) SETUPS=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "colocated bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
P=cb- VIP=10.90.0.100 D1=10.90.0.1 D2=10.90.0.2 R3=10.90.0.3
MAC1=02:90:00:00:00:01 MAC2=02:90:00:00:00:02
PER_SRC=$(( (N + 5) / 6 )) N=$(( 6 * ((N + 5) / 6) ))
. "$VMDIR/colocated-lib.sh"
trap cl_cleanup EXIT
KA=$(command -v keepalived || echo ./keepalived)
D1PID="" D2PID="" SETUP=""

# --- the lab: client, dir1, dir2 (both web servers), rs3, rs4, rs5 ---
bridge_up
host c 10.90.0.50
host d1 $D1 $MAC1
host d2 $D2 $MAC2
for r in 3 4 5; do
  host r$r 10.90.0.$r
  nsx ${P}r$r ./lvsd realserver up --vip $VIP --iface eth0 --state-file "$TEST_TMP/r$r.json" > /dev/null ||
    fail "setup: realserver up in rs$r"
  httpd ${P}r$r rs$r || fail "setup: httpd in rs$r"
done
httpd ${P}d1 dir1 && httpd ${P}d2 dir2 || fail "setup: httpd in the directors"
ip -n ${P}c addr add 10.90.0.202/24 dev eth0

# --- the directors of each setup ---
director_start() { # 1|2
  local d=d$1
  echo "=== $SETUP started $(date +%T)" >> "$TEST_TMP/$d.log"
  case $SETUP in
    lvsd-colocated)
      bg_start $P$d ./lvsd run -f "$VMDIR/colocated-lvsd/dir$1.conf" --socket "$TEST_TMP/$d.sock" \
        --realserver-state "$TEST_TMP/$d.rs.json" >> "$TEST_TMP/$d.log" 2>&1 ;;
    lvsd-dedicated)
      bg_start $P$d ./lvsd run -f "$HERE/colocated/ded-dir$1.conf" --socket "$TEST_TMP/$d.sock" \
        --realserver-state "$TEST_TMP/$d.rs.json" >> "$TEST_TMP/$d.log" 2>&1 ;;
    keepalived-seed)
      bg_start $P$d "$KA" -n -l -G -D -f "$HERE/colocated/ka-dir$1.conf" -p "$TEST_TMP/$d.pid" \
        -r "$TEST_TMP/$d.vrrp.pid" -c "$TEST_TMP/$d.checkers.pid" >> "$TEST_TMP/$d.log" 2>&1 ;;
  esac
  [ "$1" = 1 ] && D1PID=$! || D2PID=$!
}
# seed 000's setup by hand (keepalived): ARP sysctls, the VIP on lo, the mark rule
seed_setup() {
  local d peer
  for d in d1 d2; do
    [ $d = d1 ] && peer=$MAC2 || peer=$MAC1
    nsx $P$d busybox sh -c 'for i in all eth0; do echo 1 > /proc/sys/net/ipv4/conf/$i/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$i/arp_announce; done'
    ip -n $P$d addr add $VIP/32 dev lo label lo:0 2>/dev/null
    nsx $P$d nft -f - <<NFT
table ip seed000 {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    ip daddr $VIP tcp dport 80 ether saddr != $peer meta mark set 1
  }
}
NFT
  done
}
teardown() { # stop both, leave the directors as they were before the setup
  local p d
  for p in "$D1PID" "$D2PID"; do [ -n "$p" ] && kill_tree TERM "$p"; done
  for p in "$D1PID" "$D2PID"; do [ -n "$p" ] && { wait_for 20 gone "$p"; wait "$p" 2>/dev/null; }; done
  for d in d1 d2; do
    nsx $P$d ./lvsd realserver down --state-file "$TEST_TMP/$d.rs.json" > /dev/null 2>&1
    ip -n $P$d addr del $VIP/32 dev lo 2>/dev/null
    ip -n $P$d addr del $VIP/24 dev eth0 2>/dev/null
    nsx $P$d nft delete table ip seed000 2>/dev/null
    nsx $P$d nft delete table inet lvsd 2>/dev/null
    nsx $P$d ipvsadm -C
    nsx $P$d busybox sh -c 'for i in all eth0; do echo 0 > /proc/sys/net/ipv4/conf/$i/arp_ignore; echo 0 > /proc/sys/net/ipv4/conf/$i/arp_announce; done'
  done
  ip -n ${P}c neigh flush dev eth0
  D1PID="" D2PID=""
}
dests_of() { table_of "$1" | tr ' ' '\n' | grep -c '>.'; }
ready() { vip_on d1 eth0 && [ "$(dests_of d1)" = 3 ] && answered_once; }

RESULTS=()
measure() { # TRANSITION ACTION...: a probe from 1 s before ACTION to WINDOW s after it
  local what=$1; shift
  probe_start; sleep 1
  "$@"
  sleep "$WINDOW"; probe_stop
  note "$SETUP $what: $P_SUMMARY"
  [ "$P_FAIL" = 0 ] || note "  failed requests ended at (ms after the event): $(awk '$2 == "FAIL" { printf "%d ", $1 - 1000 }' "$TEST_TMP/probe.out")"
  RESULTS+=("$SETUP $what $P_TOTAL $P_FAIL $P_STALL")
  echo "RESULT $SETUP $what $P_TOTAL $P_FAIL $P_STALL"
}
stop_dir1() { kill -TERM "$D1PID"; }
kill9_dir1() { kill_tree KILL "$D1PID"; wait "$D1PID" 2>/dev/null; }

echo "colocated bench: kernel $(uname -r); window ${WINDOW} s after each event; setups $SETUPS"
BASE=51
for SETUP in ${SETUPS//,/ }; do
  if [ "$SETUP" = keepalived-seed ] && [ ! -x "$KA" ]; then
    skip "$SETUP: no keepalived in the guest (copy it with -x)"; continue
  fi
  [ "$SETUP" = keepalived-seed ] && seed_setup
  # dir1 first, dir2 once dir1 is MASTER (no start-up race for the first master-down timer)
  director_start 1
  wait_for 20 vip_on d1 eth0
  director_start 2
  if ! wait_for 30 ready; then
    fail "$SETUP: not ready after 30 s: dir1 VIP [$(vip_where d1)] table [$(table_of d1)]"
    log_tail d1; log_tail d2; teardown; continue
  fi
  sleep 3   # the checkers of dir2 see every real server up
  measure stop stop_dir1
  wait_for 20 gone "$D1PID"; wait "$D1PID" 2>/dev/null
  measure return director_start 1
  measure kill9 kill9_dir1
  round "$SETUP-after-kill9" $BASE
  note "$SETUP after kill -9: ok $R_OK/$N, failed $R_FAIL, in both -Lnc $R_BOTH (scheduled dir1 $R_S1, dir2 $R_S2)"
  echo "RESULT $SETUP after-kill9-round $N $R_FAIL $R_BOTH"
  RESULTS+=("$SETUP after-kill9 $N $R_FAIL -")
  BASE=$((BASE + 10))
  pass "$SETUP measured"
  teardown
done

echo
echo "| setup | transition | requests | failed | longest gap between answers (ms) |"
echo "| --- | --- | --- | --- | --- |"
for r in "${RESULTS[@]}"; do
  set -- $r
  echo "| $1 | $2 | $3 | $4 | $5 |"
done
summary colocated-bench
