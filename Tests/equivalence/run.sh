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
    if same_trees "$@"; then ok "$3: same files, modes and bytes ($(wc -l <"$W/a.list") paths)"; else bad "$3"; fi
}

# same_trees A B WHAT: whether A and B hold the same paths, types, modes, bytes and link targets.
same_trees() {
    local a=$1 b=$2
    # The binary's journal (the state file and its directory, made 0700 whether or not a backup goes
    # there) and its run transcript (/var/log/aufsctl/install.log) have no sh counterpart; backups
    # are compared.
    local skip='^\./(var/lib/aufsctl|var/lib/aufsctl/state\.json.*|var/log/aufsctl|var/log/aufsctl/install\.log.*|run|run/aufsctl.*|var/log/stub-calls|plan\.sh|persist\.sh|tmp/.*)$'
    [ -n "${EXTRA_SKIP:-}" ] && skip="${skip%)\$}|$EXTRA_SKIP)\$"
    (cd "$a" && find . -printf '%y %m %p\n' | grep -Ev " ${skip#^}" | LC_ALL=C sort) >"$W/a.list"
    (cd "$b" && find . -printf '%y %m %p\n' | grep -Ev " ${skip#^}" | LC_ALL=C sort) >"$W/b.list"
    if ! diff -u "$W/a.list" "$W/b.list" >"$W/list.diff"; then
        echo "    the trees differ in paths or modes:"; sed 's/^/    /' "$W/list.diff" | head -40; return 1
    fi
    local differ=0
    while read -r type _ path; do
        if [ "$type" = f ]; then cmp -s "$a/$path" "$b/$path" || { differ=1; echo "    content differs: $path"; }; fi
        if [ "$type" = l ]; then [ "$(readlink "$a/$path")" = "$(readlink "$b/$path")" ] || { differ=1; echo "    link differs: $path"; }; fi
    done <"$W/a.list"
    return $differ
}

