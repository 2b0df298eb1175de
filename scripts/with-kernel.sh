#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Runs a command with a real Debian cloud kernel's module tree and headers available to the tests:
# fetches them (Tests/e2e/fetch-kernel.sh, cached) and exports AUFSCTL_TEST_KVER,
# AUFSCTL_TEST_KROOT and AUFSCTL_TEST_HEADERS. When that is impossible (not root, no apt mirror)
# it says why and runs the command anyway; the tests that need the tree then skip with a reason.
set -u
if [ "$(id -u)" -eq 0 ] && out=$(Tests/e2e/fetch-kernel.sh 2>/tmp/aufsctl-fetch-kernel.log); then
    AUFSCTL_TEST_KVER=$(printf '%s\n' "$out" | sed -n 's/^KVER=//p')
    AUFSCTL_TEST_KROOT=$(printf '%s\n' "$out" | sed -n 's/^ROOT=//p')
    AUFSCTL_TEST_HEADERS=$(printf '%s\n' "$out" | sed -n 's/^HEADERS=//p')
    export AUFSCTL_TEST_KVER AUFSCTL_TEST_KROOT AUFSCTL_TEST_HEADERS
    echo "real kernel tree for tests: $AUFSCTL_TEST_KVER in $AUFSCTL_TEST_KROOT"
else
    echo "no real kernel tree for tests (needs root and the Debian mirror; see /tmp/aufsctl-fetch-kernel.log)"
fi
exec "$@"
