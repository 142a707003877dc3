#!/usr/bin/env bash
# The lvsd lab: a small load-balanced web site in network namespaces on this machine (root needed).
#
#   scripts/lab.sh demo    build the lab, show election, balancing, health checks, failover; tear down
#   scripts/lab.sh up      build the lab and leave it running for experiments (logs in /tmp/lvsdlab)
#   scripts/lab.sh status  who holds the VIP, and each director's `lvsd status`
#   scripts/lab.sh down    stop what the lab started (by PID) and delete its namespaces
#
#   client 10.99.0.10 --> VIP 10.99.0.100:80 --> dir1 10.99.0.1 (VRRP priority 100, MASTER)
#                                                 dir2 10.99.0.2 (priority 90, BACKUP)
#                         IPVS rr, direct routing --> rs1 10.99.0.11, rs2 10.99.0.12 (busybox httpd)
#
# All on one bridge; namespaces lvsdlab-{br,client,dir1,dir2,rs1,rs2}, nothing else is touched.
# The directors run `lvsd run` with examples/lab/dir1.conf and dir2.conf; the real servers are set
# up by `lvsd realserver up` (VIP on lo, arp_ignore/arp_announce).
# A kernel without IPVS (modprobe ip_vs fails): `demo` runs inside the project's IPVS VM
# (scripts/vm/ipvs-vm.sh, Debian 12's kernel under QEMU); `up` needs IPVS here.
# Env: LVSD (the binary, default target/release/lvsd), LVSDLAB_RUN (default /tmp/lvsdlab).
set -euo pipefail
cd "$(dirname "$0")/.."
P=lvsdlab
RUN=${LVSDLAB_RUN:-/tmp/lvsdlab}
LVSD=${LVSD:-$PWD/target/release/lvsd}
CONF=$PWD/examples/lab
VIP=10.99.0.100
NODES="client dir1 dir2 rs1 rs2"
declare -A ADDR=([client]=10.99.0.10 [dir1]=10.99.0.1 [dir2]=10.99.0.2 [rs1]=10.99.0.11 [rs2]=10.99.0.12)
declare -A MAC=([client]=02:99:00:00:00:01 [dir1]=02:99:00:00:00:02 [dir2]=02:99:00:00:00:03
  [rs1]=02:99:00:00:00:04 [rs2]=02:99:00:00:00:05)

say() { printf '%s\n' "$*"; }
die() { printf 'lab: %s\n' "$*" >&2; exit 1; }
nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

have_ipvs() { { modprobe ip_vs 2>/dev/null || true; } && [ -e /proc/net/ip_vs ]; }

