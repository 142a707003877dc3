#!/usr/bin/env bash
# colocated.sh — measurements for issue 8 (directors that are also real servers): the forwarding
# loop of two DR directors that are real servers of their own virtual service, and the candidate
# mechanisms against it, with IPVS programmed by ipvsadm directly (no daemon). A measurement
# script: not in all.sh. Run it with
#   scripts/vm/ipvs-vm.sh --timeout 600 -x target/release/lvsd -c tests/vm:vm 'bash vm/colocated.sh'
# usage: colocated.sh [--requests N] [--verbose]   (N requests per scenario, default 60)
#
# Lab (one bridge, namespaces, every host's port eth0):
#   co-c   client 10.90.0.50/24 + six extra source addresses per scenario (rr spreads anyway);
#          its ARP entry for the VIP is static (points to dir1, or to dir2 where said)
#   co-d1  dir1 10.90.0.1, MAC 02:90:00:00:00:01: director (VIP 10.90.0.100 on eth0) + httpd "dir1"
#   co-d2  dir2 10.90.0.2, MAC 02:90:00:00:00:02: director + httpd "dir2", the VIP on lo as a DR
#          real server (arp_ignore=1, arp_announce=2 on all and eth0)
#   co-r3  rs3 10.90.0.3: a plain DR real server (VIP on lo), httpd "rs3"
# Scenarios (configurations in colocated/): A plain (services on both) — the loop must show;
# B services only on the master; C backup_only=1 + sync daemon backup on dir2; C0 backup_only=1
# without a sync daemon; D fwmark services + nft marks by peer MAC; SB / SD split brain (both
# hold the VIP on eth0, the client's ARP entry points to dir2) with B's and D's mechanism;
# E takeover in B's mechanism: time from ipvsadm -R on dir2 to a balanced request.
# Per scenario: requests ok/failed, answers per server, connections each director scheduled
# (ipvsadm -Ln --stats, Conns), client connections present in both directors' `ipvsadm -Lnc`,
# and eth0 packets sent by both directors (the loop's load).
# PASS/FAIL: A passes when the loop is observed (failures or connections balanced twice); the
# others pass when every request succeeds and no connection is balanced twice.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
N=60 VERBOSE=0
while [ $# -gt 0 ]; do
  case $1 in
    --requests) N=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "colocated: unknown argument $1" >&2; exit 2 ;;
  esac
done
P=co- VIP=10.90.0.100 D1=10.90.0.1 D2=10.90.0.2 R3=10.90.0.3
MAC1=02:90:00:00:00:01 MAC2=02:90:00:00:00:02
PER_SRC=$(( (N + 5) / 6 ))
# (host, bridge_up; this script's own round and checks below replace the library's)
. "$(dirname "$0")/colocated-lib.sh"

colo_cleanup() {
  local d
  for d in d1 d2; do
    ip netns exec $P$d ipvsadm --stop-daemon master 2>/dev/null
    ip netns exec $P$d ipvsadm --stop-daemon backup 2>/dev/null
  done
  cleanup
}
trap colo_cleanup EXIT

rs_sysctls() { nsx "$1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
  net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2; }
lab_up() {
  bridge_up
  host c 10.90.0.50
  host d1 $D1 $MAC1
  host d2 $D2 $MAC2
  host r3 $R3
  local n
  for n in d1 d2 r3; do rs_sysctls $P$n; done
  ip -n ${P}d1 addr add $VIP/24 dev eth0          # the master: the VIP on eth0
  ip -n ${P}d2 addr add $VIP/32 dev lo            # the backup: a DR real server
  ip -n ${P}r3 addr add $VIP/32 dev lo
  httpd ${P}d1 dir1 && httpd ${P}d2 dir2 && httpd ${P}r3 rs3
}

# --- the directors' state ---
ipvs_load() { grep -v '^#' "$HERE/colocated/$2.conf" | nsx "$1" ipvsadm -R; }   # NS plain|fwmark
ipvs_clear() { nsx "$1" ipvsadm -C; }
nft_load() { nsx "$P$1" nft -f "$HERE/colocated/nft-dir${1#d}.conf"; }
nft_clear() { nsx "$P$1" nft delete table ip colocated 2>/dev/null || true; }
vip_to() { # d1|d2 eth0|lo
  ip -n "$P$1" addr del $VIP/24 dev eth0 2>/dev/null; ip -n "$P$1" addr del $VIP/32 dev eth0 2>/dev/null
  ip -n "$P$1" addr del $VIP/32 dev lo 2>/dev/null
  if [ "$2" = eth0 ]; then ip -n "$P$1" addr add $VIP/24 dev eth0; else ip -n "$P$1" addr add $VIP/32 dev lo; fi
}
client_arp() { # MAC: the client's static ARP entry for the VIP
  ip -n ${P}c neigh replace $VIP lladdr "$1" dev eth0 nud permanent
}
sched_of() { # NS -> connections scheduled so far (all services)
  nsx "$1" ipvsadm -Ln --stats 2>/dev/null | awk '/^(TCP|UDP|SCTP|FWM) / { n += $3 } END { print n + 0 }'
}
txp() { nsx "$1" cat /sys/class/net/eth0/statistics/tx_packets; }
conns() { # NS SRCPREFIX -> "source destination" of the connections from the scenario's sources
  nsx "$1" ipvsadm -Lnc 2>/dev/null | awk -v p="$2" 'NR > 2 && index($4, p) == 1 { print $4, $6 }' | sort -u
}

