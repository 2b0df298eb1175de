#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The Secure Boot chain in QEMU with OVMF (not part of make test; see Tests/secureboot/README.md):
# Debian's signed shim -> signed GRUB -> signed cloud kernel from a FAT disk image, OVMF's
# Secure Boot firmware (OVMF_CODE_4M.secboot.fd) with Microsoft's keys, and in its variable store
# (virt-fw-vars from PyPI's virt-firmware) two throwaway certificates: DB in the firmware's db and
# MOK in shim's MokList. The stand-in is signed with each, and left unsigned; the guest
# (guest-init.sh) reports which keyring the kernel put each certificate in, which module loads
# under the lockdown Secure Boot turns on, what mokutil says about each key, and stages
# `mokutil --import` of a third (PENDING) that `--list-new` must show.
#
# With SB_MOKMANAGER=1 a second boot follows: shim finds the staged request and starts MokManager,
# which this script drives over the serial console (the password the guest set), then the third
# boot checks the PENDING key was enrolled and the stand-in signed with it loads.
#
# Needs root. Environment: AUFSCTL (a built aufsctl), SB_QEMU_TIMEOUT (s per boot, default 240),
# SB_KEEP=1 (keep the work dir). Caches under /var/cache/aufsctl/secureboot.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TIMEOUT=${SB_QEMU_TIMEOUT:-240}
CACHE=/var/cache/aufsctl/secureboot
LAST_SERIAL=/tmp/aufsctl-secureboot.last-serial.txt
T_ALL=$(date +%s)

