#!/bin/bash
# Crash safety of `aufsctl install`: SIGKILL it at a random moment, many times, while it rewrites
# /etc/default/grub, /etc/sysconfig/kernel, a yum repo file and its state file, in a throwaway copy
# of the CentOS 7 fixture root (`install --method kernel-ml-aufs --root DIR --yes`). aufsctl runs
# the root's commands as `chroot DIR cmd`, so DIR gets a static busybox as /bin/sh (and its
# applets) and sh stubs for yum, rpm, grub2-mkconfig and grubby that act on the tree.
#
# After each kill: every file is the old or the new content, never partial (the state file is
# complete JSON), and a second run completes (exit 0 or 5) to the same end state as an
# uninterrupted run; `uninstall` then puts grub/sysconfig back and removes the repo file.
#
#   Tests/stress/crash-safety.sh [ITERATIONS=200]      (root; AUFSCTL=path to a built binary)
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
N=${1:-200}
[ "$(id -u)" -eq 0 ] || { echo "skipped: crash-safety.sh needs root (chroot)"; exit 0; }
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
if [ -z "${AUFSCTL:-}" ]; then
    "$SWIFT" build -c release --static-swift-stdlib --scratch-path .build-bench >/tmp/aufsctl-stress-build.log 2>&1 \
        || { tail -30 /tmp/aufsctl-stress-build.log; exit 2; }
    AUFSCTL=$REPO/.build-bench/release/aufsctl
fi

W=$(mktemp -d /tmp/aufsctl-crash.XXXXXX)
trap 'rm -rf "$W"' EXIT

# A static busybox for /bin/sh inside the tree.
BB=""
for c in /usr/bin/busybox /bin/busybox; do
    if [ -x "$c" ] && file -L "$c" 2>/dev/null | grep -q 'statically linked'; then BB=$c; break; fi
done
if [ -z "$BB" ]; then
    (cd "$W" && apt-get download busybox-static >/dev/null 2>&1 && dpkg -x busybox-static_*.deb bb) \
        || { echo "no static busybox (apt-get download busybox-static failed)"; exit 2; }
    BB=$W/bb/bin/busybox
fi

KVER=5.13.1-1.el7.x86_64
T=$W/template
cp -a "$REPO/Tests/Fixtures/roots/centos7" "$T"
mkdir -p "$T/bin" "$T/usr/bin" "$T/var/lib" "$T/run/lock" "$T/tmp"
cp "$BB" "$T/bin/busybox"
for a in sh mkdir cat rm ls sort touch printf echo sleep test [; do ln -sf busybox "$T/bin/$a"; done
stub() { printf '#!/bin/sh\nPATH=/bin:/usr/bin\n%s\n' "$2" >"$T/usr/bin/$1"; chmod 755 "$T/usr/bin/$1"; }
stub rpm "if [ -e /var/lib/fake-rpm/kernel-ml-aufs ]; then echo $KVER; exit 0; fi
echo 'package kernel-ml-aufs is not installed'; exit 1"
stub yum "case \"\$*\" in
'install -y kernel-ml-aufs') mkdir -p /var/lib/fake-rpm; : > /var/lib/fake-rpm/kernel-ml-aufs
  : > /boot/vmlinuz-$KVER; printf 'CONFIG_MODULES=y\nCONFIG_AUFS_FS=y\n' > /boot/config-$KVER;;
'remove -y kernel-ml-aufs') rm -f /var/lib/fake-rpm/kernel-ml-aufs /boot/vmlinuz-$KVER /boot/config-$KVER;;
*) echo \"stub yum: unexpected \$*\" >&2; exit 1;;
esac"
stub yum-config-manager "echo 'stub yum-config-manager: not expected' >&2; exit 1"
stub grub2-mkconfig "[ \"\$1\" = -o ] || exit 1
for k in \$(ls /boot | sort -r); do case \$k in vmlinuz-*) printf \"menuentry '%s' {\n\tlinux16 /%s\n}\n\" \$k \$k;; esac; done > \"\$2\""
stub grubby "S=/var/lib/fake-grubby-default
case \"\$1\" in
--default-kernel) if [ -e \$S ]; then cat \$S; echo; else echo /boot/vmlinuz-3.10.0-1160.el7.x86_64; fi;;
--set-default) printf %s \"\$2\" > \$S;;
*) exit 1;;
esac"

ARGS=(install --method kernel-ml-aufs --repo-url https://example.invalid/kernel-ml-aufs/el7/x86_64 --yes)
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
fail=0; killed=0; finished=0; tmpleft=0; states=0
declare -A seen
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
    left=$(find "$D/etc" "$D/var/lib" -name '*.tmp*' -o -name '.*.aufsctl*' 2>/dev/null | wc -l)
    tmpleft=$((tmpleft + left))
    # A later run completes.
    "$AUFSCTL" "${ARGS[@]}" --root "$D" >"$W/out2" 2>&1; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then bad+=" re-run exit $rc: $(tail -3 "$W/out2" | tr '\n' ' ')"; fi
    for f in "${FILES[@]}"; do same "$D/$f" "$R/$f" || bad+=" $f differs from the uninterrupted end state after the re-run"; done
    [ "$(cat "$D/var/lib/fake-grubby-default" 2>/dev/null)" = "/boot/vmlinuz-$KVER" ] || bad+=" grubby default not set after the re-run"
    # And uninstall undoes it all.
    "$AUFSCTL" uninstall --yes --root "$D" >"$W/out3" 2>&1; urc=$?
    [ $urc -eq 0 ] || bad+=" uninstall exit $urc: $(tail -2 "$W/out3" | tr '\n' ' ')"
    for f in "${FILES[@]}"; do same "$D/$f" "$T/$f" || bad+=" after uninstall $f is not the original"; done
    if [ -n "$bad" ]; then
        fail=$((fail + 1))
        echo "run $i (killed after ${delay_us} us):$bad"
        [ $fail -le 3 ] && { echo "--- killed run output:"; cat "$W/out"; echo "--- re-run output:"; tail -15 "$W/out2"; }
        [ $fail -ge 20 ] && break
    fi
done
echo "crash-safety: $N runs, $killed killed mid-run, $finished had already finished; state file present after $states of the interrupted-or-finished runs; temp files left behind: $tmpleft"
echo "observed: $(printf '%s ' "${!seen[@]}" | tr ' ' '\n' | sort | tr '\n' ' ')"
[ $fail -eq 0 ] && echo "crash-safety: PASS" || echo "crash-safety: FAIL ($fail runs)"
[ $fail -eq 0 ]
