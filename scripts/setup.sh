#!/usr/bin/env bash
# Install what lvsd's build and tests need on Debian 12 (run as root).
# keepalived: its sample configs are test inputs and it is the interop peer.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=() vm=()
for p in keepalived ipvsadm build-essential pkg-config iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
# The IPVS VM (scripts/vm/): this kernel has no IPVS, Debian 12's has; QEMU boots it.
for p in qemu-system-x86 busybox-static cpio kmod xz-utils ipvsadm nftables file; do
  dpkg -s "$p" >/dev/null 2>&1 || vm+=("$p")
done
# The metrics tests: promtool checks a scrape, a Prometheus server in the lab queries it.
for p in prometheus curl; do
  dpkg -s "$p" >/dev/null 2>&1 || vm+=("$p")
done
if ((${#need[@]} + ${#vm[@]})); then
  apt-get update -qq
  if ((${#need[@]})); then apt-get install -y -qq "${need[@]}" >/dev/null; fi
  if ((${#vm[@]})); then apt-get install -y -qq --no-install-recommends "${vm[@]}" >/dev/null; fi
fi
# Debian's keepalived package starts its service; lvsd's tests do not want it running.
systemctl disable --now keepalived >/dev/null 2>&1 || true
# nor Debian's Prometheus service (the tests start their own, in a namespace)
systemctl disable --now prometheus >/dev/null 2>&1 || true
# The VM's kernel (apt-get download) and initramfs, cached in target/vm; quiet when built.
bash "$(dirname "$0")/vm/ipvs-vm.sh" --build
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install the Rust toolchain (rustup) first" >&2
  exit 1
fi
