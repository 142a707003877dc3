#!/usr/bin/env bash
# ipvs-vm.sh — run a command in a throw-away QEMU VM whose kernel has IPVS.
#
# The host kernel of lvsd's development and CI machines has no IPVS; Debian 12's stock kernel has
# it. This boots that kernel (linux-image-6.1.*-amd64, fetched with `apt-get download`) under QEMU's
# software emulation (TCG; KVM does not work here) with a small busybox initramfs, runs one command
# under bash in /payload, prints its output and powers off. Exit status = the command's.
#
# usage:
#   scripts/vm/ipvs-vm.sh --build                      build the cache (idempotent, quiet if built)
#   scripts/vm/ipvs-vm.sh [options] [-c FILE]... [-x BINARY]... [--] 'COMMAND'
#
# options:
#   -c, --copy SRC[:DST]   copy a file or directory into the guest; DST defaults to /payload/<name>,
#                          a relative DST is taken under /payload. A dynamically linked ELF file gets
#                          its shared libraries (ldd) copied too, at their host paths. Repeatable.
#   -x, --exec BINARY      copy a binary and its shared libraries into /payload (on PATH), debug
#                          info stripped from the copy (symbols stay). Repeatable.
#   -t, --timeout S        kill QEMU (by PID) after S seconds; exit 124 (default 300)
#   -m, --mem MB           guest memory (default 1024)
#   -s, --smp N            vCPUs (default 1; multi-threaded TCG above 1)
#   -v, --verbose          also print the guest's kernel console to stderr after the run
#   -q, --quiet            no timing line on stderr
#       --dir DIR          cache directory (default $LVSD_VM_DIR, else ${CARGO_TARGET_DIR:-target}/vm)
#       --rebuild          drop the cache and build it again
#       --info             print what the cache holds (kernel, modules, schedulers) and exit
#
# Guest: root, cwd /payload, PATH=/payload:/usr/sbin:/usr/bin:/sbin:/bin, bash, busybox applets,
# iproute2 `ip`, `ipvsadm`, `nft`, `tc`. Loaded at boot: ip_vs, every ip_vs_* scheduler the
# kernel has, nf_conntrack, veth, bridge, dummy; ipip, ip6_tunnel, fou, gre, nf_tables, tun, ...
# are there and autoload. No network device: traffic stays inside the guest (use network
# namespaces there). The command's output streams on the guest's second serial port; the kernel
# console goes to a log (-v shows it). Boot to command: ~2.3 s; boot to power-off: ~2.6 s.
# Env: LVSD_VM_DIR (cache), LVSD_VM_KERNEL_PKG (another kernel package than linux-image-amd64's).
set -euo pipefail

SELF=$(readlink -f "$0")
ROOT=$(cd "$(dirname "$SELF")/../.." && pwd)
VMDIR=${LVSD_VM_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/vm}
TIMEOUT=300 MEM=1024 SMP=1 VERBOSE=0 QUIET=0 BUILD_ONLY=0 REBUILD=0 INFO=0
COPIES=() STRIP=()

die() { echo "ipvs-vm: $*" >&2; exit 2; }
log() { [ "$QUIET" = 1 ] || echo "ipvs-vm: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -c|--copy) COPIES+=("$2"); shift 2 ;;
    -x|--exec) [ -f "$2" ] || die "-x $2: no such file"; COPIES+=("$2"); STRIP+=("$(basename "$2")"); shift 2 ;;
    -t|--timeout) TIMEOUT=$2; shift 2 ;;
    -m|--mem) MEM=$2; shift 2 ;;
    -s|--smp) SMP=$2; shift 2 ;;
    -v|--verbose) VERBOSE=1; shift ;;
    -q|--quiet) QUIET=1; shift ;;
    --dir) VMDIR=$2; shift 2 ;;
    --build) BUILD_ONLY=1; shift ;;
    --rebuild) BUILD_ONLY=1; REBUILD=1; shift ;;
    --info) INFO=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants seconds"

# ---------------------------------------------------------------------------------------------
# build: kernel + modules + base initramfs, cached in $VMDIR
# ---------------------------------------------------------------------------------------------
# The stamp ties the cache to this script: editing the build recipe rebuilds.
STAMP_WANT=$(sed -n '/^# BUILD-BEGIN/,/^# BUILD-END/p' "$SELF" | sha256sum | cut -c1-16)

