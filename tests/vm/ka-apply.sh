#!/usr/bin/env bash
# ka-apply.sh CONF — keepalived itself as a one-shot "apply", the reference the tests hold lvsd
# to: run keepalived's checker process (-C) on CONF in the current network namespace until it
# reports "Startup complete" (its virtual servers are in the kernel then, every real server up
# since the matrix has no health checks), then kill it without letting it clean up: the parent
# is stopped (so that it cannot restart its child), the checker child killed, then the parent.
# A clean stop would empty the table. Exit 1, with keepalived's log, if it did not start or if
# the kernel refused one of its IPVS commands. Needs keepalived on PATH (run-tests.sh copies the
# host's into the VM).
set -uo pipefail
[ $# = 1 ] || { echo "usage: ka-apply.sh keepalived.conf" >&2; exit 2; }
d=$(mktemp -d "${TMPDIR:-/tmp}/ka-apply.XXXXXX")
trap 'rm -rf "$d"' EXIT
keepalived -n -l -D -C -f "$1" -p "$d/keepalived.pid" -c "$d/checkers.pid" -r "$d/vrrp.pid" \
  > "$d/log" 2>&1 &
pid=$!
ok=0
for _ in $(seq 1 150); do
  if grep -q 'Startup complete' "$d/log"; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
child=$(cat "$d/checkers.pid" 2>/dev/null || true)
kill -STOP "$pid" 2>/dev/null
[ -n "$child" ] && kill -KILL "$child" 2>/dev/null
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ $ok = 0 ]; then
  echo "ka-apply: keepalived did not start on $1:"; cat "$d/log"; exit 1
fi
# keepalived carries on after the kernel refuses a command: its log is the only sign
if grep -E 'IPVS cmd .*error|IPVS: .*[Ee]rror' "$d/log"; then exit 1; fi
exit 0
