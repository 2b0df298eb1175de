#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Module signing, lockdown and every other refused load, on a real Debian kernel in QEMU: what
# `aufsctl load`, `aufsctl mount` and the mount helper say when the kernel refuses aufs, read from
# the kernel's own messages (make test runs it; see Tests/signing/README.md).
#
#   1. the kernel (Tests/e2e/fetch-kernel.sh: the bookworm cloud kernel, its headers, cached);
#   2. aufsctl ($AUFSCTL, else built with scripts/build.sh into .build-e2e);
#   3. the stand-in (Kernel/standin) built here with the headers' kbuild, no dkms, in six variants:
#      unsigned; signed with a throwaway key (openssl req, the headers' scripts/sign-file) that the
#      kernel does not trust; one needing d_walk, which 6.1 does not export (modpost told to warn);
#      one whose __versions says another CRC for register_filesystem, one another CRC for
#      module_layout, one whose vermagic says mod_unl0ad (objcopy --update-section);
#   4. one initramfs (busybox, aufsctl and aufsctl-helper with their libraries, the variants, the
#      throwaway certificate as DKMS's /var/lib/dkms/mok.pub) and four boots of it:
#        plain      no enforcement: unsigned and untrusted load (tainted); unknown symbol, CRC,
#                   module_layout, vermagic, modprobe.d blacklist; then lockdown raised at run time
#                   (/sys/kernel/security/lockdown) and kernel.modules_disabled=1;
#        sigenforce module.sig_enforce=1: unsigned and untrusted refused (load, mount, mount.aufs);
#        lockdown   lockdown=integrity: both refused with EPERM;
#        blacklist  module_blacklist=aufs: EPERM too, told apart from lockdown by the log line;
#   5. the guest prints `SIG: <name> PASS|FAIL <detail>` and each command's output verbatim
#      (`SIG-OUT:`); every expected kernel line is one the guest's dmesg really shows.
#
# Needs root. Environment: AUFSCTL (a built aufsctl, aufsctl-helper beside it), SIG_QEMU_TIMEOUT
# (s per boot, default 60), SIG_KEEP=1 (keep the work dir), AUFSCTL_KERNEL_CACHE, SWIFT. The serial
# logs of the last run are in /tmp/aufsctl-signing.last-serial.txt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TIMEOUT=${SIG_QEMU_TIMEOUT:-60}
LAST_SERIAL=/tmp/aufsctl-signing.last-serial.txt
T_ALL=$(date +%s)

