#!/usr/bin/env bash
# syncd.sh — IPVS connection synchronisation daemons started and stopped by lvsd, checked with
# `ipvsadm -L --daemon`, then end to end: connections made through a master director show up
# in a backup director's connection table.
#
# usage: syncd.sh [--ipvsadm]
#   --ipvsadm  drive the daemons with ipvsadm --start-daemon / --stop-daemon instead of lvsd
#              (the harness's own check)
# The commands under test (lvsd's CLI for this may change: edit here). {state} is master or
# backup, {ifname} the multicast interface, {syncid} the sync id.
SYNC_START='./lvsd ipvs sync start --state {state} --ifname {ifname} --syncid {syncid}'
SYNC_STOP='./lvsd ipvs sync stop --state {state}'
IPVSADM_START='ipvsadm --start-daemon {state} --mcast-interface {ifname} --syncid {syncid}'
IPVSADM_STOP='ipvsadm --stop-daemon {state}'
set -uo pipefail
. "$(dirname "$0")/lib.sh"

case ${1:-} in
  --ipvsadm) SYNC_START=$IPVSADM_START SYNC_STOP=$IPVSADM_STOP ;;
  "") ;;
  *) echo "usage: syncd.sh [--ipvsadm]" >&2; exit 2 ;;
esac

cmd() { # TEMPLATE STATE IFNAME SYNCID
  local c=${1//\{state\}/$2}; c=${c//\{ifname\}/${3:-}}; printf '%s' "${c//\{syncid\}/${4:-}}"
}
start() { local ns=$1; shift; nsx "$ns" busybox sh -c "$(cmd "$SYNC_START" "$@")" 2>&1; }
stop() { local ns=$1; nsx "$ns" busybox sh -c "$(cmd "$SYNC_STOP" "$2")" 2>&1; }
# "master eth0 5" per running daemon
daemons() { nsx "$1" ipvsadm -L --daemon | sed -E 's/^([a-z]+) sync daemon \(mcast=([^,]*), syncid=([0-9]+).*/\1 \2 \3/'; }

expect() { # NAME NS WANT (lines "state ifname syncid", sorted)
  local got; got=$(daemons "$2" | sort)
  if [ "$got" = "$3" ]; then pass "$1"
  else fail "$1: ipvsadm -L --daemon shows [${got//$'\n'/; }], want [${3//$'\n'/; }]"; fi
}

# ---- 1. start / stop / list ----------------------------------------------------------------------
ns_add sy
ip -n sy link add eth0 type dummy && ip -n sy link set eth0 up && ip -n sy addr add 10.97.9.1/24 dev eth0
if out=$(start sy master eth0 5); then expect "start master (eth0, syncid 5)" sy "master eth0 5"
else fail "start master: $(cmd "$SYNC_START" master eth0 5) failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi
if out=$(start sy backup eth0 5); then expect "start backup beside the master" sy $'backup eth0 5\nmaster eth0 5'
else fail "start backup: $(cmd "$SYNC_START" backup eth0 5) failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi
if start sy master eth0 6 > /dev/null; then fail "a second master daemon was accepted"
else pass "a second master daemon is refused (non-zero exit)"; fi
if out=$(stop sy master); then expect "stop master, the backup stays" sy "backup eth0 5"
else fail "stop master failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi
if out=$(stop sy backup); then expect "stop backup: no daemon left" sy ""
else fail "stop backup failed"; printf '%s\n' "$out" | sed 's/^/    /'; fi
if stop sy master > /dev/null; then fail "stopping a daemon that is not running succeeded"
else pass "stopping a daemon that is not running fails (non-zero exit)"; fi
if start sy master nosuchif 5 > /dev/null; then fail "a daemon on a missing interface was accepted"; stop sy master >/dev/null
else pass "a daemon on a missing interface is refused (non-zero exit)"; fi
ns_del sy

# ---- 2. end to end: connections through the master appear on the backup --------------------------
# bridge sw: client c 10.97.0.10, director d1 10.97.0.1 (VIP 10.97.0.100, sync master),
# director d2 10.97.0.2 (sync backup, same table), real server r 10.97.0.11 (DR, VIP on lo)
VIP=10.97.0.100
ns_add sw; ip -n sw link add br0 type bridge stp_state 0 forward_delay 0; ip -n sw link set br0 up
for h in c:10.97.0.10 d1:10.97.0.1 d2:10.97.0.2 r:10.97.0.11; do
  n=sy-${h%%:*}; ns_add $n
  ip -n sw link add p-$n type veth peer name eth0 netns $n; ip -n sw link set p-$n master br0 up
  ip -n $n addr add ${h#*:}/24 dev eth0; ip -n $n link set eth0 up
done
ip -n sy-d1 addr add $VIP/24 dev eth0
nsx sy-r sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
  net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
ip -n sy-r addr add $VIP/32 dev lo
mkdir -p "$TEST_TMP/www"; echo rs > "$TEST_TMP/www/index.html"
bg_start sy-r busybox httpd -f -p 80 -h "$TEST_TMP/www"
for d in d1 d2; do
  nsx sy-$d ipvsadm -A -t $VIP:80 -s rr && nsx sy-$d ipvsadm -a -t $VIP:80 -r 10.97.0.11:80 -g
done
if ! out=$(start sy-d1 master eth0 7) || ! out2=$(start sy-d2 backup eth0 7); then
  fail "end to end: starting the daemons failed"; printf '%s\n' "${out:-}" "${out2:-}" | sed 's/^/    /'
else
  for _ in $(seq 1 50); do nsx sy-r busybox wget -q -O /dev/null http://127.0.0.1/ 2>/dev/null && break; sleep 0.1; done
  ok=$(nsx sy-c busybox sh -c "for i in 1 2 3 4 5; do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null; done" | grep -c rs)
  got=0
  for _ in $(seq 1 40); do   # the master sends its buffer about once a second
    got=$(nsx sy-d2 ipvsadm -Lnc | awk -v v="$VIP:80" 'NR > 2 && $5 == v' | wc -l)
    [ "$got" -gt 0 ] && break
    sleep 0.25
  done
  if [ "$ok" = 5 ] && [ "$got" -gt 0 ]; then
    pass "end to end: 5 requests through the master, $got connection(s) synced to the backup"
  else
    fail "end to end: $ok/5 requests answered, $got connection(s) on the backup"
    nsx sy-d1 ipvsadm -Lnc | sed 's/^/    d1: /'; nsx sy-d2 ipvsadm -Lnc | sed 's/^/    d2: /'
  fi
  stop sy-d1 master > /dev/null; stop sy-d2 backup > /dev/null
fi
summary syncd
