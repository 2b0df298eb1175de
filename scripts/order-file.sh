#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Regenerates scripts/aufsctl.order, the symbol order scripts/build.sh hands to lld (issue 14).
#
#   sudo scripts/order-file.sh [BINARY]    # default: builds with scripts/build.sh first
#
# Runs the commands people run most (start-up, check, status, mount and umount with the overlay
# fallback, the dry runs, the mount helper) under callgrind, and writes every function they execute,
# the ones most commands share first. lld then lays those functions out together at the start of
# the text, so a command touches a few hundred KB of code instead of most of the binary. A stale
# order is harmless (names that no longer exist are ignored; new functions land after the ordered
# ones), so regenerate it when the hot paths change, and `make bench` says how much of it matches.
# Root only: the mount and umount runs really mount (overlay) in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
[ "$(id -u)" -eq 0 ] || { echo "order-file.sh needs root (it mounts)"; exit 2; }
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
BIN=${1:-}
if [ -z "$BIN" ]; then
    scripts/build.sh "$REPO/.build/glibc231" >/tmp/aufsctl-order-build.log 2>&1 || { tail -20 /tmp/aufsctl-order-build.log; exit 2; }
    BIN=$REPO/.build/glibc231/release/aufsctl
fi
W=$(mktemp -d /tmp/aufsctl-order.XXXXXX)
trap 'mountpoint -q "$W/mnt" && umount "$W/mnt"; rm -rf "$W"' EXIT
# valgrind 3.19 cannot read DWARF 5: profile a copy without debug info (the symbols stay).
strip --strip-debug -o "$W/aufsctl" "$BIN"
ln -s aufsctl "$W/mount.aufs"
mkdir -p "$W/up" "$W/l1" "$W/l2" "$W/l3" "$W/mnt"
dirs="dirs=$W/up=rw:$W/l1=ro:$W/l2=ro:$W/l3=ro"
n=0
run() { # ARGV...: one profiled run; the exit status does not matter (check exits 1 without aufs)
    n=$((n + 1))
    valgrind --tool=callgrind --demangle=no --compress-strings=no --dump-instr=no \
        --callgrind-out-file="$W/cg.$n" "$@" >/dev/null 2>&1 || true
    [ -s "$W/cg.$n" ] || { echo "order-file.sh: callgrind wrote nothing for: $*"; exit 2; }
}
run "$W/aufsctl" --version
run "$W/aufsctl" check
run "$W/aufsctl" check --json
run "$W/aufsctl" install --dry-run
# The DKMS method's facts (dkms status, dpkg-query, libkmod) as an install re-run gathers them.
run "$W/aufsctl" install --dry-run --method dkms --source "$REPO/Kernel/standin" --skip-export-check
run "$W/aufsctl" uninstall --list
run "$W/aufsctl" uninstall --dry-run
run "$W/aufsctl" mount --dry-run "$dirs" "$W/mnt"
run "$W/aufsctl" mount --fallback overlay "$dirs" "$W/mnt"
run "$W/aufsctl" status
run "$W/aufsctl" status --json
run "$W/aufsctl" umount "$W/mnt"
run "$W/mount.aufs" none "$W/mnt" -o "br=$W/up=rw:$W/l1=ro"
# One line per function: how many runs executed it, then its name (callgrind marks recursion
# levels and cycles with a 'N suffix).
for f in "$W"/cg.*; do sed -n "s/^fn=//p" "$f" | sed "s/'[0-9]*$//" | sort -u; done \
    | sort | uniq -c | sort -k1,1nr -k2 | awk '{ print $2 }' >"$W/order"
# Only names the binary defines (callgrind also names the shared libraries' functions).
nm "$BIN" | awk 'NF == 3 { print $3 }' | sort -u >"$W/defined"
awk 'NR == FNR { d[$1] = 1; next } ($1 in d)' "$W/defined" "$W/order" >scripts/aufsctl.order
echo "scripts/aufsctl.order: $(wc -l <scripts/aufsctl.order) functions from $n runs"
