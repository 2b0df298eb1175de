#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# libFuzzer targets for AufsKit's parsers (see fuzz/Package.swift). Builds them with
# -sanitize=fuzzer into .build-fuzz, runs each for FUZZ_SECONDS (default 30) starting from the
# seed corpus in fuzz/corpus/<target>/ (new inputs go to .build-fuzz/corpus/<target>/, the repo
# corpus is not touched), prints one line per target (execs, exec/s, corpus, crashes) and exits
# non-zero when any target crashed; crashing inputs are kept in fuzz/crashes/.
#
#   make fuzz                         # 30 s per target
#   FUZZ_SECONDS=300 fuzz/run.sh      # longer
#   fuzz/run.sh FuzzGrubEdit          # one target
#   FUZZ_KEEP_GOING=1 fuzz/run.sh     # -fork=1 -ignore_crashes=1: keep fuzzing after a crash
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
SECONDS_PER=${FUZZ_SECONDS:-30}
SCRATCH=$PWD/.build-fuzz
ALL=(FuzzBranchSpec FuzzOSRelease FuzzGrubEdit FuzzGrubEditBytes FuzzDKMSStatus FuzzMountinfo FuzzKernelRelease
     FuzzFrameworkConf FuzzCertificate FuzzLoadFailure)
TARGETS=("${@:-${ALL[@]}}")

[ -f fuzz/Package.resolved ] || { [ -f Package.resolved ] && cp Package.resolved fuzz/; }
mkdir -p "$SCRATCH"
echo "building fuzz targets (debug, -sanitize=fuzzer) in $SCRATCH ..."
(cd fuzz && "$SWIFT" build -c debug -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library \
    --scratch-path "$SCRATCH") >"$SCRATCH/fuzz-build.log" 2>&1 || { tail -40 "$SCRATCH/fuzz-build.log"; echo "fuzz build failed"; exit 2; }
BIN=$(cd fuzz && "$SWIFT" build -c debug --scratch-path "$SCRATCH" --show-bin-path)

mkdir -p fuzz/crashes
fail=0
printf '%-18s %10s %9s %7s %8s\n' target execs exec/s corpus crashes
for t in "${TARGETS[@]}"; do
    work=$SCRATCH/corpus/$t
    mkdir -p "$work"
    log=$SCRATCH/$t.log
    extra=(); [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && extra=(-fork=1 -ignore_crashes=1)
    SWIFT_BACKTRACE=enable=no "$BIN/$t" "${extra[@]}" -max_total_time="$SECONDS_PER" -print_final_stats=1 -max_len=4096 -timeout=10 \
        -artifact_prefix="fuzz/crashes/$t-" "$work" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(ls "$work" | wc -l)
    crashes=$(find fuzz/crashes -maxdepth 1 -name "$t-*" 2>/dev/null | wc -l)
    printf '%-18s %10s %9s %7s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$cov" "$crashes"
    if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then
        fail=1
        echo "  $t exited $rc; the reason (from $log):"
        grep -E 'Fatal error|failed|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/    /'
    fi
done
exit $fail
