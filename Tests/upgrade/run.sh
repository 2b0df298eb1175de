#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Kernel upgrades keep aufs: in a chroot made from the shared cached Debian 12 root
# (scripts/debian-root.sh), `aufsctl install --method dkms` builds the stand-in for the kernel
# ABI of bookworm's main suite (kernel A; the root's only apt source), which also installs the
# flavour's headers meta package. Then the root gets bookworm-security, whose meta package
# depends on a newer ABI (kernel B): upgrading it installs B's headers, aufsctl's kernel hook
# (/etc/kernel/header_postinst.d/aufsctl; dkms.conf leaves AUTOINSTALL empty) builds aufs for B and
# logs it, and `aufsctl check --root R --kernel B` says loadable.
# Root only; prints "upgrade: N passed, M failed". Nothing on the host is installed or changed
# except the cache and the scratch dir (UPGRADE_SCRATCH, default .build/upgrade).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AUFSCTL=${AUFSCTL:-$REPO/.build/glibc231/release/aufsctl}
SCRATCH=${UPGRADE_SCRATCH:-$REPO/.build/upgrade}
SECURITY=${AUFSCTL_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
R=$SCRATCH/root
log() { echo "upgrade: $*"; }
[ "$(id -u)" -eq 0 ] || { log "skipped: needs root (chroot, mounts)"; exit 0; }
[ -x "$AUFSCTL" ] || { log "error: no aufsctl at $AUFSCTL (make build first)"; exit 1; }

unmount_all() { for m in dev/pts dev sys proc; do umount -l "$R/$m" 2>/dev/null || true; done; }
cleanup() { unmount_all; rm -rf --one-file-system "$R"; }   # never into a mount left behind
trap cleanup EXIT
cleanup
mkdir -p "$R"
t0=$(date +%s)
tarball=$("$REPO/scripts/debian-root.sh" bookworm build-essential ca-certificates)
tar -C "$R" -xf "$tarball"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"; mount --bind /dev "$R/dev"
in_root() { chroot "$R" env DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -qq
abi() { in_root apt-cache depends linux-headers-cloud-amd64 | sed -n 's/^ *Depends: linux-headers-\([0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1; }
A=$(abi)
[ -n "$A" ] || { log "error: bookworm's linux-headers-cloud-amd64 names no headers ABI"; exit 1; }
log "kernel A (bookworm main): $A"

pass=0; fail=0
check() {   # NAME CONDITION-EXIT-CODE DETAIL
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "UPGRADE: $1 PASS $3"; else fail=$((fail + 1)); echo "UPGRADE: $1 FAIL $3"; fi
}

out=$("$AUFSCTL" install --root "$R" --method dkms --source "$REPO/Kernel/standin" --kernel "$A" \
      --skip-export-check --no-load --yes 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/  install: /' | tail -n 15
ko_a=$R/lib/modules/$A/updates/dkms/aufs.ko
meta=$(in_root dpkg-query -W -f='${Status}' linux-headers-cloud-amd64 2>/dev/null || true)
conf=$(grep -c '^AUTOINSTALL=""' "$R/usr/src/aufs-0.0-standin/dkms.conf" 2>/dev/null || true)
hook=$R/etc/kernel/header_postinst.d/aufsctl
[ "$rc" = 0 ] && [ -f "$ko_a" ] && [ "$meta" = "install ok installed" ] && [ "$conf" = 1 ] && [ -x "$hook" ] && r=0 || r=1
check install-a $r "exit $rc, aufs.ko for $A: $([ -f "$ko_a" ] && echo yes || echo no), linux-headers-cloud-amd64: ${meta:-absent}, empty AUTOINSTALL lines: $conf, hook: $([ -x "$hook" ] && echo yes || echo no)"

# The upgrade: a newer ABI arrives through the meta package, as `apt-get upgrade` brings it.
echo "deb $SECURITY bookworm-security main" >"$R/etc/apt/sources.list.d/security.list"
in_root apt-get update -qq
B=$(abi)
if [ -z "$B" ] || [ "$B" = "$A" ]; then
    log "error: bookworm-security offers no newer headers ABI than $A (got '${B:-none}')"; exit 1
fi
log "kernel B (bookworm-security): $B"
out=$(in_root apt-get install -y -q --only-upgrade linux-headers-cloud-amd64 2>&1) && rc=0 || rc=$?
{ echo "$out" | grep -iE 'dkms|aufs|error' || true; } | sed 's/^/  apt: /' | tail -n 12
ko_b=$R/lib/modules/$B/updates/dkms/aufs.ko
said=$(grep -c "$B: built and installed aufs/0.0-standin" "$R/var/log/aufsctl/kernel-hook.log" 2>/dev/null || true)
[ "$rc" = 0 ] && [ -f "$ko_b" ] && [ "${said:-0}" -ge 1 ] && r=0 || r=1
check hook-b $r "apt exit $rc, the hook built aufs.ko for $B: $([ -f "$ko_b" ] && echo yes || echo no), logged: ${said:-0}"

json=$("$AUFSCTL" check --root "$R" --kernel "$B" --json 2>/dev/null) && rc=0 || rc=$?
state=$(printf '%s' "$json" | sed -n 's/^    "state" : "\(.*\)",\{0,1\}$/\1/p' | head -n 1)
path=$(printf '%s' "$json" | sed -n 's/^      "path" : "\(.*aufs.ko\)",\{0,1\}$/\1/p' | head -n 1)
[ "$rc" = 3 ] && [ "$state" = loadable ] && [ "$path" = "/lib/modules/$B/updates/dkms/aufs.ko" ] && r=0 || r=1
check check-b $r "aufsctl check --root R --kernel $B: exit $rc, verdict '$state', module '$path'"

log "done in $(( $(date +%s) - t0 ))s"
echo "upgrade: $pass passed, $fail failed"
[ "$fail" = 0 ]
