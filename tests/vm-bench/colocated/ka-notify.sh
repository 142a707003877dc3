#!/bin/sh
# Seed 000's notify script, for the benchmark's keepalived directors: the VIP leaves lo when
# this node becomes MASTER (keepalived puts it on eth0) and goes back on lo otherwise, so the
# node serves as a DR real server. (Not run when keepalived stops: seed 000's complaint.)
VIP=10.90.0.100
case $1 in
  master) ip addr del $VIP/32 dev lo 2>/dev/null ;;
  backup|fault) ip addr add $VIP/32 dev lo label lo:0 2>/dev/null ;;
esac
exit 0
