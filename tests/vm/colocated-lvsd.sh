#!/usr/bin/env bash
# colocated-lvsd.sh — issue 8 end to end with lvsd: two DR directors that are also real servers
# of their own virtual service, driven by `lvsd run` from the plain configuration (no fwmark, no
# iptables, no notify scripts): colocated-lvsd/dir1.conf (priority 100), dir2.conf (90).
# Run it with
#   scripts/vm/ipvs-vm.sh --timeout 600 -x target/release/lvsd -c tests/vm:vm 'bash vm/colocated-lvsd.sh'
# usage: colocated-lvsd.sh [--requests N] [--verbose]   (N requests per round, default 60;
#        --verbose prints both directors' logs at the end)
#
# Lab (one bridge, namespaces, every host's port eth0):
#   cl-c   client 10.90.0.50/24; each round adds six fresh source addresses (10.90.0.B..B+5);
#          the takeover probes use 10.90.0.201-.205. Its ARP entry for the VIP is learnt (GARP)
#   cl-d1  dir1 10.90.0.1 (MAC 02:90:00:00:00:01): `lvsd run` + busybox httpd "dir1"
#   cl-d2  dir2 10.90.0.2 (MAC 02:90:00:00:00:02): `lvsd run` + busybox httpd "dir2"
#          (the VIP on the directors' lo is lvsd's job: this script never puts it there)
#   cl-r3  rs3 10.90.0.3: `lvsd realserver up --vip 10.90.0.100 --iface eth0`, httpd "rs3"
# Steps (PASS/FAIL each):
#   0. `lvsd check -f dir1.conf` in dir1 notes colocated-director
#   1. dir1 MASTER holds the VIP on eth0 and the service; dir2 holds it on lo (/32, arp_ignore=1,
#      arp_announce=2) and has no IPVS service; `lvsd status --json` roles
#   2. N requests from six addresses: all succeed, all three servers answer, no connection
#      balanced twice (`ipvsadm -Lnc` of both directors, and their scheduled counters)
#   3. SIGTERM to dir1's lvsd: the VIP on dir2's eth0, dir2 gets the service; a probe running
#      through the takeover loses at most the one request in flight (colocated-lib.sh); dir1
#      keeps the VIP on lo and still answers as a real server (requests balanced to 10.90.0.1 succeed); a round: no loop
#   4. dir1's lvsd restarted: preemption back to dir1 (VIP on dir1's eth0, dir2's service gone,
#      VIP back on dir2's lo); the probe through the handback; a round: no loop
#   1-9 also: the service in the kernel is the guard's fwmark service (a mark in
#      0x4c560000-0x4c56ffff, shown as G); step 6 checks each director's nft table inet lvsd
#      knows the other director's MAC
#   4b. `lvsd reload` on both: nothing moves (table, VIPs), a probe through it loses nothing
#   5. kill -9 of dir1's lvsd: requests answered again after the takeover (bound 5 s after dir2
#      holds the VIP); a probe through it; a round afterwards: dir1's kernel keeps what the
#      killed daemon left (VIP on eth0, the fwmark service, the nft table), and still no loop:
#      what dir2 forwards comes from a real server's MAC and is delivered locally
#   6. split brain: dir1's lvsd restarted (preemption back); dir2 stops hearing VRRP (an nft
#      drop of protocol 112 in dir2, a table of this script): both MASTER with the VIP on eth0
#      and the service; a round through each director (client's ARP entry pinned): no loop;
#      healed: dir2 BACKUP again
#   7. the loop exists without lvsd's mechanism: both restarted with `colocated_directors off`
#      (keepalived's behaviour: the service on both) and the VIP on both lo (left by the SIGTERM
#      of step 7's stop, as seed 000's scripts would leave it): a round fails requests and shows
#      connections in both directors' tables
#   8. seed 002's own setup still runs: the VIP on lo by hand (label lo:0, as its step 3), a
#      `virtual_server fwmark 2` on 3306 (TCP responders on 3306 in dir1, dir2, rs3) with the
#      user's own nft mark rules (a mark unless from the peer's MAC) next to the plain port-80
#      service: `lvsd check` says the user's marks win; rounds on 80 and 3306 without a loop;
#      SIGTERM of dir1: dir2 takes over, rounds on 80 and 3306 without a loop, and the user's
#      lo:0 VIP is never removed by lvsd
#   9. TUN: the plain configuration with lb_kind TUN (tunl0 up, rp_filter 0 in every node, by
#      the test): a round without a loop through IPIP; kill -9 of dir1, a round: each connection
#      balanced once
#  11. seed 000's configuration as written (typographic quotes, `fwmark 3  80`, sorry_server
#      127.0.0.1 80, notify scripts running its real-server script), the user's nft marks: both
#      directors up, a round and a round after kill -9 without a loop; the sorry server takes
#      over when both real servers fail dir2's checks
#  10. IPv6: the plain configuration over IPv6 (VIP fd90::100, /128 on lo while not MASTER): a
#      round without a loop with dir1 master; kill -9 of dir1: each connection balanced once
# Closing line "colocated-lvsd: N passed, N failed"; exit status 1 on failures. Every process
# started here is killed by PID (with its descendants), the namespaces deleted, on any exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
N=60 VERBOSE=0
while [ $# -gt 0 ]; do
  case $1 in
    --requests) N=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "colocated-lvsd: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x ./lvsd ] || { fail "no ./lvsd in the payload"; summary colocated-lvsd; exit 1; }
