#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# A glibc 2.31 sysroot (Debian 11 "bullseye") to link aufsctl against, so that one binary runs on
# every host with glibc >= 2.31 (Debian 11, Ubuntu 20.04, and newer). Downloads the -dev packages
# aufsctl links with and the runtime libraries they name (apt-get download from the bullseye suite,
# through a private apt configuration: the host's apt state is not touched), unpacks them with
# dpkg -x and points the packages' absolute symlinks (libpthread.so -> /lib/...) inside the
# sysroot, so nothing of the host's newer glibc is linked by accident.
#   scripts/sysroot.sh            -> prints the sysroot's path (cached: a second run only prints it)
# AUFSCTL_SYSROOT_CACHE (default /var/cache/aufsctl/sysroot), AUFSCTL_DEBIAN_MIRROR.
set -euo pipefail
CACHE=${AUFSCTL_SYSROOT_CACHE:-/var/cache/aufsctl/sysroot}
MIRROR=${AUFSCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bullseye
PKGS=(libc6 libc6-dev linux-libc-dev libgcc-s1 libgcc-10-dev libstdc++6 libstdc++-10-dev libcrypt1 libcrypt-dev
      libkmod2 libkmod-dev libblkid1 libblkid-dev libmount1 libmount-dev libuuid1 uuid-dev zlib1g zlib1g-dev
      libselinux1 libselinux1-dev libsepol1 libsepol1-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix2 libpcre2-dev
      liblzma5 libssl1.1 libzstd1)
key=$(printf '%s ' "$SUITE" "$MIRROR" "${PKGS[@]}" | sha256sum | cut -c1-12)
SR=$CACHE/$SUITE-amd64-$key
if [ -f "$SR/.complete" ]; then echo "$SR"; exit 0; fi
log() { echo "sysroot: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "building the sysroot needs root (apt-get download, $CACHE)"; exit 1; }

APT=$CACHE/apt-$SUITE
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$APT/cache" "$APT/debs"
echo "deb $MIRROR $SUITE main" >"$APT/sources.list"
: >"$APT/status"
A=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$APT/lists"
   -o "Dir::State::status=$APT/status" -o "Dir::Cache=$APT/cache" -o "Dir::Cache::archives=$APT/archives"
   -o APT::Sandbox::User=root -o Debug::NoLocking=1 -q)
log "apt-get update ($SUITE)"
apt-get "${A[@]}" update >&2
(cd "$APT/debs" && rm -f ./*.deb && apt-get "${A[@]}" download "${PKGS[@]}" >&2)
rm -rf "$SR.tmp"
mkdir -p "$SR.tmp"
for d in "$APT"/debs/*.deb; do dpkg -x "$d" "$SR.tmp"; done
# Absolute symlinks (libpthread.so -> /lib/x86_64-linux-gnu/libpthread.so.0) would reach the host.
find "$SR.tmp" -type l | while read -r l; do
    t=$(readlink "$l")
    case $t in /*) ln -sfn "$SR$t" "$l" ;; esac
done
rm -rf "$SR"; mv "$SR.tmp" "$SR"
# Links made while the tree was at $SR.tmp: repoint them at $SR.
find "$SR" -type l | while read -r l; do
    t=$(readlink "$l")
    case $t in "$SR.tmp"/*) ln -sfn "$SR${t#"$SR.tmp"}" "$l" ;; esac
done
touch "$SR/.complete"
log "ready: $SR ($(dpkg-deb -f "$APT"/debs/libc6_*.deb Version) glibc)"
echo "$SR"
