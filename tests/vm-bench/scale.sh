#!/usr/bin/env bash
# scale.sh — issue 15's side-by-side figures at scale: keepalived 2.2.7 and lvsd on the same
# generated configuration (tests/vm-bench/gen.sh: 2,000 virtual servers x 18 real servers =
# 36,000 destinations, no checkers), one after the other in the same VM boot, each in a fresh
# network namespace (its own IPVS table), with the daemons' default settings.
# Per daemon:
#   start_ms      start -> all 36,000 destinations in the kernel (the last one seen by
#                 watch_dest, then all of them counted)
#   rss_start_kb  VmRSS of all the daemon's processes (keepalived: parent + checker child), once
#                 the daemon is idle again, 3 s later
#   w_ms w_user w_sys   SIGHUP with one weight changed -> the new weight in the kernel (seen by
#                 watch_dest, one netlink dump of the service every 10 ms; the CPU
#                 time (ticks of 10 ms, user / system) the daemon spent from the signal until it
#                 was idle again
#   a_ms a_user a_sys   the same for one real server added
#   rss_reload_kb VmRSS after the two reloads (idle, 3 s later)
#   o_ms o_user o_sys   one real server taken out of service the daemon's way (issue 17):
#                 keepalived: the configuration edited (big-minus1.conf) and SIGHUP; lvsd:
#                 `lvsd rs disable 10.100.4.1:80 172.20.0.8`, the configuration untouched ->
#                 the destination gone from the kernel; the CPU as for the reloads
# Between the daemons the first one's namespace is deleted and the script waits until the CPU is
# idle (the kernel frees 38,000 IPVS objects and their rate estimators in the background).
#
# With --checks: the same with a TCP_CHECK in every real server (gen.sh's big-tcp*.conf), answered by listen_many in a second namespace that owns all of 172.16.0.0/12
# (a local route): the 36,000 checks pass. Then the reload's CPU is not measured (the checks
# keep both daemons busy); instead `min_dests`: the fewest destinations seen in the kernel in
# the 5 s after each reload (a reload that flaps a checked server shows as fewer than 36,000).
#
# usage (in the IPVS VM, payload: lvsd, keepalived, watch_dest, big.conf, big-weight.conf,
# big-plus1.conf, big-minus1.conf; with --checks: big-tcp*.conf and listen_many):
#   scale.sh [--order keepalived,lvsd] [--lvsd PATH] [--keepalived PATH] [--checks]
# Prints one RESULT line per daemon.
set -uo pipefail
ORDER=keepalived,lvsd LVSD=./lvsd KA="" CHECKS=0
while [ $# -gt 0 ]; do
  case $1 in
    --checks) CHECKS=1; shift ;;
    --order) ORDER=$2; shift 2 ;;
    --lvsd) LVSD=$2; shift 2 ;;
    --keepalived) KA=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale: unknown argument $1" >&2; exit 2 ;;
  esac
done
. "$(dirname "$0")/../vm/lib.sh"
[ -n "$KA" ] || KA=$(command -v keepalived || echo ./keepalived)
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
LAST_VS=10.100.7.250:80                       # gen.sh's last virtual server (v = 1999)
TOTAL=36000

ticks() { # user system: of PID and its descendants
  local p f u=0 s=0
  for p in $(descendants "$1"); do
    f=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    f=${f##*) }; set -- $f
    u=$((u + ${12})); s=$((s + ${13}))
  done
  echo "$u $s"
}
rss_kb() {
  local p v s=0
  for p in $(descendants "$1"); do
    v=$(awk '$1 == "VmRSS:" { print $2 }' /proc/"$p"/status 2>/dev/null); s=$((s + ${v:-0}))
  done
  echo $s
}
# the daemon used no CPU for a whole second (at most 120 s); prints the ticks then
idle_ticks() {
  local a b
  a=$(ticks "$1")
  for _ in $(seq 1 120); do
    sleep 1; b=$(ticks "$1")
    [ "$a" = "$b" ] && break
    a=$b
  done
  echo "$b"
}
# the whole machine idle: < 5 % busy over a second (at most 120 s)
machine_idle() {
  local a b
  for _ in $(seq 1 120); do
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); busy = y[1] - x[1]; idle = y[2] - x[2]
      exit !(busy * 20 < busy + idle) }' && return 0
  done
  return 1
}
dests_of() { nsx "$1" ipvsadm -Ln -t "$2" 2>/dev/null | grep -c -- '->'; }
all_dests() { nsx "$1" cat /proc/net/ip_vs | grep -c -- '-> [0-9A-F]'; }   # (not the header's "-> RemoteAddress")
# poll every PAUSE s until COMMAND succeeds (at most S seconds); prints the milliseconds since
# T0. (Each poll runs ipvsadm, ~0.1 s of the one emulated CPU: the start, which takes seconds,
# is polled every 0.25 s so that the poll does not take the daemon's CPU.)
poll_ms() {
  local t0=$1 s=$2 pause=$3; shift 3
  local end=$(( ${EPOCHREALTIME/./} + s * 1000000 ))
  while ! "$@"; do
    [ "${EPOCHREALTIME/./}" -lt "$end" ] || { echo -1; return 1; }
    sleep "$pause"
  done
  ms_since "$t0"
}
table_complete() { [ "$(dests_of "$1" $LAST_VS)" -ge 18 ] && [ "$(all_dests "$1")" -ge $TOTAL ]; }

