#!/usr/bin/env bash
# metrics.sh — `lvsd run --metrics-listen` with real IPVS (issue 16): the kernel's counters per
# service and destination move with real traffic, the weights are the kernel's, and a drift
# repair after `ipvsadm -C` is counted; the scrape passes `promtool check metrics` when the VM
# has promtool (run-tests.sh copies the host's). The lab of traffic.sh, NAT (nat.conf), the
# director run by `./lvsd run` (cwd = payload).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
VIP=10.98.0.100 REQUESTS=20
P=mt-
. "$HERE/traffic-lab.sh"

scrape() { nsx ${P}d busybox wget -q -O - http://127.0.0.1:9650/metrics 2>/dev/null; }
# SUM NAME FILTER: the sum of NAME's samples whose line contains FILTER
sum() {
  scrape | awk -v n="$1" -v f="$2" '{ split($1, a, "{") } a[1] == n && (f == "" || index($0, f)) { s += $NF; k++ }
    END { if (k) printf "%d\n", s; else print "none" }'
}

lab_up nat
LOG=$TEST_TMP/lvsd-metrics.log
bg_start ${P}d ./lvsd run -f "$HERE/nat.conf" --socket "$TEST_TMP/mt.sock" \
  --realserver-state "$TEST_TMP/mt.json" --drift-interval 1 --metrics-listen 127.0.0.1:9650 >"$LOG" 2>&1
if wait_for 20 sh -c "grep -q 'IPVS (start)' '$LOG'"; then pass "daemon programmed the table"; else
  fail "daemon never programmed the table"; cat "$LOG"; lab_down; summary metrics; exit 1; fi
wait_for 10 nsx ${P}d busybox wget -q -O /dev/null http://127.0.0.1:9650/ 2>/dev/null

w=$(sum lvsd_ipvs_backend_weight 'remote_address="10.98.1.11"')
[ "$w" = 1 ] && pass "kernel weight of 10.98.1.11: 1" || fail "kernel weight of 10.98.1.11: $w"
c0=$(sum lvsd_ipvs_service_connections_total 'local_address="10.98.0.100",local_port="80"')
i0=$(sum lvsd_ipvs_service_incoming_packets_total 'local_port="80"')
o0=$(sum lvsd_ipvs_backend_outgoing_bytes_total 'remote_address="10.98.1.1')
res=$(nsx ${P}c busybox sh -c "for i in \$(seq $REQUESTS); do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL; done")
ok=$(grep -cE '^rs[12]$' <<< "$res")
[ "$ok" = $REQUESTS ] && pass "$REQUESTS requests through the director" || fail "requests: $ok of $REQUESTS"
# (the kernel folds its per-CPU counters into what it reports every 2 s: its rate estimator)
grown() { [ "$(sum lvsd_ipvs_service_connections_total 'local_address="10.98.0.100",local_port="80"')" = $((c0 + REQUESTS)) ]; }
[ "$c0" = none ] || wait_for 10 grown
c1=$(sum lvsd_ipvs_service_connections_total 'local_address="10.98.0.100",local_port="80"')
i1=$(sum lvsd_ipvs_service_incoming_packets_total 'local_port="80"')
o1=$(sum lvsd_ipvs_backend_outgoing_bytes_total 'remote_address="10.98.1.1')
if [ "$c0" != none ] && [ $((c1 - c0)) -eq $REQUESTS ]; then
  pass "connections_total of the service: $c0 -> $c1"
else
  fail "connections_total of the service: $c0 -> $c1 (want +$REQUESTS)"
fi
# each request: at least SYN, ACK, the request, FIN in; the page out
[ "$i0" != none ] && [ $((i1 - i0)) -ge $((REQUESTS * 3)) ] && pass "incoming packets: $i0 -> $i1" ||
  fail "incoming packets: $i0 -> $i1"
[ "$o0" != none ] && [ $((o1 - o0)) -ge $((REQUESTS * 4)) ] && pass "outgoing bytes of the destinations: $o0 -> $o1" ||
  fail "outgoing bytes of the destinations: $o0 -> $o1"

r0=$(sum lvsd_reconciler_drift_repairs_total '')
nsx ${P}d ipvsadm -C
repaired() { [ "$(scrape | grep -c '^lvsd_ipvs_backend_weight')" = 2 ]; }
if wait_for 10 repaired; then
  pass "table repaired after ipvsadm -C (both destinations scraped again)"
else
  fail "no repair after ipvsadm -C"
  scrape | grep -E '^lvsd_(ipvs_backend_weight|reconciler)' | sed 's/^/    /'
  tail -n 15 "$LOG" | sed 's/^/    | /'
fi
r1=$(sum lvsd_reconciler_drift_repairs_total '')
[ "$r0" != none ] && [ $((r1 - r0)) -ge 1 ] && pass "drift repairs counted: $r0 -> $r1" ||
  fail "drift repairs: $r0 -> $r1"
if [ -x ./promtool ]; then
  scrape > "$TEST_TMP/scrape.txt"
  if out=$(./promtool check metrics < "$TEST_TMP/scrape.txt" 2>&1) && [ -z "$out" ]; then
    pass "promtool check metrics: a scrape with the IPVS families ($(wc -l < "$TEST_TMP/scrape.txt") lines)"
  else
    fail "promtool check metrics: $out"
  fi
else
  note "no ./promtool in the VM: the exposition format is checked on the host only"
fi
lab_down
summary metrics
