#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# One description, two renderings: `aufsctl install` (Swift) and the script of `install --emit-sh`
# must leave the same files, byte for byte and mode for mode, on the same fixture root. Each
# method runs twice on identical copies of a stub root (Tests/stress/centos-stub-root.sh for
# CentOS 7; a Debian 12 root with stub dpkg-query, apt-get and dkms for the dkms method; Ubuntu
# 20.04 with stub dpkg-query and apt-get for ubuntu-extra): once as
# `aufsctl install --root A`, once as `chroot B /bin/sh plan.sh`; then the trees are compared.
# The edited files carry Latin-1 bytes, CRLF line ends and a missing final newline.
#
#   Tests/equivalence/run.sh       (root: chroot; AUFSCTL=path to a built binary)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
REPO=$PWD
[ "$(id -u)" -eq 0 ] || { echo "skipped: Tests/equivalence/run.sh needs root (chroot)"; exit 0; }
: "${AUFSCTL:?set AUFSCTL to the aufsctl binary}"
W=$(mktemp -d /tmp/aufsctl-equiv.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# Every applet the emitted script uses, beside the ones the stub root links.
applets() {
    for a in awk sed grep tail head mktemp cp mv chmod stat cmp dirname basename printf uname readlink \
             mkdir cat rm ls touch test [ tr cut sort env true false; do
        [ -e "$1/bin/$a" ] || ln -sf busybox "$1/bin/$a"
    done
    mkdir -p "$1/dev"; [ -e "$1/dev/null" ] || mknod -m 666 "$1/dev/null" c 1 3
}

# Files the edits touch, made awkward: a Latin-1 comment, CRLF lines, no final newline.
awkward() {
    local r=$1
    if [ -f "$r/etc/default/grub" ]; then
        printf '# S\xe9lection du noyau (Latin-1)\r\nGRUB_TIMEOUT=5\r\nGRUB_DEFAULT=saved\r\nGRUB_CMDLINE_LINUX="quiet"' > "$r/etc/default/grub"
    fi
    if [ -f "$r/etc/sysconfig/kernel" ]; then
        printf '# \xa9 kernel\nUPDATEDEFAULT=no\nDEFAULTKERNEL=kernel\n' > "$r/etc/sysconfig/kernel"
    fi
}

# Compares two trees: the same paths, types, modes and bytes, leaving out what only one side
# keeps by design (the binary's state journal and lock; the stubs' call log; the script itself).
compare() {
    local a=$1 b=$2 what=$3
    local skip='^\./(var/lib/aufsctl|var/lib/aufsctl/state\.json.*|run|run/aufsctl.*|var/log/stub-calls|plan\.sh|tmp/.*)$'
    (cd "$a" && find . -printf '%y %m %p\n' | grep -Ev " ${skip#^}" | LC_ALL=C sort) >"$W/a.list"
    (cd "$b" && find . -printf '%y %m %p\n' | grep -Ev " ${skip#^}" | LC_ALL=C sort) >"$W/b.list"
    if ! diff -u "$W/a.list" "$W/b.list" >"$W/list.diff"; then
        bad "$what: the trees differ in paths or modes"; sed 's/^/    /' "$W/list.diff" | head -40; return
    fi
    local differ=0
    while read -r type _ path; do
        [ "$type" = f ] || continue
        cmp -s "$a/$path" "$b/$path" || { differ=1; echo "    content differs: $path"; }
        [ "$type" = l ] && { [ "$(readlink "$a/$path")" = "$(readlink "$b/$path")" ] || { differ=1; echo "    link differs: $path"; }; }
    done <"$W/a.list"
    if [ $differ -eq 0 ]; then ok "$what: same files, modes and bytes ($(wc -l <"$W/a.list") paths)"; else bad "$what: file contents differ"; fi
}

# --- CentOS 7, kernel-ml-aufs --------------------------------------------------------------------
T=$W/centos
Tests/stress/centos-stub-root.sh "$T" >/dev/null || { echo "cannot build the CentOS 7 stub root"; exit 2; }
applets "$T"; awkward "$T"; rm -f "$T/var/log/stub-calls"
for variant in repo-file baseurl; do
    A=$W/c-$variant-swift; B=$W/c-$variant-sh
    rm -rf "$A" "$B"; cp -a "$T" "$A"; cp -a "$T" "$B"
    if [ $variant = baseurl ]; then
        ARGS=(--method kernel-ml-aufs --repo-url https://example.invalid/kernel-ml-aufs/el7/x86_64 --gpgkey https://example.invalid/KEY)
    else
        # yum-config-manager adds the .repo: the stub writes a signed one, as the real host's would be.
        # A GRUB_DEFAULT that needs quoting: ", \, $ and a backtick must reach the file escaped.
        ARGS=(--method kernel-ml-aufs --repo-url https://example.invalid/kernel-ml-aufs.repo
              --grub-default 'CentOS "7" \ $(x) `y`')
        for r in "$A" "$B"; do
            printf '#!/bin/sh\nPATH=/bin:/usr/bin\necho "yum-config-manager $*" >> /var/log/stub-calls\nprintf "[kernel-ml-aufs]\\nname=kernel-ml-aufs\\nbaseurl=https://example.invalid/el7\\ngpgcheck=1\\n" > /etc/yum.repos.d/kernel-ml-aufs.repo\n' >"$r/usr/bin/.ycm"
            chmod 755 "$r/usr/bin/.ycm"
            sed -i 's|^esac$|'"'"'install -y yum-utils'"'"') cp /usr/bin/.ycm /usr/bin/yum-config-manager;;\nesac|' "$r/usr/bin/yum"
            sed -i "s|^'remove -y kernel-ml-aufs')|'install -y yum-utils') cp /usr/bin/.ycm /usr/bin/yum-config-manager;;\n&|" "$r/usr/bin/yum"
            rm -f "$r/usr/bin/yum-config-manager"
        done
    fi
    "$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift.out" 2>&1; rc=$?
    [ $rc -eq 5 ] || { bad "centos7 $variant: aufsctl install exited $rc"; sed 's/^/    /' "$W/swift.out"; continue; }
    "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err" || { bad "centos7 $variant: --emit-sh failed"; cat "$W/emit.err"; continue; }
    if ! env -i PATH=/bin:/usr/bin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; then
        bad "centos7 $variant: the emitted script failed"; sed 's/^/    /' "$W/sh.out" | tail -20; continue
    fi
    compare "$A" "$B" "centos7 kernel-ml-aufs ($variant)"
    want='GRUB_DEFAULT=0'; [ $variant = repo-file ] && want='GRUB_DEFAULT="CentOS \"7\" \\ \$(x) \`y\`"'
    if LC_ALL=C grep -q "$(printf 'S\xe9lection')" "$A/etc/default/grub" && grep -qF "$want$(printf '\r')" "$A/etc/default/grub" \
        && [ -n "$(tail -c 1 "$A/etc/default/grub")" ]; then
        ok "centos7 $variant: the Latin-1 byte, the CRLF ends and the missing final newline survive the edit"
    else
        bad "centos7 $variant: /etc/default/grub lost a byte it should keep"; od -c "$A/etc/default/grub" | head
    fi
    # A second run of each changes nothing.
    cp -a "$A" "$W/again"
    "$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift2.out" 2>&1
    env -i PATH=/bin:/usr/bin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh2.out" 2>&1
    if grep -q '\.\.\. changed' "$W/sh2.out"; then bad "centos7 $variant: the script's second run changed something"; grep changed "$W/sh2.out"; else ok "centos7 $variant: second script run changes nothing"; fi
    compare "$A" "$B" "centos7 kernel-ml-aufs ($variant), after second runs"
    rm -rf "$W/again"
done

# --- Debian 12, dkms (--source, stub dkms) -------------------------------------------------------
D=$W/debian
KV=6.1.0-18-amd64
cp -a "$T/bin" "$W/bb-bin"
mkdir -p "$D"
cp -a "$REPO/Tests/Fixtures/roots/debian12/." "$D/"
cp -a "$W/bb-bin" "$D/bin"
applets "$D"
mkdir -p "$D/usr/bin" "$D/usr/sbin" "$D/var/log" "$D/var/lib" "$D/tmp" "$D/lib/modules/$KV/build" "$D/etc/modules-load.d"
printf 'aufs\n' > "$D/etc/modules-load.d/aufs.conf.orig-not-ours"
: > "$D/lib/modules/$KV/build/Module.symvers"
stub() { printf '#!/bin/sh\nPATH=/bin:/usr/bin:/usr/sbin\necho "%s $*" >> /var/log/stub-calls\n%s\n' "$1" "$3" >"$D/$2/$1"; chmod 755 "$D/$2/$1"; }
stub dpkg-query usr/bin 'for a; do p=$a; done; case "$p" in dkms|build-essential|linux-headers-amd64) printf "install ok installed";; *) printf "unknown ok not-installed"; exit 1;; esac'
stub apt-get usr/bin 'echo "stub apt-get: not expected: $*" >&2; exit 1'
stub dkms usr/sbin 'S=/var/lib/fake-dkms; mkdir -p $S
case "$1" in
status) cat $S/status 2>/dev/null | grep "^aufs/${4:-}" ;;
add) echo "$2: added" > $S/status ;;
build) v=${2#aufs/}; echo "aufs/$v, $4, x86_64: built" > $S/status ;;
install) v=${2#aufs/}; mkdir -p /lib/modules/$4/updates/dkms; echo stand-in > /lib/modules/$4/updates/dkms/aufs.ko; echo "aufs/$v, $4, x86_64: installed" > $S/status ;;
*) exit 1;;
esac'
# The dkms status filters (-v V, -k K) the script passes are ignored by the stub: one module.
sed -i 's|grep "^aufs/${4:-}"|grep "^aufs/"|' "$D/usr/sbin/dkms"
awkward "$D"
SRC=$W/aufs-src
cp -a "$REPO/Kernel/standin" "$SRC"
mkdir -p "$D$SRC"; cp -a "$SRC/." "$D$SRC/"    # the script runs in the chroot: the source is there too
A=$W/d-swift; B=$W/d-sh; rm -rf "$A" "$B"; cp -a "$D" "$A"; cp -a "$D" "$B"
ARGS=(--method dkms --kernel "$KV" --source "$SRC" --skip-export-check)
"$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift.out" 2>&1; rc=$?
if [ $rc -ne 0 ]; then bad "debian12 dkms: aufsctl install exited $rc"; sed 's/^/    /' "$W/swift.out"
else
    "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err" || { bad "debian12: --emit-sh failed"; cat "$W/emit.err"; }
    if env -i PATH=/bin:/usr/bin:/usr/sbin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; then
        compare "$A" "$B" "debian12 dkms"
    else
        bad "debian12 dkms: the emitted script failed"; sed 's/^/    /' "$W/sh.out" | tail -20
    fi
