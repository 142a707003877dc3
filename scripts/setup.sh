#!/usr/bin/env bash
# Install what lvsd's build and tests need on Debian 12 (run as root).
# keepalived: its sample configs are test inputs and it is the interop peer.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for p in keepalived ipvsadm build-essential pkg-config iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian's keepalived package starts its service; lvsd's tests do not want it running.
systemctl disable --now keepalived >/dev/null 2>&1 || true
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install the Rust toolchain (rustup) first" >&2
  exit 1
fi