log() { echo "secureboot: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=Tests/e2e/initramfs-lib.sh
. "$REPO/Tests/e2e/initramfs-lib.sh"

[ "$(id -u)" = 0 ] || die "needs root"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v mcopy >/dev/null || need+=(mtools)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v openssl >/dev/null || need+=(openssl)
# Debian's python3 (what a fresh Debian 12 has), not whatever else is first on PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || need+=(python3)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
    apt_install || { apt-get -q update >&2; apt_install; }
fi

WORK=$(mktemp -d /tmp/aufsctl-secureboot.XXXXXX)
cleanup() {
    local rc=$?
    if [ "${SB_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT

# --- 1. the kernel, the firmware and the boot chain -----------------------------------------------
eval "$("$REPO/Tests/e2e/fetch-kernel.sh" | grep -E '^(KVER|ROOT|HEADERS)=')"
MODDIR=$ROOT/lib/modules/$KVER
mkdir -p "$CACHE/debs"
pkgs=(ovmf shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed "linux-image-$KVER")
missing=()
for p in "${pkgs[@]}"; do ls "$CACHE/debs/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    log "downloading ${missing[*]}"
    (cd "$CACHE/debs" && apt-get -o APT::Sandbox::User=root -q download "${missing[@]}" >&2)
fi
FW=$WORK/fw
for p in "${pkgs[@]}"; do dpkg -x "$(ls -t "$CACHE/debs/${p}_"*.deb | head -n 1)" "$FW"; done
SIGNED_VMLINUZ=$FW/boot/vmlinuz-$KVER
[ -f "$SIGNED_VMLINUZ" ] || die "no signed vmlinuz-$KVER"
# virt-firmware from PyPI in its own venv; the stamp, written last, names what it holds.
VIRT_FIRMWARE="virt-firmware==26.10"
if [ "$(cat "$CACHE/venv/.aufsctl-requirements" 2>/dev/null)" != "$PYTHON $VIRT_FIRMWARE" ]; then
    log "installing $VIRT_FIRMWARE (PyPI) into $CACHE/venv"
    rm -rf "$CACHE/venv"
    "$PYTHON" -m venv "$CACHE/venv" >&2
    "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "$VIRT_FIRMWARE" >&2
    printf '%s' "$PYTHON $VIRT_FIRMWARE" >"$CACHE/venv/.aufsctl-requirements"
fi
VIRT_FW_VARS=$CACHE/venv/bin/virt-fw-vars

# --- 2. keys and the stand-in -------------------------------------------------------------------
K=$WORK/keys
mkdir -p "$K"
for name in DB MOK PENDING; do
    openssl req -new -x509 -nodes -days 2 -subj "/CN=aufsctl $name throwaway key" -newkey rsa:2048 \
        -keyout "$K/$name.key" -out "$K/$name.pem" >/dev/null 2>&1 || die "openssl req failed"
    openssl x509 -in "$K/$name.pem" -outform DER -out "$K/$name.der"
done
cp -a "$REPO/Kernel/standin" "$WORK/standin"
make -s -C "$WORK/standin" KDIR="$HEADERS" >"$WORK/standin.log" 2>&1 || { tail -n 30 "$WORK/standin.log" >&2; die "stand-in build failed"; }
V=$WORK/variants
mkdir -p "$V"
cp "$WORK/standin/aufs.ko" "$V/unsigned.ko"
for name in DB MOK PENDING; do
    cp "$WORK/standin/aufs.ko" "$V/$name.ko"
    "$HEADERS/scripts/sign-file" sha256 "$K/$name.key" "$K/$name.der" "$V/$name.ko"
done

# --- 3. the variable store: Microsoft's keys (Debian's .ms.fd), DB in db, MOK in MokList -------
OWNER=7e5b4c3a-1f2d-4e6b-9a8c-0d1e2f3a4b5c
"$VIRT_FW_VARS" -i "$FW/usr/share/OVMF/OVMF_VARS_4M.ms.fd" --add-db "$OWNER" "$K/DB.pem" \
    --add-mok "$OWNER" "$K/MOK.pem" --sb -o "$WORK/vars.fd" >"$WORK/virt-fw-vars.log" 2>&1 \
    || { cat "$WORK/virt-fw-vars.log" >&2; die "virt-fw-vars failed"; }
"$VIRT_FW_VARS" -i "$WORK/vars.fd" -p >"$WORK/vars.txt" 2>&1 || true

# --- 4. the guest: initramfs, then the ESP image ----------------------------------------------------
AUFSCTL=${AUFSCTL:-}
if [ -z "$AUFSCTL" ]; then
    SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
    (cd "$REPO" && SWIFT="$SWIFT" scripts/build.sh "$REPO/.build-e2e") >"$WORK/swift-build.log" 2>&1 \
        || { tail -n 40 "$WORK/swift-build.log" >&2; die "swift build failed"; }
    AUFSCTL=$REPO/.build-e2e/release/aufsctl
fi
IR=$WORK/initrd
mkdir -p "$IR"/{bin,sbin,proc,sys,dev,tmp,run,etc,boot,sb,var/lib/dkms} "$IR/lib/modules/$KVER/updates/dkms"
cp "$(busybox_static)" "$IR/bin/busybox"
copy_with_libs "$AUFSCTL" /usr/local/bin/aufsctl
# mokutil and its libraries from a Debian 12 root (the shared cached root builder).
UL=$WORK/userland
mkdir -p "$UL"
tar -C "$UL" -xf "$("$REPO/scripts/debian-root.sh" bookworm mokutil keyutils)"
for bin in /usr/bin/mokutil /usr/bin/keyctl; do
    mkdir -p "$IR$(dirname "$bin")"; cp -L "$UL$bin" "$IR$bin"
    chroot "$UL" ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
        [ -e "$IR$lib" ] && continue
        mkdir -p "$IR$(dirname "$lib")"; cp "$UL$(chroot "$UL" readlink -f "$lib")" "$IR$lib"
    done
done
# efivarfs is a module in the cloud kernel; signed by Debian's build key, it loads under lockdown.
efivarfs=$(find "$MODDIR/kernel" -name 'efivarfs.ko*' | head -n 1)
[ -n "$efivarfs" ] || die "no efivarfs module in $MODDIR"
mkdir -p "$IR/lib/modules/$KVER/kernel/fs/efivarfs"
cp "$efivarfs" "$IR/lib/modules/$KVER/kernel/fs/efivarfs/"
cp "$V"/*.ko "$IR/sb/"
cp "$V/unsigned.ko" "$IR/lib/modules/$KVER/updates/dkms/aufs.ko"
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$IR/lib/modules/$KVER/"
done
depmod -b "$IR" "$KVER"
cp "$ROOT/boot/config-$KVER" "$IR/boot/"
cp "$K/PENDING.der" "$IR/var/lib/dkms/mok.pub"   # DKMS's key here: the one to stage with mokutil
cp "$K/DB.der" "$K/MOK.der" "$IR/sb/"
printf 'ID=debian\nVERSION_ID="12"\n' >"$IR/etc/os-release"
desc() { # the kernel's description of a certificate: "CN: skid" (x509_key_preparse)
    echo "$(openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p'): $(
        openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr 'A-F' 'a-f')"
}
cat >"$IR/sb/env" <<EOF
KVER='$KVER'
DB_DESC='$(desc "$K/DB.pem")'
MOK_DESC='$(desc "$K/MOK.pem")'
PENDING_DESC='$(desc "$K/PENDING.pem")'
EOF
cp "$HERE/guest-init.sh" "$IR/init"
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"

ESP=$WORK/esp.img
rm -f "$ESP"
mkfs.vfat -C -n ESP "$ESP" $(( ( $(du -k "$SIGNED_VMLINUZ" | cut -f1) + $(du -k "$WORK/initrd.gz" | cut -f1) ) * 12 / 10 + 8192 )) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$ESP" ::/EFI ::/EFI/BOOT ::/EFI/debian
mcopy -i "$ESP" "$FW/usr/lib/shim/shimx64.efi.signed" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$ESP" "$FW/usr/lib/shim/mmx64.efi.signed" ::/EFI/BOOT/mmx64.efi
mcopy -i "$ESP" "$FW/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" ::/EFI/BOOT/grubx64.efi
cat >"$WORK/grub.cfg" <<EOF
set timeout=0
linux /vmlinuz console=ttyS0 panic=-1 quiet
initrd /initrd.gz
boot
EOF
mcopy -i "$ESP" "$WORK/grub.cfg" ::/EFI/debian/grub.cfg
mcopy -i "$ESP" "$WORK/grub.cfg" ::/EFI/BOOT/grub.cfg
mcopy -i "$ESP" "$SIGNED_VMLINUZ" ::/vmlinuz
mcopy -i "$ESP" "$WORK/initrd.gz" ::/initrd.gz

# --- 5. boot ----------------------------------------------------------------------------------------
cp "$FW/usr/share/OVMF/OVMF_CODE_4M.secboot.fd" "$WORK/code.fd"
BOOT_RC=0
boot() {  # boot NAME [PASSWORD]: one QEMU run on the vars file; with PASSWORD, MokManager is answered
    local name=$1 t rc
    t=$(date +%s)
    set +e
    if [ -n "${2:-}" ]; then
        timeout "$TIMEOUT" "$PYTHON" "$HERE/mokmanager.py" "$2" "$WORK/$name.raw" -- "${QEMU[@]}"
    else
        timeout "$TIMEOUT" "${QEMU[@]}" </dev/null >"$WORK/$name.raw" 2>&1
    fi
    rc=$?
    set -e
    tr -d '\r' <"$WORK/$name.raw" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' >"$WORK/$name.log"
    { echo "=== boot $name: exit $rc after $(( $(date +%s) - t ))s"; cat "$WORK/$name.log"; } >>"$LAST_SERIAL"
    log "boot $name: exit $rc after $(( $(date +%s) - t ))s"
    BOOT_RC=$rc
}
# shellcheck disable=SC2054 # the commas are qemu's option syntax
QEMU=(qemu-system-x86_64 -accel tcg -machine q35,smm=on -cpu max -m 1024 -nographic -no-reboot
      -global driver=cfi.pflash01,property=secure,value=on
      -drive if=pflash,format=raw,unit=0,file="$WORK/code.fd",readonly=on
      -drive if=pflash,format=raw,unit=1,file="$WORK/vars.fd"
      -drive file="$ESP",format=raw,if=virtio)
: >"$LAST_SERIAL"
boot first
pass=0; fail=0
report() {
    while IFS= read -r line; do
        echo "$line"
        case $(awk '{ print $3 }' <<<"$line") in PASS) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
    done < <(grep -E '^SB: [^ ]+ (PASS|FAIL)( |$)' "$WORK/$1.log")
    grep -q '^SB-END' "$WORK/$1.log" || { echo "SB: boot-$1 FAIL the guest did not reach the end of /init"; fail=$((fail + 1)); }
}
report first
if [ "${SB_MOKMANAGER:-0}" = 1 ]; then
    password=$(sed -n 's/^SB-PASSWORD: //p' "$WORK/first.log" | head -n 1)
    [ -n "$password" ] || die "the first boot staged no import"
    boot mokmanager "$password"
    if [ "$BOOT_RC" != 0 ]; then
        echo "SB: mokmanager FAIL MokManager was not answered to the end (exit $BOOT_RC; its screens are in $LAST_SERIAL)"
        fail=$((fail + 1))
    else
        echo "SB: mokmanager PASS $(grep -ao 'Shim UEFI key management' "$WORK/mokmanager.log" | head -n 1): any key, Enroll MOK, Continue, Yes, the password, Reboot"
        pass=$((pass + 1))
    fi
    boot after
    report after
fi
# What the guests saw (keyrings, mokutil, aufsctl's output): on failure here, always in the serial log.
[ "$fail" = 0 ] || grep -E '^SB-(INFO|OUT): ' "$LAST_SERIAL" >&2 || true
log "serial logs: $LAST_SERIAL; total $(( $(date +%s) - T_ALL ))s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
