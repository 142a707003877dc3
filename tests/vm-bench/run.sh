#!/usr/bin/env bash
# The IPVS benchmark: 2,000 virtual servers x 18 real servers, lvsd vs ipvsadm -R, in the VM.
# usage: tests/vm-bench/run.sh [VS] [RS]    (after cargo build --release; root not needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
d=$(mktemp -d /tmp/lvsd-vmbench.XXXXXX)
trap 'rm -rf "$d"' EXIT
bash tests/vm-bench/gen.sh "$d" "${1:-2000}" "${2:-18}"
for mode in lvsd ipvsadm daemon; do
  scripts/vm/ipvs-vm.sh -q -t 580 -x target/release/lvsd -c "$d/big.conf" -c "$d/big-weight.conf" \
    -c "$d/big-plus1.conf" -c "$d/big.ipvsadm" -c tests/vm-bench/bench.sh "bash bench.sh $mode"
done
