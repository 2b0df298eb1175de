#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The man pages as man(1) renders them (`man -l`, with its warnings on): scripts/man.sh makes
# aufsctl(8) and mount.aufs(8) (by hand) and one page per subcommand (from the command
# definitions). aufsctl(8) must have NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS (0 to 6), ENVIRONMENT,
# FILES (the state file, the runtime directory, modules-load), EXAMPLES (the walk-through's union)
# and SEE ALSO naming mount(8), fstab(5), systemd.mount(5) and dkms(8); mount.aufs(8) its argv
# (-f -v -s -n -N -o), the exit codes 1, 2, 4, 16, 32, 64, an fstab line and a .mount unit; every
# subcommand page an EXIT STATUS with real codes (never the plugin's ">0 if an error occurs") and
# EXAMPLES. Needs no root. Prints "man: N passed, M failed".
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${MAN_SCRATCH:-$REPO/.build/man-test}
"$REPO/scripts/deps.sh" man-db >/dev/null
"$REPO/scripts/man.sh" "$OUT" 2>"$OUT.log" || { cat "$OUT.log"; exit 1; }

pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "MAN: $1 PASS $3"; else fail=$((fail + 1)); echo "MAN: $1 FAIL $3"; fi; }
render() {   # PAGE -> the text in $OUT/PAGE.txt, man's warnings in $OUT/PAGE.warn
    MANWIDTH=100 LANG=C.UTF-8 man --warnings -E UTF-8 -l "$OUT/$1" >"$OUT/$1.txt" 2>"$OUT/$1.warn"
}
# Every heading and every line a page must show, in order of the arguments; prints what is missing.
missing() {   # PAGE REGEX...
    local page=$1 re
    shift
    for re in "$@"; do grep -qE -- "$re" "$OUT/$page.txt" || printf '%s; ' "$re"; done
}

render aufsctl.8
m=$(missing aufsctl.8 '^NAME$' '^SYNOPSIS$' '^DESCRIPTION$' '^EXIT STATUS$' '^ENVIRONMENT$' '^FILES$' \
    '^EXAMPLES$' '^SEE ALSO$' '^     [0-6] +' '/var/lib/aufsctl/state\.json' '/run/aufsctl/' \
    '/etc/modules-load\.d/aufs\.conf' 'dirs=\./container:\./image1=ro:\./image2=ro:\./image3=ro' \
    'fallback overlay' 'mount\(8\)' 'fstab\(5\)' 'systemd\.mount\(5\)' 'dkms\(8\)' 'mount\.aufs\(8\)')
codes=$(grep -cE '^     [0-6] {5,}' "$OUT/aufsctl.8.txt" || true)
[ -z "$m" ] && [ "$codes" = 7 ] && [ ! -s "$OUT/aufsctl.8.warn" ] && r=0 || r=1
check aufsctl.8 "$r" "$(wc -l <"$OUT/aufsctl.8.txt") lines, exit codes listed: $codes; missing: ${m:-none}; warnings: $(head -c 300 "$OUT/aufsctl.8.warn")"

render mount.aufs.8
m=$(missing mount.aufs.8 '^NAME$' '^SYNOPSIS$' '^OPTIONS$' '^EXIT STATUS$' '^EXAMPLES$' '^SEE ALSO$' \
    'mount\.aufs spec dir \[-sfnv\] \[-o options\]' '\[-N namespace\]' 'umount\.aufs dir \[-nlfvr\]' \
    '^     -f +Fake' '^     -v +Verbose' '^     -s +Sloppy' '^     -n +Do not write' '^     -N namespace' \
    '^     -o options' 'x-aufsctl\.fallback=overlay' '^ +none /srv/seed/mnt aufs br=' '^ +Type=aufs$' '^ +\[Mount\]$')
codes=$(grep -oE '^     (1|2|4|16|32|64) ' "$OUT/mount.aufs.8.txt" | tr -d ' ' | paste -sd, -)
[ -z "$m" ] && [ "$codes" = "1,2,4,16,32,64" ] && [ ! -s "$OUT/mount.aufs.8.warn" ] && r=0 || r=1
check mount.aufs.8 "$r" "$(wc -l <"$OUT/mount.aufs.8.txt") lines, exit codes $codes (besides 0); missing: ${m:-none}; warnings: $(head -c 300 "$OUT/mount.aufs.8.warn")"

n=0; bad=""
for page in "$OUT"/aufsctl.*.8; do
    p=$(basename "$page")
    render "$p"
    sub=${p#aufsctl.}; sub=${sub%.8}
    m=$(missing "$p" "^     aufsctl $sub" '^EXIT STATUS$' '^     0 {5,}' '^     [12] {5,}' '^EXAMPLES$' "^ +aufsctl $sub " \
        '^SEE ALSO$' '^NAME$' "aufsctl\\.$sub — ")
    grep -q 'error occurs' "$OUT/$p.txt" && m="$m the plugin's '>0 if an error occurs';"
    [ -s "$OUT/$p.warn" ] && m="$m warnings: $(head -c 200 "$OUT/$p.warn");"
    [ -n "$m" ] && bad="$bad $p: $m"
    n=$((n + 1))
done
[ "$n" -ge 11 ] && [ -z "$bad" ] && r=0 || r=1
check subcommand-pages "$r" "$n pages with EXIT STATUS and EXAMPLES from the command definitions;${bad:- all complete}"

echo "man: $pass passed, $fail failed"
[ "$fail" = 0 ]