preflight() {
  [ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
  [ -x "$LVSD" ] || die "no lvsd binary at $LVSD: cargo build --release"
  command -v busybox >/dev/null || die "busybox missing (the web servers and the client use it): bash scripts/setup.sh"
  if ip netns list | grep -q "^$P-"; then
    die "a lab is already up (namespaces $P-*): scripts/lab.sh down first"
  fi
}

# ------------------------------------------------------------------------------------------------
# processes: each one started here has a pid file in $RUN; only those PIDs are ever signalled
# ------------------------------------------------------------------------------------------------
start() { # NAME NODE CMD...: run CMD in NODE's namespace, in the background; logs to $RUN/NAME.log
  local name=$1 node=$2; shift 2
  ip netns exec "$P-$node" "$@" >>"$RUN/$name.log" 2>&1 &   # (not nsx: $! must be the program)
  echo $! >"$RUN/$name.pid"
  disown
}

ours() { # NAME -> its PID, if the pid file's process is still the program we started
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && grep -qaE 'lvsd|busybox' "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

stop() { # NAME [SIGNAL]: signal our process, wait up to 3 s for it to go
  local pid i
  if pid=$(ours "$1"); then
    kill -"${2:-TERM}" "$pid" 2>/dev/null || true
    for i in $(seq 30); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  fi
  rm -f "$RUN/$1.pid"
}

# ------------------------------------------------------------------------------------------------
# the lab
# ------------------------------------------------------------------------------------------------
httpd_start() { # rs1|rs2
  start "$1-httpd" "$1" busybox httpd -f -p 80 -h "$RUN/www-$1"
  local i
  for i in $(seq 50); do
    nsx "$1" busybox wget -q -O /dev/null "http://127.0.0.1/" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$1's web server did not start (see $RUN/$1-httpd.log)"
}

director_start() { # dir1|dir2
  STARTED=$EPOCHREALTIME
  start "$1" "$1" "$LVSD" run -f "$CONF/$1.conf" --socket "$RUN/$1.sock"
}

up() {
  mkdir -p "$RUN"
  rm -f "$RUN"/*.log "$RUN"/*.sock
  ip netns add $P-br
  ip -n $P-br link add br0 type bridge
  ip -n $P-br link set br0 type bridge stp_state 0 forward_delay 0
  ip -n $P-br link set br0 up
  local n i=0
  for n in $NODES; do
    i=$((i + 1))
    ip netns add "$P-$n"
    nsx "$n" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6'
    ip -n "$P-$n" link set lo up
    ip -n $P-br link add "v$i" type veth peer name eth0 netns "$P-$n"
    ip -n $P-br link set "v$i" master br0 up
    ip -n "$P-$n" link set eth0 address "${MAC[$n]}"
    ip -n "$P-$n" addr add "${ADDR[$n]}/24" dev eth0
    ip -n "$P-$n" link set eth0 up
  done
  for n in rs1 rs2; do
    # DR: the VIP on lo (the server accepts the packets the director forwards unchanged), and no
    # ARP answers for it (only the VRRP master answers for the VIP)
    nsx "$n" "$LVSD" realserver up --vip $VIP --iface eth0 --state-file "$RUN/$n.realserver.json" \
      >"$RUN/$n.realserver.log" 2>&1 || { cat "$RUN/$n.realserver.log" >&2; die "lvsd realserver up failed in $n"; }
    mkdir -p "$RUN/www-$n"
    echo "Hello from $n (real server ${ADDR[$n]})" >"$RUN/www-$n/index.html"
    httpd_start "$n"
  done
  for n in dir1 dir2; do director_start "$n"; done
}

down() {
  local n
  for n in dir1 dir2 rs1-httpd rs2-httpd; do stop "$n"; done
  for n in br $NODES; do ip netns del "$P-$n" 2>/dev/null || true; done
  rm -rf "$RUN"/www-* "$RUN"/*.sock "$RUN"/*.realserver.json
}

holder() { # the directors that have the VIP on eth0
  local n h=""
  for n in dir1 dir2; do
    ip -n "$P-$n" -o addr show dev eth0 2>/dev/null | grep -q " $VIP/" && h="$h $n"
  done
  echo "${h# }"
}

status() {
  ip netns list | grep -q "^$P-" || { say "no lab is up (scripts/lab.sh up starts one)"; return 0; }
  say "VIP $VIP held by: $(holder || true)"
  local n
  for n in dir1 dir2; do
    [ -S "$RUN/$n.sock" ] || { say "--- $n: not running"; continue; }
    say "--- $n: lvsd status --socket $RUN/$n.sock"
    "$LVSD" status --socket "$RUN/$n.sock" || true
  done
}

# ------------------------------------------------------------------------------------------------
# the demo's helpers
# ------------------------------------------------------------------------------------------------
T0=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

wait_for() { # SECONDS COMMAND...: poll COMMAND until it succeeds; prints the time taken
  local t=$EPOCHREALTIME end=$(( ${EPOCHREALTIME/./} / 1000 + $1 * 1000 )); shift
  until "$@"; do
    (( ${EPOCHREALTIME/./} / 1000 < end )) || { since "$t"; return 1; }
    sleep 0.1
  done
  since "$t"
}

fetch() { # N: N requests from the client to the VIP; prints who answered (rs1, rs2 or FAIL)
  nsx client busybox sh -c "for i in \$(seq $1); do
      timeout 3 busybox wget -q -O - http://$VIP/ 2>/dev/null | grep -o 'rs[12]' || echo FAIL
    done" | tr '\n' ' '
}

# a real server's line in `lvsd status`: "    [10.99.0.11]:tcp:80   UP  weight 1 ..."
# shellcheck disable=SC2016  # an awk program
RS_LINE='{ a = $1; gsub(/[][]|:tcp/, "", a) } a == rs":80"'
rs_state() { # DIRECTOR RS: UP or DOWN as the director's `lvsd status` says
  "$LVSD" status --socket "$RUN/$1.sock" 2>/dev/null | awk -v rs="${ADDR[$2]}" "$RS_LINE"' { print $2; exit }'
}
rs_is() { [ "$(rs_state "$1" "$2")" = "$3" ]; }
vip_on() { [ "$(holder)" = "$1" ]; }

rs_lines() { # DIRECTOR RS: the real server's lines of the director's status (server + checkers)
  "$LVSD" status --socket "$RUN/$1.sock" 2>/dev/null | awk -v rs="${ADDR[$2]}" "$RS_LINE"' { p = 1; print; next }
    p && /^      / { print; next } { p = 0 }'
}

client_mac() { ip -n $P-client neigh show $VIP | awk '{ print $5 }'; }
who() { local n; for n in dir1 dir2; do [ "${MAC[$n]}" = "$1" ] && echo "$n"; done; }

step() { say ""; say "[$(since "$T0") s] $*"; }

demo() {
  exec 3>&1   # the trap may run while a helper's output is redirected
  trap 'down; say "lab down (namespaces $P-* deleted)" >&3' EXIT
  up
  say "== lvsd lab: a web site behind a VIP, two directors (VRRP + IPVS), two web servers =="
  say "   client ${ADDR[client]} -> VIP $VIP:80 -> master director -> rs1 ${ADDR[rs1]} or rs2 ${ADDR[rs2]}"
  say "   namespaces $P-*, logs in $RUN; about 30 s; Ctrl-C stops it (scripts/lab.sh down removes leftovers)"

  step "1. Election: both directors start as BACKUP; dir1 (priority 100) beats dir2 (90) after 3 adverts"
  local t
  wait_for 15 vip_on dir1 >/dev/null || die "no master after 15 s (logs: $RUN/dir1.log, $RUN/dir2.log)"
  say "   $(since "$STARTED") s after the start: dir1 is MASTER and holds the VIP; dir2 stays BACKUP"

  step "2. The client fetches http://$VIP/ 6 times (round robin: rs1 and rs2 take turns)"
  wait_for 10 rs_is dir1 rs2 UP >/dev/null || true
  say "   $(fetch 6)"
  say "   (one page: $(nsx client busybox wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL))"

  step "3. What dir1 knows: lvsd status --socket $RUN/dir1.sock"
  "$LVSD" status --socket "$RUN/dir1.sock" | sed 's/^/   /' || say "   (lvsd status failed)"

  step "4. rs1's web server stops; dir1's HTTP check (every 2 s) finds out and takes rs1 out of IPVS"
  stop rs1-httpd
  say "   right away, the requests IPVS still sends to rs1 fail: $(fetch 4)"
  if t=$(wait_for 20 rs_is dir1 rs1 DOWN); then
    say "   after $t s, dir1's status says:"
    rs_lines dir1 rs1 | sed 's/^/   /'
  else
    say "   rs1 still not DOWN after $t s (are health checks running? $RUN/dir1.log)"
  fi
  say "   now: $(fetch 6)"

  step "5. rs1's web server starts again"
  httpd_start rs1
  if t=$(wait_for 20 rs_is dir1 rs1 UP); then
    say "   after $t s: rs1 is UP again"
  else
    say "   rs1 still not UP after $t s ($RUN/dir1.log)"
  fi
  say "   now: $(fetch 6)"

  step "6. dir1 crashes (kill -9: no goodbye advert); dir2 waits 3 missed adverts, then takes over"
  stop dir1 KILL
  # shellcheck disable=SC2016  # expanded by eval, at each poll
  t=$(wait_for 15 eval '[[ " $(holder) " == *" dir2 "* ]]') || die "dir2 did not take over after $t s"
  sleep 0.3
  say "   after $t s: the VIP is on dir2 (dir1's crashed run left its copy behind, as keepalived's would)"
  say "   dir2's gratuitous ARPs moved the client: VIP -> $(client_mac) = $(who "$(client_mac)")"
  say "   requests keep working: $(fetch 6)"
  say "   dir2: $("$LVSD" status --socket "$RUN/dir2.sock" | awk '/^  VI_1/ { print $1, $2 }')," \
    "rs1 $(rs_state dir2 rs1), rs2 $(rs_state dir2 rs2)"

  step "7. Done: scripts/lab.sh down (directors and web servers stopped by PID, namespaces deleted)"
  say "   keep a lab running to experiment with: scripts/lab.sh up"
}

demo_in_vm() {
  [ -x "$LVSD" ] || die "no lvsd binary at $LVSD: cargo build --release"
  say "This kernel ($(uname -r)) has no IPVS (modprobe ip_vs fails), and the lab's directors program"
  say "IPVS. So the demo runs inside the project's IPVS VM: Debian 12's kernel under QEMU"
  say "(scripts/vm/ipvs-vm.sh; it boots in a few seconds, runs the demo, powers off). On a Debian 12"
  say "host the same demo runs directly in namespaces there."
  [ -f "${LVSD_VM_DIR:-${CARGO_TARGET_DIR:-target}/vm}/stamp" ] ||
    say "(first use: building the VM's kernel and initramfs first, about a minute: ipvs-vm.sh --build)"
  exec bash scripts/vm/ipvs-vm.sh -t 300 -x "$LVSD" -c scripts/lab.sh:scripts/lab.sh \
    -c examples/lab:examples/lab "LVSD=/payload/lvsd LVSDLAB_VM=1 bash scripts/lab.sh demo"
}

trap 'exit 130' INT
trap 'exit 143' TERM

case "${1:-demo}" in
  demo)
    if have_ipvs; then
      preflight
      demo
    elif [ -n "${LVSDLAB_VM:-}" ]; then
      die "no IPVS in the VM's kernel either ($(uname -r))"
    else
      demo_in_vm
    fi
    ;;
  up)
    have_ipvs || die "this kernel ($(uname -r)) has no IPVS (modprobe ip_vs fails), which the lab's
  directors need. A Debian 12 kernel has it. Here, 'scripts/lab.sh demo' runs the whole demo in a VM
  (scripts/vm/ipvs-vm.sh), but a lab that stays up cannot: the VM powers off after its command."
    preflight
    trap 'down' EXIT   # a failed setup leaves nothing behind
    up
    trap - EXIT
    say "lab up: client ${ADDR[client]}, directors dir1 ${ADDR[dir1]} / dir2 ${ADDR[dir2]}, VIP $VIP:80,"
    say "real servers rs1 ${ADDR[rs1]} / rs2 ${ADDR[rs2]} (namespaces $P-*). The election takes ~4 s."
    say "  watch:     scripts/lab.sh status"
    say "             $LVSD status --socket $RUN/dir1.sock"
    say "  fetch:     ip netns exec $P-client busybox wget -qO- http://$VIP/"
    say "  logs:      tail -f $RUN/dir1.log $RUN/dir2.log"
    say "  break it:  kill \$(cat $RUN/rs1-httpd.pid)      (rs1's web server; DOWN within ~4 s)"
    say "             kill -9 \$(cat $RUN/dir1.pid)        (the master; dir2 takes the VIP)"
    say "  IPVS:      ip netns exec $P-dir1 $LVSD ipvs list -n --stats"
    say "  stop:      scripts/lab.sh down"
    ;;
  status) status ;;
  down) down; say "lab down" ;;
  *) echo "usage: $0 demo|up|status|down" >&2; exit 2 ;;
esac
