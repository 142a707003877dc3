#!/usr/bin/env bash
# checkers.sh — the health-checker benchmark: one daemon (keepalived or lvsd) checks N real
# servers with TCP_CHECK every second; measured over a window after a warm-up: the daemon's CPU
# time (utime + stime of all its processes: keepalived has a checker child), its memory (VmRSS and
# VmHWM summed over them), and the checks per second that reached the real servers (counted by
# the listener; lvsd also reports its own count through `lvsd status --json`).
# Runs as root in the IPVS VM (tests/vm-bench/run-checkers.sh boots it once per measurement) or
# on the host kernel (run-checkers.sh --host: no IPVS there, lvsd logs that and checks on).
#
# usage: checkers.sh --daemon keepalived|lvsd --rs N [options]
#   --per-vs K            real servers per virtual server (default 100)
#   --ports-per-host P    real servers per listener address (default 1000): the N real servers are
#                         ceil(N/P) addresses x P ports, all served by one listen_many process
#   --delay-loop S        (1)   --connect-timeout S (1)
#   --warmup S            after the table is programmed (or the daemon started, without IPVS)
#                         (default 10)
#   --window S            the measurement (default 20)
#   --keepalived PATH     (default: keepalived on PATH, else ./keepalived)
#   --lvsd PATH           (default ./lvsd)      --listen PATH   listen_many (default ./listen_many)
#   --keep-conf FILE      also copy the generated configuration there
# Prints the run's notes and one line:
#   RESULT daemon=D rs=N where=vm|host start_s=S cpu_s=C cpu_user_s=U cpu_sys_s=K cpu_pct=P rss_kb=R hwm_kb=H
#          checks_per_s=X nominal_per_s=Y status_checks_per_s=Z|- procs=K
# Lab: namespaces cb<PID>-d (the daemon, 10.77.255.254/16) and cb<PID>-r (the real servers,
# 10.77.0.1 ... 10.77.0.H /16), one veth pair; all removed on exit, processes killed by PID.
set -uo pipefail
DAEMON="" N="" PER_VS=100 PPH=1000 DL=1 CT=1 WARMUP=10 WINDOW=20 KEEP_CONF=""
KA="" LVSD=./lvsd LISTEN=./listen_many
while [ $# -gt 0 ]; do
  case $1 in
    --daemon) DAEMON=$2; shift 2 ;;
    --rs) N=$2; shift 2 ;;
    --per-vs) PER_VS=$2; shift 2 ;;
    --ports-per-host) PPH=$2; shift 2 ;;
    --delay-loop) DL=$2; shift 2 ;;
    --connect-timeout) CT=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --keepalived) KA=$2; shift 2 ;;
    --lvsd) LVSD=$2; shift 2 ;;
    --listen) LISTEN=$2; shift 2 ;;
    --keep-conf) KEEP_CONF=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "checkers: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "checkers: $*" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -gt 0 ] || die "--rs N wanted"
case $DAEMON in
  keepalived) [ -n "$KA" ] || KA=$(command -v keepalived || echo ./keepalived); [ -x "$KA" ] || die "no keepalived ($KA)" ;;
  lvsd) [ -x "$LVSD" ] || die "no lvsd at $LVSD" ;;
  *) die "--daemon keepalived|lvsd" ;;
esac
[ -x "$LISTEN" ] || die "no listen_many at $LISTEN"
[ "$PPH" -gt "$N" ] && PPH=$N
HOSTS=$(( (N + PPH - 1) / PPH ))
[ "$HOSTS" -le 250 ] || die "more than 250 listener addresses: raise --ports-per-host"
FIRST_PORT=20000
WHERE=vm; [ -d /proc/sys/net/ipv4/vs ] || WHERE=host
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