P=cl- VIP=10.90.0.100 D1=10.90.0.1 D2=10.90.0.2 R3=10.90.0.3
MAC1=02:90:00:00:00:01 MAC2=02:90:00:00:00:02
PER_SRC=$(( (N + 5) / 6 )) N=$(( 6 * ((N + 5) / 6) ))
ADVERT_INT=1
FAILOVER_BOUND=$(( 3 * ADVERT_INT + 1 + 5 ))   # master down interval + skew + margin
CONF1=$HERE/colocated-lvsd/dir1.conf CONF2=$HERE/colocated-lvsd/dir2.conf
CONF_DIR=$HERE/colocated-lvsd
D1PID="" D2PID=""
ROLE_MASTER="director (also a real server)" ROLE_BACKUP="real server"

. "$(dirname "$0")/colocated-lib.sh"
trap cl_cleanup EXIT

# --- the lab ---
lab_up() {
  bridge_up
  host c 10.90.0.50
  host d1 $D1 $MAC1
  host d2 $D2 $MAC2
  host r3 $R3
  if out=$(nsx ${P}r3 ./lvsd realserver up --vip $VIP --iface eth0 --state-file "$TEST_TMP/r3.json" 2>&1); then
    pass "setup: rs3: lvsd realserver up --vip $VIP --iface eth0"
  else
    fail "setup: rs3: lvsd realserver up failed"; printf '%s\n' "$out" | sed 's/^/    /'
  fi
  httpd ${P}d1 dir1 && httpd ${P}d2 dir2 && httpd ${P}r3 rs3
}

# --- the directors ---
director_start() { # 1|2 [CONF-SUFFIX]: lvsd run with colocated-lvsd/dirN[SUFFIX].conf
  local d=d$1 conf=$CONF_DIR/dir$1${2:-}.conf
  # (a restart appends to the same log, after a marker line)
  echo "=== lvsd run -f $(basename "$conf") started $(date +%T)" >> "$TEST_TMP/$d.log"
  bg_start $P$d ./lvsd run -f "$conf" --socket "$TEST_TMP/$d.sock" --drift-interval 2 \
    --realserver-state "$TEST_TMP/$d.rs.json" >> "$TEST_TMP/$d.log" 2>&1
  [ "$1" = 1 ] && D1PID=$! || D2PID=$!
}

# A round after a kill -9 waits for the new master's second GARP burst (vrrp_garp_master_delay,
# 5 s after the takeover): the dead master's kernel still answers ARP for the VIP, and the burst
# moves the client over; a connection it catches half-way would be reset by a director without
# its entry (no connection sync). The round measures the state after the takeover.
after_garp() { sleep 6; }

# ===============================================================================================
echo "colocated-lvsd: kernel $(uname -r); $N requests per round; failover bound ${FAILOVER_BOUND} s"
T=$EPOCHREALTIME
if ! lab_up; then fail "setup: httpd did not start"; summary colocated-lvsd; exit 1; fi
ip -n ${P}c addr add 10.90.0.202/24 dev eth0; ip -n ${P}c addr add 10.90.0.203/24 dev eth0
note "lab up in $(secs "$(ms_since "$T")")"

# --- 0. lvsd check in dir1 -------------------------------------------------------------------
out=$(nsx ${P}d1 ./lvsd check -f "$CONF1" 2>&1)
if grep -q colocated-director <<< "$out"; then
  pass "0 check: lvsd check -f dir1.conf in dir1 notes colocated-director: $(grep -m1 colocated-director <<< "$out" | sed 's/^ *//')"
else
  fail "0 check: no colocated-director note from lvsd check in dir1"; printf '%s\n' "$out" | sed 's/^/    /'
fi