tools_check() {
  local t miss=()
  for t in qemu-system-x86_64:qemu-system-x86 cpio:cpio depmod:kmod xz:xz-utils file:file \
           ipvsadm:ipvsadm nft:nftables dpkg-deb:dpkg apt-get:apt gzip:gzip; do
    command -v "${t%%:*}" >/dev/null || miss+=("${t#*:}")
  done
  [ -x /bin/busybox ] && file -bL /bin/busybox | grep -q 'statically linked' || miss+=(busybox-static)
  ((${#miss[@]} == 0)) || die "missing tools: apt-get install -y ${miss[*]} (scripts/setup.sh does)"
}

# copy_elf SRC ROOT DST: copy a file to ROOT/DST; a dynamic ELF brings its ldd libraries along.
copy_elf() {
  local src=$1 root=$2 dst=$3 lib
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$src" "$root$dst"
  if file -bL "$src" | grep -q 'ELF.*dynamically linked'; then
    for lib in $(ldd "$src" | grep -oE '/[^ ]+'); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
    done
  fi
}

# BUILD-BEGIN (recipe: changes here invalidate the cache)
# Modules the initramfs carries (with their modules.dep closure). Missing optional ones are noted.
MODS_BOOT="nf_conntrack veth bridge dummy"   # + ip_vs, ip_vs_*; the rest autoloads (tunnel modules
# loaded at boot would add their fallback devices to every namespace, slowing each creation)
MODS_MORE="ipip ip6_tunnel fou fou6 ip_gre ip6_gre crc32c_generic tunnel4 tunnel6 ip_tunnel gre sit
  tun virtio_pci virtio_net nf_tables nft_chain_nat nft_nat nft_ct nft_numgen nft_fwd_netdev nf_conntrack_netlink
  nf_nat xt_ipvs sch_netem 8021q macvlan"

build() {
  tools_check
  local kpkg kver deb m line f want=() sched=() deps=()
  mkdir -p "$VMDIR"
  tmp=$(mktemp -d "$VMDIR/.build.XXXXXX")   # global: the EXIT trap of the subshell removes it
  trap 'rm -rf "$tmp"' EXIT                   # build() runs in a subshell
  # 1. the kernel package (name resolved through the linux-image-amd64 metapackage)
  resolve() {
    kpkg=${LVSD_VM_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
      awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
    [ -n "$kpkg" ] && (cd "$tmp" && apt-get download -qq "$kpkg" >/dev/null 2>&1)
  }
  # stale package lists (no lists yet, or a kernel replaced by a security update): update, retry
  if ! resolve; then
    apt-get update -qq >/dev/null 2>&1 || true
    resolve || { [ -n "$kpkg" ] && (cd "$tmp" && apt-get download "$kpkg"); } \
      || die "cannot download the kernel package ${kpkg:-of linux-image-amd64} (apt-get update?)"
  fi
  deb=$(ls "$tmp"/*.deb)
  dpkg-deb -x "$deb" "$tmp/x"
  kver=$(ls "$tmp/x/lib/modules")
  local M=$tmp/x/lib/modules/$kver
  depmod -b "$tmp/x" "$kver"          # the package ships no modules.dep
  # 2. the kernel image: the ELF vmlinux inside the bzImage boots directly (PVH entry), which
  #    spares the guest ~3 s of decompression under TCG; fall back to the bzImage.
  local vmlinuz=$tmp/x/boot/vmlinuz-$kver off
  rm -f "$VMDIR/vmlinux" "$VMDIR/vmlinuz"
  off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1 || true)
  [ -n "$off" ] && { tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream > "$tmp/vmlinux" 2>/dev/null || true; }
  if [ -s "$tmp/vmlinux" ] && file -b "$tmp/vmlinux" | grep -q '^ELF 64-bit'; then
    mv "$tmp/vmlinux" "$VMDIR/vmlinux"
  else
    cp "$vmlinuz" "$VMDIR/vmlinuz"
  fi
  # 3. the initramfs root
  local R=$tmp/root
  mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc/lvsd-vm,payload,root,lib/modules/$kver}
  ln -s /run "$R/var"
  cp /bin/busybox "$R/bin/busybox"
  for f in $(/bin/busybox --list-full); do [ -e "$R/$f" ] || ln -s /bin/busybox "$R/$f"; done
  # real tools instead of applets (busybox ip/tc lack what the tests use)
  rm -f "$R/bin/ip" "$R/sbin/ip" "$R/bin/tc" "$R/sbin/tc" "$R/bin/bash"
  copy_elf /bin/bash "$R" /bin/bash
  copy_elf "$(readlink -f "$(command -v ip)")" "$R" /sbin/ip
  copy_elf "$(readlink -f "$(command -v tc)")" "$R" /sbin/tc
  copy_elf "$(command -v ipvsadm)" "$R" /usr/sbin/ipvsadm
  copy_elf "$(command -v nft)" "$R" /usr/sbin/nft
  for f in /etc/protocols /etc/services; do [ -f "$f" ] && cp "$f" "$R/etc/"; done
  printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' > "$R/etc/hosts"
  # 4. modules: ip_vs, every scheduler the kernel has, and the lists above, with their closure
  for f in "$M"/kernel/net/netfilter/ipvs/ip_vs_*.ko*; do
    m=$(basename "$f"); m=${m%%.ko*}
    case $m in ip_vs_ftp|ip_vs_pe_*) ;; *) sched+=("${m#ip_vs_}") ;; esac
  done
  for m in ip_vs "${sched[@]/#/ip_vs_}" ip_vs_ftp ip_vs_pe_sip $MODS_BOOT $MODS_MORE; do
    line=$(grep -E "/${m//_/[_-]}\.ko(\.[a-z]+)?:" "$M/modules.dep" || true)
    if [ -z "$line" ]; then
      grep -qE "/${m//_/[_-]}\.ko" "$M/modules.builtin" || echo "ipvs-vm: note: module $m not in $kpkg" >&2
      continue
    fi
    read -ra deps <<< "${line//:/}"; want+=("${deps[@]}")
  done
  for f in $(printf '%s\n' "${want[@]}" | sort -u); do
    mkdir -p "$R/lib/modules/$kver/$(dirname "$f")"
    case $f in
      *.ko.xz) xz -dc "$M/$f" > "$R/lib/modules/$kver/${f%.xz}" ;;
      *) cp "$M/$f" "$R/lib/modules/$kver/$f" ;;
    esac
  done
  cp "$M"/modules.order "$M"/modules.builtin "$M"/modules.builtin.modinfo "$R/lib/modules/$kver/" 2>/dev/null || true
  depmod -b "$R" "$kver"
  echo "ip_vs ${sched[*]/#/ip_vs_} $MODS_BOOT" > "$R/etc/lvsd-vm/modules.boot"
  echo "${sched[*]}" > "$R/etc/lvsd-vm/schedulers"
  echo "$kpkg $kver" > "$R/etc/lvsd-vm/kernel"
  cat > "$R/init" <<'EOF'
#!/bin/sh
# lvsd-vm guest init (busybox sh): mount, load modules, run /payload/.cmd under bash, power off.
export PATH=/payload:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /run/netns; mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run; mkdir -p /run/netns; mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /dev/shm
echo /sbin/modprobe > /proc/sys/kernel/modprobe
modprobe -a $(cat /etc/lvsd-vm/modules.boot) 2>&1 | sed 's/^/lvsd-vm: /' > /dev/ttyS0
/sbin/ip link set lo up
hostname lvsd-vm
stty -F /dev/ttyS1 raw -echo 2>/dev/null
read up _ < /proc/uptime
echo "LVSD-VM-START uptime=$up" > /dev/ttyS0
cd /payload
/bin/bash /payload/.cmd < /dev/null > /dev/ttyS1 2>&1
rc=$?
read up _ < /proc/uptime
echo "LVSD-VM-END rc=$rc uptime=$up" > /dev/ttyS0
sync
poweroff -f
EOF
  chmod +x "$R/init"
  # uncompressed: unpacking gzip costs the guest ~0.5 s under TCG; QEMU loads 16 MB in no time
  rm -f "$VMDIR/base.cpio.gz"
  (cd "$R" && find . | sort | cpio -o -H newc -R 0:0 --quiet) > "$VMDIR/base.cpio"
  printf '%s\n' "${sched[@]}" > "$VMDIR/schedulers"
  (cd "$R/lib/modules/$kver" && find . -name '*.ko' | sed 's|.*/||; s|\.ko$||' | sort) > "$VMDIR/modules"
  echo "$kpkg $kver" > "$VMDIR/kernel"
}
# BUILD-END

built() { [ -f "$VMDIR/stamp" ] && [ "$(cat "$VMDIR/stamp")" = "$STAMP_WANT" ] && [ -f "$VMDIR/base.cpio" ] \
          && { [ -f "$VMDIR/vmlinux" ] || [ -f "$VMDIR/vmlinuz" ]; }; }

if [ "$REBUILD" = 1 ]; then rm -rf "$VMDIR"; fi
if ! built; then
  t0=$(date +%s)
  rm -f "$VMDIR/stamp"
  (build)
  echo "$STAMP_WANT" > "$VMDIR/stamp"
  log "built $VMDIR for $(cat "$VMDIR/kernel") in $(($(date +%s) - t0)) s ($(du -sh "$VMDIR" | cut -f1))"
fi
if [ "$INFO" = 1 ]; then
  echo "cache:      $VMDIR ($(du -sh "$VMDIR" | cut -f1))"
  echo "kernel:     $(cat "$VMDIR/kernel")"
  echo "schedulers: $(tr '\n' ' ' < "$VMDIR/schedulers")"
  echo "modules:    $(tr '\n' ' ' < "$VMDIR/modules")"
  exit 0
fi
[ "$BUILD_ONLY" = 1 ] && exit 0

# ---------------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------------
[ $# -gt 0 ] || die "no command given (see --help)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/setup.sh installs it)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-vm.XXXXXX")
QPID="" WPID=""
cleanup() {
  if [ -n "$WPID" ]; then kill "$WPID" 2>/dev/null || true; fi
  if [ -n "$QPID" ]; then kill -KILL "$QPID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

P=$WORK/root/payload
mkdir -p "$P"
for c in "${COPIES[@]+"${COPIES[@]}"}"; do
  src=${c%%:*} dst=${c#*:}
  [ "$dst" = "$c" ] && dst=$(basename "$src")
  case $dst in /*) ;; *) dst=/payload/$dst ;; esac
  [ -e "$src" ] || die "-c $src: no such file or directory"
  if [ -d "$src" ]; then
    mkdir -p "$WORK/root$(dirname "$dst")"; cp -a "$src" "$WORK/root$dst"
  else
    copy_elf "$src" "$WORK/root" "$dst"
  fi
done
# -x binaries lose their debug info (not their symbols): a smaller initramfs boots faster
for b in "${STRIP[@]+"${STRIP[@]}"}"; do
  command -v strip >/dev/null && strip --strip-debug "$P/$b" 2>/dev/null || true
done
printf '%s\n' "$*" > "$P/.cmd"
(cd "$WORK/root" && find . | cpio -o -H newc -R 0:0 --quiet) > "$WORK/payload.cpio"
cat "$VMDIR/base.cpio" "$WORK/payload.cpio" > "$WORK/initrd"

KERNEL=$VMDIR/vmlinux; [ -f "$KERNEL" ] || KERNEL=$VMDIR/vmlinuz
CONSOLE=$WORK/console.log
t0=$(date +%s%N)
# ttyS0: kernel console (to a file); ttyS1: the command's output (to our stdout)
qemu-system-x86_64 -accel tcg -m "$MEM" -smp "$SMP" -nodefaults -no-user-config -display none \
  -no-reboot -monitor none -serial "file:$CONSOLE" -serial stdio \
  -kernel "$KERNEL" -initrd "$WORK/initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init 8250.nr_uarts=2 i8042.noaux i8042.nokbd i8042.nopnp mitigations=off tsc=reliable" \
  </dev/null &
QPID=$!
# watchdog: polls QEMU by PID, kills it (TERM, then KILL) once the timeout has passed
(
  end=$(( ${EPOCHREALTIME/./} / 1000 + TIMEOUT * 1000 ))    # ms
  while kill -0 "$QPID" 2>/dev/null; do
    if (( ${EPOCHREALTIME/./} / 1000 >= end )); then
      kill -TERM "$QPID" 2>/dev/null; sleep 2; kill -KILL "$QPID" 2>/dev/null; exit 0
    fi
    sleep 0.5
  done
) &
WPID=$!
set +e; wait "$QPID"; qrc=$?; set -e
QPID=""
kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null || true; WPID=""
t1=$(date +%s%N)

[ "$VERBOSE" = 1 ] && { echo "---- guest console ----"; tr -d '\r' < "$CONSOLE"; echo "----"; } >&2
tr -d '\r' < "$CONSOLE" | grep '^lvsd-vm: ' >&2 || true
end=$(tr -d '\r' < "$CONSOLE" | sed -n 's/^LVSD-VM-END rc=\([0-9]*\) uptime=\([0-9.]*\)$/\1 \2/p' | tail -1)
start=$(tr -d '\r' < "$CONSOLE" | sed -n 's/^LVSD-VM-START uptime=\([0-9.]*\)$/\1/p' | tail -1)
if [ -z "$end" ]; then
  echo "ipvs-vm: the guest did not finish (qemu rc=$qrc, timeout ${TIMEOUT}s). Console tail:" >&2
  tr -d '\r' < "$CONSOLE" | tail -25 >&2
  exit 124
fi
rc=${end%% *}
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}')
log "$(awk -v s="$start" -v e="${end#* }" -v w="$wall" \
  'BEGIN{printf "boot %.2f s (kernel+init to command), command %.2f s, wall %.2f s", s, e-s, w}'), rc $rc"
exit "$rc"
