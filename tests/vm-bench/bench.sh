#!/usr/bin/env bash
# Runs inside the VM (cwd = payload): lvsd ipvs apply vs ipvsadm -R on the generated table.
set -uo pipefail
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
timed() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>timed.err; local rc=$?; local t1=$EPOCHREALTIME; echo "$(ms "$t0" "$t1") $rc"; }
count() { ipvsadm -Ln | grep -c -- '->' ; }
ipvsadm -C
read -r full rc < <(timed ./lvsd ipvs apply -f big.conf); echo "lvsd apply, empty -> full: ${full} ms (rc $rc, $(count) destinations)"; cat timed.err
read -r same rc < <(timed ./lvsd ipvs apply -f big.conf); echo "lvsd apply, nothing changed: ${same} ms (rc $rc)"
read -r one rc < <(timed ./lvsd ipvs apply -f big-weight.conf); echo "lvsd apply, one weight changed: ${one} ms (rc $rc)"; cat timed.err
read -r add rc < <(timed ./lvsd ipvs apply -f big-plus1.conf); echo "lvsd apply, one real server added: ${add} ms (rc $rc)"; cat timed.err
ipvsadm -C
t0=$EPOCHREALTIME; ipvsadm -R < big.ipvsadm; t1=$EPOCHREALTIME
r=$(ms "$t0" "$t1"); echo "ipvsadm -R, empty -> full: ${r} ms ($(count) destinations)"
awk -v l="$full" -v r="$r" 'BEGIN { printf "ratio lvsd/ipvsadm (full apply): %.2f\n", l / r }'
ipvsadm -C
