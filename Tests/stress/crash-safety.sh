#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Crash safety of `aufsctl install`: SIGKILL it at a random moment, many times, while it rewrites
# /etc/default/grub, /etc/sysconfig/kernel, a yum repo file and its state file, in a throwaway copy
# of the CentOS 7 fixture root (`install --method kernel-ml-aufs --root DIR --yes`). aufsctl runs
# the root's commands as `chroot DIR cmd`, so DIR gets a static busybox as /bin/sh (and its
# applets) and sh stubs for yum, rpm, grub2-mkconfig and grubby (Tests/stress/centos-stub-root.sh).
#
# After each kill: every file is the old or the new content, never partial (the state file is
# complete JSON), and a second run completes (exit 0 or 5) to the same end state as an
# uninterrupted run, with no temporary file (.NAME.aufsctl-XXXXXX) a kill left behind (the next run
# removes them). Also counted: temporary files right after the kill.
#
#   Tests/stress/crash-safety.sh [ITERATIONS=200]      (root; AUFSCTL=path to a built binary)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
REPO=$PWD
N=${1:-200}
[ "$(id -u)" -eq 0 ] || { echo "skipped: crash-safety.sh needs root (chroot)"; exit 0; }
"$REPO/scripts/deps.sh" >/dev/null   # jq reads the state file after each kill
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
if [ -z "${AUFSCTL:-}" ]; then
    "$SWIFT" build -c release --static-swift-stdlib --scratch-path .build-bench >/tmp/aufsctl-stress-build.log 2>&1 \
        || { tail -30 /tmp/aufsctl-stress-build.log; exit 2; }
    AUFSCTL=$REPO/.build-bench/release/aufsctl
fi

W=$(mktemp -d /tmp/aufsctl-crash.XXXXXX)
trap 'rm -rf "$W"' EXIT

KVER=5.13.1-1.el7.x86_64
T=$W/template
Tests/stress/centos-stub-root.sh "$T" || exit 2
rm -f "$T/var/log/stub-calls"

ARGS=(install --method kernel-ml-aufs --repo-url https://example.invalid/kernel-ml-aufs/el7/x86_64 --gpgkey https://example.invalid/RPM-GPG-KEY-kernel-ml-aufs --yes)
FILES=(etc/default/grub etc/sysconfig/kernel etc/yum.repos.d/kernel-ml-aufs.repo)

# Reference: old contents, and the end state of one uninterrupted run.
R=$W/ref; cp -a "$T" "$R"
start=$(date +%s%N)
"$AUFSCTL" "${ARGS[@]}" --root "$R" >"$W/ref.out" 2>&1; rc=$?
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ $rc -ne 5 ] && [ $rc -ne 0 ]; then cat "$W/ref.out"; echo "the uninterrupted reference run failed (exit $rc)"; exit 1; fi
for f in "${FILES[@]}"; do cmp -s "$T/$f" "$R/$f" 2>/dev/null && { echo "reference run did not change $f"; cat "$W/ref.out"; exit 1; }; done
echo "reference run: exit $rc in ${dur_ms} ms; killing $N runs at a random moment in [0, ${dur_ms}] ms"

