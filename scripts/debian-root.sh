#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The one cached Debian root builder the suites share: a minbase root of SUITE (main only) with
# the named packages, built once with mmdebstrap and kept as a tarball under
# /var/cache/aufsctl/roots (AUFSCTL_ROOT_CACHE); later calls print the cached path at once.
#   scripts/debian-root.sh SUITE [PACKAGE...]   ->  prints the tarball's path
# Unpack it where a suite wants a root: tar -C DIR -xf "$(scripts/debian-root.sh bookworm ...)".
# Needs root (mmdebstrap is installed through apt when missing) and the Debian mirror.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 SUITE [PACKAGE...]" >&2; exit 2; }
suite=$1; shift
cache=${AUFSCTL_ROOT_CACHE:-/var/cache/aufsctl/roots}
mirror=${AUFSCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$(printf '%s %s %s' "$suite" "$pkgs" "$mirror" | sha256sum | cut -c1-12)
out=$cache/$suite-$key.tar
if [ -s "$out" ]; then echo "$out"; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "debian-root: building $suite needs root" >&2; exit 1; }
command -v mmdebstrap >/dev/null 2>&1 || {
    echo "debian-root: installing mmdebstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2
}
mkdir -p "$cache"
echo "debian-root: building $suite ($pkgs) into $out" >&2
mmdebstrap --quiet --format=tar --variant=minbase ${pkgs:+--include="$pkgs"} "$suite" "$out.tmp" "$mirror" >&2
mv "$out.tmp" "$out"
echo "$out"
