#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The aufsctl.aufs Ansible collection against real hosts: ansible-playbook from the cached virtualenv
# (scripts/ansible-venv.sh: `ansible` from PyPI, whose community.general has the chroot connection)
# drives three Debian 12 roots reached through that connection and the local host.
#   blocked    the export preflight blocks: a real Debian kernel's headers (Tests/e2e/fetch-kernel.sh)
#              whose Module.symvers lacks aufs's exports; install fails with exit 4 and the reasons
#   standin    the stand-in module (Kernel/standin) installs with --skip-export-check through DKMS
#   installed  the same install made beforehand with aufsctl itself; the module changes nothing
# The roots are copies of one root: the shared cached bookworm root (scripts/debian-root.sh, the
# one Tests/upgrade uses) plus python3, dkms and that kernel's headers, cached as a tarball under
# /var/cache/aufsctl/roots, and aufsctl from the package (scripts/deb.sh) with apt-get install.
# Tests/ansible/install.yml runs twice (the second run must report changed=0 on every root), then
# Tests/ansible/uninstall.yml takes the installs away again (check mode, absent, absent again), and
# Tests/ansible/mount.yml mounts the walk-through's union on this host through the overlay fallback;
# Tests/ansible/persist.yml persists it in a root (present, mounted, opts, fallback, absent);
# Tests/ansible/layer.yml adds a squashfs layer (mksquashfs) to an overlay fallback union on this
# host and removes it with aufs_layer, each twice, and no loop device or mount is left afterwards.
# Also ansible-test units and the sanity tests that matter here (validate-modules, pep8, compile,
# import) on this machine's Python, and ansible-lint's production profile over the collection and
# the README's playbook (scripts/ansible-lint.sh). Root only; prints "ansible: N passed, M failed".
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AUFSCTL=${AUFSCTL:-$REPO/.build/glibc231/release/aufsctl}
SCRATCH=${ANSIBLE_SCRATCH:-$REPO/.build/ansible}
CACHE=${AUFSCTL_ROOT_CACHE:-/var/cache/aufsctl/roots}
COLL=$REPO/ansible/ansible_collections/aufsctl/aufs
HOSTS=(blocked standin installed)
log() { echo "ansible: $*"; }
[ "$(id -u)" -eq 0 ] || { log "skipped: needs root (chroot, mounts, dkms in the roots)"; exit 0; }
"$REPO/scripts/deps.sh" >/dev/null   # jq reads ansible-playbook's JSON results; squashfs-tools for layer.yml
t0=$(date +%s)
VENV=$("$REPO/scripts/ansible-venv.sh")
DEB=${DEB:-$("$REPO/scripts/deb.sh" "$AUFSCTL")}
eval "$("$REPO/Tests/e2e/fetch-kernel.sh" | grep -E '^(KVER|ROOT)=')"
KDEBS=${AUFSCTL_KERNEL_CACHE:-/var/cache/aufsctl/kernel}/debs

pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ANSIBLE: $1 PASS $3"; else fail=$((fail + 1)); echo "ANSIBLE: $1 FAIL $3"; fi; }

