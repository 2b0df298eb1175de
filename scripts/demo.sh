#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# `make demo`: replays the user's walk-through (shared/seed) with aufsctl in a temporary directory:
# check the host, build container + image1..3, mount the union (aufs where the kernel has it,
# else the overlay fallback, and the output says which), show precedence, copy-on-write and a
# whiteout, unmount and clean up.
set -eu
bin=$(realpath "${1:-.build/glibc231/release/aufsctl}")
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then b='\033[1m' n='\033[0m'; else b='' n=''; fi
step() { printf "\n${b}\$ %s${n}\n" "$*"; }
run() { step "$@"; "$@"; }

run "$bin" check || true

work=$(mktemp -d /tmp/aufsctl-demo.XXXXXX)
cleanup() {
    if grep -q " $work/mnt " /proc/self/mountinfo 2>/dev/null; then "$bin" umount "$work/mnt" >/dev/null 2>&1 || umount -l "$work/mnt"; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cd "$work"
mkdir container image1 image2 image3 mnt
echo container > container/container.txt
echo image1 > image1/001.txt
echo image1 > image1/002.txt
echo image2 > image2/002.txt
echo image2 > image2/003.txt
echo image3 > image3/004.txt
step "cd $work; tree as in the walk-through"
for f in container/* image1/* image2/* image3/*; do printf '  %-22s %s\n' "$f" "$(cat "$f")"; done

if [ "$(id -u)" -ne 0 ]; then
    echo
    echo "not root: mounting needs root, so this is where the demo stops; here is the plan instead"
    run "$bin" mount --dry-run dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt
    exit 0
fi

if grep -qw aufs /proc/filesystems; then fallback=none; else fallback=overlay; fi
run "$bin" mount --fallback "$fallback" dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt
run "$bin" status "$work/mnt"

step "ls mnt   # the union of all four layers"
ls mnt
step "cat mnt/002.txt   # image1 is above image2, so image1's copy wins"
cat mnt/002.txt

step "echo 'Hello, image1 changed!' > mnt/001.txt   # copy-on-write"
echo 'Hello, image1 changed!' > mnt/001.txt
run cat image1/001.txt
run cat container/001.txt
run ls -l container

step "rm mnt/003.txt   # deleting a lower file leaves a whiteout in the container layer"
rm mnt/003.txt
run ls mnt
run cat image2/003.txt
step "ls -la container   # the whiteout"
find container -maxdepth 1 \( -name '*003*' -o -name '.wh*' \) -exec ls -ld {} + || true

run "$bin" umount "$work/mnt"
step "ls -a $work   # the overlay workdir is gone, the layers remain"
ls -a "$work"
echo
echo "demo finished: mounted with $( [ "$fallback" = none ] && echo aufs || echo 'overlayfs (aufs is not available on this kernel; see the check above)')"
