#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Fetch a real Debian cloud kernel (image + headers + kbuild) into a cache dir,
# for end-to-end tests that build a module for it and boot it under QEMU.
#
#   Tests/e2e/fetch-kernel.sh            # prints KVER= ROOT= VMLINUZ= HEADERS=
#   eval "$(Tests/e2e/fetch-kernel.sh | grep -E '^[A-Z]+=')"
#
# Environment:
#   AUFSCTL_KERNEL_CACHE  cache dir (default /var/cache/aufsctl/kernel)
#   AUFSCTL_KERNEL_META   metapackage to resolve (default linux-image-cloud-amd64)
#
# The version is resolved at run time from the metapackage's dependency
# (apt-cache depends); nothing is pinned. Runs `apt-get update` once if apt
# knows nothing about the metapackage. Needs root only for that update.
#
# Layout after a run ($ROOT = $CACHE/root, everything from `dpkg -x`):
#   $ROOT/boot/vmlinuz-KVER
#   $ROOT/lib/modules/KVER/...                 (depmod -b $ROOT KVER done)
#   $ROOT/lib/modules/KVER/build  -> ../../../usr/src/linux-headers-KVER
#   $ROOT/lib/modules/KVER/source -> ../../../usr/src/linux-headers-ABI-common
#   $ROOT/usr/src/linux-headers-KVER           (= HEADERS, usable as KDIR=)
#   $ROOT/usr/lib/linux-kbuild-X.Y             (scripts/ and tools/)
#
# Headers fix-up, chosen so that nothing has to be installed on the host:
# the .deb's build/source symlinks are absolute (/usr/src/...), so they are
# replaced by relative ones; the headers' scripts/ and tools/ links are already
# relative (../../lib/linux-kbuild-X.Y/...) and resolve inside $ROOT as long as
# the kbuild deb is unpacked there too; the arch headers' one-line Makefile
# says `include /usr/src/linux-headers-ABI-common/Makefile`, which is
# rewritten to the absolute path inside the cache. With that,
# `make -C $HEADERS M=... modules` and `dkms build -k KVER
# --kernelsourcedir $HEADERS` work without linux-headers-KVER on the host.
# (Installing linux-headers-KVER with apt on the host would also work and is
# what a plain `dkms build -k KVER` without --kernelsourcedir expects.)
#
# A stamp file ($CACHE/.done-KVER) makes the second run a no-op that prints
# the same lines.
set -euo pipefail

CACHE=${AUFSCTL_KERNEL_CACHE:-/var/cache/aufsctl/kernel}
META=${AUFSCTL_KERNEL_META:-linux-image-cloud-amd64}
ROOT=$CACHE/root
DEBS=$CACHE/debs

log() { echo "fetch-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

# apt-get download as root complains that _apt cannot write the target dir;
# downloading as root without the sandbox is what we want here anyway.
APT_OPTS=(-o APT::Sandbox::User=root -q)

resolve_kver() {
    local dep
    dep=$(apt-cache depends "$META" 2>/dev/null \
        | sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1) || true
    [ -n "$dep" ] || return 1
    dep=${dep#linux-image-}
    echo "${dep%-unsigned}"
}

pkg_exists() { apt-cache show --no-all-versions "$1" >/dev/null 2>&1; }
pkg_version() {
    apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

KVER=$(resolve_kver || true)
if [ -z "$KVER" ]; then
    if [ "$(id -u)" = 0 ]; then
        log "apt-cache knows no $META; running apt-get update"
        apt-get "${APT_OPTS[@]}" update >&2 || true
        KVER=$(resolve_kver || true)
    fi
fi
if [ -z "$KVER" ]; then
    # Offline and apt knows nothing: fall back to a single cached kernel.
    shopt -s nullglob
    stamps=("$CACHE"/.done-*)
    shopt -u nullglob
    [ ${#stamps[@]} -eq 1 ] || die "cannot resolve the kernel version from $META"
    KVER=${stamps[0]##*/.done-}
    log "apt-cache cannot resolve $META; using cached $KVER"
fi

HEADERS=$ROOT/usr/src/linux-headers-$KVER
VMLINUZ=$ROOT/boot/vmlinuz-$KVER
STAMP=$CACHE/.done-$KVER

if [ ! -e "$STAMP" ]; then
    t0=$(date +%s)
    mkdir -p "$DEBS" "$ROOT"

    # Image: unsigned or signed, whichever apt knows (both carry the same vmlinuz).
    image=""
    for p in "linux-image-$KVER-unsigned" "linux-image-$KVER"; do
        if pkg_exists "$p"; then image=$p; break; fi
    done
    [ -n "$image" ] || die "no linux-image-$KVER(-unsigned) package"
    kpkgver=$(pkg_version "$image")

    hdr=linux-headers-$KVER
    pkg_exists "$hdr" || die "no $hdr package"
    hdeps=$(apt-cache show --no-all-versions "$hdr" | sed -n 's/^Depends: //p' | head -n1)
    common=$(tr ',' '\n' <<<"$hdeps" | sed -n 's/^ *\(linux-headers-[^ ]*-common\)\b.*/\1/p' | head -n1)
    kbuild=$(tr ',' '\n' <<<"$hdeps" | sed -n 's/^ *\(linux-kbuild-[0-9][^ ]*\)\b.*/\1/p' | head -n1)
    [ -n "$common" ] || die "cannot find the -common headers in: $hdeps"
    [ -n "$kbuild" ] || die "cannot find linux-kbuild-X.Y in: $hdeps"

    # Same source version for all four when apt has it (kbuild's dependency is >=).
    pkgs=()
    for p in "$image" "$hdr" "$common" "$kbuild"; do
        if apt-cache madison "$p" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' \
                | grep -qxF "$kpkgver"; then
            pkgs+=("$p=$kpkgver")
        else
            pkgs+=("$p")
        fi
    done
    log "downloading ${pkgs[*]}"
    (cd "$DEBS" && apt-get "${APT_OPTS[@]}" download "${pkgs[@]}" >&2)

    for p in "$image" "$hdr" "$common" "$kbuild"; do
        deb=$(ls -t "$DEBS/${p}_"*.deb 2>/dev/null | head -n1)
        [ -n "$deb" ] || die "download of $p left no .deb in $DEBS"
        log "unpacking ${deb##*/}"
        dpkg -x "$deb" "$ROOT"
    done

    [ -f "$VMLINUZ" ] || die "no $VMLINUZ after unpacking"
    [ -d "$HEADERS" ] || die "no $HEADERS after unpacking"

    # Fix-ups (see header comment).
    moddir=$ROOT/lib/modules/$KVER
    ln -sfn "../../../usr/src/linux-headers-$KVER" "$moddir/build"
    ln -sfn "../../../usr/src/$common" "$moddir/source"
    sed -i "s|^include /usr/src/|include $ROOT/usr/src/|" "$HEADERS/Makefile"
    for l in scripts tools; do
        [ -e "$HEADERS/$l/" ] || die "$HEADERS/$l does not resolve (kbuild missing?)"
    done
    [ -x "$HEADERS/scripts/basic/fixdep" ] || die "kbuild scripts missing under $HEADERS/scripts"

    depmod -b "$ROOT" "$KVER"
    touch "$STAMP"
    log "fetched $KVER in $(( $(date +%s) - t0 )) s"
else
    log "cached: $KVER"
fi

echo "KVER=$KVER"
echo "ROOT=$ROOT"
echo "VMLINUZ=$VMLINUZ"
echo "HEADERS=$HEADERS"
