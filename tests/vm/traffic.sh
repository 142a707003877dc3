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
. "$HERE/traffic-lab.sh"

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
