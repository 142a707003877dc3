# shellcheck shell=bash
# lib.sh — helpers shared by the guest-side tests (sourced by traffic.sh, compare.sh, drift.sh,
# syncd.sh). They run as root inside the IPVS VM (scripts/vm/ipvs-vm.sh), cwd = the payload dir.
# Every network namespace and process a test creates is recorded here and removed by cleanup.

PASS=0 FAIL=0 SKIP=0
NAMESPACES=() PIDS=()
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-test.XXXXXX")

pass() { echo "PASS $*"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $*"; FAIL=$((FAIL + 1)); }
skip() { echo "SKIP $*"; SKIP=$((SKIP + 1)); }
note() { echo "  $*"; }

# Known failures: tests/vm/known-failures lists "SUITE NAME REASON" lines (lvsd bugs on file).
# A listed check that fails prints XFAIL (counted as skipped, not failed); one that passes prints
# XPASS (counted as passed) so that its line gets removed.
known_failure() { # SUITE NAME -> the reason, status 0 if listed
  local f; f="$(dirname "${BASH_SOURCE[0]}")/known-failures"
  [ -f "$f" ] && awk -v s="$1" -v n="$2" '$1 == s && $2 == n { $1 = $2 = ""; sub(/^ +/, ""); print; found = 1 } END { exit !found }' "$f"
}
# check_fail SUITE NAME MESSAGE: FAIL, or XFAIL when listed
check_fail() {
  local why
  if why=$(known_failure "$1" "$2"); then echo "XFAIL $2: $3 [known: $why]"; SKIP=$((SKIP + 1))
  else fail "$2: $3"; fi
}
check_pass() {
  local why
  if why=$(known_failure "$1" "$2"); then pass "$2: $3"; echo "XPASS $2: listed in tests/vm/known-failures ($why): remove the line"
  else pass "$2: $3"; fi
}

# summary NAME: the closing line ("NAME: N passed, N failed[, N skipped]"); status 1 on failures
summary() {
  local s="$1: $PASS passed, $FAIL failed"
  [ "$SKIP" -gt 0 ] && s="$s, $SKIP skipped"
  echo "$s"
  [ "$FAIL" -eq 0 ]
}

# --- processes: killed by PID, with their descendants (keepalived's VRRP and checker children) ---
descendants() { # PID...: the PIDs and every descendant of them
  # (cat, not awk, reads /proc: busybox awk gives up on a file that vanished since the glob)
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots=" $* " '
    { s = $0; sub(/.*\) /, "", s); split(s, g, " "); pp[$1] = g[2] }   # after the (comm): state ppid
    END {
      n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1
      do { more = 0; for (p in pp) if (!(p in keep) && (pp[p] in keep)) { keep[p] = 1; more = 1 } } while (more)
      for (p in keep) print p
    }'
}
kill_tree() { # SIGNAL PID...: the processes are stopped first (keepalived's parent would respawn
  local sig=$1 p all; shift   # a child killed before it)
  all=$(descendants "$@")
  for p in $all; do kill -STOP "$p" 2>/dev/null; done
  for p in $all; do kill "-$sig" "$p" 2>/dev/null; done
  [ "$sig" = KILL ] || for p in $all; do kill -CONT "$p" 2>/dev/null; done
}
# stop_started: every process started with bg_start and its descendants: SIGTERM, up to 3 s,
# then SIGKILL (before cleanup, which only signals the recorded PIDs)
stop_started() {
  local live=() p all any
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -0 "$p" 2>/dev/null && live+=("$p"); done
  [ ${#live[@]} -gt 0 ] || return 0
  all=$(descendants "${live[@]}")
  for p in $all; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 1 30); do
    any=0; for p in $all; do kill -0 "$p" 2>/dev/null && any=1; done
    [ $any = 0 ] && break; sleep 0.1
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null; done
}

cleanup() {
  local p n
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  for n in "${NAMESPACES[@]+"${NAMESPACES[@]}"}"; do ip netns del "$n" 2>/dev/null || true; done
  NAMESPACES=()
  rm -rf "$TEST_TMP"
}
trap cleanup EXIT

# ns_add NAME: a fresh network namespace with lo up. (IPVS refuses an IPv4 real server with
# EINVAL in a namespace whose lo is down: the kernel's address-type check needs the local table.)
ns_add() {
  ip netns add "$1" && NAMESPACES+=("$1") && ip -n "$1" link set lo up
}
ns_forget() {
  local n keep=()
  for n in "${NAMESPACES[@]+"${NAMESPACES[@]}"}"; do [ "$n" = "$1" ] || keep+=("$n"); done
  NAMESPACES=("${keep[@]+"${keep[@]}"}")
}
ns_del() { ip netns del "$1" 2>/dev/null || true; ns_forget "$1"; }
nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

# bg_start NS CMD...: start a background process in NS, remember its PID for cleanup
bg_start() { local n=$1; shift; ip netns exec "$n" "$@" & PIDS+=($!); }
bg_stop() {
  local p=$1 keep=() q
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  for q in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# expand TEMPLATE FILE: the command line TEMPLATE with {} replaced by FILE (FILE appended when
# TEMPLATE has no {}), e.g. './lvsd ipvs apply -f {}'
expand() {
  case $1 in
    *'{}'*) printf '%s' "${1//\{\}/$2}" ;;
    *) printf '%s %s' "$1" "$2" ;;
  esac
}