same() { { [ ! -e "$1" ] && [ ! -e "$2" ]; } || cmp -s "$1" "$2"; }
fail=0; killed=0; finished=0; tmpleft=0; tmpafter=0; states=0; lost_undo=0
declare -A seen lost_files
for i in $(seq 1 "$N"); do
    D=$W/run; rm -rf "$D"; cp -a "$T" "$D"
    delay_us=$(( (RANDOM * 32768 + RANDOM) % (dur_ms * 1000 + 1) ))
    setsid "$AUFSCTL" "${ARGS[@]}" --root "$D" >"$W/out" 2>&1 &
    pid=$!
    sleep "$(printf '0.%06d' "$delay_us")" 2>/dev/null || sleep "$(awk "BEGIN{print $delay_us/1000000}")"
    if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
    wait "$pid" 2>/dev/null
    # Let the stub a killed aufsctl left behind finish (its session, not any other process).
    for _ in $(seq 1 100); do pgrep -s "$pid" >/dev/null || break; sleep 0.01; done
    bad=""
    for f in "${FILES[@]}"; do
        if same "$D/$f" "$T/$f"; then seen[$f.old]=1
        elif same "$D/$f" "$R/$f"; then seen[$f.new]=1
        else bad+=" $f (neither old nor new: $(wc -c <"$D/$f" 2>/dev/null || echo missing) bytes)"; fi
    done
    st=$D/var/lib/aufsctl/state.json
    if [ -e "$st" ]; then
        states=$((states + 1))
        jq -e '.installs' "$st" >/dev/null 2>&1 || bad+=" state.json (not complete JSON: $(wc -c <"$st") bytes)"
    fi
    left=$(find "$D" -name '.*.aufsctl-*' 2>/dev/null | wc -l)
    tmpleft=$((tmpleft + left))
    # A later run completes.
    "$AUFSCTL" "${ARGS[@]}" --root "$D" >"$W/out2" 2>&1; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then bad+=" re-run exit $rc: $(tail -3 "$W/out2" | tr '\n' ' ')"; fi
    after=$(find "$D" -name '.*.aufsctl-*' 2>/dev/null | wc -l)
    tmpafter=$((tmpafter + after))
    [ "$after" -eq 0 ] || bad+=" $after temporary file(s) left after the re-run: $(find "$D" -name '.*.aufsctl-*' | head -3 | tr '\n' ' ')"
    rm -f "$D/var/log/stub-calls"
    for f in "${FILES[@]}"; do same "$D/$f" "$R/$f" || bad+=" $f differs from the uninterrupted end state after the re-run"; done
    [ "$(cat "$D/var/lib/fake-grubby-default" 2>/dev/null)" = "/boot/vmlinuz-$KVER" ] || bad+=" grubby default not set after the re-run"
    # And uninstall undoes it all.
    "$AUFSCTL" uninstall --yes --root "$D" >"$W/out3" 2>&1; urc=$?
    [ $urc -eq 0 ] || bad+=" uninstall exit $urc: $(tail -2 "$W/out3" | tr '\n' ' ')"
    # Known bug (reported): a kill between a step's change and the state save that records its undo
    # loses the undo, so uninstall leaves that change. Counted; fails only with CRASH_STRICT_UNDO=1.
    for f in "${FILES[@]}"; do
        if ! same "$D/$f" "$T/$f"; then
            lost_undo=$((lost_undo + 1)); lost_files[$f]=$(( ${lost_files[$f]:-0} + 1 ))
            [ "${CRASH_STRICT_UNDO:-1}" = 1 ] && bad+=" after uninstall $f is not the original"
        fi
    done
    if [ -n "$bad" ]; then
        fail=$((fail + 1))
        echo "run $i (killed after ${delay_us} us):$bad"
        [ $fail -le 3 ] && { echo "--- killed run output:"; cat "$W/out"; echo "--- re-run output:"; tail -15 "$W/out2"; }
        [ $fail -ge 20 ] && break
    fi
done
echo "crash-safety: $N runs, $killed killed mid-run, $finished had already finished; state file present after $states of the interrupted-or-finished runs; temp files a kill left: $tmpleft, left after the next run: $tmpafter"
echo "undo lost (uninstall after the repair did not restore the original): $lost_undo file(s) in total:$(for f in "${!lost_files[@]}"; do printf ' %s x%s' "$f" "${lost_files[$f]}"; done)"
echo "observed: $(printf '%s ' "${!seen[@]}" | tr ' ' '\n' | sort | tr '\n' ' ')"
[ $fail -eq 0 ] && echo "crash-safety: PASS" || echo "crash-safety: FAIL ($fail runs)"
[ $fail -eq 0 ]