# --- 1. both directors up ---------------------------------------------------------------------
T=$EPOCHREALTIME
director_start 1
director_start 2
if wait_for 30 vip_on d1 eth0; then
  note "dir1 holds the VIP on eth0 $(secs "$WAITED") after start"
  sleep 2   # the election settles; the reconciler and the checkers run
  wait_for 10 is_table d1 "$FULL"
  wait_for 5 is_role d2 "$ROLE_BACKUP"
  if vip_on d1 eth0 && ! vip_on d1 lo && is_table d1 "$FULL"; then
    pass "1 dir1 MASTER: VIP [$(vip_where d1)], service with dir1, dir2, rs3 ($(secs "$(ms_since "$T")") after start)"
  else
    fail "1 dir1 MASTER: $(state_line)"; log_tail d1
  fi
  s2=$(sysctls_of d2)
  if vip_on d2 lo && ! vip_on d2 eth0 && [ -z "$(table_of d2)" ] && [ "$s2" = "all 1/2 eth0 1/2" ]; then
    pass "1 dir2 BACKUP as a real server: VIP [$(vip_where d2)], no IPVS service, arp_ignore/arp_announce $s2"
  else
    fail "1 dir2 BACKUP: VIP [$(vip_where d2)], table [$(table_of d2)], arp_ignore/arp_announce [$s2]"; log_tail d2
  fi
  r1=$(role_of d1) r2=$(role_of d2)
  if [ "$r1" = "$ROLE_MASTER" ] && [ "$r2" = "$ROLE_BACKUP" ]; then
    pass "1 status roles: dir1 \"$r1\", dir2 \"$r2\""
  else
    fail "1 status roles: dir1 \"$r1\" (want \"$ROLE_MASTER\"), dir2 \"$r2\" (want \"$ROLE_BACKUP\")"
  fi
  st1=$(nsx ${P}d1 ./lvsd status --socket "$TEST_TMP/d1.sock" 2>&1 | grep -m1 "$VIP")
  st2=$(nsx ${P}d2 ./lvsd status --socket "$TEST_TMP/d2.sock" 2>&1 | grep -m1 "$VIP")
  if [[ $st1 == *"as fwmark 0x4c56"*"(colocated guard)"* ]] && [[ $st2 == *"(no service: not MASTER)"* ]]; then
    pass "1 lvsd status: dir1 \"$(echo $st1)\"; dir2 \"$(echo $st2)\""
  else
    fail "1 lvsd status: dir1 \"$st1\"; dir2 \"$st2\""
  fi
else
  fail "1 election: after 30 s $(state_line)"; log_tail d1; log_tail d2
fi

# --- 2. traffic: no loop ----------------------------------------------------------------------
round R2 51
no_loop "2 traffic, dir1 master"

# --- 3. SIGTERM to dir1's lvsd ----------------------------------------------------------------
probe_start
T=$EPOCHREALTIME
kill -TERM "$D1PID" 2>/dev/null
if wait_for 20 gone "$D1PID"; then
  wait "$D1PID" 2>/dev/null; note "dir1's lvsd exited $(secs "$WAITED") after SIGTERM"
else
  fail "3 stop: dir1's lvsd still running 20 s after SIGTERM"; log_tail d1
fi
dir2_took_over() { vip_on d2 eth0 && is_table d2 "$FULL"; }
if wait_for "$FAILOVER_BOUND" dir2_took_over; then
  TAKE=$(ms_since "$T")
  sleep 3; probe_stop
  pass "3 takeover: dir2 holds the VIP on eth0 and the service $(secs "$TAKE") after SIGTERM"
  if [ "$P_FAIL" -le 1 ]; then pass "3 probe through the takeover: $P_SUMMARY"
  else fail "3 probe through the takeover: $P_SUMMARY"; fi
else
  probe_stop
  fail "3 takeover: $FAILOVER_BOUND s after SIGTERM: $(state_line); probe: $P_SUMMARY"; log_tail d2
fi
if vip_on d1 lo && ! vip_on d1 eth0 && [ -z "$(table_of d1)" ] && [ "$(sysctls_of d1)" = "all 1/2 eth0 1/2" ]; then
  pass "3 stopped dir1 is a real server: VIP [$(vip_where d1)], no IPVS service, arp $(sysctls_of d1)"
else
  fail "3 stopped dir1: VIP [$(vip_where d1)], table [$(table_of d1)], arp_ignore/arp_announce [$(sysctls_of d1)]"; log_tail d1
fi
if ! vip_on d2 lo && is_role d2 "$ROLE_MASTER"; then
  pass "3 dir2: VIP only on eth0 [$(vip_where d2)], role \"$ROLE_MASTER\""
else
  fail "3 dir2: VIP [$(vip_where d2)], role [$(role_of d2)]"
fi
if to_dir1_ok; then pass "3 requests balanced to 10.90.0.1 are answered by the stopped dir1 (six requests: $TO_DIR1)"
else fail "3 no request answered by dir1 (six requests: $TO_DIR1; dir1's VIP [$(vip_where d1)])"; fi
round R3 61
no_loop "3 traffic, dir2 master, dir1 stopped"

# --- 4. dir1's lvsd restarted: preemption back, no loop ---------------------------------------
probe_start
T=$EPOCHREALTIME
director_start 1
handed_back() { vip_on d1 eth0 && ! vip_on d1 lo && is_table d1 "$FULL" && ! vip_on d2 eth0 && vip_on d2 lo && [ -z "$(table_of d2)" ]; }
if wait_for 30 handed_back; then
  BACK=$(ms_since "$T")
  sleep 3; probe_stop
  pass "4 preemption: dir1 MASTER again (VIP on eth0, service), dir2 real server (VIP on lo, no service) $(secs "$BACK") after the restart"
  if [ "$P_FAIL" -le 1 ]; then pass "4 probe through the handback: $P_SUMMARY"
  else fail "4 probe through the handback: $P_SUMMARY"; fi
