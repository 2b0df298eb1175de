#!/bin/sh
# The part of `make test` that needs root: the QEMU end-to-end suite (Tests/e2e/run.sh), the
# kernel-upgrade suite in a cached Debian 12 chroot (Tests/upgrade/run.sh) and the SIGKILL
# crash-safety loop (Tests/stress/crash-safety.sh), all on one release build in .build.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: the QEMU suite and the crash-safety loop need root (sudo make test)"
    exit 0
fi
SWIFT=${SWIFT:-$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)}
"$SWIFT" build -c release --static-swift-stdlib
E2E_SCRATCH=$PWD/.build Tests/e2e/run.sh
AUFSCTL=$PWD/.build/release/aufsctl Tests/upgrade/run.sh
AUFSCTL=$PWD/.build/release/aufsctl Tests/stress/crash-safety.sh "${CRASH_ITERATIONS:-200}"
