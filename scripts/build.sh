#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The release binary, linked against Debian 11's glibc 2.31 and libraries (scripts/sysroot.sh), so
# that it runs on every host with glibc >= 2.31: Debian 11, Ubuntu 20.04 and newer. Fails when the
# result needs any GLIBC symbol version above 2.31.
#   scripts/build.sh [SCRATCH]      -> SCRATCH/release/aufsctl (default .build/glibc231)
# SWIFT names the swift driver (default: the one on PATH, else /opt/swift/usr/bin/swift).
# PACKAGE_PATH and PRODUCT build another package the same way (bench/run.sh's floor program).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${1:-$PWD/.build/glibc231}
PACKAGE_PATH=${PACKAGE_PATH:-$PWD}
PRODUCT=${PRODUCT:-aufsctl}
SWIFT=${SWIFT:-$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)}
MAX_GLIBC=2.31
SR=$(scripts/sysroot.sh)
# `aufsctl --version` names these as the oldest libraries it runs with (BuildInfo.swift): check the
# sysroot really holds them.
for pv in libc6:2.31 libkmod2:28 libblkid1:2.36.1 zlib1g:1:1.2.11; do
    p=${pv%%:*}; want=${pv#*:}
    have=$(dpkg-deb -f "$(ls "$(dirname "$SR")"/apt-bullseye/debs/${p}_*.deb | head -n 1)" Version)
    case $have in "$want"*) ;; *) echo "build: the sysroot's $p is $have, not $want (update BuildInfo.swift)" >&2; exit 1 ;; esac
done
# The Swift SDK layout the driver expects under -sdk: the toolchain's own runtime and modules
# (static and shared) beside the sysroot's C libraries.
TOOLCHAIN=$(cd "$(dirname "$(readlink -f "$SWIFT")")/.." && pwd)
for d in swift swift_static; do ln -sfn "$TOOLCHAIN/lib/$d" "$SR/usr/lib/$d"; done
mkdir -p "$SCRATCH"
# GCC 10's libstdc++ lacks one function the Swift runtime calls (see the file).
"$TOOLCHAIN/bin/clang++" -c -O2 -fPIC --sysroot="$SR" -o "$SCRATCH/gcc10-compat.o" scripts/gcc10-compat.cpp
# Start-up (issue 14), each measured with perf stat and /usr/bin/time before it was kept:
# - lld, with every Swift function in its own section and the functions the common commands run
#   (scripts/aufsctl.order, made by scripts/order-file.sh from callgrind runs) laid out together:
#   `check` faults in ~2.5 MB less code (peak RSS 14.2 -> 11.7 MB).
# - GCC 10's libstdc++ linked in statically (only the Swift runtime uses it): loading and relocating
#   libstdc++.so cost every process ~0.4 ms. The search directory below holds only libstdc++.a, so
#   the driver's own -lstdc++ finds it before the shared one.
# - --no-export-dynamic: the Swift driver exports every symbol of the executable, which nothing
#   looks up, and which made the loader's symbol lookups search a 6,000-entry table.
# - no $ORIGIN rpath: the Swift libraries are static, and the loader would otherwise search the
#   binary's directory (and its glibc-hwcaps subdirectories) for every library first.
# ORDER_FILE= (empty) links without an order.
if [ "$PRODUCT" = aufsctl ]; then ORDER_FILE=${ORDER_FILE-$PWD/scripts/aufsctl.order}; else ORDER_FILE=${ORDER_FILE-}; fi
order=()
[ -n "$ORDER_FILE" ] && order=(-Xlinker --symbol-ordering-file="$ORDER_FILE" -Xlinker --no-warn-symbol-ordering)
mkdir -p "$SCRATCH/static-libstdc++"
ln -sfn "$SR/usr/lib/gcc/x86_64-linux-gnu/10/libstdc++.a" "$SCRATCH/static-libstdc++/libstdc++.a"
PKG_CONFIG_PATH="$SR/usr/lib/x86_64-linux-gnu/pkgconfig:$SR/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$SR" \
    "$SWIFT" build -c release --static-swift-stdlib --disable-local-rpath \
    --package-path "$PACKAGE_PATH" --scratch-path "$SCRATCH" \
    -Xswiftc -sdk -Xswiftc "$SR" -Xcc --sysroot="$SR" -Xswiftc -DAUFSCTL_GLIBC231 \
    -Xswiftc -use-ld=lld -Xswiftc -Xfrontend -Xswiftc -function-sections "${order[@]}" \
    -Xswiftc -L"$SCRATCH/static-libstdc++" -Xlinker --no-export-dynamic \
    -Xlinker --compress-debug-sections=zlib \
    -Xlinker "$SCRATCH/gcc10-compat.o"
# Every product of the package is checked (aufsctl and aufsctl-helper; the floor program alone).
bins=("$SCRATCH/release/$PRODUCT")
[ "$PRODUCT" = aufsctl ] && bins+=("$SCRATCH/release/aufsctl-helper")
for BIN in "${bins[@]}"; do
    needed=$(objdump -T "$BIN" | grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sed 's/GLIBC_//' | sort -Vu | tail -n 1)
    if [ "$(printf '%s\n%s\n' "$needed" "$MAX_GLIBC" | sort -V | tail -n 1)" != "$MAX_GLIBC" ]; then
        echo "build: $BIN needs GLIBC_$needed, above $MAX_GLIBC:" >&2
        objdump -T "$BIN" | grep -E "GLIBC_($needed)" | head -n 20 >&2
        exit 1
    fi
    if objdump -p "$BIN" | grep -q 'NEEDED.*libstdc++'; then
        echo "build: $BIN still loads libstdc++.so (the static libstdc++.a was not linked)" >&2
        exit 1
    fi
    echo "build: $BIN (needs at most GLIBC_$needed; libraries: $(objdump -p "$BIN" | awk '/NEEDED/ { printf "%s ", $2 }'))"
done
