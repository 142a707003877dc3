#!/usr/bin/env bash
# Two lvsd directors and a client in network namespaces on this machine (root needed).
#
#   scripts/lab.sh demo    up, show the election, crash the master, show the failover, down
#   scripts/lab.sh up      namespaces + bridge + both directors running (logs in /tmp/lvsdlab)
#   scripts/lab.sh status  who holds the VIP, each director's `status` over its control socket
#   scripts/lab.sh down    stop the directors (by PID) and delete the namespaces
#
# Only namespaces this script creates are touched: lvsdlab-{br,client,dir1,dir2}.
# Directors: 10.99.0.1 (priority 100), 10.99.0.2 (priority 90); VIP 10.99.0.100; client 10.99.0.10.
set -euo pipefail
cd "$(dirname "$0")/.."
P=lvsdlab
RUN=/tmp/lvsdlab
LVSD=${LVSD:-$PWD/target/release/lvsd}
VIP=10.99.0.100

up() {
  [ -x "$LVSD" ] || { echo "build first: cargo build --release" >&2; exit 1; }
  mkdir -p "$RUN"
  ip netns add $P-br
  ip -n $P-br link add br0 type bridge
  ip -n $P-br link set br0 type bridge stp_state 0 forward_delay 0
  ip -n $P-br link set br0 up
  local i=0
  for n in client dir1 dir2; do
    i=$((i + 1))
    ip netns add $P-$n
    ip netns exec $P-$n sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6'
    ip -n $P-$n link set lo up
    ip -n $P-br link add v$i type veth peer name eth0 netns $P-$n
    ip -n $P-br link set v$i master br0 up
    ip -n $P-$n link set eth0 address 02:99:00:00:00:0$i
    ip -n $P-$n link set eth0 up
  done
  ip -n $P-client addr add 10.99.0.10/24 dev eth0
  ip -n $P-dir1 addr add 10.99.0.1/24 dev eth0
  ip -n $P-dir2 addr add 10.99.0.2/24 dev eth0
  for n in dir1 dir2; do
    ip netns exec $P-$n "$LVSD" run -f examples/lab/$n.conf --socket $RUN/$n.sock >$RUN/$n.log 2>&1 &
    echo $! >$RUN/$n.pid
    disown
  done
  echo "lab up: logs in $RUN/dir1.log and $RUN/dir2.log"
}

holder() {
  for n in dir1 dir2; do
    if ip -n $P-$n -o addr show dev eth0 2>/dev/null | grep -q " $VIP/"; then echo -n "$n "; fi
  done
  echo
}

status() {
  echo "VIP $VIP held by: $(holder)"
  for n in dir1 dir2; do
    [ -S $RUN/$n.sock ] || continue
    printf '%s: ' $n
    echo status | ip netns exec $P-$n socat - UNIX-CONNECT:$RUN/$n.sock 2>/dev/null \
      || python3 -c "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect('$RUN/$n.sock');s.sendall(b'status\n');print(s.makefile().readline().strip())"
  done
}

down() {
  for n in dir1 dir2; do
    if [ -f $RUN/$n.pid ]; then kill "$(cat $RUN/$n.pid)" 2>/dev/null || true; rm -f $RUN/$n.pid; fi
  done
  sleep 0.3
  for n in br client dir1 dir2; do ip netns del $P-$n 2>/dev/null || true; done
}

now() { date +%s.%N; }

wait_holder() { # node timeout-seconds: waits until node holds the VIP
  local t0; t0=$(now)
  until holder | grep -qw "$1"; do
    sleep 0.02
    if awk "BEGIN{exit !($(now) - $t0 > $2)}"; then echo "timeout waiting for $1"; return 1; fi
  done
  echo "  after $(awk "BEGIN{printf \"%.2f\", $(now) - $t0}") s: VIP on $1 (holders: $(holder))"
}

mac_of_vip() { # the MAC the client uses for the VIP
  ip netns exec $P-client bash -c "echo x > /dev/udp/$VIP/9" 2>/dev/null || true
  sleep 0.2
  ip -n $P-client neigh show $VIP | awk '{print $5}'
}

demo() {
  trap down EXIT
  up
  echo "election (both start in BACKUP; the higher priority wins after 3 x advert + skew = 3.61 s):"
  wait_holder dir1 10
  echo "  the client reaches $VIP at $(mac_of_vip) (dir1 is 02:99:00:00:00:02)"
  echo "crash of dir1 (SIGKILL: no goodbye; like keepalived, the dead node keeps its VIP):"
  kill -9 "$(cat $RUN/dir1.pid)"; rm -f $RUN/dir1.pid
  wait_holder dir2 10
  sleep 0.3
  echo "  gratuitous ARP moved the client to $(ip -n $P-client neigh show $VIP | awk '{print $5}') (dir2 is 02:99:00:00:00:03)"
  echo "dir1 comes back: it removes the VIP its crashed run left behind, then preempts:"
  ip netns exec $P-dir1 "$LVSD" run -f examples/lab/dir1.conf --socket $RUN/dir1.sock >>$RUN/dir1.log 2>&1 &
  echo $! >$RUN/dir1.pid
  disown
  sleep 1
  echo "  holders after 1 s: $(holder)"
  until [ "$(holder)" = "dir1 " ]; do sleep 0.05; done
  echo "  holders now: $(holder)"
  status
  echo "--- dir2's log:"; cat $RUN/dir2.log
}

case "${1:-demo}" in
  up) up ;;
  down) down ;;
  status) status ;;
  demo) demo ;;
  *) echo "usage: $0 demo|up|status|down" >&2; exit 2 ;;
esac
