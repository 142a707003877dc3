#!/usr/bin/env bash
# operate.sh — issue 17 with real IPVS and real traffic: `lvsd rs drain|disable|enable` and
# `lvsd vrrp demote|promote` on the master of two lvsd directors (LVS-DR, one VRRP instance,
# two real servers with TCP_CHECK), run by `./lvsd run` (cwd = payload).
#
# Lab (one bridge): op-c client 192.168.30.50; op-d1 director 1 (priority 150) .2, op-d2
# director 2 (priority 100) .3; op-r1 .9, op-r2 .10: busybox httpd answering "rs1" / "rs2",
# the VIP 192.168.30.100 on lo, arp_ignore/arp_announce.
# Steps (PASS/FAIL lines):
#   1. drain r1 on dir1 under load: six long-lived connections (a request whose last header
#      line comes 15 s later) and new ones; after the drain r1 has weight 0 and keeps its
#      connections, every new request is answered by rs2, the long-lived ones finish with
#      their page, then r1 leaves dir1's table; dir1 changed exactly one destination and
#      deleted one (its operation counters); dir2's table is untouched (its own overrides)
#   2. enable r1 while its check fails: it stays out; once its httpd answers it is back
#   3. disable r2: out of the table; kept across `lvsd reload` (also one that changes r1's
#      weight) and a restart of dir1, whose new table never had r2 (1 destination added)
#   4. vrrp demote on dir1 with a client loop running: dir2 holds the VIP within
#      Master_Down_Interval (the priority-0 handover takes Skew_Time), no request fails, dir1
#      stays BACKUP; promote: dir1 takes the VIP back by preemption, no request fails
# Closing line "operate: N passed, N failed"; everything started here is killed by PID and the
# namespaces deleted on any exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -x ./lvsd ] || { fail "no ./lvsd in the payload"; summary operate; exit 1; }
P=op-
VIP=192.168.30.100 RS1=192.168.30.9 RS2=192.168.30.10
D1PID="" D2PID="" HTTPD1="" LOOP="" LONG=()
trap 'stop_started; cleanup' EXIT

conf() { # PRIORITY [R1_WEIGHT]
  cat <<EOF
global_defs {
  router_id operate
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority $1
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass op
  }
  virtual_ipaddress {
    $VIP/24 dev eth0
  }
}
virtual_server $VIP 80 {
  delay_loop 1
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server $RS1 80 {
    weight ${2:-1}
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
  real_server $RS2 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
}
EOF
}

host() { # NAME ADDR
  ns_add "$P$1"
  ip -n ${P}sw link add "p-$1" type veth peer name eth0 netns "$P$1"
  ip -n ${P}sw link set "p-$1" master br0 up
  ip -n "$P$1" addr add "$2/24" dev eth0
  ip -n "$P$1" link set eth0 up
}
httpd_start() { # 1|2
  bg_start ${P}r$1 busybox httpd -f -p 80 -h "$TEST_TMP/www-r$1"
  [ "$1" = 1 ] && HTTPD1=$!
  wait_for 5 nsx ${P}r$1 busybox wget -q -O /dev/null http://127.0.0.1/ 2>/dev/null
}
director_start() { # 1|2 (a restart keeps the configuration as the test left it)
  [ -f "$TEST_TMP/d$1.conf" ] || conf "$([ "$1" = 1 ] && echo 150 || echo 100)" > "$TEST_TMP/d$1.conf"
  bg_start ${P}d$1 ./lvsd run -f "$TEST_TMP/d$1.conf" --socket "$TEST_TMP/d$1.sock" \
    --state-dir "$TEST_TMP/d$1.state" --realserver-state "$TEST_TMP/d$1.rs.json" \
    --metrics-listen 127.0.0.1:9650 >> "$TEST_TMP/d$1.log" 2>&1
  [ "$1" = 1 ] && D1PID=$! || D2PID=$!
}
ctl() { # 1|2 ARGS...: lvsd's client against director N's socket
  local d=$1; shift
  ./lvsd "$@" --socket "$TEST_TMP/d$d.sock"
}
log_tail() { tail -n "${2:-15}" "$TEST_TMP/$1.log" | sed "s/^/    $1| /"; }
has_vip() { ip -n $P$1 -4 -o addr show dev eth0 | grep -q " $VIP/"; }
# the table of director N: "RIP:PORT/WEIGHT" per destination, sorted
table() { nsx ${P}d$1 ipvsadm -Ln | awk '/->/ && $2 != "RemoteAddress:Port" { print $2 "/" $4 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
active() { # N RIP: ActiveConn of that destination on director N (none: not in the table)
  nsx ${P}d$1 ipvsadm -Ln | awk -v r="$2:80" '$2 == r { print $5; f = 1 } END { if (!f) print "none" }'
}
# OPS: director 1's IPVS operations by kind, as its metrics count them: "kind=n ..."
ops() {
  nsx ${P}d1 busybox wget -q -O - http://127.0.0.1:9650/metrics 2>/dev/null |
    awk '/^lvsd_reconciler_ipvs_operations_total\{/ { match($0, /kind="[a-z_]*"/); k = substr($0, RSTART + 6, RLENGTH - 7); printf "%s=%d ", k, $NF }' | sed 's/ $//'
}
# DELTA BEFORE AFTER: the kinds whose count changed, "kind+n" sorted
delta() {
  awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); was[kv[1]] = kv[2] }
    m = split(b, y, " "); for (i = 1; i <= m; i++) { split(y[i], kv, "="); d = kv[2] - was[kv[1]]; if (d) out = out kv[1] "+" d " " }
    print out }' | tr ' ' '\n' | grep . | sort | tr '\n' ' ' | sed 's/ $//'
}
requests() { # N: N requests to the VIP; one line each: the page or FAIL
  nsx ${P}c busybox sh -c "for i in \$(seq $1); do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL; done"
}
# a client loop for SECONDS: a request every 0.2 s, its results into FILE (one line each)
client_loop() { # SECONDS FILE
  bg_start ${P}c busybox sh -c "end=\$((\$(date +%s) + $1)); while [ \$(date +%s) -lt \$end ]; do
      timeout 3 wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL; sleep 0.2; done" > "$2"
  LOOP=$!
}

