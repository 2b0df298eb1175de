#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Crash safety of `aufsctl convert`: SIGKILL `--commit` and `--rollback` at a random moment, many
# times, on copies of a two-branch aufs union (a rw branch of 180 top-level entries with whiteouts,
# an opaque directory, aufs's own files and non-UTF-8 names, over a ro+wh branch with whiteouts of
# its own), converted to overlay.
#
# After each kill, in every branch: each top-level entry the journal names is its old or its new
# inode, never anything else (convert-manifest.py sides); no branch is left without a way back.
# Then, by turns: `--rollback` restores the original trees byte for byte (inodes, times, xattrs:
# convert-manifest.py tree --inodes); or `--commit` again gives the same tree as an uninterrupted
# commit, and `--rollback` after it the original; or, killed during `--rollback` of a completed
# commit, `--rollback` again gives the original.
#
#   Tests/stress/convert-crash.sh [ITERATIONS=200]      (root; AUFSCTL=path to a built binary)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
N=${1:-200}
[ "$(id -u)" -eq 0 ] || { echo "skipped: convert-crash.sh needs root (owners, trusted.* xattrs)"; exit 0; }
[ -x /usr/bin/python3 ] || scripts/deps.sh python3 || exit 2
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
if [ -z "${AUFSCTL:-}" ]; then
    "$SWIFT" build -c release --static-swift-stdlib --scratch-path .build-bench >/tmp/aufsctl-convert-crash-build.log 2>&1 \
        || { tail -30 /tmp/aufsctl-convert-crash-build.log; exit 2; }
    AUFSCTL=$PWD/.build-bench/release/aufsctl
fi
M=$PWD/Tests/stress/convert-manifest.py

W=$(mktemp -d /tmp/aufsctl-convert-crash.XXXXXX)
trap 'rm -rf "$W"' EXIT

# The template union.
T=$W/template
mkdir -p "$T/rw" "$T/ro"
: >"$T/rw/.wh..wh.aufs"; chmod 444 "$T/rw/.wh..wh.aufs"
: >"$T/ro/.wh..wh.aufs"; chmod 444 "$T/ro/.wh..wh.aufs"
mkdir "$T/rw/.wh..wh.plnk" "$T/rw/.wh..wh.orph"
for i in $(seq 1 60); do
    mkdir -p "$T/rw/d$i/sub" "$T/ro/d$i"
    echo "rw $i" >"$T/rw/d$i/sub/f"
    echo "ro $i" >"$T/ro/d$i/gone"; ln "$T/rw/.wh..wh.aufs" "$T/rw/d$i/.wh.gone"
    echo "ro $i" >"$T/ro/d$i/kept"
    echo "file $i" >"$T/rw/f$i"; chown $((i % 3 * 1000)):$((i % 2 * 100)) "$T/rw/f$i"; chmod 6$((i % 8))$((i % 8))4 "$T/rw/f$i"
    echo "lower top $i" >"$T/ro/w$i"; ln "$T/rw/.wh..wh.aufs" "$T/rw/.wh.w$i"