# mutated SCRIPT ROOT WHAT SED-EXPR [PREFIX]: the script with one action's sh changed (SED-EXPR must
# change it), run into a copy of ROOT's starting tree, must leave a tree compare tells apart.
mutated() {
    local script=$1 base=$2 what=$3 expr=$4 prefix=${5:-}
    rm -rf "$W/mut"; cp -a "$base" "$W/mut"
    sed -e "$expr" "$script" >"$W/mut/plan.sh"
    if cmp -s "$script" "$W/mut/plan.sh"; then bad "mutation of $what: the expression changed nothing"; return; fi
    if [ -n "$prefix" ]; then env -i PATH=/bin:/usr/bin:/usr/sbin ROOT="$W/mut" sh "$W/mut/plan.sh" >/dev/null 2>&1
    else env -i PATH=/bin:/usr/bin:/usr/sbin /usr/sbin/chroot "$W/mut" /bin/sh /plan.sh >/dev/null 2>&1; fi
    if same_trees "$MUT_REF" "$W/mut" >/dev/null; then bad "mutation of $what went unnoticed"; else ok "mutation of $what is caught"; fi
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
    if [ $variant = baseurl ]; then
        MUT_REF=$A mutated "$B/plan.sh" "$T" "kernel-ml-aufs's setAssignments" 's/aufsctl_set UPDATEDEFAULT yes/aufsctl_set UPDATEDEFAULT no/'
        MUT_REF=$A mutated "$B/plan.sh" "$T" "kernel-ml-aufs's yumRepo" 's/^gpgcheck=1$/gpgcheck=0/'
    fi
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

# --- Debian 12, dkms cloning the source (stub git: clone copies /opt/aufs-src) ------------------------
A=$W/dc-swift; B=$W/dc-sh; rm -rf "$A" "$B"; cp -a "$D" "$A"
stub dpkg-query usr/bin 'for a; do p=$a; done; case "$p" in dkms|build-essential|linux-headers-amd64|git) printf "install ok installed";; *) printf "unknown ok not-installed"; exit 1;; esac'
cp "$D/usr/bin/dpkg-query" "$A/usr/bin/dpkg-query"
stub git usr/bin 'case "$1" in ls-remote) exit 2;; clone) for a; do d=$a; done; mkdir -p "$d"; cp -a /opt/aufs-src/. "$d/";; -C) [ "$3" = rev-parse ] && echo 0123456789abcdef0123456789abcdef01234567;; *) exit 1;; esac'
cp "$D/usr/bin/git" "$A/usr/bin/git"
mkdir -p "$A/opt/aufs-src"; cp -a "$SRC/." "$A/opt/aufs-src/"
cp -a "$A" "$B"
ARGS=(--method dkms --kernel "$KV" --skip-export-check)
"$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift.out" 2>&1; rc=$?
if [ $rc -ne 0 ]; then bad "debian12 dkms clone: aufsctl install exited $rc"; sed 's/^/    /' "$W/swift.out"
else
    "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err" || { bad "debian12 clone: --emit-sh failed"; cat "$W/emit.err"; }
    if env -i PATH=/bin:/usr/bin:/usr/sbin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; then
        compare "$A" "$B" "debian12 dkms (git clone)"
    else
        bad "debian12 dkms clone: the emitted script failed"; sed 's/^/    /' "$W/sh.out" | tail -20
    fi
fi

# --- Secure Boot: Debian 12 dkms (signing pair, module signature, MOK import) and CentOS 7's kernel check --
# The SecureBoot efivar under the root turns the steps on. Stub openssl hands out one throwaway pair
# made here (both sides get the same bytes), stub mokutil keeps MokNew in a file, stub dkms installs
# a stand-in really signed with that pair by the real kernel headers' sign-file (a real module
# index from depmod, so the binary reads its signature with libkmod), stub modinfo prints its sig_key.
sb_efivar() { mkdir -p "$1/sys/firmware/efi/efivars"; printf '\006\000\000\000\001' >"$1/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"; }
need=()
for c in openssl:openssl modinfo:kmod depmod:kmod make:make gcc:gcc; do command -v "${c%%:*}" >/dev/null || need+=("${c#*:}"); done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || { apt-get -q update >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1; }; fi
if ! eval "$(Tests/e2e/fetch-kernel.sh 2>"$W/fetch.log" | grep -E '^HEADERS=')" || [ ! -x "${HEADERS:-}/scripts/sign-file" ]; then
    bad "secure boot: no real kernel headers with scripts/sign-file (Tests/e2e/fetch-kernel.sh)"; tail -5 "$W/fetch.log"
else
    SB=$W/sb-keys; mkdir -p "$SB"
    cp -a "$REPO/Kernel/standin" "$SB/standin"
    make -s -C "$SB/standin" KDIR="$HEADERS" >"$SB/build.log" 2>&1 || { tail -20 "$SB/build.log"; }
    openssl req -new -x509 -nodes -days 2 -subj "/CN=DKMS module signing key" -newkey rsa:2048 \
        -keyout "$SB/mok.key" -outform DER -out "$SB/mok.der" >/dev/null 2>&1
    "$HEADERS/scripts/sign-file" sha256 "$SB/mok.key" "$SB/mok.der" "$SB/standin/aufs.ko"
    SERIAL=$(openssl x509 -inform DER -in "$SB/mok.der" -noout -serial | sed 's/^serial=//')
    SIGKEY=$(modinfo -F sig_key "$SB/standin/aufs.ko")
    S=$W/sb-debian; rm -rf "$S"; cp -a "$D" "$S"; sb_efivar "$S"
    D=$S   # stub writes into $D
    mkdir -p "$S/opt/sb" "$S/etc/aufsctl" "$S/usr/lib/linux-kbuild-6.1/scripts" "$S/lib/modules/$KV/updates/dkms"
    cp "$SB/mok.key" "$SB/mok.der" "$SB/standin/aufs.ko" "$S/opt/sb/"; printf '%s\n' "$SIGKEY" >"$S/opt/sb/sig_key"
    printf '#!/bin/sh\nexit 0\n' >"$S/usr/lib/linux-kbuild-6.1/scripts/sign-file"; chmod 755 "$S/usr/lib/linux-kbuild-6.1/scripts/sign-file"
    printf '$6$salt$0123456789abcdef\n' >"$S/etc/aufsctl/mok.hash"; chmod 600 "$S/etc/aufsctl/mok.hash"
    cp "$SB/standin/aufs.ko" "$S/lib/modules/$KV/updates/dkms/aufs.ko"; depmod -b "$S" "$KV" 2>/dev/null
    rm "$S/lib/modules/$KV/updates/dkms/aufs.ko"
    sed -i 's|echo stand-in > /lib/modules/$4/updates/dkms/aufs.ko|cp /opt/sb/aufs.ko /lib/modules/$4/updates/dkms/aufs.ko|' "$S/usr/sbin/dkms"
    stub dpkg-query usr/bin 'for a; do p=$a; done; case "$p" in dkms|build-essential|linux-headers-amd64|mokutil|openssl) printf "install ok installed";; *) printf "unknown ok not-installed"; exit 1;; esac'
    stub openssl usr/bin 'case "$1" in
req) while [ $# -gt 0 ]; do case "$1" in -keyout) k=$2;; -out) c=$2;; esac; shift; done
     mkdir -p "$(dirname "$k")"; cp /opt/sb/mok.key "$k"; chmod 600 "$k"; cp /opt/sb/mok.der "$c"; chmod 644 "$c";;
x509) echo "serial='"$SERIAL"'";;
*) exit 1;;
esac'
    mkdir -p "$S/sbin"; stub modinfo sbin 'cat /opt/sb/sig_key'
    stub mokutil usr/bin 'P=/var/lib/fake-mok/new