# --- the lab ---
ns_add ${P}sw
ip -n ${P}sw link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n ${P}sw link set br0 up
host c 192.168.30.50; host d1 192.168.30.2; host d2 192.168.30.3; host r1 $RS1; host r2 $RS2
for r in 1 2; do
  nsx ${P}r$r ./lvsd realserver up --vip $VIP --iface eth0 --state-file "$TEST_TMP/r$r.json" > /dev/null 2>&1 ||
    { ip -n ${P}r$r addr add $VIP/32 dev lo; nsx ${P}r$r sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2; }
  mkdir -p "$TEST_TMP/www-r$r"; echo "rs$r" > "$TEST_TMP/www-r$r/index.html"
  httpd_start $r || fail "setup: r$r's httpd"
done
director_start 1; director_start 2
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
FULL=$(sorted "$RS1:80/1" "$RS2:80/1")
if wait_for 30 has_vip d1 && wait_for 20 eval '[ "$(table 1)" = "$FULL" ] && [ "$(table 2)" = "$FULL" ]'; then
  pass "setup: dir1 holds $VIP; both tables [$FULL]"
else
  fail "setup: dir1 VIP $(has_vip d1 && echo yes || echo no); tables [$(table 1)] [$(table 2)]"; log_tail d1; log_tail d2
  summary operate; exit 1
fi
wait_for 10 eval '[ -n "$(ops)" ]' || fail "setup: dir1's metrics"

# --- 1. drain under load --------------------------------------------------------------------
for i in 1 2 3 4 5 6; do
  bg_start ${P}c busybox sh -c "(printf 'GET / HTTP/1.0\r\n'; sleep 15; printf '\r\n') | busybox nc $VIP 80" > "$TEST_TMP/long$i" 2>&1
  LONG+=($!)
done
if wait_for 5 eval '[ "$(active 1 $RS1)" != none ] && [ "$(active 1 $RS1)" -ge 1 ] && [ "$(active 1 $RS2)" -ge 1 ]'; then
  pass "1 load: long-lived connections on both real servers (r1 $(active 1 $RS1), r2 $(active 1 $RS2) active)"
else
  fail "1 load: active connections r1 $(active 1 $RS1), r2 $(active 1 $RS2)"
fi
A1=$(active 1 $RS1)
OPS0=$(ops)
if out=$(ctl 1 rs drain $VIP:80 $RS1 2>&1); then pass "1 drain: $out"; else fail "1 drain: $out"; fi
if wait_for 3 eval '[ "$(table 1)" = "$(sorted "$RS1:80/0" "$RS2:80/1")" ]'; then
  pass "1 drain: r1 at weight 0 in dir1's table, its $(active 1 $RS1) connection(s) kept (were $A1)"
else
  fail "1 drain: dir1's table [$(table 1)]"
