#!/usr/bin/env bash
# Generates the IPVS benchmark inputs (2,000 virtual servers x 18 real servers = 36,000):
#   big.conf        keepalived.conf for `lvsd ipvs apply`
#   big-weight.conf the same with one real server's weight changed
#   big-plus1.conf  the same plus one real server
#   big.ipvsadm     the same table for `ipvsadm -R`
#   big-tcp.conf    big.conf with a TCP_CHECK in every real server (4.4 MB)
# Usage: gen.sh OUTDIR [VS] [RS]
set -euo pipefail
out=$1; vs=${2:-2000}; rs=${3:-18}
mkdir -p "$out"
awk -v vs="$vs" -v rs="$rs" -v out="$out" 'BEGIN {
  conf = out "/big.conf"; w = out "/big-weight.conf"; p = out "/big-plus1.conf"; r = out "/big.ipvsadm"; t = out "/big-tcp.conf"
  for (v = 0; v < vs; v++) {
    vip = sprintf("10.%d.%d.%d", 100 + int(v / 62500), int(v / 250) % 250, v % 250 + 1)
    hdr = sprintf("virtual_server %s 80 {\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP\n", vip)
    printf "%s", hdr > conf; printf "%s", hdr > w; printf "%s", hdr > p; printf "%s", hdr > t
    printf "-A -t %s:80 -s wlc\n", vip > r
    for (i = 0; i < rs; i++) {
      rip = sprintf("172.%d.%d.%d", 16 + int(v / 250) % 16, v % 250, i + 1)
      body = sprintf("    real_server %s 8080 {\n        weight 1\n    }\n", rip)
      printf "%s", body > conf; printf "%s", body > p
      printf "    real_server %s 8080 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n", rip > t
      if (v == 1000 && i == 7) printf "    real_server %s 8080 {\n        weight 5\n    }\n", rip > w
      else printf "%s", body > w
      printf "-a -t %s:80 -r %s:8080 -m -w 1\n", vip, rip > r
    }
    if (v == 1000) printf "    real_server 172.31.255.254 8080 {\n        weight 1\n    }\n" > p
    printf "}\n" > conf; printf "}\n" > w; printf "}\n" > p; printf "}\n" > t
  }
}'
