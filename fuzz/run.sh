#!/usr/bin/env bash
# run.sh — every cargo-fuzz target for SECONDS each (default 600), one after the other, with
# corpora seeded from the test fixtures (configurations, captured keepalived adverts); prints
# per target the inputs run, the rate, the corpus size and whether libFuzzer found a crash or a
# hang (an input over 10 s). Needs a nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`); CI runs the proptests on stable instead.
#
# usage: fuzz/run.sh [SECONDS] [TARGET...]
# Crashes are kept in fuzz/artifacts/TARGET/; every one becomes a regression test.
set -uo pipefail
cd "$(dirname "$0")"
SECS=${1:-600}; shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config vrrp_packet vrrp_router ipvs_netlink dns_reply http_head)
cargo +nightly fuzz build -O >/dev/null 2>&1 || { echo "fuzz: build failed (cargo +nightly fuzz build -O)"; exit 2; }

seed() { # TARGET: the seed directory
  local d=seeds/$1; mkdir -p "$d"
  case $1 in
    config)
      find ../crates/config/tests ../tests/corpus ../examples -name '*.conf' 2>/dev/null | head -200 |
        while read -r f; do cp "$f" "$d/$(echo "$f" | tr '/' '_')"; done ;;
    vrrp_packet|vrrp_router)
      # the IPv4 packets of the captured adverts (pcap records after the 14-byte Ethernet header)
      for f in ../crates/vrrp/tests/fixtures/pcaps/*.pcap; do
        python3 - "$f" "$d" "$1" <<'PY' 2>/dev/null
import struct, sys, os
f, d, t = sys.argv[1:4]
b = open(f, 'rb').read(); pos = 24; n = 0
while pos + 16 <= len(b):
    incl = struct.unpack('<I', b[pos+8:pos+12])[0]
    pkt = b[pos+16:pos+16+incl][14:]; pos += 16 + incl; n += 1
    if t == 'vrrp_router':
        pkt = bytes([0x44 if n % 2 else 0x40]) + struct.pack('>H', len(pkt)) + pkt
    open(os.path.join(d, '%s-%d' % (os.path.basename(f), n)), 'wb').write(pkt)
PY
      done ;;
    dns_reply) printf '\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00' > "$d/ok" ;;
    http_head)
      printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' > "$d/len"
      printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' > "$d/chunked"
      printf 'HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n' > "$d/302" ;;
    ipvs_netlink) printf '\x14\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > "$d/ack" ;;
  esac
  echo "$d"
}

printf '%-14s %14s %10s %8s %s\n' TARGET INPUTS "PER S" CORPUS RESULT
for t in "${TARGETS[@]}"; do
  s=$(seed "$t"); mkdir -p "corpus/$t"
  log=$(mktemp)
  cargo +nightly fuzz run -O "$t" "corpus/$t" "$s" -- -max_total_time="$SECS" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  result=ok; [ $rc = 0 ] || result="FAILED (rc $rc): $(grep -m1 -E 'ERROR|panicked|Test unit written' "$log")"
  printf '%-14s %14s %10s %8s %s\n' "$t" "${runs:-?}" "$(( ${runs:-0} / SECS ))" "$(ls "corpus/$t" | wc -l)" "$result"
  [ $rc = 0 ] || tail -30 "$log" | sed 's/^/    /'
  rm -f "$log"
done
