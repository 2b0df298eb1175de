#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The section 8 man pages: aufsctl(8) and mount.aufs(8), written by hand (packaging/man), and one
# page per subcommand, aufsctl.SUBCOMMAND.8, from the command definitions (swift-argument-parser's
# generate-manual plugin over the debug build's --experimental-dump-help). The plugin prints a
# command's discussion as plain text and ends every page with EXIT STATUS ">0 if an error
# occurs"; the discussions carry an "Examples:" and an "Exit status:" block (what --help shows),
# which this script turns into the pages' EXAMPLES and EXIT STATUS sections, the other indented
# lines into literal displays. A subcommand page without both blocks fails the build.
#   scripts/man.sh OUTDIR [DATE]      (DATE: YYYY-MM-DD, default from SOURCE_DATE_EPOCH or today)
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)}
OUT=${1:?usage: scripts/man.sh OUTDIR [DATE]}
DATE=${2:-$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)}
log() { echo "man: $*" >&2; }

"$SWIFT" package generate-manual --multi-page --section 8 --configuration debug --date "$DATE" \
    --authors "the aufsctl authors" >&2
GEN=.build/plugins/GenerateManual/outputs/aufsctl
rm -rf "$OUT"
mkdir -p "$OUT"
# The hand-written pages take the dates of the others.
for page in packaging/man/aufsctl.8 packaging/man/mount.aufs.8; do
    sed "s/^\.Dd .*/.Dd $(LC_ALL=C date -u -d "$DATE" '+%B %-d, %Y')/" "$page" >"$OUT/$(basename "$page")"
done

made=0
for page in "$GEN"/aufsctl.*.8; do
    name=$(basename "$page" .8)          # aufsctl.mount
    sub=${name#aufsctl.}
    [ "$sub" = help ] && continue         # ArgumentParser's `help` subcommand: aufsctl(8) covers it
    awk -v sub_="$sub" -v name="$name" '
    function flush_literal() { if (inlit) { body = body ".Ed\n"; inlit = 0 } }
    # Text as it stands in a discussion, without its indentation (the plugin escaped it already).
    function text(s) { sub(/^ +/, "", s); sub(/^\\&/, "", s); sub(/^ +/, "", s); return s }
    BEGIN { sect = ""; mode = "prose"; inlist = 0; body = ""; exits = ""; examples = "" }
    /^\.Sh / { flush_literal(); sect = $0; mode = "prose" }
    # NAME: the page name (aufsctl.mount), which whatis/apropos can index; the command as typed
    # stays in SYNOPSIS.
    sect == ".Sh NAME" && /^\.Nm / { body = body ".Nm " name "\n"; next }
    sect == ".Sh SYNOPSIS" && $0 == ".Nm" { body = body ".Nm aufsctl\n.Cm " sub_ "\n"; next }
    sect == ".Sh DESCRIPTION" && /^\.Bl / { flush_literal(); inlist = 1 }
    sect == ".Sh DESCRIPTION" && !inlist {
        if ($0 == "Examples:") { flush_literal(); mode = "examples"; next }
        if ($0 == "Exit status:") { flush_literal(); mode = "exits"; next }
        indented = ($0 ~ /^(\\&)? /)
        if (mode == "exits" && indented) {
            line = text($0)
            if (match(line, /^[0-9]+  +/)) {
                code = substr(line, 1, RLENGTH); sub(/ +$/, "", code)
                exits = exits ".It Sy " code "\n" substr(line, RLENGTH + 1) "\n"
            } else {
                exits = exits line "\n"
            }
            next
        }
        if (mode == "examples" && indented) {
            line = $0; sub(/^\\&/, "", line)
            if (line ~ /^    /) {
                if (!exlit) { examples = examples ".Bd -literal -offset indent\n"; exlit = 1 }
                examples = examples substr(line, 5) "\n"
            } else {
                if (exlit) { examples = examples ".Ed\n"; exlit = 0 }
                examples = examples ".Pp\n" text(line) "\n"
            }
            next
        }
        if (exlit) { examples = examples ".Ed\n"; exlit = 0 }
        mode = "prose"
        if ($0 == "") { flush_literal(); body = body ".Pp\n"; next }
        if ($0 ~ /^(\\&)? /) {
            if (!inlit) { body = body ".Bd -literal -offset indent\n"; inlit = 1 }
            line = $0; sub(/^\\&/, "", line); sub(/^  /, "", line)
            body = body line "\n"; next
        }
        flush_literal()
    }
    $0 == ".Sh \"EXIT STATUS\"" { skip = 1; next }
    skip && $0 == ".Ex -std" { skip = 0; next }
    /^\.Sh (SEE|AUTHORS)/ && !done {
        if (exlit) { examples = examples ".Ed\n"; exlit = 0 }
        if (exits == "" || examples == "") {
            printf "man: aufsctl %s: the discussion lacks an %s block\n", sub_, (exits == "" ? "\"Exit status:\"" : "\"Examples:\"") > "/dev/stderr"
            failed = 1
        }
        body = body ".Sh \"EXIT STATUS\"\n.Bl -tag -width Ds\n" exits ".El\n.Sh EXAMPLES\n" examples
        # The plugin gives a leaf command no SEE ALSO: the overview and the helper page.
        if ($0 ~ /^\.Sh AUTHORS/) body = body ".Sh \"SEE ALSO\"\n.Xr aufsctl 8 ,\n.Xr mount.aufs 8\n"
        done = 1
    }
    { body = body $0 "\n" }
    END { if (failed) exit 1; printf "%s", body }
    ' "$page" >"$OUT/$name.8"
    made=$((made + 1))
done
[ "$made" -ge 10 ] || { log "generate-manual made $made subcommand pages in $GEN"; exit 1; }
# No page may keep the plugin's generic exit status.
if grep -l '^\.Ex -std' "$OUT"/*.8 >&2; then log "pages above still say '>0 if an error occurs'"; exit 1; fi
log "$((made + 2)) pages in $OUT"
