#!/usr/bin/env bash
# metrics.sh — `lvsd run --metrics-listen` with real IPVS (issue 16): the kernel's counters per
# service and destination move with real traffic, the weights are the kernel's, and a drift
# repair after `ipvsadm -C` is counted; the scrape passes `promtool check metrics` when the VM
# has promtool, and every panel of the Grafana dashboard (contrib/grafana, as ./dashboard.json)
# returns data from a real Prometheus server scraping the director, when the VM has prometheus
# (run-tests.sh copies the host's). The lab of traffic.sh, NAT with a TCP_CHECK per real server
# and a VRRP instance (metrics.conf), the director run by `./lvsd run` (cwd = payload).
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
bg_start ${P}d ./lvsd run -f "$HERE/metrics.conf" --socket "$TEST_TMP/mt.sock" \
  --realserver-state "$TEST_TMP/mt.json" --drift-interval 1 --metrics-listen 127.0.0.1:9650 >"$LOG" 2>&1
if wait_for 20 sh -c "grep -q 'IPVS (start)' '$LOG'"; then pass "daemon programmed the table"; else
  fail "daemon never programmed the table"; cat "$LOG"; lab_down; summary metrics; exit 1; fi
wait_for 10 nsx ${P}d busybox wget -q -O /dev/null http://127.0.0.1:9650/ 2>/dev/null

ad=$(sum lvsd_reconciler_ipvs_operations_total 'kind="add_destination"')
as=$(sum lvsd_reconciler_ipvs_operations_total 'kind="add_service"')
[ "$ad" = 2 ] && [ "$as" = 1 ] && pass "operations counted by kind: add_service $as, add_destination $ad" ||
  fail "operations by kind: add_service $as, add_destination $ad (want 1 and 2)"
w=$(sum lvsd_ipvs_backend_weight 'remote_address="10.98.1.11"')
[ "$w" = 1 ] && pass "kernel weight of 10.98.1.11: 1" || fail "kernel weight of 10.98.1.11: $w"
c0=$(sum lvsd_ipvs_service_connections_total 'local_address="10.98.0.100",local_port="80"')
i0=$(sum lvsd_ipvs_service_incoming_packets_total 'local_port="80"')
o0=$(sum lvsd_ipvs_backend_outgoing_bytes_total 'remote_address="10.98.1.1')
res=$(nsx ${P}c busybox sh -c "for i in \$(seq $REQUESTS); do timeout 3 wget -q -O - http://$VIP/ 2>/dev/null || echo FAIL; done")
ok=$(grep -cE '^rs[12]$' <<< "$res")
[ "$ok" = $REQUESTS ] && pass "$REQUESTS requests through the director" || fail "requests: $ok of $REQUESTS"
num() { [ "$1" = none ] && echo -1000000 || echo "$1"; }   # (arithmetic on "none" would end the script)
# (the kernel folds its per-CPU counters into what it reports every 2 s: its rate estimator)
grown() { [ "$(sum lvsd_ipvs_service_connections_total 'local_address="10.98.0.100",local_port="80"')" = $(( $(num "$c0") + REQUESTS)) ]; }
[ "$c0" = none ] || wait_for 10 grown
c1=$(sum lvsd_ipvs_service_connections_total 'local_address="10.98.0.100",local_port="80"')
i1=$(sum lvsd_ipvs_service_incoming_packets_total 'local_port="80"')
o1=$(sum lvsd_ipvs_backend_outgoing_bytes_total 'remote_address="10.98.1.1')
if [ "$c0" != none ] && [ $(( $(num "$c1") - c0 )) -eq $REQUESTS ]; then
  pass "connections_total of the service: $c0 -> $c1"
else
  fail "connections_total of the service: $c0 -> $c1 (want +$REQUESTS)"
fi
# each request: at least SYN, ACK, the request, FIN in; the page out
[ "$i0" != none ] && [ $(( $(num "$i1") - i0 )) -ge $((REQUESTS * 3)) ] && pass "incoming packets: $i0 -> $i1" ||
  fail "incoming packets: $i0 -> $i1"
[ "$o0" != none ] && [ $(( $(num "$o1") - o0 )) -ge $((REQUESTS * 4)) ] && pass "outgoing bytes of the destinations: $o0 -> $o1" ||
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
[ "$r0" != none ] && [ $(( $(num "$r1") - r0 )) -ge 1 ] && pass "drift repairs counted: $r0 -> $r1" ||
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
# the dashboard: every panel's expression returns data from a real Prometheus
urlencode() { # the text on stdin, for a query string
  awk 'BEGIN { for (i = 0; i < 256; i++) ord[sprintf("%c", i)] = i }
    { s = $0; o = ""; for (i = 1; i <= length(s); i++) { c = substr(s, i, 1)
        if (c ~ /[A-Za-z0-9_.~-]/) o = o c; else o = o sprintf("%%%02X", ord[c]) }
      print o }'
}
if [ -x ./prometheus ] && [ -f ./dashboard.json ]; then
  mkdir -p "$TEST_TMP/prom"
  printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lvsd\n    static_configs:\n      - targets: [\x27127.0.0.1:9650\x27]\n' > "$TEST_TMP/prom.yml"
  bg_start ${P}d ./prometheus --config.file="$TEST_TMP/prom.yml" --storage.tsdb.path="$TEST_TMP/prom" \
    --web.listen-address=127.0.0.1:9090 >"$TEST_TMP/prom.log" 2>&1
  q() { nsx ${P}d busybox wget -q -O - "http://127.0.0.1:9090/api/v1/query?query=$(printf '%s' "$1" | urlencode)" 2>/dev/null; }
  ready() { q 'count_over_time(lvsd_up[1m]) > 5' | grep -q '"result":\[{'; }
  if wait_for 120 ready; then
    pass "Prometheus scrapes the director"
    n=0 bad=0
    # (a file, not <(...): the VM has no /dev/fd)
    sed -n 's/^ *"expr": "\(.*\)",\{0,1\}$/\1/p' ./dashboard.json | sed 's/\\"/"/g; s/\\\\/\\/g' > "$TEST_TMP/exprs"
    # one expression per line in the dashboard's JSON (\" and \\ unescaped)
    while IFS= read -r e; do
      n=$((n + 1))
      r=$(q "$e")
      if ! grep -q '"status":"success"' <<< "$r" || grep -q '"result":\[\]' <<< "$r"; then
        bad=$((bad + 1)); fail "dashboard panel's expression returns no data: $e"; note "${r:0:300}"
      fi
    done < "$TEST_TMP/exprs"
    [ "$n" -gt 0 ] && [ $bad = 0 ] && pass "every one of the dashboard's $n expressions returns data"
    [ "$n" -gt 0 ] || fail "no expression found in dashboard.json"
  else
    fail "Prometheus did not scrape the director within 120 s"; tail -n 20 "$TEST_TMP/prom.log" | sed 's/^/    | /'
  fi
else
  note "no ./prometheus or ./dashboard.json in the VM: the dashboard is not checked"
fi
lab_down
summary metrics