log() { echo "signing: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=Tests/e2e/initramfs-lib.sh
. "$REPO/Tests/e2e/initramfs-lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (qemu's initramfs holds root-owned files; make test runs it as root)"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v modinfo >/dev/null || need+=(kmod)
command -v openssl >/dev/null || need+=(openssl)
command -v objcopy >/dev/null || need+=(binutils)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
    apt_install || { apt-get -q update >&2; apt_install; }
fi

WORK=$(mktemp -d /tmp/aufsctl-signing.XXXXXX)
cleanup() {
    local rc=$?
    if [ "${SIG_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT

# --- 1. kernel ------------------------------------------------------------------------------------
eval "$("$REPO/Tests/e2e/fetch-kernel.sh" | grep -E '^(KVER|ROOT|VMLINUZ|HEADERS)=')"
MODDIR=$ROOT/lib/modules/$KVER
CONFIG=$ROOT/boot/config-$KVER
SIGN_FILE=$HEADERS/scripts/sign-file
[ -x "$SIGN_FILE" ] || die "the headers have no scripts/sign-file ($SIGN_FILE)"

# --- 2. aufsctl -----------------------------------------------------------------------------------
if [ -n "${AUFSCTL:-}" ]; then
    [ -x "$AUFSCTL" ] || die "AUFSCTL=$AUFSCTL is not an executable"
else
    SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
    log "building aufsctl (release, scratch .build-e2e)"
    (cd "$REPO" && SWIFT="$SWIFT" scripts/build.sh "$REPO/.build-e2e") >"$WORK/swift-build.log" 2>&1 \
        || { tail -n 40 "$WORK/swift-build.log" >&2; die "swift build failed"; }
    AUFSCTL=$REPO/.build-e2e/release/aufsctl
fi
[ -x "$AUFSCTL-helper" ] || die "no aufsctl-helper beside $AUFSCTL"

# --- 3. the stand-in's variants -------------------------------------------------------------------
t=$(date +%s)
V=$WORK/variants
mkdir -p "$V"
build_standin() {  # build_standin DIR [make args...]: Kernel/standin copied to DIR and built
    local dir=$1; shift
    cp -a "$REPO/Kernel/standin" "$dir"
    make -s -C "$dir" KDIR="$HEADERS" "$@" >"$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; die "building $dir failed"; }
}
build_standin "$WORK/plain"
cp "$WORK/plain/aufs.ko" "$V/unsigned.ko"
# The throwaway key: DER certificate and key as dkms 3.0.10 makes its own (prepare_signing).
openssl req -new -x509 -nodes -days 2 -subj "/CN=aufsctl throwaway signing key" -newkey rsa:2048 \
    -keyout "$WORK/throwaway.key" -outform DER -out "$WORK/throwaway.der" >/dev/null 2>&1 \
    || die "openssl could not make the throwaway key"
cp "$WORK/plain/aufs.ko" "$V/throwaway.ko"
"$SIGN_FILE" sha256 "$WORK/throwaway.key" "$WORK/throwaway.der" "$V/throwaway.ko"
SERIAL=$(openssl x509 -inform DER -in "$WORK/throwaway.der" -noout -serial | sed 's/^serial=//')
[ "$(modinfo -F signer "$V/throwaway.ko")" = "aufsctl throwaway signing key" ] || die "sign-file left no signer"
[ -z "$(modinfo -F sig_id "$V/unsigned.ko")" ] || die "the plain build is signed"

# d_walk: static in 6.1's fs/dcache.c, exported only by aufs's standalone patch.
cp -a "$REPO/Kernel/standin" "$WORK/needsym"
sed -i 's/^static int __init aufs_init(void)$/extern void d_walk(void);\nstatic bool needs_export;\nmodule_param(needs_export, bool, 0);\n\n&/' \
    "$WORK/needsym/fs/aufs/module.c"
sed -i '/^static int __init aufs_init(void)$/,/^{$/{/^{$/a\
\tif (needs_export)\
\t\td_walk();
}' "$WORK/needsym/fs/aufs/module.c"
grep -q 'd_walk();' "$WORK/needsym/fs/aufs/module.c" || die "could not patch the stand-in to call d_walk"
rm -rf "$WORK/needsym.src"; mv "$WORK/needsym" "$WORK/needsym.src"
make -s -C "$WORK/needsym.src" KDIR="$HEADERS" KBUILD_MODPOST_WARN=1 >"$WORK/needsym.log" 2>&1 \
    || { tail -n 30 "$WORK/needsym.log" >&2; die "building the d_walk variant failed"; }
grep -q 'd_walk' "$WORK/needsym.log" || die "modpost did not warn about d_walk"
cp "$WORK/needsym.src/aufs.ko" "$V/needsym.ko"

# __versions is an array of { unsigned long crc; char name[56]; }: flip one entry's CRC.
flip_crc() {  # flip_crc IN OUT SYMBOL
    objcopy --dump-section __versions="$WORK/versions.bin" "$1" /dev/null
    perl -e '
        my ($f, $sym) = @ARGV; open(my $h, "+<:raw", $f) or die; local $/; my $d = <$h>;
        for (my $o = 0; $o + 64 <= length $d; $o += 64) {
            my $name = unpack("Z56", substr($d, $o + 8, 56));
            next unless $name eq $sym;
            substr($d, $o, 8) = pack("Q<", unpack("Q<", substr($d, $o, 8)) ^ 0x5a5a5a5a);
            seek($h, 0, 0); print $h $d; exit 0;
        }
        die "no $sym in __versions\n";' "$WORK/versions.bin" "$3"
    objcopy --update-section __versions="$WORK/versions.bin" "$1" "$2"
}
flip_crc "$V/unsigned.ko" "$V/crc.ko" register_filesystem
flip_crc "$V/unsigned.ko" "$V/layout.ko" module_layout
# vermagic: with CONFIG_MODVERSIONS the kernel compares it from the first blank on (same_magic()),
# so the release may differ; mod_unload -> mod_unl0ad (same length) does not.
objcopy --dump-section .modinfo="$WORK/modinfo.bin" "$V/unsigned.ko" /dev/null
perl -0777 -pi -e 's/(vermagic=[^\0]*) mod_unload /$1 mod_unl0ad /' "$WORK/modinfo.bin"
OTHER_MAGIC=$(strings -a "$WORK/modinfo.bin" | sed -n 's/^vermagic=//p')
case $OTHER_MAGIC in *mod_unl0ad*) ;; *) die "could not rewrite the vermagic (no ' mod_unload ' in it?)" ;; esac
objcopy --update-section .modinfo="$WORK/modinfo.bin" "$V/unsigned.ko" "$V/vermagic.ko"
log "variants built ($(( $(date +%s) - t ))s): $(cd "$V" && echo *.ko)"