done
ln "$T/rw/f1" "$T/rw/d1/sub/hardlink-of-f1"
ln "$T/rw/.wh..wh.aufs" "$T/rw/d2/.wh..wh..opq"
printf 'x' >"$T/rw/$(printf 'odd\nname\xff')"
mkfifo "$T/rw/fifo"; mknod "$T/rw/null" c 1 3
setfattr() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"; }
setfattr "$T/rw/f3" user.note hello
setfattr "$T/rw/d3" user.dir-note there
# The ro+wh branch hides a name of a third, lower branch.
mkdir -p "$T/base/d4" && echo base >"$T/base/d4/hidden" && ln "$T/ro/.wh..wh.aufs" "$T/ro/d4/.wh.hidden"
touch -d '2001-02-03 04:05:06.123456789' "$T"/rw/* "$T"/rw "$T"/ro "$T"/base
SPEC=(dirs="$W/run/rw=rw:$W/run/ro=ro+wh:$W/run/base=ro")

# The converted trees of one uninterrupted commit (no inodes: each run is a fresh copy).
R=$W/run; cp -a "$T" "$R"
start=$(date +%s%N)
"$AUFSCTL" convert --to overlay --commit "${SPEC[@]}" >"$W/ref.out" 2>&1 || { cat "$W/ref.out"; echo "reference commit failed"; exit 1; }
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
for b in rw ro; do python3 "$M" tree "$R/$b" >"$W/new-$b"; done
start=$(date +%s%N)
"$AUFSCTL" convert --rollback "${SPEC[@]}" >/dev/null 2>&1 || { echo "reference rollback failed"; exit 1; }
rb_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cmp -s "$W/new-rw" <(python3 "$M" tree "$R/rw") && { echo "the reference commit changed nothing"; exit 1; }
echo "reference: commit ${dur_ms} ms, rollback ${rb_ms} ms; $N runs killed at a random moment of one or the other"

fail=0; killed=0; declare -A seen
kill_at() { # FROM-MS TO-MS CMD... : runs CMD, SIGKILLs it after a random delay in [FROM, TO] ms; sets KILLED
    local us=$(( $1 * 1000 + (RANDOM * 32768 + RANDOM) % (($2 - $1) * 1000 + 1) ))
    setsid "${@:3}" >"$W/out" 2>&1 &
    local pid=$!
    sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
    if kill -KILL "$pid" 2>/dev/null; then KILLED=1; killed=$((killed + 1)); else KILLED=0; fi
    wait "$pid" 2>/dev/null
}
for i in $(seq 1 "$N"); do
    rm -rf "$R"; cp -a "$T" "$R"
    for b in rw ro base; do python3 "$M" tree "$R/$b" --inodes >"$W/old-$b"; done
    bad=""
    mode=$((i % 3))
    if [ $mode -eq 2 ]; then
        "$AUFSCTL" convert --to overlay --commit "${SPEC[@]}" >/dev/null 2>&1 || bad+=" commit before the killed rollback failed"
        kill_at 0 "$rb_ms" "$AUFSCTL" convert --rollback "${SPEC[@]}"
    elif [ $mode -eq 1 ]; then
        # Late in the run, where the trees are exchanged (staging takes most of it).
        kill_at $((dur_ms / 2)) $((dur_ms * 11 / 10)) "$AUFSCTL" convert --to overlay --commit "${SPEC[@]}"
    else
        kill_at 0 "$dur_ms" "$AUFSCTL" convert --to overlay --commit "${SPEC[@]}"
    fi
    for b in rw ro; do
        state=$(python3 "$M" sides "$R/$b") || bad+=" $b: $(grep BAD <<<"$state" | head -3 | tr '\n' ' ')"
        seen["$b:$(head -1 <<<"$state")"]=1
    done
    if [ $mode -eq 1 ]; then
        "$AUFSCTL" convert --to overlay --commit "${SPEC[@]}" >"$W/out2" 2>&1 || bad+=" re-run commit: $(tail -2 "$W/out2" | tr '\n' ' ')"
        for b in rw ro; do cmp -s "$W/new-$b" <(python3 "$M" tree "$R/$b") || bad+=" $b differs from an uninterrupted commit"; done
    fi
    "$AUFSCTL" convert --rollback "${SPEC[@]}" >"$W/out3" 2>&1 || bad+=" rollback: $(tail -2 "$W/out3" | tr '\n' ' ')"
    for b in rw ro base; do
        cmp -s "$W/old-$b" <(python3 "$M" tree "$R/$b" --inodes) || bad+=" $b is not byte-identical after --rollback"
    done
    [ -e "$R/rw/.aufsctl-convert" ] && bad+=" rw/.aufsctl-convert left after --rollback"
    if [ -n "$bad" ]; then
        fail=$((fail + 1))
        echo "run $i (mode $mode, killed=$KILLED):$bad"
        if [ $fail -le 3 ]; then
            echo "--- killed run output:"; cat "$W/out"
            for b in rw ro base; do
                echo "--- $b: before the commit (<) and after --rollback (>)"
                diff <(cat "$W/old-$b") <(python3 "$M" tree "$R/$b" --inodes) | head -10 || true
            done
        fi
        [ $fail -ge 20 ] && break
    fi
done
echo "convert crash-safety: $N runs ($((N - N / 3)) killing --commit, $((N / 3)) killing --rollback), $killed killed mid-run"
echo "states seen right after a kill: $(printf '%s ' "${!seen[@]}" | tr ' ' '\n' | sort | tr '\n' ' ')"
[ $fail -eq 0 ] && echo "convert crash-safety: PASS" || echo "convert crash-safety: FAIL ($fail runs)"
[ $fail -eq 0 ]
