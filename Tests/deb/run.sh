#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# shellcheck disable=SC2016 # ${Status} and the completion test's variables belong to dpkg-query and bash -c
# The Debian package (scripts/deb.sh, from the glibc 2.31 release binary) in fresh Debian 11, 12
# and 13 roots, unpacked from the shared cached root builder (scripts/debian-root.sh; bullseye and
# bookworm are the tarballs Tests/glibc231 and Tests/upgrade use, trixie carries lintian). First
# trixie's lintian over the package (deb.sh already ran bookworm's). In each root: the test's own
# tools (man-db, bash-completion) first; on a merged-/usr root the package as it was before
# (links in /sbin: DEB_HELPER_DIR=/sbin, an older DEB_VERSION, built here) is installed and then
# upgraded to this one, which must keep mount.aufs (the file loss of Debian's /usr-merge); else
# `apt-get install ./aufsctl_*.deb` (apt resolves Depends:, nothing else is installed by hand).
# Then `aufsctl check --root /`, `man aufsctl`, `man aufsctl.mount` and `man mount.aufs` (the
# helper's own page) render, bash completion loads through bash-completion's loader and
# completes a subcommand, /usr/sbin/mount.aufs is aufsctl-helper and mount(8) finds it (`mount
# -f -v`) where /usr is merged; where it is not (the bullseye root), mount(8) does not, and the
# /sbin build is installed instead and found; x-aufsctl.fallback=overlay in an fstab line and a
# unit mounts overlay through the helper; removing the package while `aufsctl persist` has a union
# recorded warns naming `aufsctl uninstall --list`, and after `uninstall --all` a purge leaves the
# root's file list as it was before the install (/var/lib/aufsctl is gone).
# Root only; prints "deb: N passed, M failed". DEB names a built package (default: build one).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AUFSCTL=${AUFSCTL:-$REPO/.build/glibc231/release/aufsctl}
SCRATCH=${DEB_SCRATCH:-$REPO/.build/deb-roots}
log() { echo "deb: $*"; }
[ "$(id -u)" -eq 0 ] || { log "skipped: needs root (chroot, mounts, apt in the roots)"; exit 0; }
"$REPO/scripts/deps.sh" >/dev/null   # jq reads check's report
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

merged() { [ "$(readlink "$R/sbin")" = usr/sbin ]; }

