#!/usr/bin/env bash
# idle.sh — idle wake-ups (issue 14): how often a director with nothing to do is scheduled,
# keepalived 2.2.7 and one or more lvsd binaries on the same configuration, in the same VM boot.
# The configuration: one VRRP instance (VRRPv2, advert 1 s, MASTER alone on a veth) and one DR
# virtual server with two real servers and no checker, so what remains is the protocol's own
# timer and whatever the daemon adds (the old IPVS task polled its channel every 20 ms).
# Figure: context switches (voluntary + involuntary) of every thread of every process of the
# daemon per second over a window after a settling time; median of the runs.
#
# usage (in the IPVS VM, see tests/vm-bench/README or BENCHMARKS.md):
#   idle.sh [--window S] [--settle S] [--runs N] [--keepalived PATH] LVSD...
# Prints one RESULT line per daemon: RESULT daemon=NAME median=X runs=a,b,c
set -uo pipefail
WINDOW=10 SETTLE=4 RUNS=3 KA=""
LVSDS=()
while [ $# -gt 0 ]; do
  case $1 in
    --window) WINDOW=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --keepalived) KA=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) LVSDS+=("$1"); shift ;;
  esac
done
. "$(dirname "$0")/../vm/lib.sh"
[ -n "$KA" ] || KA=$(command -v keepalived || echo ./keepalived)
D=idl$$-d P=idl$$-p
ns_add $D; ns_add $P
ip link add eth0 netns $D type veth peer name eth0 netns $P
ip -n $D addr add 10.99.0.1/24 dev eth0; ip -n $D link set eth0 up
ip -n $P addr add 10.99.0.2/24 dev eth0; ip -n $P link set eth0 up
cat > "$TEST_TMP/idle.conf" <<'CONF'
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.99.0.100/24 dev eth0
  }
}
virtual_server 10.99.0.100 80 {
  delay_loop 5
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.99.0.11 80 {
    weight 1
  }
  real_server 10.99.0.12 80 {
    weight 1
  }
}
CONF

# every thread's context switches of PID and its children, summed
switches() {
  local p t n=0 v
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    for t in /proc/"$p"/task/*; do
      v=$(awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null)
      n=$((n + ${v:-0}))
    done
  done
  echo $n
}

one() { # NAME CMD... -> wake-ups per second (x10, integer)
  local name=$1; shift
  bg_start $D "$@" >"$TEST_TMP/$name.log" 2>&1
  local pid=${PIDS[-1]}
  sleep "$SETTLE"
  local a b
  a=$(switches "$pid"); sleep "$WINDOW"; b=$(switches "$pid")
  bg_stop "$pid"
  ipvsadm -C 2>/dev/null; nsx $D ipvsadm -C 2>/dev/null
  echo $(( (b - a) * 10 / WINDOW ))
}

median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
tenths() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 10 }'; }

run_daemon() { # NAME CMD...
  local name=$1; shift
  local r=() i
  for ((i = 0; i < RUNS; i++)); do r+=("$(one "$name" "$@")"); done
  local m; m=$(echo "${r[@]}" | median)
  local list=""; for i in "${r[@]}"; do list="$list$(tenths "$i"),"; done
  echo "RESULT daemon=$name median=$(tenths "$m") runs=${list%,}"
}

run_daemon keepalived "$KA" -n -l -D -f "$TEST_TMP/idle.conf" -p "$TEST_TMP/ka.pid" \
  -r "$TEST_TMP/ka.vrrp.pid" -c "$TEST_TMP/ka.chk.pid"
for l in "${LVSDS[@]}"; do
  run_daemon "$(basename "$l")" "$l" run -f "$TEST_TMP/idle.conf" --socket "$TEST_TMP/lvsd.sock" \
    --realserver-state "$TEST_TMP/rs.json"
done