else
  probe_stop
  fail "4 preemption: 30 s after the restart: $(state_line); probe: $P_SUMMARY"; log_tail d1; log_tail d2
fi
r1=$(role_of d1) r2=$(role_of d2)
if [ "$r1" = "$ROLE_MASTER" ] && [ "$r2" = "$ROLE_BACKUP" ]; then pass "4 status roles: dir1 \"$r1\", dir2 \"$r2\""
else fail "4 status roles: dir1 \"$r1\", dir2 \"$r2\""; fi
round R4 71
no_loop "4 traffic after the handback"

# --- 4b. reload on both directors: nothing moves ----------------------------------------------
t1=$(table_of d1) v1=$(vip_where d1) v2=$(vip_where d2)
probe_start
r1=$(nsx ${P}d1 ./lvsd reload --socket "$TEST_TMP/d1.sock" 2>&1); e1=$?
r2=$(nsx ${P}d2 ./lvsd reload --socket "$TEST_TMP/d2.sock" 2>&1); e2=$?
sleep 3; probe_stop
if [ $e1 = 0 ] && [ $e2 = 0 ] && [ "$(table_of d1)" = "$t1" ] && [ -z "$(table_of d2)" ] &&
   [ "$(vip_where d1)" = "$v1" ] && [ "$(vip_where d2)" = "$v2" ] && [ "$P_FAIL" = 0 ]; then
  pass "4b reload of both: table, VIPs and roles unchanged; probe: $P_SUMMARY"
else
  fail "4b reload of both (exit $e1/$e2): $(state_line); probe: $P_SUMMARY"
  printf '%s\n' "$r1" "$r2" | sed 's/^/    /'
fi

# --- 5. kill -9 of dir1's lvsd ----------------------------------------------------------------
probe_start
victims=$(descendants "$D1PID" | sort -n | tr '\n' ' ')
T=$EPOCHREALTIME
{ kill_tree KILL "$D1PID"; wait "$D1PID"; } 2>/dev/null
note "killed dir1's lvsd: PIDs $victims; left behind in dir1: VIP [$(vip_where d1)], table [$(table_of d1)]"
if wait_for "$FAILOVER_BOUND" vip_on d2 eth0; then
  TAKE=$(ms_since "$T")
  pass "5 takeover: dir2 holds the VIP on eth0 $(secs "$TAKE") after the kill -9"
  T2=$EPOCHREALTIME
  if wait_for 5 answered_once; then
    pass "5 answered again $(secs "$(ms_since "$T")") after the kill -9 ($(secs "$(ms_since "$T2")") after dir2 took the VIP)"
  else
    fail "5 no request answered within 5 s of the takeover"
  fi
  wait_for 5 is_table d2 "$FULL"
  sleep 2; probe_stop
  note "5 probe through the kill -9: $P_SUMMARY"
  note "5 after the takeover: $(state_line)"
else
  probe_stop
  fail "5 takeover: $FAILOVER_BOUND s after the kill -9: $(state_line); probe: $P_SUMMARY"; log_tail d2
fi
after_garp
round R5 81
# dir1's kernel keeps what the killed daemon left (the VIP on eth0, the fwmark service, the nft
# table) and still answers ARP for the VIP, so the client reaches one or the other: what dir2
# forwards to dir1 comes from dir2's MAC, is not marked, is delivered locally (and the reverse)
no_loop_two "5 traffic after the kill -9 (dir1's kernel keeps VIP [$(vip_where d1)], table [$(table_of d1)])"

# --- 6. split brain ---------------------------------------------------------------------------
T=$EPOCHREALTIME
director_start 1
if wait_for 30 handed_back; then
  pass "6 dir1's lvsd restarted after the kill -9: MASTER again, dir2 a real server, $(secs "$(ms_since "$T")") after the start"
else
  fail "6 restart after the kill -9: 30 s later: $(state_line)"; log_tail d1; log_tail d2
fi
# what the killed run left (its guarded FWM service) is removed at start as a backup or adopted,
# so the takeover's operations all succeed (before issue 14: "service FWM ... already exists")
since_restart() { awk -v m="started $1" 'index($0, "=== lvsd run") { on = 0 } index($0, m) { on = 1 } on' "$TEST_TMP/d1.log"; }
RESTART_MARK=$(grep "=== lvsd run" "$TEST_TMP/d1.log" | tail -1 | sed 's/.* started //')
if since_restart "$RESTART_MARK" | grep -E "already exists|operation [0-9]+ of [0-9]+ failed" > "$TEST_TMP/d1.err"; then
  fail "6 the restarted dir1's IPVS operations failed: $(head -3 "$TEST_TMP/d1.err" | tr '\n' ' ')"
else
  pass "6 the restarted dir1 took over the killed run's leftovers without an IPVS error"
