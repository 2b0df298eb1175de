#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Installs the Debian/Ubuntu packages aufsctl's build, tests and demo need, only those missing.
# Usage: scripts/deps.sh [extra packages...]
set -eu
pkgs="pkg-config libkmod-dev libblkid-dev libmount-dev zlib1g-dev kmod util-linux gcc make binutils squashfs-tools erofs-utils jq $*"
missing=""
for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "aufsctl: missing packages:$missing; run as root (sudo make ...) or apt-get install them" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing
