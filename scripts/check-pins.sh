#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The dependencies resolve to the versions Package.swift pins with `exact:` (no Package.resolved is
# committed: its revisions would be those of whichever mirror resolved them). Checked twice: a clean
# resolution of Package.swift alone in an empty directory (what `swift build` does anywhere else,
# with no Package.resolved), and this tree's Package.resolved after the build (what it built with).
set -eu
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)}
if git ls-files --error-unmatch Package.resolved >/dev/null 2>&1; then
    echo "check-pins: Package.resolved is tracked by git; pin versions in Package.swift instead" >&2
    exit 1
fi
[ -f Package.resolved ] || { echo "check-pins: no Package.resolved: run swift build first" >&2; exit 1; }
pins=$(sed -n 's|.*\.package(url: "https://github.com/\([^"]*\)", exact: "\([^"]*\)").*|\1 \2|p' Package.swift)
[ -n "$pins" ] || { echo "check-pins: no exact: pins in Package.swift" >&2; exit 1; }
clean=$(mktemp -d)
trap 'rm -rf "$clean"' EXIT
cp Package.swift "$clean/"
if ! (cd "$clean" && "$SWIFT" package resolve >"$clean/resolve.log" 2>&1); then
    echo "check-pins: a clean resolution of Package.swift failed:" >&2
    tail -n 20 "$clean/resolve.log" >&2
    exit 1
fi
status=0
for resolved in "$clean/Package.resolved" Package.resolved; do
    what=$([ "$resolved" = Package.resolved ] && echo "this tree's Package.resolved" || echo "a clean resolution")
    count=$(grep -c '"identity"' "$resolved")
    if [ "$count" -ne "$(printf '%s\n' "$pins" | wc -l)" ]; then
        echo "check-pins: $what has $count packages, Package.swift pins $(printf '%s\n' "$pins" | wc -l)" >&2
        status=1
    fi
    printf '%s\n' "$pins" | while read -r repo version; do
        got=$(awk -v loc="https://github.com/$repo" '$0 ~ "\"location\" : \"" loc "\"" { f = 1 } f && /"version"/ { gsub(/[",]/, "", $3); print $3; exit }' "$resolved")
        if [ "$got" != "$version" ]; then
            echo "check-pins: $what: $repo resolved to '${got:-nothing}', Package.swift pins $version" >&2
            exit 1
        fi
        echo "check-pins: $what: $repo $version"
    done || status=1
done
exit $status