fi
res=$(requests 10)
[ "$(grep -cx rs2 <<< "$res")" = 10 ] && pass "1 drain: 10 new requests, all answered by rs2" ||
  fail "1 drain: new requests: $(tr '\n' ' ' <<< "$res")"
out=$(ctl 1 rs list 2>&1)
grep -q "$RS1:80 *draining" <<< "$out" && pass "1 rs list: r1 draining" || { fail "1 rs list"; echo "$out"; }
metric() { nsx ${P}d1 busybox wget -q -O - http://127.0.0.1:9650/metrics 2>/dev/null | grep "^$1" | grep -F "$2" | awk '{ print $NF }'; }
m=$(metric lvsd_real_server_operator_hold 'state="draining"')
[ "$m" = 1 ] && pass "1 metrics: lvsd_real_server_operator_hold{state=\"draining\"} 1" || fail "1 metrics: operator_hold [$m]"
m=$(metric lvsd_real_server_active_connections "$RS1")
[ -n "$m" ] && [ "$m" -ge 1 ] && pass "1 metrics: r1's active connections $m" || fail "1 metrics: r1's active connections [$m]"
# the long-lived ones finish with their page, then r1 leaves the table
for p in "${LONG[@]}"; do wait "$p" 2>/dev/null; done
n1=$(cat "$TEST_TMP"/long* | grep -cx rs1) n2=$(cat "$TEST_TMP"/long* | grep -cx rs2)
[ $((n1 + n2)) = 6 ] && [ "$n1" -ge 1 ] && pass "1 drain: the 6 long-lived connections finished with their page (rs1 $n1, rs2 $n2)" ||
  fail "1 drain: long-lived: rs1 $n1, rs2 $n2 (want 6, rs1 at least 1)"
if wait_for 10 eval '[ "$(table 1)" = "$RS2:80/1" ]'; then
  pass "1 drain: r1 left dir1's table $(secs "$WAITED") after its connections ended"
else
  fail "1 drain: dir1's table [$(table 1)]"; log_tail d1
fi
d=$(delta "$OPS0" "$(ops)")
[ "$d" = "delete_destination+1 edit_destination+1" ] && pass "1 drain: exactly one weight change and one removal ($d)" ||
  fail "1 drain: operations [$d] (want delete_destination+1 edit_destination+1)"
[ "$(table 2)" = "$FULL" ] && pass "1 drain: dir2's table untouched [$FULL]" || fail "1 drain: dir2's table [$(table 2)]"
grep -q "$RS1:80 *drained" <<< "$(ctl 1 rs list 2>&1)" && pass "1 rs list: r1 drained" || fail "1 rs list: not drained"

# --- 2. enable while the check fails ----------------------------------------------------------
bg_stop "$HTTPD1"
# each director checks on its own: wait until dir1's checker sees r1 down (dir2, without an
# override, shows it in its table)
r1_down_on_d1() { ctl 1 status 2>/dev/null | grep -q "TCP_CHECK $RS1:80 Down"; }
wait_for 15 r1_down_on_d1 || fail "2 r1's check never failed on dir1"
wait_for 15 eval '[ "$(table 2)" = "$RS2:80/1" ]' || fail "2 r1's check never failed on dir2"
out=$(ctl 1 rs enable $VIP:80 $RS1 2>&1)
grep -q "checks fail now" <<< "$out" && pass "2 enable: $(tr '\n' ' ' <<< "$out")" || fail "2 enable: $out"
sleep 3
[ "$(table 1)" = "$RS2:80/1" ] && pass "2 enable: r1 stays out while its check fails" || fail "2 enable: dir1's table [$(table 1)]"
OPS0=$(ops)
httpd_start 1
if wait_for 10 eval '[ "$(table 1)" = "$FULL" ]'; then
  pass "2 enable: r1 back in dir1's table $(secs "$WAITED") after its httpd answers"
else
  fail "2 enable: dir1's table [$(table 1)]"
fi
d=$(delta "$OPS0" "$(ops)")
[ "$d" = "add_destination+1" ] && pass "2 enable: one destination added ($d)" || fail "2 enable: operations [$d]"

# --- 3. disable survives reload and restart ---------------------------------------------------
out=$(ctl 1 rs disable $VIP 80 tcp $RS2 2>&1) && pass "3 disable: $out" || fail "3 disable: $out"
wait_for 3 eval '[ "$(table 1)" = "$RS1:80/1" ]' && pass "3 disable: r2 out of dir1's table" || fail "3 disable: [$(table 1)]"
ctl 1 reload > /dev/null 2>&1
sleep 2
[ "$(table 1)" = "$RS1:80/1" ] && pass "3 reload: r2 still out" || fail "3 reload: [$(table 1)]"
conf 150 2 > "$TEST_TMP/d1.conf"
out=$(ctl 1 reload 2>&1)
if wait_for 5 eval '[ "$(table 1)" = "$RS1:80/2" ]'; then
  pass "3 reload with r1's weight 2: applied, r2 still out"
else
  fail "3 reload: [$(table 1)]"; echo "$out" | sed 's/^/    /'
fi
kill -TERM "$D1PID"; wait "$D1PID" 2>/dev/null
director_start 1
if wait_for 20 eval '[ "$(table 1)" = "$RS1:80/2" ]' && wait_for 10 eval '[ -n "$(ops)" ]'; then
  d=$(ops)
  case " $d " in
    *" add_destination=1 "*) pass "3 restart: dir1's new table has r1 only; r2 was never added ($d)" ;;
    *) fail "3 restart: operations [$d]" ;;
  esac