T=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-chkbench.XXXXXX")
D=cb$$-d R=cb$$-r
LPID="" DPID=""
descendants() { # PID...: the PIDs and every descendant of them
  # (cat, not awk, reads /proc: busybox awk gives up on a file that vanished since the glob)
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots=" $* " '
    { s = $0; sub(/.*\) /, "", s); split(s, g, " "); pp[$1] = g[2] }   # after the (comm): state ppid
    END {
      n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1
      do { more = 0; for (p in pp) if (!(p in keep) && (pp[p] in keep)) { keep[p] = 1; more = 1 } } while (more)
      for (p in keep) print p
    }'
}
bench_cleanup() { # every process stopped first (keepalived's parent would respawn a killed
  local p q all     # child), then killed; each waited for, 5 s at most
  for p in $DPID $LPID; do   # (stderr: no "Killed" job notices)
    kill -0 "$p" 2>/dev/null || continue
    all=$(descendants "$p")
    for q in $all; do kill -STOP "$q" 2>/dev/null; done
    for q in $all; do kill -KILL "$q" 2>/dev/null; done
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null || wait "$p" 2>/dev/null
  done 2>/dev/null
  ip netns del $D 2>/dev/null; ip netns del $R 2>/dev/null
  rm -rf "$T"
}
trap bench_cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

# --- the lab ---
ip netns add $D && ip netns add $R || die "cannot create network namespaces (root?)"
ip -n $D link set lo up; ip -n $R link set lo up
ip -n $D link add eth0 type veth peer name eth0 netns $R
ip -n $D addr add 10.77.255.254/16 dev eth0
{ for h in $(seq 1 $HOSTS); do echo "addr add 10.77.0.$h/16 dev eth0"; done; } | ip -n $R -batch -
ip -n $D link set eth0 up; ip -n $R link set eth0 up
# plenty of source ports and file descriptors for thousands of connections a second
ip netns exec $D sh -c 'echo 1024 65000 > /proc/sys/net/ipv4/ip_local_port_range' 2>/dev/null

# --- the configuration: ceil(N / PER_VS) NAT virtual servers 10.78.x.y:80 ---
CONF=$T/checkers.conf
awk -v n="$N" -v per="$PER_VS" -v pph="$PPH" -v fp="$FIRST_PORT" -v dl="$DL" -v ct="$CT" 'BEGIN {
  print "global_defs {\n    router_id CHKBENCH\n}"
  for (i = 0; i < n; i++) {
    if (i % per == 0) {
      if (i > 0) print "}"
      v = i / per
      printf "virtual_server 10.78.%d.%d 80 {\n    delay_loop %s\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n", int(v / 250), v % 250 + 1, dl
    }
    printf "    real_server 10.77.0.%d %d {\n        weight 1\n        TCP_CHECK {\n            connect_timeout %s\n        }\n    }\n", int(i / pph) + 1, fp + i % pph, ct
  }
  print "}"
}' > "$CONF"
[ -n "$KEEP_CONF" ] && cp "$CONF" "$KEEP_CONF"

# --- the real servers ---
ip netns exec $R "$LISTEN" --ports "$FIRST_PORT-$((FIRST_PORT + PPH - 1))" --every 0.2 > "$T/listen.log" 2>&1 &
LPID=$!
for _ in $(seq 1 100); do grep -q '^listening' "$T/listen.log" && break; sleep 0.1; done
grep -q '^listening' "$T/listen.log" || { cat "$T/listen.log"; die "listen_many did not start"; }
accepted() { tail -n 1 "$T/listen.log" | awk '$1 == "accepted" { n = $2 } END { print n + 0 }'; }

# --- the daemon ---
T0=$EPOCHREALTIME
if [ "$DAEMON" = keepalived ]; then
  ip netns exec $D "$KA" -n -l -G -C -f "$CONF" -p "$T/ka.pid" -c "$T/ka-check.pid" > "$T/daemon.log" 2>&1 &
else
  ip netns exec $D "$LVSD" run -f "$CONF" --socket "$T/lvsd.sock" > "$T/daemon.log" 2>&1 &
fi
DPID=$!
ms_since() { echo $(( (${EPOCHREALTIME/./} - ${1/./}) / 1000 )); }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
# the table: every destination in the kernel (IPVS only; not on the host)
START_S=-
if [ $WHERE = vm ]; then
  dests() { ip netns exec $D ipvsadm -Ln 2>/dev/null | grep -c -- '->.*Masq'; }
  have=0
  for _ in $(seq 1 300); do
    have=$(dests); [ "$have" -ge "$N" ] && break
    kill -0 $DPID 2>/dev/null || break
    sleep 1
  done
  START_S=$(secs "$(ms_since "$T0")")
  echo "  $DAEMON: $have of $N destinations in the kernel after $START_S s"
  [ "$have" -ge "$N" ] || { tail -20 "$T/daemon.log"; die "the table was not programmed"; }
