#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# `aufsctl convert` against `cp -al` (issue 26): an aufs branch of N files, 10% of them whiteouts
# (.wh.NAME hard links of .wh..wh.aufs), in directories of 100 entries, on this disk (not tmpfs),
# converted to overlay with --commit (staging by hard links, syncfs, the exchanges) against
# `cp -al` of the same tree (the hard-link staging it has to do anyway). Target: <= 2x at 100,000
# files; peak RSS flat in the number of files (10,000 against 100,000: at most 1.2x + 2 MB).
# bench/run.sh runs it; alone:
#
#   bench/convert.sh AUFSCTL OUT.md      (root; writes a markdown section, exit 1 when a target is missed)
set -euo pipefail
A=$1
OUT=$2
RUNS=${BENCH_CONVERT_RUNS:-5}
[ "$(id -u)" -eq 0 ] || { echo "bench/convert.sh needs root (owners, trusted.* xattrs)"; exit 2; }
for t in hyperfine jq; do
    command -v $t >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $t >/dev/null
done
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
W=$(mktemp -d /var/tmp/aufsctl-bench-convert.XXXXXX)
trap 'rm -rf "$W"' EXIT
MISSED=()

mktree() { # N DIR
    python3 - "$1" "$2" <<'PY'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2].encode()
os.makedirs(root)
base = os.path.join(root, b".wh..wh.aufs")
open(base, "wb").close()
os.chmod(base, 0o444)
for i in range(n):
    d = os.path.join(root, b"d%04d" % (i // 100))
    if i % 100 == 0:
        os.mkdir(d)
    if i % 10 == 9:
        os.link(base, os.path.join(d, b".wh.gone%06d" % i))
    else:
        with open(os.path.join(d, b"f%06d" % i), "wb") as f:
            f.write(b"content %d\n" % i)
PY
}

for n in 10000 100000; do
    echo "(f) convert: a branch of $n files ..."
    mktree "$n" "$W/b$n"
done
B=$W/b100000
"$A" convert --to overlay --commit "$B" >"$W/check.out" 2>&1 || { cat "$W/check.out"; echo "convert --commit failed"; exit 2; }
[ -c "$B/d0000/gone000009" ] || { echo "the converted branch has no whiteout device for .wh.gone000009"; exit 2; }
"$A" convert --rollback "$B" >/dev/null 2>&1
[ -f "$B/d0000/.wh.gone000009" ] || { echo "rollback did not restore .wh.gone000009"; exit 2; }

hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/hf.json" \
    --prepare "$A convert --rollback $B" --prepare "rm -rf $W/copy" \
    -n "aufsctl convert --commit" "$A convert --to overlay --commit $B" \
    -n "cp -al" "cp -al $B $W/copy" >"$W/hf.txt" 2>&1 || { cat "$W/hf.txt"; exit 2; }
"$A" convert --rollback "$B" >/dev/null 2>&1
A_MS=$(jq '.results[0].median*1000' "$W/hf.json")
C_MS=$(jq '.results[1].median*1000' "$W/hf.json")
RATIO=$(jq -n "$A_MS/$C_MS")
J="met"
if ! jq -e -n "$RATIO <= 2" >/dev/null; then J="**MISSED**"; MISSED+=("convert --commit of 100,000 files: $(printf '%.2f' "$RATIO")x cp -al, target 2x"); fi

# Where the time goes (info): the staging alone, --dry-run, and --rollback (untimed above).
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/hf2.json" \
    --prepare "$A convert --rollback $B" \
    -n stage "$A convert --to overlay $B" >/dev/null 2>&1
S_MS=$(jq '.results[0].median*1000' "$W/hf2.json")
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/hf3.json" -n dry "$A convert --to overlay --dry-run $B" >/dev/null 2>&1
D_MS=$(jq '.results[0].median*1000' "$W/hf3.json")
"$A" convert --rollback "$B" >/dev/null 2>&1

rss() { # CMD... -> KB
    /usr/bin/time -v -o "$W/time.txt" "$@" >/dev/null 2>&1 || true
    sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time.txt"
}
declare -A RSS
for n in 10000 100000; do
    RSS[$n]=$(rss "$A" convert --to overlay --commit "$W/b$n")
    RSS[cp$n]=$(rss cp -al "$W/b$n" "$W/cp$n")
    "$A" convert --rollback "$W/b$n" >/dev/null 2>&1
done
MJ="met"
if [ "${RSS[100000]}" -gt $((RSS[10000] * 12 / 10 + 2048)) ]; then
    MJ="**MISSED**"; MISSED+=("convert peak RSS not flat: ${RSS[10000]} kB at 10,000 files, ${RSS[100000]} kB at 100,000")
fi
mb() { jq -n "$1/1024" | xargs printf '%.1f'; }
{
    echo "## Convert (f): an aufs branch to overlay, against cp -al (issue 26)"
    echo
    echo "A branch of 100,000 entries in 1,000 directories, 10% of them aufs whiteouts (.wh.NAME hard links"
    echo "of .wh..wh.aufs), on this machine's disk; \`aufsctl convert --to overlay --commit BRANCH\` (stage"
    echo "by hard links into BRANCH/.aufsctl-convert, syncfs, exchange the top-level entries under the"
    echo "journal) against \`cp -al BRANCH COPY\`; each run starts from the original tree (\`--rollback\` and"
    echo "\`rm -rf\` as hyperfine's --prepare, not timed). hyperfine -N, $RUNS runs, medians."
    echo
    echo "| command | ms | cp -al (ms) | ratio | target | result |"
    echo "|---|---|---|---|---|---|"
    echo "| convert --commit, 100,000 files | $(printf '%.0f' "$A_MS") | $(printf '%.0f' "$C_MS") | $(printf '%.2f' "$RATIO") | <= 2x | $J |"
    echo "| convert (stage only), 100,000 files | $(printf '%.0f' "$S_MS") | | $(jq -n "$S_MS/$C_MS" | xargs printf '%.2f') | | (info) |"
    echo "| convert --dry-run, 100,000 files | $(printf '%.0f' "$D_MS") | | $(jq -n "$D_MS/$C_MS" | xargs printf '%.2f') | | (info) |"
    echo
    echo "| peak RSS (MB) | 10,000 files | 100,000 files | target | result |"
    echo "|---|---|---|---|---|"
    echo "| aufsctl convert --commit | $(mb "${RSS[10000]}") | $(mb "${RSS[100000]}") | flat (<= 1.2x + 2 MB) | $MJ |"
    echo "| cp -al | $(mb "${RSS[cp10000]}") | $(mb "${RSS[cp100000]}") | | (info) |"
    for m in "${MISSED[@]}"; do echo "MISSED: $m"; done
} >"$OUT"
cat "$OUT"
[ ${#MISSED[@]} -eq 0 ]