unmount_under() {   # every mount at or below $1, deepest first
    awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r \
        | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
cleanup() { unmount_under "$SCRATCH"; rm -rf --one-file-system "$SCRATCH"; }   # never into a mount
trap cleanup EXIT
cleanup
mkdir -p "$SCRATCH"
mount_root() {
    cp /etc/resolv.conf "$1/etc/resolv.conf"
    mount -t proc proc "$1/proc"; mount -t sysfs sys "$1/sys"; mount --bind /dev "$1/dev"
}
in_root() { local r=$1; shift; chroot "$r" env -C / DEBIAN_FRONTEND=noninteractive NO_COLOR=1 \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"; }

# The base root, cached: the shared bookworm root + python3 (Ansible's modules run on the target),
# dkms and the kernel's headers (apt-get install of the cached .debs) and the headers meta package
# aufsctl's dkms method asks for, so a run needs no mirror.
shared=$("$REPO/scripts/debian-root.sh" bookworm build-essential ca-certificates)
key=$(printf '%s %s python3 dkms linux-headers-cloud-amd64' "$(basename "$shared")" "$KVER" | sha256sum | cut -c1-12)
base=$CACHE/ansible-bookworm-$key.tar
if [ ! -s "$base" ]; then
    log "building the base root $base"
    B=$SCRATCH/base
    mkdir -p "$B"; tar -C "$B" -xf "$shared"; mount_root "$B"
    cp "$KDEBS"/linux-headers-*.deb "$KDEBS"/linux-kbuild-*.deb "$B/tmp/"
    in_root "$B" apt-get update -qq
    (cd "$B/tmp" && ls linux-*.deb) | sed 's|^|./tmp/|' | xargs chroot "$B" env -C / DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends python3 dkms linux-headers-cloud-amd64 >/dev/null
    rm -f "$B"/tmp/*.deb; in_root "$B" apt-get clean
    unmount_under "$B"
    tar -C "$B" -cf "$base.tmp" . && mv "$base.tmp" "$base"
    rm -rf --one-file-system "$B"
fi

for h in "${HOSTS[@]}"; do
    R=$SCRATCH/$h
    mkdir -p "$R"; tar -C "$R" -xf "$base"; mount_root "$R"
    cp "$DEB" "$R/tmp/"
    in_root "$R" apt-get install -y -qq --no-install-recommends "./tmp/$(basename "$DEB")" >/dev/null
    rm -rf "$R/opt/aufs-standin"; cp -r "$REPO/Kernel/standin" "$R/opt/aufs-standin"
done
# "installed": the install the playbook asks for, made beforehand by aufsctl itself.
out=$(in_root "$SCRATCH/installed" aufsctl install --method dkms --source /opt/aufs-standin --kernel "$KVER" \
      --skip-export-check --no-load --yes 2>&1) && rc=0 || rc=$?
check setup-installed "$rc" "aufsctl install in the 'installed' root: exit $rc; $(tail -n 1 <<<"$out")"

# ansible-test wants the collection under ansible_collections/NS/NAME and runs from there.
export ANSIBLE_COLLECTIONS_PATH=$REPO/ansible ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1
export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCALHOST_WARNING=False
out=$(cd "$COLL" && "$VENV/bin/ansible-test" units --python "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
      --local 2>&1) && rc=0 || rc=$?
check units "$rc" "ansible-test units: $(grep -oE '[0-9]+ (passed|failed|error)' <<<"$out" | awk '{ n[$2] += $1 } END { for (k in n) printf "%d %s ", n[k], k }')"
[ "$rc" = 0 ] || tail -n 40 <<<"$out"
pyver=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
out=$(cd "$COLL" && "$VENV/bin/ansible-test" sanity --local --python "$pyver" \
      --test validate-modules --test pep8 --test compile --test import 2>&1) && rc=0 || rc=$?
check sanity "$rc" "ansible-test sanity (validate-modules, pep8, compile, import; python $pyver): $(grep -cE '^Running sanity test' <<<"$out") tests run; $(grep -E 'ERROR' <<<"$out" | head -n 3 | paste -sd' ')"
[ "$rc" = 0 ] || tail -n 30 <<<"$out"

out=$(VENV=$VENV "$REPO/scripts/ansible-lint.sh" 2>&1) && rc=0 || rc=$?
check lint "$rc" "ansible-lint --profile production (the collection and the README's playbook): $(grep -E '^(Passed|Failed)' <<<"$out" | paste -sd' ')"
[ "$rc" = 0 ] || tail -n 30 <<<"$out"

INV=$SCRATCH/inventory.ini
{
    echo "[roots]"
    for h in "${HOSTS[@]}"; do echo "$h ansible_host=$SCRATCH/$h"; done
    echo "[roots:vars]"
    echo "ansible_connection=community.general.chroot"
    echo "kver=$KVER"
    echo "[local]"
    echo "localhost ansible_connection=local"
} >"$INV"
play() {   # NAME PLAYBOOK [ARGS...]: JSON callback output in $SCRATCH/NAME.json
    local name=$1 book=$2; shift 2
    ANSIBLE_STDOUT_CALLBACK=ansible.builtin.json "$VENV/bin/ansible-playbook" -i "$INV" "$REPO/Tests/ansible/$book" \
        "$@" >"$SCRATCH/$name.json" 2>"$SCRATCH/$name.err"
}
summary() {   # per host: ok/changed/failed/ignored, and the failed asserts' messages
    jq -r '(.stats | to_entries[] | "\(.key): ok=\(.value.ok) changed=\(.value.changed) failures=\(.value.failures) ignored=\(.value.ignored)"),
           (.plays[].tasks[] | .task.name as $t | .hosts | to_entries[]
            | select(.value.failed == true and ($t | startswith("assert"))) | "  failed: \(.key) \($t): \(.value.msg)")' \
        "$SCRATCH/$1.json" 2>/dev/null | paste -sd';' || head -c 400 "$SCRATCH/$1.err"
}
asserts() { jq '[.plays[].tasks[] | select(.task.name | startswith("assert")) | .hosts[] | select(.failed != true)] | length' \
    "$SCRATCH/$1.json" 2>/dev/null || echo 0; }

play install-1 install.yml -e run=1 && rc=0 || rc=$?
check install-first-run "$rc" "exit $rc, $(asserts install-1) asserts held; $(summary install-1)"
play install-2 install.yml -e run=2 && rc=0 || rc=$?
changed=$(jq '[.stats[] | .changed] | add' "$SCRATCH/install-2.json" 2>/dev/null || echo '?')
[ "$rc" = 0 ] && [ "$changed" = 0 ] && r=0 || r=1
check install-second-run "$r" "exit $rc, changed=$changed over the roots, $(asserts install-2) asserts held; $(summary install-2)"

play uninstall uninstall.yml && rc=0 || rc=$?
check uninstall "$rc" "exit $rc, $(asserts uninstall) asserts held; $(summary uninstall)"

play persist persist.yml --diff && rc=0 || rc=$?
check persist "$rc" "exit $rc, $(asserts persist) asserts held; $(summary persist)"

W=$SCRATCH/walk
mkdir -p "$W/container" "$W/image1" "$W/image2" "$W/image3" "$W/mnt"
echo image1 >"$W/image1/001.txt"; echo image1 >"$W/image1/002.txt"
echo image2 >"$W/image2/002.txt"; echo image2 >"$W/image2/003.txt"; echo image3 >"$W/image3/004.txt"
play mount mount.yml -l localhost -e "walk=$W" -e "aufsctl=$AUFSCTL" --diff && rc=0 || rc=$?
check mount "$rc" "exit $rc, $(asserts mount) asserts held; $(summary mount)"

# One image layer on a live union: the overlay fallback here, so every change is a --remount.
L=$SCRATCH/layers
mkdir -p "$L/container" "$L/lower" "$L/mnt" "$L/extra"
echo lower >"$L/lower/lower.txt"; echo extra >"$L/extra/extra.txt"
mksquashfs "$L/extra" "$L/005-extra.sb" -quiet -noappend -all-root >/dev/null
chmod 0644 "$L/005-extra.sb"; ln -sfn 005-extra.sb "$L/link.sb"
leftovers() {   # bound loop devices, and mounts of image layers or under the scenario's tree
    losetup -ln -O NAME,BACK-FILE | sort
    awk -v r="$L" '$5 ~ "^/run/aufsctl/layers/" || index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort
}
before=$(leftovers)
play layer layer.yml -l localhost -e "layers=$L" -e "aufsctl=$AUFSCTL" && rc=0 || rc=$?
check layer "$rc" "exit $rc, $(asserts layer) asserts held; $(summary layer)"
after=$(leftovers)
[ "$before" = "$after" ] && r=0 || r=1
check layer-leftovers "$r" "loop devices and layer mounts before and after: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | paste -sd' ' || true)"
# A failed run can leave the union with its layer: aufsctl umount releases the layer's loop device too.
if awk -v m="$L/mnt" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; then "$AUFSCTL" umount "$L/mnt" >/dev/null || true; fi

log "done in $(( $(date +%s) - t0 ))s"
echo "ansible: $pass passed, $fail failed"
[ "$fail" = 0 ]