# --- 4. initramfs ---------------------------------------------------------------------------------
IR=$WORK/initrd
mkdir -p "$IR"/{bin,sbin,proc,sys,dev,tmp,run,etc/modprobe.d,boot,sig,var/lib/dkms} "$IR/lib/modules/$KVER/updates/dkms"
cp "$(busybox_static)" "$IR/bin/busybox"
copy_with_libs "$AUFSCTL" /usr/local/bin/aufsctl
copy_with_libs "$AUFSCTL-helper" /usr/local/bin/aufsctl-helper
cp "$V"/*.ko "$IR/sig/"
cp "$V/unsigned.ko" "$IR/lib/modules/$KVER/updates/dkms/aufs.ko"
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$IR/lib/modules/$KVER/"
done
depmod -b "$IR" "$KVER"
cp "$CONFIG" "$IR/boot/config-$KVER"
# DKMS's key on this "host" is the throwaway one: the messages can name it.
cp "$WORK/throwaway.der" "$IR/var/lib/dkms/mok.pub"
cp "$WORK/throwaway.key" "$IR/var/lib/dkms/mok.key"
cat >"$IR/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
EOF
cat >"$IR/sig/env" <<EOF
KVER='$KVER'
OTHER_MAGIC='$OTHER_MAGIC'
THROWAWAY_SERIAL='$SERIAL'
EOF
cp "$HERE/guest-init.sh" "$IR/init"
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"

# --- 5. four boots ----------------------------------------------------------------------------------
declare -A expected=(
    [plain]="plain-unsigned plain-untrusted unknown-symbol symbol-crc module-layout vermagic modprobe-blacklist lockdown-runtime modules-disabled"
    [sigenforce]="enforce-facts enforce-unsigned enforce-untrusted enforce-mount enforce-helper"
    [lockdown]="lockdown-facts lockdown-unsigned lockdown-untrusted"
    [blacklist]="cmdline-blacklist"
)
declare -A cmdline=(
    [plain]="" [sigenforce]="module.sig_enforce=1" [lockdown]="lockdown=integrity" [blacklist]="module_blacklist=aufs"
)
pass=0; fail=0
: >"$LAST_SERIAL"
for mode in plain sigenforce lockdown blacklist; do
    t=$(date +%s)
    set +e
    timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 768 -nographic -no-reboot \
        -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
        -append "console=ttyS0 panic=-1 quiet sigtest=$mode ${cmdline[$mode]}" </dev/null >"$WORK/$mode.raw" 2>&1
    qrc=$?
    set -e
    tr -d '\r' <"$WORK/$mode.raw" >"$WORK/$mode.log"
    { echo "=== boot $mode (${cmdline[$mode]:-no parameter}): qemu exit $qrc after $(( $(date +%s) - t ))s"; cat "$WORK/$mode.log"; } >>"$LAST_SERIAL"
    log "boot $mode: qemu exit $qrc after $(( $(date +%s) - t ))s"
    declare -A got=()
    while IFS= read -r line; do
        echo "$line"
        name=$(awk '{ print $2 }' <<<"$line"); verdict=$(awk '{ print $3 }' <<<"$line")
        got[$name]=1
        if [ "$verdict" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    done < <(grep -E '^SIG: [^ ]+ (PASS|FAIL)( |$)' "$WORK/$mode.log")
    grep '^SIG-LOG: ' "$WORK/$mode.log" >&2 || true
    for n in ${expected[$mode]}; do
        [ -n "${got[$n]:-}" ] || { echo "SIG: $n FAIL missing from the $mode boot's serial log"; fail=$((fail + 1)); }
    done
    unset got
    if ! grep -q '^SIG-END$' "$WORK/$mode.log"; then
        echo "SIG: boot-$mode FAIL the guest did not reach the end of /init (qemu exit $qrc$([ "$qrc" = 124 ] && echo ", timeout after ${TIMEOUT}s"))"
        fail=$((fail + 1))
    fi
    oops=$(grep -v '^SIG' "$WORK/$mode.log" \
        | grep -E 'Oops|BUG:|kernel BUG|Kernel panic|general protection fault|WARNING: CPU:|Call Trace:|segfault at' | head -n 3 || true)
    if [ -n "$oops" ]; then echo "SIG: kernel-$mode FAIL $(echo "$oops" | tr '\n' ' ')"; fail=$((fail + 1)); fi
done
log "serial logs: $LAST_SERIAL; total $(( $(date +%s) - T_ALL ))s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
