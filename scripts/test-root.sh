#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The part of `make test` that needs root: the QEMU end-to-end suite (Tests/e2e/run.sh; a second
# boot with Debian 11's libraries as the guest's userland, a third with Debian 13's and its
# mount(8) for the mount-helper scenarios), every refused module load on a real kernel
# (Tests/signing/run.sh), the Secure Boot chain under OVMF with MokManager driven over the serial
# console (Tests/secureboot/run.sh), the systemd reboot test (Tests/boot/run.sh), the
# release binary in a Debian 11 root (Tests/glibc231/run.sh), the kernel-upgrade suite in a Debian
# 12 chroot (Tests/upgrade/run.sh), the Swift-vs-emitted-sh equivalence of install
# (Tests/equivalence/run.sh), the SIGKILL crash-safety loops (Tests/stress/crash-safety.sh, and
# convert-crash.sh for `convert --commit`/`--rollback`), the
# Debian package (Tests/deb/run.sh) and the Ansible collection (Tests/ansible/run.sh), all on the
# one glibc 2.31 release build (scripts/build.sh) in .build/glibc231.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: the QEMU suite and the crash-safety loop need root (sudo make test)"
    exit 0
fi
SWIFT=${SWIFT:-$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)}
# convert's property test (2,000 random branch stacks converted both ways, checked against the
# evaluators and this kernel's overlay mounts), alone: beside the parallel unit tests it loads the
# machine enough to make their timing tests miss.
AUFSCTL_CONVERT_PROPERTY=1 "$SWIFT" test --skip-build --filter ConvertPropertyTests
# One release binary for all of them: the glibc 2.31 build (scripts/build.sh) that ships.
SWIFT=$SWIFT scripts/build.sh "$PWD/.build/glibc231"
BIN=$PWD/.build/glibc231/release/aufsctl
E2E_SCRATCH=$PWD/.build/glibc231 Tests/e2e/run.sh
E2E_SCRATCH=$PWD/.build/glibc231 E2E_USERLAND=bullseye Tests/e2e/run.sh
E2E_SCRATCH=$PWD/.build/glibc231 E2E_USERLAND=trixie Tests/e2e/run.sh
AUFSCTL=$BIN Tests/signing/run.sh
AUFSCTL=$BIN SB_MOKMANAGER=1 Tests/secureboot/run.sh
AUFSCTL=$BIN Tests/boot/run.sh
AUFSCTL=$BIN Tests/glibc231/run.sh
AUFSCTL=$BIN Tests/upgrade/run.sh
AUFSCTL=$BIN Tests/equivalence/run.sh
AUFSCTL=$BIN Tests/stress/crash-safety.sh "${CRASH_ITERATIONS:-200}"
AUFSCTL=$BIN Tests/stress/convert-crash.sh "${CRASH_ITERATIONS:-200}"
# The Debian package of that binary in bullseye, bookworm and trixie roots, then the Ansible collection
# against three bookworm roots (with the same package) and this host.
DEB=$(SWIFT=$SWIFT scripts/deb.sh "$BIN")
DEB=$DEB AUFSCTL=$BIN Tests/deb/run.sh
DEB=$DEB AUFSCTL=$BIN Tests/ansible/run.sh
