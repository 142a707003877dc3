#!/usr/bin/env bash
# seed001.sh — seed 001 end to end (shared/seeds/001_*.txt: two LVS-DR directors, MASTER/BACKUP,
# one VRRP instance with the VIPs 192.168.20.100 and .101, two web servers with TCP_CHECK), run
# by keepalived (the reference) or by lvsd, in network namespaces inside the IPVS VM.
#
# usage: seed001.sh --director keepalived|lvsd [--verbose]
#   keepalived  `keepalived -n -l -G -D -f CONF -p PID -r VRRPPID -c CHECKERPID` (keepalived on
#               PATH: run-tests.sh --keepalived copies the host's into the VM; -l -G: the log on
#               stdout and not through syslog, which the VM lacks: glibc would write it to the
#               console); real servers set up with `ip addr add` + sysctl
#   lvsd        `./lvsd run -f CONF --socket SOCK`; real servers set up with
#               `./lvsd realserver up --vip ... --iface eth0`
#   --verbose   print both directors' logs at the end
# Configurations: seed001/dir1.conf, seed001/dir2.conf (the blog's, typos fixed: see their header).
#
# Lab (one bridge, every host a namespace with its port named eth0 as in the blog's config):
#   s1-sw  bridge br0 (multicast snooping off: VRRP adverts are flooded)
#   s1-c   client 192.168.20.50/24, and .51-.59 as extra source addresses (persistence_timeout
#          50 pins a client address to one real server: requests rotate over the ten)
#   s1-d1  director 1 (lvs-dr1) 192.168.20.2/24      s1-d2  director 2 (lvs-dr2) 192.168.20.3/24
#   s1-r1  real server 192.168.20.9/24, s1-r2 192.168.20.10/24: busybox httpd on :80 answering
#          "rs1" / "rs2"; the VIPs on lo, arp_ignore=1 arp_announce=2
# Steps (each a PASS/FAIL line):
#   1. both directors up: dir1 holds both VIPs, dir2 none; both directors' tables have both
#      virtual servers with both real servers; 20 requests per VIP succeed, both servers answer
#   2. rs1's httpd stopped: rs1 leaves both tables within delay_loop + (retry+1) x
#      (connect_timeout + delay_before_retry) + 5 s (retry taken as nb_get_retry's 3: keepalived
#      2.2.7 ignores nb_get_retry in TCP_CHECK, retry stays 1, the bound is generous for it);
#      requests still all succeed (rs2)
#   3. rs1's httpd restarted: back in both tables within delay_loop + 5 s
#   4. kill -9 of every process of dir1's daemon: both VIPs on dir2 within 3 x advert_int +
#      skew + 5 s; requests succeed again, through dir2 (its connection counters grow)
#   5. SIGTERM to dir2's daemon: it exits, leaving no VIP and no virtual server in its namespace
# Closing line "seed001: N passed, N failed"; exit status 1 if anything failed. Every process
# started here is killed by PID (with its descendants), the namespaces deleted, on any exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
DIRECTOR="" VERBOSE=0
while [ $# -gt 0 ]; do
  case $1 in
    --director) DIRECTOR=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "seed001: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $DIRECTOR in
  keepalived) KA=$(command -v keepalived || echo ./keepalived)
    [ -x "$KA" ] || { fail "no keepalived in the guest (run-tests.sh --keepalived copies it)"; summary seed001; exit 1; } ;;
  lvsd) [ -x ./lvsd ] || { fail "no ./lvsd in the payload"; summary seed001; exit 1; } ;;
  *) echo "usage: seed001.sh --director keepalived|lvsd [--verbose]" >&2; exit 2 ;;
esac

