#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# shellcheck disable=SC2016 # ${Status} and the completion test's variables belong to dpkg-query and bash -c
# The Debian package (scripts/deb.sh, from the glibc 2.31 release binary) in fresh Debian 11 and
# Debian 12 roots, unpacked from the shared cached root builder (scripts/debian-root.sh; the same
# tarballs as Tests/glibc231 and Tests/upgrade). In each: the test's own tools (man-db,
# bash-completion) first, then `apt-get install ./aufsctl_*.deb` (apt resolves Depends:, nothing
# else is installed by hand), `aufsctl check --root /`, `man aufsctl` and `man aufsctl.mount`
# render, bash completion loads through bash-completion's loader and completes a subcommand, and
# `apt-get remove --autoremove aufsctl` leaves the root's file list as it was before the install.
# Root only; prints "deb: N passed, M failed". DEB names a built package (default: build one).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AUFSCTL=${AUFSCTL:-$REPO/.build/glibc231/release/aufsctl}
SCRATCH=${DEB_SCRATCH:-$REPO/.build/deb-roots}
log() { echo "deb: $*"; }
[ "$(id -u)" -eq 0 ] || { log "skipped: needs root (chroot, mounts, apt in the roots)"; exit 0; }
t0=$(date +%s)
DEB=${DEB:-$("$REPO/scripts/deb.sh" "$AUFSCTL")}
[ -f "$DEB" ] || { log "error: no package at $DEB"; exit 1; }

R=
cleanup() {
    [ -n "$R" ] || return 0
    awk -v r="$R" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r \
        | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$R"   # never into a mount left behind (/dev is bind-mounted)
}
trap cleanup EXIT

pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "DEB: $1 PASS $3"; else fail=$((fail + 1)); echo "DEB: $1 FAIL $3"; fi; }
in_root() { chroot "$R" env -C / DEBIAN_FRONTEND=noninteractive NO_COLOR=1 LANG=C.UTF-8 \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"; }
# Every path in the root but apt's and dpkg's own records, caches and logs.
files() { (cd "$R" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
    -o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./var/cache -o -path ./var/log \) -prune \
    -o -print | LC_ALL=C sort); }

one_root() {   # SUITE EXPECTED-FAMILY TARBALL-PACKAGES...
    local suite=$1 family=$2 out rc json want fam page comp before after diff
    shift 2
    R=$SCRATCH/$suite
    cleanup
    mkdir -p "$R"
    tar -C "$R" -xf "$("$REPO/scripts/debian-root.sh" "$suite" "$@")"
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"; mount --bind /dev "$R/dev"
    in_root apt-get update -qq
    in_root apt-get install -y -qq --no-install-recommends man-db bash-completion >/dev/null
    before=$(files)
    cp "$DEB" "$R/tmp/"
    out=$(in_root apt-get install -y -q --no-install-recommends "./tmp/$(basename "$DEB")" 2>&1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && [ "$(in_root dpkg-query -W -f='${Status}' aufsctl)" = "install ok installed" ] && r=0 || r=1
    check "$suite-install" "$r" "apt-get install ./$(basename "$DEB"): exit $rc; $(grep -E '^(Setting up|E: [^C])' <<<"$out" | paste -sd';' | cut -c1-300)"

    json=$(in_root aufsctl check --root / --json 2>/dev/null) && rc=0 || rc=$?
    want=$(jq -r '.exitCode' <<<"$json" 2>/dev/null || true)
    fam=$(jq -r '.facts.distro.family' <<<"$json" 2>/dev/null || true)
    out=$(in_root aufsctl check --root / 2>&1) || true
    [ "$rc" = "$want" ] && [ "$fam" = "$family" ] && grep -q '^verdict' <<<"$out" && r=0 || r=1
    check "$suite-check" "$r" "aufsctl check --root /: exit $rc (report: $want), distro '$fam'; $(grep '^verdict' <<<"$out" | cut -c1-120)"

    page=$(in_root env MANPAGER=cat MANWIDTH=100 man aufsctl.mount 2>&1) && rc=0 || rc=$?
    top=$(in_root env MANPAGER=cat MANWIDTH=100 man aufsctl 2>&1) || true
    [ "$rc" = 0 ] && grep -q 'aufsctl mount' <<<"$page" && grep -q -- '--fallback' <<<"$page" \
        && grep -q 'aufsctl' <<<"$top" && r=0 || r=1
    check "$suite-man" "$r" "man aufsctl.mount: exit $rc, $(wc -l <<<"$page") lines: $(sed -n '4,5p' <<<"$page" | tr -s ' ' | paste -sd' ')"

    # Interactive bash loads completions on demand through bash-completion's loader.
    comp=$(in_root bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader aufsctl;
        complete -p aufsctl; COMP_WORDS=(aufsctl mo); COMP_CWORD=1; COMP_LINE="aufsctl mo"; COMP_POINT=10
        _aufsctl aufsctl mo aufsctl; echo "replies: ${COMPREPLY[*]}"' 2>&1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && grep -qE '^complete( -o [a-z]+)* -F _aufsctl aufsctl$' <<<"$comp" && grep -q '^replies: .*mount' <<<"$comp" \
        && r=0 || r=1
    check "$suite-completion" "$r" "exit $rc: $(paste -sd';' <<<"$comp")"

    # The packaged mount helper: /sbin/mount.aufs is aufsctl-helper, and it answers as the helper
    # (a bad invocation: exit 1 and one line naming the missing DIR).
    link=$(in_root readlink /sbin/mount.aufs)
    out=$(in_root /sbin/mount.aufs none 2>&1) && rc=0 || rc=$?
    [ "$link" = /usr/libexec/aufsctl/aufsctl-helper ] && [ "$rc" = 1 ] && grep -q "DIR is missing" <<<"$out" && r=0 || r=1
    check "$suite-helper" "$r" "/sbin/mount.aufs -> $link; 'mount.aufs none': exit $rc: $(head -n 1 <<<"$out")"

    out=$(in_root apt-get remove -y -q --autoremove aufsctl 2>&1) && rc=0 || rc=$?
    after=$(files)
    diff=$(diff <(echo "$before") <(echo "$after") || true)
    status=$(in_root dpkg-query -W -f='${Status}' aufsctl 2>/dev/null || echo "unknown to dpkg")
    [ "$rc" = 0 ] && [ -z "$diff" ] && r=0 || r=1
    check "$suite-remove" "$r" "apt-get remove --autoremove: exit $rc, dpkg: '$status', paths differing from before the install: $(grep -c '^[<>]' <<<"$diff" || true) $(head -n 5 <<<"$diff" | paste -sd' ')"
    cleanup
}

one_root bullseye "debian 11" kmod
one_root bookworm "debian 12" build-essential ca-certificates
log "done in $(( $(date +%s) - t0 ))s ($(basename "$DEB"))"
echo "deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
