#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The dependencies resolve to the versions Package.swift pins with `exact:` (no Package.resolved is
# committed: its revisions would be those of whichever mirror resolved them). Run after a build.
set -eu
cd "$(dirname "$0")/.."
if git ls-files --error-unmatch Package.resolved >/dev/null 2>&1; then
    echo "check-pins: Package.resolved is tracked by git; pin versions in Package.swift instead" >&2
    exit 1
fi
[ -f Package.resolved ] || { echo "check-pins: no Package.resolved: run swift build first" >&2; exit 1; }
status=0
pins=$(sed -n 's|.*\.package(url: "https://github.com/\([^"]*\)", exact: "\([^"]*\)").*|\1 \2|p' Package.swift)
[ -n "$pins" ] || { echo "check-pins: no exact: pins in Package.swift" >&2; exit 1; }
count=$(grep -c '"identity"' Package.resolved)
[ "$count" -eq "$(printf '%s\n' "$pins" | wc -l)" ] || { echo "check-pins: Package.resolved has $count packages, Package.swift pins $(printf '%s\n' "$pins" | wc -l)" >&2; status=1; }
printf '%s\n' "$pins" | while read -r repo version; do
    got=$(awk -v loc="https://github.com/$repo" '$0 ~ "\"location\" : \"" loc "\"" { f = 1 } f && /"version"/ { gsub(/[",]/, "", $3); print $3; exit }' Package.resolved)
    if [ "$got" != "$version" ]; then
        echo "check-pins: $repo resolved to '${got:-nothing}', Package.swift pins $version" >&2
        exit 1
    fi
    echo "check-pins: $repo $version"
done || status=1
exit $status