# ipvs_norm_all: `ipvsadm -L` listings on stdin, each after a line `#@ TITLE`, in a canonical
# order. The kernel lists services in hash-bucket order, and the hash mixes in the namespace's
# address, so two namespaces list the same table in different orders; destinations come in
# insertion order. Per listing: `## TITLE`, its header lines (the first three) unchanged, then
# each service line followed by its destination lines, services and destinations sorted.
# Trailing blanks are dropped.
ipvs_norm_all() {
  awk -v OFS='\t' '
    /^#@ / { s++; n = 0; print s, 0, 0, "", "## " substr($0, 4); next }
    { sub(/[ \t]+$/, ""); n++ }
    n <= 3 { print s, 1, n, "", $0; next }
    /^[^ ]/ { svc = $0; print s, 2, svc, 0, $0; next }
    { print s, 2, svc, 1, $0 }
  ' | LC_ALL=C sort -t "$(printf '\t')" -k1,1n -k2,2n -k3,3 -k4,4n -k5,5 | cut -f5
}
ipvs_norm() { { echo "#@ -"; cat; } | ipvs_norm_all | tail -n +2; }

# ipvs_snapshot NS: the listings the tests compare, normalised. One `ip netns exec` and busybox
# sh for all (under emulation an exec of ip or bash costs ~70-100 ms, busybox ~15 ms).
IPVS_LISTINGS='echo "#@ ipvsadm -Ln"; ipvsadm -Ln
echo "#@ ipvsadm -Ln --thresholds"; ipvsadm -Ln --thresholds
echo "#@ ipvsadm -Ln --tun-info"; ipvsadm -Ln --tun-info
echo "#@ ipvsadm -L --timeout"; ipvsadm -L --timeout'
ipvs_snapshot() { nsx "$1" busybox sh -c "$IPVS_LISTINGS" 2>&1 | ipvs_norm_all; }

# ns_pair A B: two fresh namespaces with one exec (lo is left down: bring it up in the first
# command run there)
ns_pair() {
  printf 'netns add %s\n' "$@" | ip -batch - && NAMESPACES+=("$@")
}
ns_del_all() {
  local n
  printf 'netns del %s\n' "$@" | ip -batch - 2>/dev/null
  for n in "$@"; do ns_forget "$n"; done
}

# udiff A B LABEL_A LABEL_B: status 1 when the files differ; the unified diff, indented, is then
# in $UDIFF (print it after the FAIL line)
udiff() {
  local rc=0
  UDIFF=$(diff -u -L "$3" -L "$4" "$1" "$2") || rc=1
  UDIFF=$(printf '%s\n' "$UDIFF" | sed 's/^/    /')
  return $rc
}

ms_since() { echo $(( (${EPOCHREALTIME/./} - ${1/./}) / 1000 )); }

# httpd NS PAGE: busybox httpd in NS serving a page that says PAGE; waits until it answers
httpd() { # NS PAGE [PORT]: busybox httpd answering PAGE on PORT (80)
  local port=${3:-80}
  mkdir -p "$TEST_TMP/www-$2"; echo "$2" > "$TEST_TMP/www-$2/index.html"
  bg_start "$1" busybox httpd -f -p "$port" -h "$TEST_TMP/www-$2"
  for _ in $(seq 1 50); do nsx "$1" busybox wget -q -O /dev/null "http://127.0.0.1:$port/" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s; WAITED = the milliseconds it took
WAITED=0
wait_for() {
  local t=$EPOCHREALTIME end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 )); shift
  while :; do
    if "$@"; then WAITED=$(ms_since "$t"); return 0; fi
    [ "${EPOCHREALTIME/./}" -lt "$end" ] || { WAITED=$(ms_since "$t"); return 1; }
    sleep 0.2
  done
}
secs() { printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }
