#!/usr/bin/env bash
# Generates the IPVS benchmark inputs (2,000 virtual servers x 18 real servers = 36,000):
#   big.conf        keepalived.conf for `lvsd ipvs apply`
#   big-weight.conf the same with one real server's weight changed
#   big-plus1.conf  the same plus one real server
#   big-minus1.conf big-plus1.conf without one real server (172.20.0.8 of 10.100.4.1:80): the
#                   edit that takes it out of service with keepalived (issue 17)
#   big.ipvsadm     the same table for `ipvsadm -R`
#   big-tcp.conf    big.conf with a TCP_CHECK in every real server, delay_loop $TCP_DELAY
#                   (default 10; 4.5 MB)
#   big-tcp-weight.conf, big-tcp-plus1.conf   the same two changes with the TCP_CHECKs
# Usage: gen.sh OUTDIR [VS] [RS]
set -euo pipefail
out=$1; vs=${2:-2000}; rs=${3:-18}; tcp_delay=${TCP_DELAY:-10}
mkdir -p "$out"
awk -v vs="$vs" -v rs="$rs" -v out="$out" -v td="$tcp_delay" 'BEGIN {
  conf = out "/big.conf"; w = out "/big-weight.conf"; p = out "/big-plus1.conf"; r = out "/big.ipvsadm"; t = out "/big-tcp.conf"
  tw = out "/big-tcp-weight.conf"; tp = out "/big-tcp-plus1.conf"; m = out "/big-minus1.conf"
  chk = "        TCP_CHECK {\n            connect_timeout 3\n        }\n"
  for (v = 0; v < vs; v++) {
    vip = sprintf("10.%d.%d.%d", 100 + int(v / 62500), int(v / 250) % 250, v % 250 + 1)
    hdr = sprintf("virtual_server %s 80 {\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP\n", vip)
    printf "%s", hdr > conf; printf "%s", hdr > w; printf "%s", hdr > p; printf "%s", hdr > m
    thdr = sprintf("virtual_server %s 80 {\n    delay_loop %s\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP\n", vip, td)
    printf "%s", thdr > t; printf "%s", thdr > tw; printf "%s", thdr > tp
    printf "-A -t %s:80 -s wlc\n", vip > r
    for (i = 0; i < rs; i++) {
      rip = sprintf("172.%d.%d.%d", 16 + int(v / 250) % 16, v % 250, i + 1)
      body = sprintf("    real_server %s 8080 {\n        weight 1\n    }\n", rip)
      printf "%s", body > conf; printf "%s", body > p
      if (!(v == 1000 && i == 7)) printf "%s", body > m
      tbody = sprintf("    real_server %s 8080 {\n        weight 1\n%s    }\n", rip, chk)
      printf "%s", tbody > t; printf "%s", tbody > tp
      if (v == 1000 && i == 7) {
        printf "    real_server %s 8080 {\n        weight 5\n    }\n", rip > w
        printf "    real_server %s 8080 {\n        weight 5\n%s    }\n", rip, chk > tw
      } else { printf "%s", body > w; printf "%s", tbody > tw }
      printf "-a -t %s:80 -r %s:8080 -m -w 1\n", vip, rip > r
    }
    if (v == 1000) {
      printf "    real_server 172.31.255.254 8080 {\n        weight 1\n    }\n" > p
      printf "    real_server 172.31.255.254 8080 {\n        weight 1\n    }\n" > m
      printf "    real_server 172.31.255.254 8080 {\n        weight 1\n%s    }\n", chk > tp
    }
    printf "}\n" > conf; printf "}\n" > w; printf "}\n" > p; printf "}\n" > m; printf "}\n" > t; printf "}\n" > tw; printf "}\n" > tp
  }
}'
