#!/usr/bin/env bash
# traffic.sh — real traffic through IPVS: a client, a director and two real servers (busybox
# httpd answering "rs1" / "rs2") in network namespaces on one bridge inside the IPVS VM; for each
# forwarding method the director's table is programmed, then 20 requests from the client to the
# VIP must all succeed and reach both real servers.
#
# usage: traffic.sh LVSD_CMD [nat|dr|tun]...
#   LVSD_CMD  `ipvsadm`: the director's table is built with ipvsadm commands (the harness's own
#             check); anything else is a command line run in the director's namespace with {}
#             replaced by the method's keepalived.conf (nat.conf, dr.conf, tun.conf beside this
#             script; appended when there is no {}), e.g. './lvsd ipvs apply -f {}'
#   methods   default: nat dr tun
#
# Lab (addresses as in nat.conf / dr.conf / tun.conf), rebuilt for each method:
#   tr-sw  bridge br0, one port per host
#   tr-c   client   10.98.0.10/24
#   tr-d   director 10.98.0.1/24 + 10.98.1.1/24 + VIP 10.98.0.100, ip_forward=1,
#          send_redirects=0 (one-arm NAT: a redirect would send the replies around the director)
#   tr-r1  10.98.1.11/24, tr-r2 10.98.1.12/24, default via the director, accept_redirects=0;
#          DR/TUN: VIP on lo, arp_ignore=1 / arp_announce=2, 10.98.0.0/24 on-link (replies go
#          straight to the client); TUN: tunl0 up (ipip), rp_filter=0
set -uo pipefail
. "$(dirname "$0")/lib.sh"
# (busybox 1.35's wget -T crashes on a timeout: timeout(1) bounds the requests instead)
HERE=$(cd "$(dirname "$0")" && pwd)

[ $# -ge 1 ] || { echo "usage: traffic.sh LVSD_CMD [nat|dr|tun]..." >&2; exit 2; }
LVSD_CMD=$1; shift
MODES=("$@"); [ ${#MODES[@]} -gt 0 ] || MODES=(nat dr tun)
VIP=10.98.0.100 REQUESTS=20
P=tr-

host() { # NAME ADDR... : a namespace on the bridge
  local n=$P$1; shift
  ns_add "$n"
  ip -n ${P}sw link add "p-$n" type veth peer name eth0 netns "$n"
  ip -n ${P}sw link set "p-$n" master br0 up
  local a; for a in "$@"; do ip -n "$n" addr add "$a" dev eth0; done
  ip -n "$n" link set eth0 up
}

lab_up() { # MODE
  local mode=$1 r
  ns_add ${P}sw
  ip -n ${P}sw link add br0 type bridge stp_state 0 forward_delay 0
  ip -n ${P}sw link set br0 up
  host c 10.98.0.10/24
  host d 10.98.0.1/24 10.98.1.1/24
  host r1 10.98.1.11/24
  host r2 10.98.1.12/24
  ip -n ${P}d addr add $VIP/24 dev eth0
  nsx ${P}d sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  for r in r1 r2; do
    nsx $P$r sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0
    ip -n $P$r route add default via 10.98.1.1
    if [ "$mode" != nat ]; then
      nsx $P$r sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
      ip -n $P$r addr add $VIP/32 dev lo
      ip -n $P$r route add 10.98.0.0/24 dev eth0
    fi
    if [ "$mode" = tun ]; then
      modprobe ipip 2>/dev/null
      ip -n $P$r link set tunl0 up
      nsx $P$r sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
    fi
    mkdir -p "$TEST_TMP/www-$r"; echo "rs${r#r}" > "$TEST_TMP/www-$r/index.html"
    local port=80; [ "$mode" = nat ] && port=8080
    bg_start $P$r busybox httpd -f -p $port -h "$TEST_TMP/www-$r"
    local _; for _ in $(seq 1 50); do
      nsx $P$r busybox wget -q -O /dev/null http://127.0.0.1:$port/ 2>/dev/null && break
      sleep 0.1
    done
  done
}

lab_down() {
  local p n
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do bg_stop "$p"; done
  for n in c d r1 r2 sw; do ns_del $P$n; done
}

program() { # MODE: the director's table, by ipvsadm or by LVSD_CMD
  local mode=$1 f
  if [ "$LVSD_CMD" = ipvsadm ]; then
    case $mode in nat) f=-m ;; dr) f=-g ;; tun) f=-i ;; esac
    local port=80; [ "$mode" = nat ] && port=8080
    nsx ${P}d ipvsadm -A -t $VIP:80 -s rr &&
    nsx ${P}d ipvsadm -a -t $VIP:80 -r 10.98.1.11:$port $f -w 1 &&
    nsx ${P}d ipvsadm -a -t $VIP:80 -r 10.98.1.12:$port $f -w 1
  else
    nsx ${P}d busybox sh -c "$(expand "$LVSD_CMD" "$HERE/$mode.conf")"
  fi
}

for mode in "${MODES[@]}"; do
  t=$EPOCHREALTIME
  lab_up "$mode"
  if ! out=$(program "$mode" 2>&1); then
    fail "$mode: programming the director failed: $LVSD_CMD"; printf '%s\n' "$out" | sed 's/^/    /'
    lab_down; continue
  fi
  res=$(nsx ${P}c busybox sh -c "for i in \$(seq $REQUESTS); do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL; done")
  n1=$(grep -cx rs1 <<< "$res") n2=$(grep -cx rs2 <<< "$res") nf=$(grep -c FAIL <<< "$res")
  conns=$(nsx ${P}d ipvsadm -Lnc | awk 'NR > 2 {print $3, $6}' | sort | uniq -c | awk '{printf "%s %s x%s; ", $2, $3, $1}')
  if [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && [ $((n1 + n2)) -eq $REQUESTS ]; then
    pass "$mode: $REQUESTS requests to $VIP: rs1 $n1, rs2 $n2 ($(ms_since "$t") ms)"
  else
    fail "$mode: $REQUESTS requests to $VIP: rs1 $n1, rs2 $n2, failed $nf"
    nsx ${P}d ipvsadm -Ln | sed 's/^/    /'
  fi
  note "connections: ${conns:-none}"
  lab_down
done
summary traffic