fi
# dir2 stops hearing dir1's adverts (the data path stays): both become MASTER
nsx ${P}d2 nft -f - <<'NFT'
table inet splitbrain {
  chain in {
    type filter hook prerouting priority raw; policy accept;
    ip protocol 112 drop
  }
}
NFT
both_master() { vip_on d1 eth0 && vip_on d2 eth0 && is_table d1 "$FULL" && is_table d2 "$FULL"; }
if wait_for "$FAILOVER_BOUND" both_master; then
  pass "6 split brain: both directors MASTER with the VIP on eth0 and the service ($(secs "$WAITED"))"
else
  fail "6 split brain: $(state_line)"; log_tail d2
fi
nsx ${P}d1 nft list table inet lvsd > "$TEST_TMP/nft.d1" 2>&1
nsx ${P}d2 nft list table inet lvsd > "$TEST_TMP/nft.d2" 2>&1
if grep -qi "$MAC2" "$TEST_TMP/nft.d1" && grep -qi "$MAC1" "$TEST_TMP/nft.d2"; then
  pass "6 each director's guard knows the other's MAC: $(grep -o 'elements = {[^}]*' "$TEST_TMP/nft.d1" | tr -d '\n\t') / $(grep -o 'elements = {[^}]*' "$TEST_TMP/nft.d2" | tr -d '\n\t')"
else
  fail "6 guard tables:"; sed 's/^/    d1| /' "$TEST_TMP/nft.d1"; sed 's/^/    d2| /' "$TEST_TMP/nft.d2"
fi
ip -n ${P}c neigh replace $VIP lladdr $MAC2 dev eth0 nud permanent
round R6a 91
no_loop "6 split brain, client reaching dir2"
ip -n ${P}c neigh replace $VIP lladdr $MAC1 dev eth0 nud permanent
round R6b 111
no_loop "6 split brain, client reaching dir1"
ip -n ${P}c neigh del $VIP dev eth0 2>/dev/null
nsx ${P}d2 nft delete table inet splitbrain
if wait_for 15 handed_back; then
  pass "6 healed: dir2 a real server again (VIP on lo, no service) $(secs "$WAITED") after VRRP came back"
else
  fail "6 healed: 15 s after VRRP came back: $(state_line)"
fi

# --- 7. the loop without lvsd's mechanism -----------------------------------------------------
stop_directors() {
  local p
  for p in "$D1PID" "$D2PID"; do kill -TERM "$p" 2>/dev/null; done
  for p in "$D1PID" "$D2PID"; do wait_for 20 gone "$p"; wait "$p" 2>/dev/null; done
}
stop_directors
if vip_on d1 lo && vip_on d2 lo && ! vip_on d1 eth0 && ! vip_on d2 eth0 && [ -z "$(table_of d1)$(table_of d2)" ]; then
  pass "7 both lvsd stopped (SIGTERM): both directors stay real servers (VIP on lo), no service, no guard table ($(nsx ${P}d1 nft list tables | tr '\n' ' '))"
else
  fail "7 after SIGTERM of both: $(state_line)"
fi
# dir1 first, dir2 once dir1 is MASTER: two directors started within a few ms race for the
# first master-down timeout (their skews differ by 39 ms), and a brief dir2 MASTER would point
# the client's ARP entry at dir2 until dir1's next GARP
director_start 1 -off
wait_for 15 vip_on d1 eth0
director_start 2 -off
OFFTABLE="$VIP:80> $VIP:80>$D1:80 $VIP:80>$D2:80 $VIP:80>$R3:80"
off_up() { vip_on d1 eth0 && is_table d1 "$OFFTABLE" && is_table d2 "$OFFTABLE"; }
if wait_for 30 off_up; then
  note "colocated_directors off: the address service on both directors, dir1 MASTER ($(secs "$WAITED"))"
  round R7 121
  if [ "$R_FAIL" -gt 0 ] && [ "$R_BOTH" -gt 0 ]; then
    pass "7 the loop exists without lvsd's mechanism: failed $R_FAIL/$N, $R_BOTH connections in both directors' -Lnc (scheduled dir1 $R_S1, dir2 $R_S2)"
  else
    fail "7 no loop seen with colocated_directors off: ok $R_OK/$N, failed $R_FAIL, in both -Lnc $R_BOTH, scheduled dir1 $R_S1 dir2 $R_S2"
  fi
else
  fail "7 colocated_directors off: 30 s after the start: $(state_line)"; log_tail d1; log_tail d2
fi
stop_directors

# --- 8. seed 002's own setup: fwmark 2 on 3306, the user's marks, the VIP on lo by hand -----
for d in d1 d2; do
  nsx $P$d ./lvsd realserver down --state-file "$TEST_TMP/$d.rs.json" > /dev/null 2>&1
  ip -n $P$d addr add $VIP/32 dev lo label lo:0
  nsx $P$d busybox sh -c 'for i in all eth0; do echo 1 > /proc/sys/net/ipv4/conf/$i/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$i/arp_announce; done'
