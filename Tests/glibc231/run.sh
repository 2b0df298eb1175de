#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The release binary (scripts/build.sh, linked against glibc 2.31) inside a real Debian 11 root:
# a chroot unpacked from the shared cached root builder (scripts/debian-root.sh bullseye), where
# aufsctl runs with bullseye's glibc 2.31, libkmod 28, libblkid 2.36.1. --version, check,
# the walk-through through the overlay fallback (mount, status, umount) and install --dry-run must
# give the answers this machine's facts call for. Root only; prints "glibc231: N passed, M failed".
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AUFSCTL=${AUFSCTL:-$REPO/.build/glibc231/release/aufsctl}
SCRATCH=${GLIBC231_SCRATCH:-$REPO/.build/glibc231-root}
R=$SCRATCH/root
log() { echo "glibc231: $*"; }
[ "$(id -u)" -eq 0 ] || { log "skipped: needs root (chroot, mounts)"; exit 0; }
[ -x "$AUFSCTL" ] || { log "error: no aufsctl at $AUFSCTL (make build first)"; exit 1; }

cleanup() {
    for m in $(awk -v r="$R" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$R"   # never into a mount left behind (/dev is bind-mounted)
}
trap cleanup EXIT
cleanup
mkdir -p "$R"
tar -C "$R" -xf "$("$REPO/scripts/debian-root.sh" bullseye kmod)"
mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"; mount --bind /dev "$R/dev"
mkdir -p "$R/run/lock"
cp "$AUFSCTL" "$R/usr/local/bin/aufsctl"
in_root() { chroot "$R" env -C /tmp NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"; }

pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "GLIBC231: $1 PASS $3"; else fail=$((fail + 1)); echo "GLIBC231: $1 FAIL $3"; fi; }

glibc=$(in_root ldd --version | awk 'NR == 1 { print $NF }')
out=$(in_root aufsctl --version 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$glibc" = 2.31 ] && grep -q "^running with: glibc 2.31, libblkid 2.36.1, zlib" <<<"$out" && r=0 || r=1
check version $r "exit $rc, root's ldd says glibc $glibc; $(tail -n 1 <<<"$out")"

# check: the distro is the root's (Debian 11); the kernel facts are this machine's, so the verdict
# and exit code are whatever its facts give, and they must agree with each other.
json=$(in_root aufsctl check --json 2>/dev/null) && rc=0 || rc=$?
family=$(jq -r '.facts.distro.family' <<<"$json" 2>/dev/null || true)
state=$(jq -r '.verdict.state' <<<"$json" 2>/dev/null || true)
want=$(jq -r '.exitCode' <<<"$json" 2>/dev/null || true)
host_state=$("$AUFSCTL" check --json 2>/dev/null | jq -r '.verdict.state' || true)
[ "$family" = "debian 11" ] && [ "$rc" = "$want" ] && [ -n "$state" ] && [ "$state" = "$host_state" ] && r=0 || r=1
check check $r "exit $rc (report says $want), distro '$family', verdict '$state' (the host binary: '$host_state')"

# The walk-through through the overlay fallback, inside the root.
S=$R/tmp/seed
mkdir -p "$S/container" "$S/image1" "$S/image2" "$S/image3" "$S/mnt"
echo image1 >"$S/image1/001.txt"; echo image1 >"$S/image1/002.txt"
echo image2 >"$S/image2/002.txt"; echo image2 >"$S/image2/003.txt"; echo image3 >"$S/image3/004.txt"
out=$(in_root env -C /tmp/seed aufsctl mount --fallback overlay dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt 2>&1) && rc=0 || rc=$?
r=1
if [ "$rc" = 0 ] && [ "$(cat "$S/mnt/002.txt")" = image1 ]; then
    echo written >"$S/mnt/001.txt"; rm "$S/mnt/003.txt"
    [ "$(cat "$S/container/001.txt")" = written ] && [ "$(cat "$S/image1/001.txt")" = image1 ] \
        && [ -c "$S/container/003.txt" ] && [ -f "$S/image2/003.txt" ] && r=0
fi
check mount $r "exit $rc; 002.txt from image1, copy-up into container, whiteout on delete: $(tail -n 1 <<<"$out")"

json=$(in_root aufsctl status --json 2>/dev/null) && rc=0 || rc=$?
layers=$(jq -r '.mounts[] | select(.target == "/tmp/seed/mnt") | [.branches[] | .path + "=" + .permission] | join(":")' <<<"$json" 2>/dev/null || true)
[ "$rc" = 0 ] && [ "$layers" = "/tmp/seed/container=rw:/tmp/seed/image1=ro:/tmp/seed/image2=ro:/tmp/seed/image3=ro" ] && r=0 || r=1
check status $r "exit $rc, layers '$layers'"

out=$(in_root aufsctl umount /tmp/seed/mnt 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && ! grep -q " $S/mnt " /proc/self/mountinfo && ! ls -d "$S"/.aufsctl-work.* >/dev/null 2>&1 && r=0 || r=1
check umount $r "exit $rc: $out"

# install --dry-run: what this machine's kernel allows, answered with the root's distro; changes nothing.
before=$(find "$R/etc" "$R/var/lib" -newer "$R/usr/local/bin/aufsctl" 2>/dev/null | wc -l)
out=$(in_root aufsctl install --dry-run 2>&1) && rc=0 || rc=$?
host_rc=0; "$AUFSCTL" install --dry-run >/dev/null 2>&1 || host_rc=$?
after=$(find "$R/etc" "$R/var/lib" -newer "$R/usr/local/bin/aufsctl" 2>/dev/null | wc -l)
[ "$rc" = "$host_rc" ] && [ "$before" = "$after" ] && [ -n "$out" ] && r=0 || r=1
check install-dry-run $r "exit $rc (host binary: $host_rc), nothing written: $(tail -n 1 <<<"$out")"

echo "glibc231: $pass passed, $fail failed"
[ "$fail" = 0 ]