# watch NS SERVICE DEST WANT S: watch_dest in NS, started and ready; its PID in WATCH
watch() {
  : > "$TEST_TMP/watch.out"
  bg_start "$1" ./watch_dest "$2" "$3" "$4" 10 "$5" >"$TEST_TMP/watch.out"
  WATCH=${PIDS[-1]}
  for _ in $(seq 1 100); do grep -q '^ready' "$TEST_TMP/watch.out" && return 0; sleep 0.05; done
  echo "  note: watch_dest did not start" >&2
}
# MS: the milliseconds from T0 until the watcher saw the change (-1: not within its time).
# (Not called in a $(...) subshell: the watcher is a child of this shell, which waits for it.)
watched_ms() { # T0
  wait "$WATCH" 2>/dev/null
  local seen
  seen=$(sed -n 2p "$TEST_TMP/watch.out")
  bg_stop "$WATCH"
  MS=-1
  [ -n "$seen" ] && MS=$(( (${seen/./} - ${1/./}) / 1000 ))
}

# one SIGHUP after CONF is in place: prints "ms user system"
reload() { # NS PID CONF DEST WANT
  local ns=$1 pid=$2 conf=$3
  cp "$conf" "$TEST_TMP/cur.conf"
  sleep 1                      # (lvsd reads a file written < 100 ms ago only once it is stable)
  watch "$ns" 10.100.4.1:80 "$4" "$5" 300
  local c0 t0 ms c1
  c0=$(ticks "$pid"); t0=$EPOCHREALTIME
  kill -HUP "$pid"
  watched_ms "$t0"; ms=$MS
  c1=$(idle_ticks "$pid")
  set -- $c0 $c1
  # the idle second that ended the wait costs nothing; the poll's own commands are not the
  # daemon's
  echo "$ms $(($3 - $1)) $(($4 - $2))"
}

# one real server out of service, the daemon's way: prints "ms user system"
take_out() { # NS PID NAME
  local ns=$1 pid=$2 c0 t0 ms c1
  if [ "$3" = keepalived ]; then cp big-minus1.conf "$TEST_TMP/cur.conf"; sleep 1; fi
  watch "$ns" 10.100.4.1:80 172.20.0.8:8080 absent 300
  c0=$(ticks "$pid"); t0=$EPOCHREALTIME
  if [ "$3" = keepalived ]; then kill -HUP "$pid"
  else "$LVSD" rs disable --socket "$TEST_TMP/lvsd.sock" 10.100.4.1:80 172.20.0.8 > /dev/null; fi
  watched_ms "$t0"; ms=$MS
  c1=$(idle_ticks "$pid")
  set -- $c0 $c1
  echo "$ms $(($3 - $1)) $(($4 - $2))"
}

# the fewest destinations in NS's kernel table over 5 s
min_dests() {
  local ns=$1 m=999999 n end=$(( ${EPOCHREALTIME/./} + 5000000 ))
  while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    n=$(all_dests "$ns"); [ "$n" -lt "$m" ] && m=$n
  done
  echo $m
}
# with --checks: a SIGHUP after CONF is in place; prints "ms min_dests"
reload_checked() { # NS PID CONF DEST WANT
  local ns=$1 pid=$2 conf=$3
  cp "$conf" "$TEST_TMP/cur.conf"
  sleep 1
  # (keepalived 2.2.7 takes minutes here: given up after 90 s, printed as -1)
  watch "$ns" 10.100.4.1:80 "$4" "$5" 90
  local t0 ms
  t0=$EPOCHREALTIME
  kill -HUP "$pid"
  watched_ms "$t0"; ms=$MS
  echo "$ms $(min_dests "$ns")"
}
# with --checks: the real servers, every address of 172.16.0.0/12 on port 8080, in RNS
real_servers() { # NS RNS
  local ns=$1 rns=$2
  ns_add "$rns"
  nsx "$ns" ip link add rs0 type veth peer name rs1
  nsx "$ns" ip link set rs1 netns "$rns"
  nsx "$ns" ip addr add 10.99.0.1/24 dev rs0; nsx "$ns" ip link set rs0 up
  nsx "$rns" ip addr add 10.99.0.2/24 dev rs1; nsx "$rns" ip link set rs1 up
  nsx "$ns" ip route add 172.16.0.0/12 via 10.99.0.2
  nsx "$rns" ip route add local 172.16.0.0/12 dev lo
  nsx "$ns" sh -c 'echo 1024 65000 > /proc/sys/net/ipv4/ip_local_port_range'
  bg_start "$rns" ./listen_many --ports 8080-8080 --every 1 >"$TEST_TMP/listen.log" 2>&1
  for _ in $(seq 1 100); do grep -q '^listening' "$TEST_TMP/listen.log" && break; sleep 0.1; done
}

