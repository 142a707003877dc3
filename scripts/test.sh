#!/usr/bin/env bash
# Run every test of lvsd: formatting, lints, unit, golden, property and CLI tests, then the IPVS
# tests in a VM (scripts/vm/run-tests.sh) once lvsd has its `ipvs` subcommand.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --release
if target/release/lvsd ipvs --help >/dev/null 2>&1; then
  bash scripts/vm/run-tests.sh target/release/lvsd
else
  echo "SKIP vm tests: target/release/lvsd has no \`ipvs\` subcommand yet (scripts/vm/run-tests.sh --ipvsadm-only checks the harness alone)"
fi