one_root() {   # SUITE EXPECTED-FAMILY TARBALL-PACKAGES...
    local suite=$1 family=$2 out rc json want fam page comp before after diff link how
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
    cp "$DEB" "$OLD" "$R/tmp/"
    how="apt-get install ./$(basename "$DEB")"
    if merged; then
        # The upgrade Debian's /usr-merge can lose files in: /sbin/mount.aufs (old) -> /usr/sbin (new).
        out=$(in_root apt-get install -y -q --no-install-recommends "./tmp/$(basename "$OLD")" 2>&1) && rc=0 || rc=$?
        owner=$(in_root dpkg-query -S /sbin/mount.aufs 2>&1 || true)
        [ "$rc" = 0 ] && [ "$owner" = "aufsctl: /sbin/mount.aufs" ] && r=0 || r=1
        check "$suite-old-sbin-package" "$r" "apt-get install ./$(basename "$OLD"): exit $rc; dpkg -S: $owner"
        how="upgrade from $(basename "$OLD")"
    fi
    out=$(in_root apt-get install -y -q --no-install-recommends "./tmp/$(basename "$DEB")" 2>&1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && [ "$(in_root dpkg-query -W -f='${Status} ${Version}' aufsctl)" = "install ok installed $VERSION" ] && r=0 || r=1
    check "$suite-install" "$r" "$how: exit $rc; $(grep -E '^(Setting up|Unpacking|E: [^C])' <<<"$out" | paste -sd';' | cut -c1-300)"

    json=$(in_root aufsctl check --root / --json 2>/dev/null) && rc=0 || rc=$?
    want=$(jq -r '.exitCode' <<<"$json" 2>/dev/null || true)
    fam=$(jq -r '.facts.distro.family' <<<"$json" 2>/dev/null || true)
    out=$(in_root aufsctl check --root / 2>&1) || true
    [ "$rc" = "$want" ] && [ "$fam" = "$family" ] && grep -q '^verdict' <<<"$out" && r=0 || r=1
    check "$suite-check" "$r" "aufsctl check --root /: exit $rc (report: $want), distro '$fam'; $(grep '^verdict' <<<"$out" | cut -c1-120)"

    page=$(in_root env MANPAGER=cat MANWIDTH=100 man aufsctl.mount 2>&1) && rc=0 || rc=$?
    top=$(in_root env MANPAGER=cat MANWIDTH=100 man aufsctl 2>&1) || true
    helper=$(in_root env MANPAGER=cat MANWIDTH=100 man mount.aufs 2>&1) || true
    uhelper=$(in_root env MANPAGER=cat MANWIDTH=100 man umount.aufs 2>&1) || true
    [ "$rc" = 0 ] && grep -q 'aufsctl mount' <<<"$page" && grep -q -- '--fallback' <<<"$page" \
        && grep -q '^EXIT STATUS' <<<"$page" && grep -q '^EXAMPLES' <<<"$page" \
        && grep -q '^AUFSCTL(8)' <<<"$top" && grep -q '^FILES' <<<"$top" \
        && grep -q '^MOUNT.AUFS(8)' <<<"$helper" && grep -q 'x-aufsctl.fallback=overlay' <<<"$helper" \
        && grep -q '^MOUNT.AUFS(8)' <<<"$uhelper" && r=0 || r=1
    check "$suite-man" "$r" "man aufsctl.mount: exit $rc, $(wc -l <<<"$page") lines; man aufsctl: $(head -n 1 <<<"$top" | tr -s ' '); man mount.aufs: $(head -n 1 <<<"$helper" | tr -s ' '); man umount.aufs: $(head -n 1 <<<"$uhelper" | tr -s ' ')"

    # The after-work hook examples: shipped as conffiles, inert (a dot in the name: the runner skips it).
    hooks=$(in_root sh -c 'ls /etc/aufsctl/layer.d; stat -c "%a %U" /etc/aufsctl/layer.d/*.example' 2>&1 | paste -sd' ')
    conf=$(in_root dpkg-query -W -f='${Conffiles}' aufsctl 2>&1 | grep -c 'layer.d/.*\.example' || true)
    [ "$conf" = 2 ] && grep -q '10-ldconfig.example 20-depmod.example 755 root 755 root' <<<"$hooks" && r=0 || r=1
    check "$suite-hook-examples" "$r" "/etc/aufsctl/layer.d: $hooks; conffiles: $conf"

    # Interactive bash loads completions on demand through bash-completion's loader.
    comp=$(in_root bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader aufsctl;
        complete -p aufsctl; COMP_WORDS=(aufsctl mo); COMP_CWORD=1; COMP_LINE="aufsctl mo"; COMP_POINT=10
        _aufsctl aufsctl mo aufsctl; echo "replies: ${COMPREPLY[*]}"' 2>&1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && grep -qE '^complete( -o [a-z]+)* -F _aufsctl aufsctl$' <<<"$comp" && grep -q '^replies: .*mount' <<<"$comp" \
        && r=0 || r=1
    check "$suite-completion" "$r" "exit $rc: $(paste -sd';' <<<"$comp")"

    # The packaged mount helper: /usr/sbin/mount.aufs is aufsctl-helper, it answers as the helper
    # (a bad invocation: exit 1 and one line naming the missing DIR), and mount(8) finds it where it
    # looks (/sbin: /usr/sbin on a merged-/usr root): -f passes on, so the helper checks and prints.
    link=$(in_root readlink -f /usr/sbin/mount.aufs)
    out=$(in_root /usr/sbin/mount.aufs none 2>&1) && rc=0 || rc=$?
    in_root mkdir -p /srv/w/rw /srv/w/ro /srv/w/mnt
    fake=$(in_root mount -f -v -t aufs -o br=/srv/w/rw:/srv/w/ro=ro none /srv/w/mnt 2>&1) && frc=0 || frc=$?
    if merged; then
        [ "$frc" = 0 ] && grep -q 'mount.aufs: would call mount("none", "/srv/w/mnt", "aufs"' <<<"$fake" && f=0 || f=1
    else   # util-linux looks in /sbin alone: the helper in /usr/sbin is not found there (README)
        ! grep -q 'would call' <<<"$fake" && f=0 || f=1
    fi
    [ "$link" = /usr/libexec/aufsctl/aufsctl-helper ] && [ "$rc" = 1 ] && grep -q "DIR is missing" <<<"$out" && [ "$f" = 0 ] \
        && r=0 || r=1
    check "$suite-helper" "$r" "/usr/sbin/mount.aufs -> $link; 'mount.aufs none': exit $rc: $(head -n 1 <<<"$out"); mount -f -v: exit $frc: $(grep -m1 'would call' <<<"$fake" | cut -c1-100 || echo "mount(8) did not reach the helper")"
    if ! merged; then
        # Without a merged /usr the /sbin build is the one mount(8) finds (why DEB_HELPER_DIR=/sbin stays).
        out=$(in_root apt-get install -y -q --no-install-recommends --allow-downgrades "./tmp/$(basename "$OLD")" 2>&1) \
            && rc=0 || rc=$?
        fake=$(in_root mount -f -v -t aufs -o br=/srv/w/rw:/srv/w/ro=ro none /srv/w/mnt 2>&1) && frc=0 || frc=$?
        [ "$rc" = 0 ] && [ "$frc" = 0 ] && grep -q 'mount.aufs: would call mount("none", "/srv/w/mnt", "aufs"' <<<"$fake" \
            && r=0 || r=1
        check "$suite-sbin-build" "$r" "no merged /usr here: the /sbin build: exit $rc; mount -f -v: exit $frc: $(grep -m1 'would call' <<<"$fake" | cut -c1-100)"
    fi

    # x-aufsctl.fallback=overlay, which mount(8) keeps from helpers: read from the fstab line (mount
    # DIR) and from the unit systemd would run (its mount(8) call by hand); the workdir a plain
    # umount(8) leaves is used again; aufsctl umount removes it.
    # (mount(8) finds the helper in every root now: /usr/sbin's where /usr is merged, else the /sbin build's)
    echo lower >"$R/srv/w/ro/f"
    made=$(for d in /etc/systemd /etc/systemd/system; do [ -d "$R$d" ] || echo "$R$d"; done)
    in_root mkdir -p /srv/w/rw2 /srv/w/mnt2 /etc/systemd/system
    cp "$R/etc/fstab" "$SCRATCH/fstab.$suite" 2>/dev/null || : >"$SCRATCH/fstab.$suite"
    echo 'none /srv/w/mnt aufs br=/srv/w/rw:/srv/w/ro=ro,x-aufsctl.fallback=overlay,noauto 0 0' >>"$R/etc/fstab"
    printf '[Mount]\nWhat=none\nWhere=/srv/w/mnt2\nType=aufs\nOptions=%s\n' \
        'br=/srv/w/rw2:/srv/w/ro=ro,x-aufsctl.fallback=overlay' >"$R/etc/systemd/system/srv-w-mnt2.mount"
    m1=$(in_root mount /srv/w/mnt 2>&1) && rc1=0 || rc1=$?
    t1=$(in_root findmnt -n -o FSTYPE /srv/w/mnt 2>&1 || true); c1=$(cat "$R/srv/w/mnt/f" 2>&1 || true)
    in_root umount /srv/w/mnt || true
    [ -d "$R/srv/w/.aufsctl-work.rw" ] && left=yes || left=no
    m2=$(in_root mount /srv/w/mnt 2>&1) && rc2=0 || rc2=$?
    u=$(in_root aufsctl umount /srv/w/mnt 2>&1) && urc=0 || urc=$?
    [ "$urc" = 0 ] || log "$suite: aufsctl umount /srv/w/mnt: $u"
    m3=$(in_root mount -t aufs -o br=/srv/w/rw2:/srv/w/ro=ro,x-aufsctl.fallback=overlay none /srv/w/mnt2 2>&1) \
        && rc3=0 || rc3=$?
    t3=$(in_root findmnt -n -o FSTYPE /srv/w/mnt2 2>&1 || true)
    in_root aufsctl umount /srv/w/mnt2 >/dev/null 2>&1 || true
    cp "$SCRATCH/fstab.$suite" "$R/etc/fstab"; rm -f "$R/etc/systemd/system/srv-w-mnt2.mount"
    # The directories made here (listed outermost first) go again, innermost first.
    tac <<<"$made" | while read -r d; do [ -z "$d" ] || rmdir "$d"; done
    [ "$rc1" = 0 ] && [ "$t1" = overlay ] && [ "$c1" = lower ] && grep -q 'etc/fstab sets x-aufsctl.fallback=overlay' <<<"$m1" \
        && [ "$left" = yes ] && [ "$rc2" = 0 ] && [ "$urc" = 0 ] && [ ! -e "$R/srv/w/.aufsctl-work.rw" ] \
        && [ "$rc3" = 0 ] && [ "$t3" = overlay ] && grep -q 'srv-w-mnt2.mount sets x-aufsctl.fallback=overlay' <<<"$m3" \
        && r=0 || r=1
    check "$suite-fallback" "$r" "mount /srv/w/mnt (fstab): exit $rc1, $t1, f: $c1: $(head -n 1 <<<"$m1" | cut -c1-160); workdir left by umount(8): $left; again: exit $rc2 $(head -n 1 <<<"$m2" | cut -c1-80); aufsctl umount: exit $urc; the unit's mount(8) call: exit $rc3, $t3: $(head -n 1 <<<"$m3" | cut -c1-120)"
    rm -rf "$R/srv/w/rw2" "$R/srv/w/mnt2" "$R/srv/w/ro/f"
    rm -rf "$R/run/mount"   # libmount's utab: mount(8)'s own, made by the calls above, not the package's

    # Removal with a persisted union recorded: prerm warns and names `aufsctl uninstall --list`.
    out=$(in_root aufsctl persist --via fstab dirs=/srv/w/rw:/srv/w/ro=ro /srv/w/mnt 2>&1) && prc=0 || prc=$?
    out=$(in_root apt-get remove -y -q aufsctl 2>&1) && rc=0 || rc=$?
    [ "$prc" = 0 ] && [ "$rc" = 0 ] && grep -q 'aufsctl: warning: /var/lib/aufsctl/state.json holds' <<<"$out" \
        && grep -q '`aufsctl uninstall --list`' <<<"$out" && grep -q 'aufsctl:   -  persist /srv/w/mnt' <<<"$out" \
        && [ -e "$R/var/lib/aufsctl/state.json" ] && r=0 || r=1
    check "$suite-prerm-warns" "$r" "persist: exit $prc; apt-get remove: exit $rc; $(grep '^aufsctl:' <<<"$out" | head -n 6 | paste -sd' ' | cut -c1-400)"

    # Undone with the package back, then purged: no warning, nothing of aufsctl left.
    in_root apt-get install -y -qq --no-install-recommends "./tmp/$(basename "$DEB")" >/dev/null
    in_root aufsctl uninstall --all -y >/dev/null
    rm -rf "$R/srv/w"
    [ -d "$R/var/lib/aufsctl" ] && had=yes || had=no
    out=$(in_root apt-get purge -y -q --autoremove aufsctl 2>&1) && rc=0 || rc=$?
    after=$(files)
    diff=$(diff <(echo "$before") <(echo "$after") || true)
    status=$(in_root dpkg-query -W -f='${Status}' aufsctl 2>/dev/null || echo "unknown to dpkg")
    [ "$rc" = 0 ] && [ -z "$diff" ] && [ "$had" = yes ] && ! grep -q 'aufsctl: warning' <<<"$out" && r=0 || r=1
    check "$suite-purge" "$r" "apt-get purge --autoremove: exit $rc, dpkg: '$status', /var/lib/aufsctl before the purge: $had; paths differing from before the install: $(grep -c '^[<>]' <<<"$diff" || true) $(head -n 5 <<<"$diff" | paste -sd' ')"
    cleanup
}

# The package as it was before the helpers moved to /usr/sbin, to upgrade from.
VERSION=$(dpkg-deb -f "$DEB" Version)
# OLD_DEB names one built beforehand (DEB_HELPER_DIR=/sbin DEB_VERSION=VERSION~sbin1 scripts/deb.sh).
OLD=${OLD_DEB:-$(DEB_HELPER_DIR=/sbin DEB_VERSION="$VERSION~sbin1" DEB_OUT="$SCRATCH/old" "$REPO/scripts/deb.sh" "$AUFSCTL")}
[ -f "$OLD" ] || { log "error: no /sbin package at $OLD"; exit 1; }

# Debian 13's lintian over the package (scripts/deb.sh ran Debian 12's).
R=$SCRATCH/lintian
cleanup
mkdir -p "$R"
tar -C "$R" -xf "$("$REPO/scripts/debian-root.sh" trixie lintian man-db bash-completion)"
mount -t proc proc "$R/proc"
cp "$DEB" "$R/tmp/"
out=$(in_root lintian --fail-on error,warning,info,pedantic --info --display-level '>=pedantic' "/tmp/$(basename "$DEB")" 2>&1) \
    && rc=0 || rc=$?
out=$(grep -v '^running with root privileges' <<<"$out" || true)
[ "$rc" = 0 ] && [ -z "$out" ] && r=0 || r=1
check trixie-lintian "$r" "lintian $(in_root dpkg-query -W -f='${Version}' lintian): exit $rc; $(head -n 8 <<<"$out" | paste -sd' ' | cut -c1-600)"
cleanup

one_root bullseye "debian 11" kmod
one_root bookworm "debian 12" build-essential ca-certificates
one_root trixie "debian 13" lintian man-db bash-completion
log "done in $(( $(date +%s) - t0 ))s ($(basename "$DEB"))"
echo "deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