one() { # NAME
  local name=$1 ns=sc$$-$1 pid t0 start rs0 w a rs1 base=big
  ns_add "$ns"
  if [ $CHECKS = 1 ]; then base=big-tcp; real_servers "$ns" scr$$-$1; fi
  cp $base.conf "$TEST_TMP/cur.conf"
  # the last destination of the last virtual server, the last both daemons add
  watch "$ns" $LAST_VS 172.23.249.18:8080 present 300
  t0=$EPOCHREALTIME
  if [ "$name" = keepalived ]; then
    bg_start "$ns" "$KA" -n -l -C -f "$TEST_TMP/cur.conf" -p "$TEST_TMP/ka.pid" \
      -c "$TEST_TMP/ka.chk.pid" >"$TEST_TMP/$name.log" 2>&1
  else
    bg_start "$ns" "$LVSD" run -f "$TEST_TMP/cur.conf" --socket "$TEST_TMP/lvsd.sock" \
      --realserver-state "$TEST_TMP/rs.json" --state-dir "$TEST_TMP/state" >"$TEST_TMP/$name.log" 2>&1
  fi
  pid=${PIDS[-1]}
  watched_ms "$t0"; start=$MS
  # and all of them are there (else the time is until they are, polled)
  if [ "$start" != -1 ] && ! table_complete "$ns"; then
    echo "  note: $name's last destination came before the rest" >&2
    start=$(poll_ms "$t0" 300 0.25 table_complete "$ns")
  fi
  if [ $CHECKS = 1 ]; then
    sleep 20                   # two rounds of checks
    rs0=$(rss_kb "$pid")
    w=$(reload_checked "$ns" "$pid" big-tcp-weight.conf 172.20.0.8:8080 weight=5)
    a=$(reload_checked "$ns" "$pid" big-tcp-plus1.conf 172.31.255.254:8080 present)
    sleep 10
    rs1=$(rss_kb "$pid")
    set -- $w $a
    echo "RESULT daemon=$name checks=1 start_ms=$start rss_start_kb=$rs0 w_ms=$1 w_min_dests=$2 a_ms=$3 a_min_dests=$4 rss_reload_kb=$rs1 accepted=$(tail -n 1 "$TEST_TMP/listen.log" | awk '{ print $2 }') hz=$HZ"
    grep -ciE 'down|removing service|fail' "$TEST_TMP/$name.log" | sed 's/^/  log lines with down|removing service|fail: /'
    grep -iE 'down|removing service|fail' "$TEST_TMP/$name.log" | head -3 | sed 's/^/  | /'
    grep -E 'IPVS \((start|reload)\)|reloading|reload done|checkers:' "$TEST_TMP/$name.log" | sed 's/^.*INFO /  lvsd: /'
    stop_started; bg_stop "$pid"
    ns_del "$ns"; ns_del scr$$-$name
    machine_idle || echo "  note: the machine was not idle 120 s after $name"
    return
  fi
  idle_ticks "$pid" >/dev/null; sleep 3
  rs0=$(rss_kb "$pid")
  w=$(reload "$ns" "$pid" big-weight.conf 172.20.0.8:8080 weight=5)
  a=$(reload "$ns" "$pid" big-plus1.conf 172.31.255.254:8080 present)
  sleep 3
  rs1=$(rss_kb "$pid")
  o=$(take_out "$ns" "$pid" "$name")
  set -- $w $a $o
  echo "RESULT daemon=$name start_ms=$start rss_start_kb=$rs0 w_ms=$1 w_user=$2 w_sys=$3 a_ms=$4 a_user=$5 a_sys=$6 rss_reload_kb=$rs1 o_ms=$7 o_user=$8 o_sys=$9 hz=$HZ"
  [ "$start" = -1 ] || [ "$1" = -1 ] || [ "$4" = -1 ] && tail -n 20 "$TEST_TMP/$name.log" | sed 's/^/  | /'
  # lvsd's own account of where the time went
  grep -E 'IPVS \((start|reload)\)|reloading|reload done' "$TEST_TMP/$name.log" | sed 's/^.*INFO /  lvsd: /'
  stop_started; bg_stop "$pid"
  ns_del "$ns"
  machine_idle || echo "  note: the machine was not idle 120 s after $name"
}

machine_idle || echo "  note: the machine was not idle at the start"
for d in ${ORDER//,/ }; do one "$d"; done
