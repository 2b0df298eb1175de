# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Sourced by the QEMU suites (Tests/e2e, signing, secureboot, boot): their preamble, and putting host binaries with
# their libraries into an initramfs tree ($IR), and the cached busybox-static. Needs `die`.

# aufsctl loads libkmod and libblkid with dlopen at first use (Sources/CLibLoad), which ldd
# cannot see: the sonames a binary opens are the lib*.so.N strings in it that it does not NEED.
dlopened() {  # dlopened BINARY -> sonames, one a line
    comm -23 <(strings -a "$1" | grep -E '^lib[A-Za-z0-9_+-]+\.so\.[0-9]+$' | sort -u) \
        <(objdump -p "$1" | awk '/NEEDED/ { print $2 }' | sort -u)
}
soname_path() {  # soname_path SONAME [CHROOT] -> the path the loader finds it at (x86-64)
    local so=$1
    if [ -n "${2:-}" ]; then chroot "$2" /sbin/ldconfig -p; else /sbin/ldconfig -p; fi |
        awk -v s="$so" '$1 == s && /x86-64/ && !found { print $NF; found = 1 }'  # no early exit: SIGPIPE
}
copy_with_libs() {  # copy_with_libs BINARY DEST-IN-INITRD: the binary, every library ldd names or it dlopens, the loader
    local bin=$1 dest=$2 lib so objs
    mkdir -p "$IR$(dirname "$dest")"
    cp "$bin" "$IR$dest"
    objs=("$bin")
    for so in $(dlopened "$bin"); do
        lib=$(soname_path "$so")
        [ -n "$lib" ] || die "$bin opens $so, which this host does not have"
        objs+=("$lib")
    done
    for o in "${objs[@]}"; do
        [ "$o" = "$bin" ] || echo "$o"
        ldd "$o" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
    done | while read -r lib; do
        [ -e "$IR$lib" ] && continue
        mkdir -p "$IR$(dirname "$lib")"
        cp -L "$lib" "$IR$lib"
    done
}
busybox_static() {  # busybox_static -> the cached busybox-static binary (apt-get download once)
    local cache=${AUFSCTL_KERNEL_CACHE:-/var/cache/aufsctl/kernel} bb
    bb=$cache/busybox/bin/busybox
    if [ ! -x "$bb" ]; then
        mkdir -p "$cache/busybox-deb" "$cache/busybox"
        (cd "$cache/busybox-deb" && apt-get -o APT::Sandbox::User=root -q download busybox-static >&2)
        dpkg -x "$(ls -t "$cache"/busybox-deb/busybox-static_*.deb | head -n1)" "$cache/busybox"
    fi
    [ -x "$bb" ] || die "no busybox in $cache/busybox"
    echo "$bb"
}

# The QEMU suites' common preamble. Needs `log`.
install_packages() {  # install_packages PKG... (none: nothing): apt, no recommends; once more after an index update
    [ $# -gt 0 ] || return 0
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
        || { apt-get -q update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; }
}
make_work() {  # make_work NAME KEEP-VARIABLE: sets WORK; on exit it goes unless the run failed or KEEP-VARIABLE=1
    WORK=$(mktemp -d "/tmp/aufsctl-$1.XXXXXX")
    WORK_KEEP_VARIABLE=$2
    trap work_cleanup EXIT
}
work_cleanup() {
    local rc=$?
    if [ "${!WORK_KEEP_VARIABLE:-0}" = 1 ] || [ "$rc" != 0 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