done
# the user's mark rule (seed 002 in nftables): mark 2 unless from the other director's MAC
user_marks() { # d1|d2 PEER-MAC
  nsx $P$1 nft -f - <<NFT
table ip seed002 {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    ip daddr $VIP tcp dport 3306 ether saddr != $2 meta mark set 2
  }
}
NFT
}
user_marks d1 $MAC2; user_marks d2 $MAC1
httpd ${P}d1 dir1 3306 && httpd ${P}d2 dir2 3306 && httpd ${P}r3 rs3 3306 || fail "8 setup: httpd on 3306"
out=$(nsx ${P}d1 ./lvsd check -f "$CONF_DIR/dir1-seed002.conf" 2>&1)
if grep -q "your mark rules win" <<< "$out"; then
  pass "8 lvsd check: the fwmark service's note says the user's marks win"
else
  fail "8 lvsd check: no \"your mark rules win\""; printf '%s\n' "$out" | sed 's/^/    /'
fi
T=$EPOCHREALTIME
director_start 1 -seed002
wait_for 15 vip_on d1 eth0
director_start 2 -seed002
# (ipvsadm shows a fwmark service's DR destinations with port 0, as with keepalived)
F3306="FWM2> FWM2>$D1:0 FWM2>$D2:0 FWM2>$R3:0"
BOTH_T=$(printf '%s\n' $FULL $F3306 | sort | tr '\n' ' ' | sed 's/ $//')
seed_up() { vip_on d1 eth0 && is_table d1 "$BOTH_T" && is_table d2 "$F3306"; }
if wait_for 30 seed_up; then
  pass "8 seed 002 setup: dir1 MASTER with the guarded port-80 service and the user's fwmark 2; dir2 has only fwmark 2 ($(secs "$(ms_since "$T")"))"
else
  fail "8 seed 002 setup: 30 s after the start: $(state_line)"; log_tail d1; log_tail d2
fi
round R8a 131 80
no_loop "8 port 80 next to seed 002's setup, dir1 master"
round R8b 141 3306
no_loop "8 port 3306 (fwmark 2, the user's marks), dir1 master"
kill -TERM "$D1PID" 2>/dev/null
wait_for 20 gone "$D1PID"; wait "$D1PID" 2>/dev/null
seed_took() { vip_on d2 eth0 && is_table d2 "$BOTH_T"; }
if wait_for "$FAILOVER_BOUND" seed_took; then
  pass "8 SIGTERM of dir1: dir2 MASTER with both services ($(secs "$WAITED"))"
else
  fail "8 SIGTERM of dir1: $(state_line)"; log_tail d2
fi
round R8c 151 80
no_loop "8 port 80 after the takeover"
round R8d 161 3306
no_loop "8 port 3306 after the takeover"
lo0() { ip -n $P$1 -4 -o addr show dev lo | grep " $VIP/32 .*lo:0" > /dev/null; }
if lo0 d1 && lo0 d2; then
  pass "8 the user's VIP on lo:0 is still on both directors"
else
  fail "8 the user's lo:0 VIP: dir1 [$(vip_where d1)] dir2 [$(vip_where d2)]"
fi

# --- 9. TUN: the same plain configuration with lb_kind TUN ------------------------------------
stop_directors
for d in d1 d2; do nsx $P$d nft delete table ip seed002 2>/dev/null; done
modprobe ipip 2>/dev/null
for n in d1 d2 r3; do
  nsx $P$n busybox sh -c 'ip link set tunl0 up && for i in all tunl0; do echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter; done' ||
    fail "9 setup: tunl0 in $n"
done
T=$EPOCHREALTIME
director_start 1 -tun
wait_for 15 vip_on d1 eth0
director_start 2 -tun
if wait_for 30 is_table d1 "$FULL" && [ -z "$(table_of d2)" ]; then
  tun=$(nsx ${P}d1 ipvsadm -Ln | grep -c Tunnel)
  if [ "$tun" = 3 ]; then
    pass "9 TUN: dir1 MASTER with the guarded service, 3 tunnel destinations; dir2 none ($(secs "$(ms_since "$T")"))"
  else
    fail "9 TUN: $tun tunnel destinations in dir1: $(nsx ${P}d1 ipvsadm -Ln | tr '\n' '|')"
  fi
else
  fail "9 TUN: 30 s after the start: $(state_line)"; log_tail d1; log_tail d2
fi
round R9a 171
no_loop "9 TUN traffic, dir1 master (dir2 and rs3 reached through IPIP)"
kill_tree KILL "$D1PID"; wait "$D1PID" 2>/dev/null
if wait_for "$FAILOVER_BOUND" is_table d2 "$FULL" && vip_on d2 eth0; then
  pass "9 TUN kill -9 of dir1: dir2 MASTER with the service ($(secs "$WAITED")); dir1 left VIP [$(vip_where d1)] table [$(table_of d1)]"