case "$1" in
--test-key) if grep -qx "$2" $P 2>/dev/null; then echo "$2 is already in the enrollment request"; exit 1; fi; echo "$2 is not enrolled";;
--import) [ "$3" = --hash-file ] && [ -s "$4" ] || exit 1; mkdir -p /var/lib/fake-mok; echo "$2" >> $P;;
*) exit 1;;
esac'
    A=$W/sb-swift; B=$W/sb-sh; rm -rf "$A" "$B"; cp -a "$S" "$A"; cp -a "$S" "$B"
    ARGS=(--method dkms --kernel "$KV" --source "$SRC" --skip-export-check --mok-password-hash /etc/aufsctl/mok.hash)
    "$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift.out" 2>&1; rc=$?
    if [ $rc -ne 5 ] || ! grep -q 'reboot and confirm the key in MokManager' "$W/swift.out"; then
        bad "debian12 dkms, Secure Boot: aufsctl install exited $rc (5 expected)"; sed 's/^/    /' "$W/swift.out"
    else
        "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err" || { bad "secure boot: --emit-sh failed"; cat "$W/emit.err"; }
        env -i PATH=/bin:/usr/bin:/usr/sbin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; src=$?
        if [ $src -eq 5 ] && grep -q 'reboot and confirm the key in MokManager' "$W/sh.out"; then
            compare "$A" "$B" "debian12 dkms, Secure Boot (key pair, module signature, mokutil --import)"
            for f in var/lib/dkms/mok.key var/lib/dkms/mok.pub var/lib/fake-mok/new; do
                [ -f "$A/$f" ] || bad "secure boot: the binary left no /$f"
            done
        else
            bad "debian12 dkms, Secure Boot: the emitted script exited $src (5 expected)"; sed 's/^/    /' "$W/sh.out" | tail -20
        fi
        # The module's signature check is a check both sides make: another signer stops both.
        for r in "$A" "$B"; do echo 25:5E:A7 >"$r/opt/sb/sig_key"; done
        "$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >/dev/null 2>&1
        env -i PATH=/bin:/usr/bin:/usr/sbin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh2.out" 2>&1; src=$?
        if [ $src -eq 1 ] && grep -q 'is not signed by /var/lib/dkms/mok.pub' "$W/sh2.out"; then
            ok "secure boot: the script's module check refuses another signer (modinfo's sig_key against the serial)"
        else
            bad "secure boot: the script did not refuse a module with another signer (exit $src)"; tail -5 "$W/sh2.out"
        fi
    fi
    # CentOS 7: kernel-ml-aufs's image must be signed (the binary reads its PE; the script asks pesign).
    C=$W/sb-centos; rm -rf "$C"; cp -a "$T" "$C"; sb_efivar "$C"; mkdir -p "$C/boot/efi/EFI/centos"
    cp "$REPO/Tests/Fixtures/signing/vmlinuz-signed.head" "$C/opt-vmlinuz"
    sed -i 's|: > /boot/vmlinuz-$KVER|cp /opt-vmlinuz /boot/vmlinuz-$KVER|; s|: > /boot/vmlinuz-[0-9][^;]*;|cp /opt-vmlinuz /boot/vmlinuz-5.13.1-1.el7.x86_64;|' "$C/usr/bin/yum"
    printf '#!/bin/sh\nPATH=/bin:/usr/bin\necho "pesign $*" >> /var/log/stub-calls\nif grep -q UNSIGNED /opt-signed 2>/dev/null; then echo "No signatures found."; else echo "The signer'"'"'s common name is Debian Secure Boot Signer 2022 - linux"; fi\n' >"$C/usr/bin/pesign"
    chmod 755 "$C/usr/bin/pesign"
    A=$W/sbc-swift; B=$W/sbc-sh; rm -rf "$A" "$B"; cp -a "$C" "$A"; cp -a "$C" "$B"
    ARGS=(--method kernel-ml-aufs --repo-url https://example.invalid/kernel-ml-aufs/el7/x86_64 --gpgkey https://example.invalid/KEY)
    "$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes >"$W/swift.out" 2>&1; rc=$?
    "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err"
    env -i PATH=/bin:/usr/bin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; src=$?
    if [ $rc -eq 5 ] && [ $src -eq 0 ] && grep -q 'vmlinuz' "$A/var/lib/fake-grubby-default"; then
        compare "$A" "$B" "centos7 kernel-ml-aufs, Secure Boot, a signed kernel"
    else
        bad "centos7, Secure Boot, signed kernel: binary exit $rc, script exit $src"; sed 's/^/    /' "$W/swift.out" "$W/sh.out" | tail -20
    fi
    # An unsigned image: both stop before GRUB (exit 6 and 4: the binary counts the changes before;
    # --keep-on-failure, since a script does not roll back what it did and the binary would).
    A=$W/sbu-swift; B=$W/sbu-sh; rm -rf "$A" "$B"; cp -a "$C" "$A"
    cp "$REPO/Tests/Fixtures/signing/vmlinuz-unsigned.head" "$A/opt-vmlinuz"; echo UNSIGNED >"$A/opt-signed"; cp -a "$A" "$B"
    "$AUFSCTL" install "${ARGS[@]}" --root "$A" --yes --keep-on-failure >"$W/swift.out" 2>&1; rc=$?
    "$AUFSCTL" install "${ARGS[@]}" --root "$B" --emit-sh >"$B/plan.sh" 2>"$W/emit.err"
    env -i PATH=/bin:/usr/bin /usr/sbin/chroot "$B" /bin/sh /plan.sh >"$W/sh.out" 2>&1; src=$?
    if [ $rc -eq 6 ] && [ $src -eq 4 ] && ! grep -qs . "$A/var/lib/fake-grubby-default" && ! grep -qs . "$B/var/lib/fake-grubby-default" \
        && grep -q 'will not boot under Secure Boot' "$W/swift.out" && grep -q 'will not boot under Secure Boot' "$W/sh.out"; then
        compare "$A" "$B" "centos7 kernel-ml-aufs, Secure Boot, an unsigned kernel refused before GRUB"
    else
        bad "centos7, Secure Boot, unsigned kernel: binary exit $rc, script exit $src"; sed 's/^/    /' "$W/swift.out" "$W/sh.out" | tail -20
    fi
fi

# --- persist: a systemd unit and an fstab line, under ROOT (the script runs on this host's sh) ----------
P=$W/persist; BR=$W/branches
mkdir -p "$P/etc/modules-load.d" "$BR/rw" "$BR/ro" "$BR/mnt"
printf 'UUID=1 / ext4 defaults 0 1\ntmpfs %s tmpfs defaults 0 0\nUUID=3 /data xfs defaults 0 2\n' "$BR" >"$P/etc/fstab"
printf '# modules\nloop' >"$P/etc/modules-load.d/aufs.conf"
for via in systemd fstab; do
    A=$W/p-$via-swift; B=$W/p-$via-sh; rm -rf "$A" "$B"; cp -a "$P" "$A"; cp -a "$P" "$B"
    PARGS=(-o "br=$BR/rw=rw:$BR/ro=ro" "$BR/mnt" --via "$via")
    "$AUFSCTL" persist "${PARGS[@]}" --root "$A" >"$W/swift.out" 2>&1 || { bad "persist $via: exited $?"; sed 's/^/    /' "$W/swift.out"; continue; }
    "$AUFSCTL" persist "${PARGS[@]}" --root "$B" --emit-sh >"$B/persist.sh" || { bad "persist $via: --emit-sh failed"; continue; }
    env -i PATH=/bin:/usr/bin ROOT="$B" sh "$B/persist.sh" >"$W/sh.out" 2>&1 || { bad "persist $via: the script failed"; sed 's/^/    /' "$W/sh.out"; continue; }
    compare "$A" "$B" "persist ($via)"
    [ $via = systemd ] && MUT_REF=$A mutated "$B/persist.sh" "$P" "persist's writeFile (the unit)" 's/WantedBy=local-fs.target/WantedBy=multi-user.target/' host
    [ $via = fstab ] && MUT_REF=$A mutated "$B/persist.sh" "$P" "persist's fstabLine" 's/{ print m; print l }/{ print l; print m }/' host
    # Again with another branch list: aufsctl's own unit or line is replaced, not doubled (the
    # binary undoes its record first, the script overwrites: their backups differ, by design).
    PARGS=(-o "br=$BR/rw=rw" "$BR/mnt" --via "$via")
    "$AUFSCTL" persist "${PARGS[@]}" --root "$A" >"$W/swift.out" 2>&1 || { bad "re-persist $via: exited $?"; sed 's/^/    /' "$W/swift.out"; continue; }
    "$AUFSCTL" persist "${PARGS[@]}" --root "$B" --emit-sh >"$B/persist.sh"
    env -i PATH=/bin:/usr/bin ROOT="$B" sh "$B/persist.sh" >"$W/sh.out" 2>&1 || { bad "re-persist $via: the script failed"; sed 's/^/    /' "$W/sh.out"; continue; }
    EXTRA_SKIP='var/lib/aufsctl/backups/.*' compare "$A" "$B" "persist ($via), persisted again"
done
# An administrator's own aufs line for the mount point: both refuse (exit 2) and leave fstab alone.
A=$W/p-admin-swift; B=$W/p-admin-sh; rm -rf "$A" "$B"; cp -a "$P" "$A"
printf 'none %s aufs br=/srv/admin=rw 0 0\n' "$BR/mnt" >>"$A/etc/fstab"; cp -a "$A" "$B"; cp -a "$A" "$W/p-admin-orig"
"$AUFSCTL" persist -o "br=$BR/rw=rw" "$BR/mnt" --via fstab --root "$A" >"$W/swift.out" 2>&1; rc=$?
"$AUFSCTL" persist -o "br=$BR/rw=rw" "$BR/mnt" --via fstab --root "$B" --emit-sh >"$B/persist.sh"
env -i PATH=/bin:/usr/bin ROOT="$B" sh "$B/persist.sh" >"$W/sh.out" 2>&1; src=$?
if [ $rc -eq 2 ] && [ $src -eq 2 ] && cmp -s "$A/etc/fstab" "$W/p-admin-orig/etc/fstab" && cmp -s "$B/etc/fstab" "$W/p-admin-orig/etc/fstab"; then
    ok "persist refuses an administrator's aufs line for the mount point (binary and script exit 2, fstab untouched)"
else
    bad "persist over an administrator's line: binary exit $rc, script exit $src"; cat "$W/swift.out" "$W/sh.out"
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
stub apt-get usr/bin 'case "$*" in "install -y -o DPkg::Lock::Timeout=600 linux-modules-extra-'"$UK"'") mkdir -p /var/lib/fake-dpkg; : > /var/lib/fake-dpkg/linux-modules-extra-'"$UK"';; *) echo "stub apt-get: $*" >&2; exit 1;; esac'
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