fi

# --- Ubuntu 20.04, ubuntu-extra (stub dpkg-query and apt-get) ----------------------------------------
U=$W/ubuntu
UK=5.4.0-42-generic
mkdir -p "$U"
cp -a "$REPO/Tests/Fixtures/roots/ubuntu2004/." "$U/"
cp -a "$W/bb-bin" "$U/bin"
applets "$U"
mkdir -p "$U/usr/bin" "$U/var/log" "$U/var/lib" "$U/tmp"
D=$U
stub dpkg-query usr/bin 'for a; do p=$a; done; if [ -e "/var/lib/fake-dpkg/$p" ]; then printf "install ok installed"; else printf "unknown ok not-installed"; exit 1; fi'
stub apt-get usr/bin 'case "$*" in "install -y linux-modules-extra-'"$UK"'") mkdir -p /var/lib/fake-dpkg; : > /var/lib/fake-dpkg/linux-modules-extra-'"$UK"';; *) echo "stub apt-get: $*" >&2; exit 1;; esac'
A=$W/u-swift; B=$W/u-sh; rm -rf "$A" "$B"; cp -a "$U" "$A"; cp -a "$U" "$B"
ARGS=(--method ubuntu-extra --kernel "$UK")
"$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift.out" 2>&1; rc=$?
if [ $rc -ne 0 ]; then bad "ubuntu2004 ubuntu-extra: aufsctl install exited $rc"; sed 's/^/    /' "$W/swift.out"
else
    "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err" || { bad "ubuntu2004: --emit-sh failed"; cat "$W/emit.err"; }
    if env -i PATH=/bin:/usr/bin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; then
        compare "$A" "$B" "ubuntu2004 ubuntu-extra"
    else
        bad "ubuntu2004 ubuntu-extra: the emitted script failed"; sed 's/^/    /' "$W/sh.out" | tail -20
    fi
fi
echo "equivalence: $pass passed, $fail failed"
[ $fail -eq 0 ]