P=s1-
VIPS="192.168.20.100 192.168.20.101"
RS1=192.168.20.9 RS2=192.168.20.10
SRCS=$(for i in $(seq 50 59); do printf '192.168.20.%d ' "$i"; done)
# the timing parameters of the configuration (the same in both virtual servers and checkers)
DELAY_LOOP=6 CONNECT_TIMEOUT=3 RETRY=3 DELAY_BEFORE_RETRY=3 ADVERT_INT=1 PRIO2=99
DOWN_BOUND=$(( DELAY_LOOP + (RETRY + 1) * (CONNECT_TIMEOUT + DELAY_BEFORE_RETRY) + 5 ))
UP_BOUND=$(( DELAY_LOOP + 5 ))
FAILOVER_BOUND=$(( 3 * ADVERT_INT + 1 + 5 ))   # 3 x advert_int + (256 - 99)/256 s skew + margin
D1PID="" D2PID=""

seed_cleanup() {
  stop_started
  if [ $VERBOSE = 1 ]; then
    for d in d1 d2; do [ -f "$TEST_TMP/$d.log" ] && { echo "--- $d log"; cat "$TEST_TMP/$d.log"; }; done
  fi
  cleanup
}
trap seed_cleanup EXIT

# --- the lab ---
host() { # NAME ADDR...
  local n=$P$1 a; shift
  ns_add "$n"
  ip -n ${P}sw link add "p-$n" type veth peer name eth0 netns "$n"
  ip -n ${P}sw link set "p-$n" master br0 up
  for a in "$@"; do ip -n "$n" addr add "$a" dev eth0; done
  ip -n "$n" link set eth0 up
}
HTTPD1="" HTTPD2=""
httpd_start() { # 1|2
  local r=r$1 p
  bg_start $P$r busybox httpd -f -p 80 -h "$TEST_TMP/www-$r"; p=$!
  [ "$1" = 1 ] && HTTPD1=$p || HTTPD2=$p
  for _ in $(seq 1 50); do
    nsx $P$r busybox wget -q -O /dev/null http://127.0.0.1/ 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
lab_up() {
  local r a vargs=()
  ns_add ${P}sw
  ip -n ${P}sw link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip -n ${P}sw link set br0 up
  host c 192.168.20.50/24
  for a in $SRCS; do [ "$a" = 192.168.20.50 ] || ip -n ${P}c addr add "$a/24" dev eth0; done
  host d1 192.168.20.2/24
  host d2 192.168.20.3/24
  host r1 $RS1/24
  host r2 $RS2/24
  for a in $VIPS; do vargs+=(--vip "$a"); done
  for r in r1 r2; do
    if [ "$DIRECTOR" = lvsd ]; then
      if out=$(nsx $P$r ./lvsd realserver up "${vargs[@]}" --iface eth0 --state-file "$TEST_TMP/$r.json" 2>&1); then
        pass "setup: $r: lvsd realserver up ${vargs[*]} --iface eth0"
      else
        fail "setup: $r: lvsd realserver up failed (set up by hand instead)"; printf '%s\n' "$out" | sed 's/^/    /'
      fi
    fi
    # (by hand in keepalived mode; in lvsd mode only what `realserver up` left undone)
    nsx $P$r sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 2>/dev/null
    local have; have=$(ip -n $P$r -4 -o addr show dev lo)
    for a in $VIPS; do
      [[ $have == *" $a/"* ]] || ip -n $P$r addr add "$a/32" dev lo
    done
    mkdir -p "$TEST_TMP/www-$r"; echo "rs${r#r}" > "$TEST_TMP/www-$r/index.html"
  done
  httpd_start 1 && httpd_start 2
}

# --- the directors ---
director_start() { # 1|2
  local d=d$1 pid
  if [ "$DIRECTOR" = keepalived ]; then
    bg_start $P$d "$KA" -n -l -G -D -f "$HERE/seed001/dir$1.conf" -p "$TEST_TMP/$d.pid" \
      -r "$TEST_TMP/$d.vrrp.pid" -c "$TEST_TMP/$d.checkers.pid" > "$TEST_TMP/$d.log" 2>&1
  else
    bg_start $P$d ./lvsd run -f "$HERE/seed001/dir$1.conf" --socket "$TEST_TMP/$d.sock" \
      > "$TEST_TMP/$d.log" 2>&1
  fi
  pid=$!
  [ "$1" = 1 ] && D1PID=$pid || D2PID=$pid
}
log_tail() { # d1|d2 [N]
  [ -f "$TEST_TMP/$1.log" ] && tail -n "${2:-15}" "$TEST_TMP/$1.log" | sed "s/^/    $1| /"
}

# --- observations ---
vips_of() { # d1|d2 -> the VIPs the director holds, sorted, space separated
  ip -n $P$1 -4 -o addr show 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' |
    grep -xF -e 192.168.20.100 -e 192.168.20.101 | sort | tr '\n' ' ' | sed 's/ $//'
}
table_of() { # d1|d2 -> "VIP:PORT>RIP:PORT" pairs (and "VIP:PORT>" per service), sorted
  nsx $P$1 ipvsadm -Ln 2>/dev/null | awk '
    /^(TCP|UDP|SCTP|FWM) / { s = $2; print s ">"; next }
    /->/ && $2 != "RemoteAddress:Port" && s != "" { print s ">" $2 }' | sort | tr '\n' ' ' | sed 's/ $//'
}
conns_of() { # d1|d2 -> connections scheduled so far, all services
  nsx $P$1 ipvsadm -Ln --stats 2>/dev/null | awk '/^(TCP|UDP|SCTP|FWM) / { n += $3 } END { print n + 0 }'
}
want_table() { # RIP... -> the table both virtual servers with these real servers give
  local v r out=()
  for v in $VIPS; do out+=("$v:80>"); for r in "$@"; do out+=("$v:80>$r:80"); done; done
  printf '%s\n' "${out[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
FULL=$(want_table $RS1 $RS2) ONLY_RS2=$(want_table $RS2) BOTH_VIPS="192.168.20.100 192.168.20.101"

# requests VIP PER_SOURCE: PER_SOURCE requests from each of the client's ten addresses (the
# route to the VIP switched from one source address to the next); one line per request: the
# page ("rs1"/"rs2") or FAIL
requests() {
  nsx ${P}c busybox sh -c "for s in $SRCS; do
      ip route replace $1/32 dev eth0 src \$s || { echo FAIL; continue; }
      for j in \$(seq $2); do timeout 3 wget -q -O - http://$1/ 2>/dev/null || echo FAIL; done
    done"
}
REQ_SUMMARY="" REQ_RS1=0 REQ_RS2=0 REQ_FAIL=0 REQ_ALL_BOTH=1
request_round() { # PER_SOURCE: requests to both VIPs; sets REQ_*; status 0 when none failed
  local v res n1 n2 nf
  REQ_SUMMARY="" REQ_RS1=0 REQ_RS2=0 REQ_FAIL=0 REQ_ALL_BOTH=1
  for v in $VIPS; do
    res=$(requests "$v" "$1")
    n1=$(grep -cx rs1 <<< "$res") n2=$(grep -cx rs2 <<< "$res")
    nf=$(( 10 * $1 - n1 - n2 ))   # whatever is not a page failed, a missing line too
    REQ_SUMMARY+="$v: rs1 $n1, rs2 $n2, failed $nf; "
    REQ_RS1=$((REQ_RS1 + n1)) REQ_RS2=$((REQ_RS2 + n2)) REQ_FAIL=$((REQ_FAIL + nf))
    { [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; } || REQ_ALL_BOTH=0
  done
  REQ_SUMMARY=${REQ_SUMMARY%; }
  [ "$REQ_FAIL" = 0 ]
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; WAITED = milliseconds it took
is_table() { [ "$(table_of "$1")" = "$2" ]; }
has_vips() { [ "$(vips_of "$1")" = "$2" ]; }
tables_are() { is_table d1 "$1" && is_table d2 "$1"; }
# elapsed time (ms since T0) at which each director's table first equals WANT: polled together
TABLE_AT_d1="" TABLE_AT_d2=""
tables_reach() { # SECONDS T0 WANT: status 0 when both did within SECONDS of T0
  local end=$(( ${2/./} + $1 * 1000000 )) d
  TABLE_AT_d1="" TABLE_AT_d2=""
  while :; do
    for d in d1 d2; do
      local v=TABLE_AT_$d
      [ -n "${!v}" ] || { is_table $d "$3" && printf -v "$v" '%s' "$(ms_since "$2")"; }
    done
    [ -n "$TABLE_AT_d1" ] && [ -n "$TABLE_AT_d2" ] && return 0
    [ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
    sleep 0.2
  done
}
at() { [ -n "$1" ] && secs "$1" || echo never; }

# ===============================================================================================
echo "seed001: director $DIRECTOR; bounds: rs down ${DOWN_BOUND} s, rs up ${UP_BOUND} s, failover ${FAILOVER_BOUND} s"
T=$EPOCHREALTIME
if ! lab_up; then fail "setup: the real servers' httpd did not start"; summary seed001; exit 1; fi
note "lab up in $(secs "$(ms_since "$T")")"

# --- 1. both directors up -------------------------------------------------------------------
T=$EPOCHREALTIME
director_start 1
director_start 2
if wait_for 30 has_vips d1 "$BOTH_VIPS"; then
  # the backup must not hold them too (give the election a moment to settle)
  sleep 1
  if [ -z "$(vips_of d2)" ] && has_vips d1 "$BOTH_VIPS"; then
    pass "1 election: dir1 holds $BOTH_VIPS, dir2 none ($(secs "$(ms_since "$T")") after start)"
  else
    fail "1 election: dir1 holds [$(vips_of d1)], dir2 [$(vips_of d2)]"; log_tail d1; log_tail d2
  fi
else
  fail "1 election: dir1 holds [$(vips_of d1)] after 30 s, dir2 [$(vips_of d2)]"; log_tail d1; log_tail d2
fi
if tables_reach 20 "$T" "$FULL"; then
  pass "1 tables: both directors: both virtual servers with rs1 and rs2 (dir1 at $(secs "$TABLE_AT_d1"), dir2 at $(secs "$TABLE_AT_d2"))"
else
  fail "1 tables: want [$FULL]; dir1 [$(table_of d1)], dir2 [$(table_of d2)]"
  nsx ${P}d1 ipvsadm -Ln | sed 's/^/    d1| /'; log_tail d1; log_tail d2
fi
T=$EPOCHREALTIME
if request_round 2 && [ $REQ_ALL_BOTH = 1 ]; then
  pass "1 traffic: 20 requests per VIP from 10 client addresses, all answered by both servers ($REQ_SUMMARY; $(secs "$(ms_since "$T")"))"
else
  fail "1 traffic: 20 requests per VIP: $REQ_SUMMARY (want no failure and both servers per VIP)"
  nsx ${P}d1 ipvsadm -Ln | sed 's/^/    d1| /'
fi

# --- 2. rs1's httpd stopped -----------------------------------------------------------------
bg_stop "$HTTPD1"
T=$EPOCHREALTIME
if tables_reach "$DOWN_BOUND" "$T" "$ONLY_RS2"; then
  pass "2 rs1 down: gone from both tables (dir1 after $(secs "$TABLE_AT_d1"), dir2 after $(secs "$TABLE_AT_d2"); bound ${DOWN_BOUND} s)"
  # keepalived 2.2.7 ignores nb_get_retry inside TCP_CHECK (unknown keyword): retry stays 1, and
  # a refused connection fails at once: it drops rs1 within delay_loop + delay_before_retry
  KA_DOWN=$(( DELAY_LOOP + DELAY_BEFORE_RETRY + 1 ))
  if [ "$TABLE_AT_d1" -gt $((KA_DOWN * 1000)) ] || [ "$TABLE_AT_d2" -gt $((KA_DOWN * 1000)) ]; then
    note "slower than keepalived 2.2.7's worst case here (~${KA_DOWN} s: it ignores nb_get_retry in TCP_CHECK, retry 1)"
  fi
else
  fail "2 rs1 down: after ${DOWN_BOUND} s: dir1 $(at "$TABLE_AT_d1") [$(table_of d1)], dir2 $(at "$TABLE_AT_d2") [$(table_of d2)]"
  log_tail d1; log_tail d2
fi
if request_round 2; then
  pass "2 traffic: 20 requests per VIP all answered ($REQ_SUMMARY)"
else
  fail "2 traffic: $REQ_SUMMARY"
fi

# --- 3. rs1's httpd restarted ---------------------------------------------------------------
if ! httpd_start 1; then fail "3 rs1's httpd did not restart"; fi
T=$EPOCHREALTIME
if tables_reach "$UP_BOUND" "$T" "$FULL"; then
  pass "3 rs1 up: back in both tables (dir1 after $(secs "$TABLE_AT_d1"), dir2 after $(secs "$TABLE_AT_d2"); bound ${UP_BOUND} s)"
else
  fail "3 rs1 up: after ${UP_BOUND} s: dir1 $(at "$TABLE_AT_d1") [$(table_of d1)], dir2 $(at "$TABLE_AT_d2") [$(table_of d2)]"
  log_tail d1; log_tail d2
fi

# --- 4. kill -9 of the master's daemon ------------------------------------------------------
C0=$(conns_of d2)
victims=$(descendants "$D1PID" | sort -n | tr '\n' ' ')
T=$EPOCHREALTIME
{ kill_tree KILL "$D1PID"; wait "$D1PID"; } 2>/dev/null   # (no "Killed" job notice)
note "killed dir1's daemon: PIDs $victims"
if wait_for "$FAILOVER_BOUND" has_vips d2 "$BOTH_VIPS"; then
  pass "4 failover: dir2 holds $BOTH_VIPS $(secs "$WAITED") after the kill -9 (bound ${FAILOVER_BOUND} s)"
else
  fail "4 failover: dir2 holds [$(vips_of d2)] ${FAILOVER_BOUND} s after the kill -9"; log_tail d2
fi
through_dir2() { request_round 1 && [ "$(conns_of d2)" -gt "$C0" ]; }
if wait_for 15 through_dir2; then
  pass "4 traffic: requests answered again, through dir2, $(secs "$(ms_since "$T")") after the kill -9 ($REQ_SUMMARY; dir2 scheduled $(( $(conns_of d2) - C0 )))"
else
  fail "4 traffic: 15 s after the kill -9: $REQ_SUMMARY; dir2 scheduled $(( $(conns_of d2) - C0 ))"
  log_tail d2
fi

# --- 5. clean stop of dir2 ------------------------------------------------------------------
T=$EPOCHREALTIME
kill -TERM "$D2PID" 2>/dev/null
gone() { ! kill -0 "$D2PID" 2>/dev/null || [ "$(awk '{print $3}' /proc/"$D2PID"/stat 2>/dev/null)" = Z ]; }
if wait_for 20 gone; then
  wait "$D2PID" 2>/dev/null
  left_vips=$(vips_of d2) left_table=$(table_of d2)
  if [ -z "$left_vips" ] && [ -z "$left_table" ]; then
    pass "5 stop: SIGTERM: dir2's daemon exited in $(secs "$WAITED"), no VIP and no virtual server left"
  else
    fail "5 stop: dir2's daemon exited, but left VIPs [$left_vips], table [$left_table]"; log_tail d2
  fi
else
  fail "5 stop: dir2's daemon still running 20 s after SIGTERM"; log_tail d2
fi

summary seed001