else
  fail "3 restart: dir1's table [$(table 1)]"; log_tail d1
fi
wait_for 15 has_vip d1 || fail "3 restart: dir1 did not take the VIP back"
out=$(ctl 1 rs enable "$VIP:80" "$RS2:80" 2>&1)
wait_for 5 eval '[ "$(table 1)" = "$(sorted "$RS1:80/2" "$RS2:80/1")" ]' && pass "3 enable: r2 back" || fail "3 enable: [$(table 1)] $out"

# --- 4. demote and promote with a client loop -------------------------------------------------
client_loop 10 "$TEST_TMP/loop1"
sleep 2
Z0=$(metric lvsd_vrrp_priority_zero_sent_total VI_1)
T=$EPOCHREALTIME
out=$(ctl 1 vrrp demote VI_1 2>&1) || fail "4 demote: $out"
if wait_for 10 has_vip d2; then
  took=$(ms_since "$T")
  # a takeover by timeout comes 2.61-3.61 s after the demote (dir2's Master_Down_Interval,
  # 3 x 1 s + (256 - 100) / 256 s, after dir1's last advert); the handover after its Skew_Time
  [ "$took" -lt 2500 ] && pass "4 demote: dir2 holds the VIP $(secs "$took") after it (its Skew_Time is 0.6 s; a timeout would take 2.6-3.6 s)" ||
    fail "4 demote: dir2 took $took ms"
else
  fail "4 demote: dir2 never took the VIP"; log_tail d1; log_tail d2
fi
Z1=$(metric lvsd_vrrp_priority_zero_sent_total VI_1)
if [ -n "$Z0" ] && [ -n "$Z1" ] && [ $((Z1 - Z0)) = 1 ]; then
  pass "4 demote: dir1 sent one priority-0 advert ($Z0 -> $Z1)"
else
  fail "4 demote: priority-0 adverts sent: $Z0 -> $Z1"
fi
wait "$LOOP" 2>/dev/null
n=$(wc -l < "$TEST_TMP/loop1") f=$(grep -c FAIL "$TEST_TMP/loop1")
[ "$f" = 0 ] && [ "$n" -ge 20 ] && pass "4 demote: client loop: $n requests, none failed" || fail "4 demote: client loop: $f of $n failed"
has_vip d1 && fail "4 demote: dir1 holds the VIP again" || pass "4 demote: dir1 stays BACKUP"
ctl 1 vrrp list 2>&1 | grep -q "VI_1 .*BACKUP.*demoted since" && pass "4 vrrp list: demoted" || fail "4 vrrp list: $(ctl 1 vrrp list 2>&1)"
m=$(metric lvsd_vrrp_demoted 'VI_1')
[ "$m" = 1 ] && pass "4 metrics: lvsd_vrrp_demoted 1" || fail "4 metrics: lvsd_vrrp_demoted [$m]"
client_loop 10 "$TEST_TMP/loop2"
sleep 2
out=$(ctl 1 vrrp promote VI_1 2>&1) || fail "4 promote: $out"
if wait_for 10 eval 'has_vip d1 && ! has_vip d2'; then pass "4 promote: dir1 holds the VIP again $(secs "$WAITED") later"
else fail "4 promote: dir1 $(has_vip d1 && echo holds || echo lacks) the VIP"; fi
wait "$LOOP" 2>/dev/null
n=$(wc -l < "$TEST_TMP/loop2") f=$(grep -c FAIL "$TEST_TMP/loop2")
[ "$f" = 0 ] && [ "$n" -ge 20 ] && pass "4 promote: client loop: $n requests, none failed" || fail "4 promote: client loop: $f of $n failed"

summary operate