fi
kill -0 $DPID 2>/dev/null || { tail -20 "$T/daemon.log"; die "$DAEMON exited"; }
sleep "$WARMUP"
kill -0 $DPID 2>/dev/null || { tail -20 "$T/daemon.log"; die "$DAEMON exited during the warm-up"; }

# --- the measurement ---
cpu_ticks() { # utime stime of the daemon's processes
  local p u=0 s=0 f
  for p in $(descendants $DPID); do
    f=$(cat /proc/$p/stat 2>/dev/null) || continue
    f=${f##*) }; set -- $f
    u=$(( u + ${12} )); s=$(( s + ${13} ))
  done
  echo "$u $s"
}
mem_kb() { # FIELD: summed over the daemon's processes
  local p s=0 v
  for p in $(descendants $DPID); do
    v=$(awk -v k="$1:" '$1 == k { print $2 }' /proc/$p/status 2>/dev/null); s=$(( s + ${v:-0} ))
  done
  echo $s
}
status_checks() { # lvsd: the checks it counted (sum of every checker's "checks"), else -
  [ "$DAEMON" = lvsd ] || { echo -; return; }
  "$LVSD" status --json --socket "$T/lvsd.sock" 2>/dev/null | grep -o '"checks": *[0-9]*' |
    awk -F: '{ s += $2; n++ } END { if (n) print s; else print "-" }'
}
# (lvsd's status is read outside the window: serving it costs the daemon CPU time)
ws0=$EPOCHREALTIME s0=$(status_checks)
c0=$(cpu_ticks) a0=$(accepted) w0=$EPOCHREALTIME
sleep "$WINDOW"
c1=$(cpu_ticks) a1=$(accepted) w1=$EPOCHREALTIME
RSS=$(mem_kb VmRSS) HWM=$(mem_kb VmHWM) PROCS=$(descendants $DPID | wc -l)
s1=$(status_checks) ws1=$EPOCHREALTIME
kill -0 $DPID 2>/dev/null || echo "  note: $DAEMON exited during the measurement"
win_ms=$(( (${w1/./} - ${w0/./}) / 1000 ))
set -- $c0 $c1
CPU_U=$(awk -v t=$(($3 - $1)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
CPU_SYS=$(awk -v t=$(($4 - $2)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
CPU_S=$(awk -v t=$(($3 + $4 - $1 - $2)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
CPU_PCT=$(awk -v t=$(($3 + $4 - $1 - $2)) -v hz="$HZ" -v ms="$win_ms" 'BEGIN { printf "%.1f", t / hz * 100000 / ms }')
RATE=$(awk -v a=$((a1 - a0)) -v ms="$win_ms" 'BEGIN { printf "%.0f", a * 1000 / ms }')
SRATE=-
[ "$s0" != - ] && [ "$s1" != - ] &&
  SRATE=$(awk -v a=$((s1 - s0)) -v ms=$(( (${ws1/./} - ${ws0/./}) / 1000 )) 'BEGIN { printf "%.0f", a * 1000 / ms }')
NOMINAL=$(awk -v n="$N" -v dl="$DL" 'BEGIN { printf "%.0f", n / dl }')
errs=$(grep -ciE 'error|fail|timeout|refused' "$T/daemon.log")
echo "  $DAEMON: window $(secs $win_ms) s; log lines with error/fail/timeout/refused: $errs"
[ "$errs" -gt 0 ] && grep -iE 'error|fail|timeout|refused' "$T/daemon.log" | head -5 | sed 's/^/    | /'
echo "RESULT daemon=$DAEMON rs=$N where=$WHERE start_s=$START_S cpu_s=$CPU_S cpu_user_s=$CPU_U cpu_sys_s=$CPU_SYS cpu_pct=$CPU_PCT rss_kb=$RSS hwm_kb=$HWM checks_per_s=$RATE nominal_per_s=$NOMINAL status_checks_per_s=$SRATE procs=$PROCS"