else
  fail "9 TUN kill -9 of dir1: $(state_line)"; log_tail d2
fi
after_garp
round R9b 181
no_loop_two "9 TUN traffic after the kill -9 (decapsulated packets are never marked)"

# --- 10. IPv6: the plain configuration over IPv6 ----------------------------------------------
stop_directors
# what step 9's kill -9 left in dir1's kernel (IPv4 VIP, service, guard table) goes first
for d in d1 d2; do
  nsx $P$d ipvsadm -C; ip -n $P$d addr del $VIP/24 dev eth0 2>/dev/null
  nsx $P$d nft delete table inet lvsd 2>/dev/null
done
V6=fd90::100
for n in d1:1 d2:2 r3:3 c:50; do ip -n $P${n%%:*} -6 addr add fd90::${n##*:}/64 dev eth0 nodad; done
nsx ${P}r3 ./lvsd realserver up --vip $V6 --state-file "$TEST_TMP/r3v6.json" > /dev/null || fail "10 setup: rs3 IPv6 VIP"
vip6_on() { ip -n $P$1 -6 -o addr show dev "$2" 2>/dev/null | grep " $V6/" > /dev/null; }
table6_of() { nsx $P$1 ipvsadm -Ln 2>/dev/null | awk '/^FWM / { print "G>"; next } /->/ && $2 != "RemoteAddress:Port" { print ">" $2 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
FULL6=$(printf '%s\n' "G>" ">[fd90::1]:80" ">[fd90::2]:80" ">[fd90::3]:80" | sort | tr '\n' ' ' | sed 's/ $//')
round6() { # NAME BASE(hex digit pair prefix, e.g. 6a): 60 requests from fd90::BASE1..BASE6
  local name=$1 srcs="" i res
  for i in 1 2 3 4 5 6; do srcs+="fd90::$2$i "; ip -n ${P}c -6 addr add "fd90::$2$i/64" dev eth0 nodad 2>/dev/null; done
  local s1 s2; s1=$(sched_of d1) s2=$(sched_of d2)
  res=$(nsx ${P}c busybox sh -c "for s in $srcs; do
      ip -6 route replace $V6/128 dev eth0 src \$s || { echo FAIL; continue; }
      for j in \$(seq $PER_SRC); do timeout 3 wget -q -O - http://[$V6]/ 2>/dev/null || echo FAIL; done
    done")
  sleep 1.5
  R_D1=$(grep -cx dir1 <<< "$res") R_D2=$(grep -cx dir2 <<< "$res") R_R3=$(grep -cx rs3 <<< "$res")
  R_OK=$(grep -cvx FAIL <<< "$res") R_FAIL=$((N - R_OK))
  R_S1=$(( $(sched_of d1) - s1 )) R_S2=$(( $(sched_of d2) - s2 ))
  R_TWICE=$(( R_S1 < R_S2 ? R_S1 : R_S2 ))
  for d in d1 d2; do nsx $P$d ipvsadm -Lnc 2>/dev/null | awk -v p="[fd90::$2" 'NR > 2 && index($4, p) == 1 { print $4 }' | sort -u > "$TEST_TMP/$name.$d"; done
  R_BOTH=$(sort "$TEST_TMP/$name.d1" "$TEST_TMP/$name.d2" | uniq -d | wc -l)
  note "$name: ok $R_OK (dir1 $R_D1, dir2 $R_D2, rs3 $R_R3), failed $R_FAIL; scheduled dir1 $R_S1, dir2 $R_S2; in both -Lnc $R_BOTH"
}
T=$EPOCHREALTIME
director_start 1 -v6
wait_for 20 vip6_on d1 eth0
director_start 2 -v6
six_up() { vip6_on d1 eth0 && [ "$(table6_of d1)" = "$FULL6" ] && [ -z "$(table6_of d2)" ] && vip6_on d2 lo; }
if wait_for 30 six_up; then
  pass "10 IPv6: dir1 MASTER ($V6 on eth0, guarded service with 3 destinations), dir2 a real server ($V6/128 on lo, no service) ($(secs "$(ms_since "$T")"))"
else
  fail "10 IPv6: 30 s after the start: want $(printf %q "$FULL6") have $(printf %q "$(table6_of d1)"); vip6 on d1 eth0: $(vip6_on d1 eth0 && echo yes || echo no), d2 lo: $(vip6_on d2 lo && echo yes || echo no); dir2 [$(table6_of d2)] $(ip -n ${P}d2 -6 -o addr show dev lo | tr '\n' ' ')"; log_tail d1 30; log_tail d2
  { nsx ${P}d1 ipvsadm -Ln; nsx ${P}d1 nft list table inet lvsd; ip -n ${P}d1 -6 neigh; ip -n ${P}d1 -6 addr; nsx ${P}d1 ./lvsd status --socket "$TEST_TMP/d1.sock"; } 2>&1 | sed 's/^/    d1> /' 
fi
round6 R10a 6
no_loop "10 IPv6 traffic, dir1 master"
kill_tree KILL "$D1PID"; wait "$D1PID" 2>/dev/null
if wait_for "$FAILOVER_BOUND" vip6_on d2 eth0 && wait_for 10 eval '[ "$(table6_of d2)" = "$FULL6" ]'; then
  pass "10 IPv6 kill -9 of dir1: dir2 MASTER with the service; dir1 left [$(table6_of d1)]"
else
  fail "10 IPv6 kill -9 of dir1: dir2 [$(table6_of d2)]"; log_tail d2
fi
after_garp
round6 R10b 7
no_loop_two "10 IPv6 traffic after the kill -9"

# --- 11. seed 000's own setup, as written (fwmark 3/4 by the user's marks, notify scripts) ---
stop_directors
for d in d1 d2; do
  nsx $P$d ipvsadm -C
  ip -n $P$d -6 addr del $V6/128 dev eth0 2>/dev/null
  ip -n $P$d addr del $VIP/32 dev lo 2>/dev/null
  nsx $P$d nft delete table inet lvsd 2>/dev/null
done
ip -n ${P}c neigh flush dev eth0
user_marks000() { # d1|d2 MARK PEER-MAC: the post's iptables rule, in nftables
  nsx $P$1 nft -f - <<NFT
table ip seed000 {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    ip daddr $VIP tcp dport 80 ether saddr != $3 meta mark set $2
  }
}
NFT
}
user_marks000 d1 3 $MAC2; user_marks000 d2 4 $MAC1
T=$EPOCHREALTIME
director_start 1 -seed000
wait_for 20 vip_on d1 eth0
director_start 2 -seed000
F000() { echo "FWM$1> FWM$1>$D1:0 FWM$1>$D2:0"; }
seed000_ok() { # LABEL: all answered, by both directors (the only real servers), none balanced twice
  if [ "$R_FAIL" = 0 ] && [ "$R_BOTH" = 0 ] && [ "$R_D1" -gt 0 ] && [ "$R_D2" -gt 0 ]; then
    pass "$1: $R_OK/$N ok, dir1 $R_D1 dir2 $R_D2, none in both -Lnc (scheduled dir1 $R_S1, dir2 $R_S2)"
  else
    fail "$1: ok $R_OK/$N (dir1 $R_D1 dir2 $R_D2), failed $R_FAIL, in both -Lnc $R_BOTH"
  fi
}
seed000_up() { vip_on d1 eth0 && ! vip_on d1 lo && is_table d1 "$(F000 3)" && vip_on d2 lo && ! vip_on d2 eth0 && is_table d2 "$(F000 4)"; }
if wait_for 30 seed000_up; then
  pass "11 seed 000 as written: dir1 MASTER (its notify_master took the VIP off lo), fwmark 3 with both directors; dir2 BACKUP (notify_backup put the VIP on lo), fwmark 4 ($(secs "$(ms_since "$T")"))"
else
  fail "11 seed 000: 30 s after the start: $(state_line)"; log_tail d1; log_tail d2
fi
round R11a 191
seed000_ok "11 seed 000, dir1 master"
kill_tree KILL "$D1PID"; wait "$D1PID" 2>/dev/null
if wait_for "$FAILOVER_BOUND" eval 'vip_on d2 eth0 && ! vip_on d2 lo'; then
  pass "11 seed 000, kill -9 of dir1: dir2 MASTER, its notify_master took the VIP off lo ($(secs "$WAITED"))"
else
  fail "11 seed 000, kill -9 of dir1: $(state_line)"; log_tail d2
fi
after_garp
round R11b 211
seed000_ok "11 seed 000 after the kill -9"
# sorry_server 127.0.0.1 80: dir2's checks of both real servers time out (an nft drop of their
# packets to RIP:80; DR traffic goes to the VIP, untouched) -> quorum lost -> the sorry
# server (dir2's own web server on 127.0.0.1) answers
nsx ${P}d2 nft -f - <<NFT
table inet checksdown {
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr { $D1, $D2 } tcp dport 80 drop
  }
}
NFT
# (down after retry 3 + 1 failures: connect_timeout 3 + delay_before_retry 3 each, ~24 s)
if wait_for 60 is_table d2 "FWM4> FWM4>127.0.0.1:0"; then
  page=$(nsx ${P}c busybox sh -c "ip route replace $VIP/32 dev eth0 src 10.90.0.202; timeout 3 wget -q -O - http://$VIP/" 2>/dev/null)
  if [ "$page" = dir2 ]; then
    pass "11 seed 000's sorry_server 127.0.0.1 80: in dir2's table once both real servers failed ($(secs "$WAITED")), and it answers (\"$page\")"
  else
    fail "11 sorry server in the table but the request got \"$page\""
  fi
else
  fail "11 sorry server: dir2's table [$(table_of d2)] 60 s after its checks were cut"; log_tail d2
fi
nsx ${P}d2 nft delete table inet checksdown

summary colocated-lvsd