# --- a scenario round ---
# round NAME BASE: N requests from 10.90.0.BASE..BASE+5 (PER_SRC each); sets R_* and prints a line
R_OK=0 R_FAIL=0 R_D1=0 R_D2=0 R_R3=0 R_S1=0 R_S2=0 R_TWICE=0 R_BOTH=0 R_TX=0 R_SYNCED=0 R_MS=0
round() {
  local name=$1 base=$2 srcs="" i s1 s2 t1 t2 res t
  for i in 0 1 2 3 4 5; do srcs+="10.90.0.$((base + i)) "; ip -n ${P}c addr add "10.90.0.$((base + i))/24" dev eth0 2>/dev/null; done
  s1=$(sched_of ${P}d1) s2=$(sched_of ${P}d2) t1=$(txp ${P}d1) t2=$(txp ${P}d2)
  t=$EPOCHREALTIME
  res=$(nsx ${P}c busybox sh -c "for s in $srcs; do
      ip route replace $VIP/32 dev eth0 src \$s || { echo FAIL; continue; }
      for j in \$(seq $PER_SRC); do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL; done
    done")
  R_MS=$(ms_since "$t")
  sleep 1.5   # let looping packets die out and the sync master send its buffer
  R_D1=$(grep -cx dir1 <<< "$res") R_D2=$(grep -cx dir2 <<< "$res") R_R3=$(grep -cx rs3 <<< "$res")
  R_OK=$((R_D1 + R_D2 + R_R3)) R_FAIL=$((6 * PER_SRC - R_OK))
  R_S1=$(( $(sched_of ${P}d1) - s1 )) R_S2=$(( $(sched_of ${P}d2) - s2 ))
  R_TX=$(( $(txp ${P}d1) - t1 + $(txp ${P}d2) - t2 ))
  # the client sends to one director only: what the other scheduled is balanced a second time
  R_TWICE=$(( R_S1 < R_S2 ? R_S1 : R_S2 ))
  local pfx="10.90.0.$((base / 10))"   # (sources of one scenario share a 10-block: .51-.56 etc.)
  conns ${P}d1 "$pfx" > "$TEST_TMP/$name.d1"; conns ${P}d2 "$pfx" > "$TEST_TMP/$name.d2"
  # client connections (source ip:port) in both tables; synced copies (same destination) apart
  cut -d' ' -f1 "$TEST_TMP/$name.d1" | sort -u > "$TEST_TMP/$name.s1"
  cut -d' ' -f1 "$TEST_TMP/$name.d2" | sort -u > "$TEST_TMP/$name.s2"
  R_BOTH=$(cat "$TEST_TMP/$name.s1" "$TEST_TMP/$name.s2" | sort | uniq -d | wc -l)
  R_SYNCED=$(cat "$TEST_TMP/$name.d1" "$TEST_TMP/$name.d2" | sort | uniq -d | wc -l)
  echo "  $name: $((6 * PER_SRC)) requests in $(( R_MS / 1000 )).$(( R_MS % 1000 / 100 )) s: ok $R_OK (dir1 $R_D1, dir2 $R_D2, rs3 $R_R3), failed $R_FAIL;" \
    "scheduled: dir1 $R_S1, dir2 $R_S2 (balanced twice: $R_TWICE); in both -Lnc: $R_BOTH (same destination: $R_SYNCED);" \
    "eth0 packets sent by the directors: $R_TX"
  local d
  for d in d1 d2; do
    echo "    $d -Lnc by destination: $(cut -d' ' -f2 "$TEST_TMP/$name.$d" | sort | uniq -c | awk '{ printf "%s %s; ", $2, $1 }')"
    [ $VERBOSE = 1 ] && nsx $P$d ipvsadm -Lnc | sed "s/^/    $d| /"
  done
}
no_loop() { # NAME WHAT: PASS when all succeeded and nothing was balanced twice
  if [ "$R_FAIL" = 0 ] && [ "$R_TWICE" = 0 ] && [ $((R_BOTH - R_SYNCED)) -le 0 ]; then
    pass "$1 no loop ($2): $R_OK/$((6 * PER_SRC)) ok, dir1 $R_D1 dir2 $R_D2 rs3 $R_R3, balanced twice 0"
  else
    fail "$1 ($2): failed $R_FAIL, balanced twice $R_TWICE, in both tables $R_BOTH (synced copies $R_SYNCED)"
  fi
}

# ===============================================================================================
echo "colocated: kernel $(uname -r); $((6 * PER_SRC)) requests per scenario"
if ! lab_up; then fail "setup: httpd did not start"; summary colocated; exit 1; fi
[ -n "$(nsx ${P}d1 sysctl -n net.ipv4.vs.backup_only 2>/dev/null)" ] || nsx ${P}d1 ipvsadm -Ln > /dev/null  # loads ip_vs

# --- A. plain: services on both directors ---
client_arp $MAC1
ipvs_load ${P}d1 plain; ipvs_load ${P}d2 plain
round A 51
if { [ "$R_FAIL" -gt 0 ] && [ "$R_OK" -gt 0 ]; } || [ "$R_TWICE" -gt 0 ]; then
  pass "A loop without a mechanism: observed (failed $R_FAIL of $((6 * PER_SRC)), dir2 balanced again $R_TWICE connections dir1 had sent it, $R_TX packets sent)"
else
  fail "A loop without a mechanism: not observed (all $R_OK ok, nothing balanced twice)"
fi

# --- B. services only on the master ---
ipvs_clear ${P}d2
round B 61
no_loop B "services only on the master"

# --- C0. backup_only=1 without a sync daemon (the sysctl alone) ---
ipvs_load ${P}d2 plain
nsx ${P}d2 sysctl -qw net.ipv4.vs.backup_only=1
round C0 71
if [ "$R_TWICE" -gt 0 ] || [ "$R_FAIL" -gt 0 ]; then
  note "C0: backup_only=1 without a backup sync daemon does not stop the director function (loop: failed $R_FAIL, twice $R_TWICE)"
else
  note "C0: backup_only=1 alone already stops the director function"
fi

# --- C. backup_only=1 with the sync daemon: dir1 master, dir2 backup ---
nsx ${P}d1 ipvsadm --start-daemon master --mcast-interface eth0 --syncid 1 &&
  nsx ${P}d2 ipvsadm --start-daemon backup --mcast-interface eth0 --syncid 1 || fail "C: starting the sync daemons"
note "C: dir1 $(nsx ${P}d1 ipvsadm -L --daemon | tr '\n' ' '); dir2 $(nsx ${P}d2 ipvsadm -L --daemon | tr '\n' ' '); dir2 backup_only=$(nsx ${P}d2 sysctl -n net.ipv4.vs.backup_only)"
round C 81
no_loop C "backup_only=1 + sync daemon backup on dir2"
note "C: connections synced to dir2 (same source and destination as on dir1): $R_SYNCED of dir1's $(wc -l < "$TEST_TMP/C.d1")"
# does the synced table help a takeover? dir2 leaves backup mode: the synced entries stay
nsx ${P}d2 ipvsadm --stop-daemon backup; nsx ${P}d2 sysctl -qw net.ipv4.vs.backup_only=0
note "C: after --stop-daemon backup and backup_only=0 on dir2: $(conns ${P}d2 10.90.0.8 | wc -l) of C's synced connection entries kept in dir2's table"
nsx ${P}d1 ipvsadm --stop-daemon master
ipvs_clear ${P}d1; ipvs_clear ${P}d2

# --- D. fwmark services + nft marks by peer MAC (seed 000's fix) ---
ipvs_load ${P}d1 fwmark; ipvs_load ${P}d2 fwmark; nft_load d1; nft_load d2
round D 91
no_loop D "fwmark services on both + nft marks unless from the peer's MAC"

# --- split brain: both hold the VIP on eth0, the client's ARP entry points to dir2 ---
vip_to d2 eth0; client_arp $MAC2
round SD 101
no_loop SD "split brain, D's mechanism"
nft_clear d1; nft_clear d2; ipvs_clear ${P}d1; ipvs_clear ${P}d2
ipvs_load ${P}d1 plain; ipvs_load ${P}d2 plain   # B's mechanism: both think they are master
round SB 111
if [ "$R_FAIL" -gt 0 ] || [ "$R_TWICE" -gt 0 ]; then
  note "SB: split brain with B's mechanism (services on both masters) loops: failed $R_FAIL, balanced twice $R_TWICE"
else
  note "SB: split brain with B's mechanism: no loop observed"
fi

# --- E. takeover in B's mechanism: dir2 becomes master, dir1 backup ---
ipvs_clear ${P}d1; ipvs_clear ${P}d2; vip_to d1 lo   # dir1 now a real server; dir2 holds the VIP
T=$EPOCHREALTIME; ipvs_load ${P}d2 plain; APPLY=$(ms_since "$T")
balanced() { nsx ${P}c busybox sh -c "for i in 1 2 3; do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null; done" | grep -qx -e dir1 -e rs3; }
T2=$EPOCHREALTIME; balanced; FIRST=$(ms_since "$T")
note "E: ipvsadm -R of the service (4 commands, one exec) on dir2: ${APPLY} ms (exec under emulation included); a request balanced to another server ${FIRST} ms after its start"
ipvs_clear ${P}d2
T=$EPOCHREALTIME
nsx ${P}d2 ipvsadm -A -t $VIP:80 -s rr && for r in $D1 $D2 $R3; do nsx ${P}d2 ipvsadm -a -t $VIP:80 -r $r:80 -g; done
note "E: the same as 4 ipvsadm execs: $(ms_since "$T") ms"
ip -n ${P}c route replace $VIP/32 dev eth0 src 10.90.0.50
round E 121
no_loop E "after takeover: dir2 master with services, dir1 real server without"

summary colocated
