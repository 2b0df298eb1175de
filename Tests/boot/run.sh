#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Boot test: a union persisted by `aufsctl persist` comes back after a reboot (systemd .mount unit
# through /sbin/mount.aufs, aufs loaded by systemd-modules-load and by nothing else).
#
#   1. the Debian cloud kernel (Tests/e2e/fetch-kernel.sh, cached) and the aufs stand-in built for
#      it with kbuild (Kernel/standin; the module source does not matter here);
#   2. a Debian 12 root with systemd from the shared cached builder (scripts/debian-root.sh), with
#      aufsctl, the module (depmod), Tests/boot/guest-boot.sh as a oneshot service after
#      local-fs.target, made into an ext4 disk image (mkfs.ext4 -d, no loop device);
#   3. boot 1 (QEMU, TCG): a busybox initramfs loads virtio_blk and switch_roots into systemd; the
#      service runs `aufsctl helper install` and `aufsctl persist`, starts the unit, reboots;
#   4. boot 2 from the same disk: the union is mounted with every branch in order, through
#      mount.aufs, after systemd-modules-load inserted aufs; kernel.modprobe=/bin/false on the
#      command line keeps the kernel from autoloading it (the stand-in has an fs-aufs alias).
#   The union has an image branch: /srv/images/001-layer.sb, a squashfs made here by mksquashfs
#   (root's, 0644), persisted as the image; boot 2 checks that mount.aufs attached it to a read-only
#   loop device and mounted it before the union, and that umount.aufs released both. squashfs is a
#   module in Debian's kernel and kernel autoload is off: mount.aufs loads it (loop is loaded before it runs).
# Prints the E2E: lines, then `N passed, M failed`; exits 1 on any failure. Needs root.
# Environment: AUFSCTL (a built release binary; default: scripts/build.sh into .build/glibc231),
# AUFSCTL_HELPER (default: aufsctl-helper beside AUFSCTL),
# BOOT_QEMU_TIMEOUT (s per boot, default 150), BOOT_KEEP=1 (keep the work dir),
# BOOT_SELFTEST_NO_MODULES_LOAD=1 (proof the suite can fail: boot 1 deletes aufs.conf after
# persist, so the unit's mount.aufs loads aufs itself and boot2-mounted must FAIL).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TIMEOUT=${BOOT_QEMU_TIMEOUT:-150}
log() { echo "boot: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# shellcheck source=Tests/e2e/initramfs-lib.sh
. "$REPO/Tests/e2e/initramfs-lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
T_ALL=$(now)
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v cpio >/dev/null || need+=(cpio)
command -v modinfo >/dev/null || need+=(kmod)
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
install_packages "${need[@]}"

make_work boot BOOT_KEEP

eval "$("$REPO/Tests/e2e/fetch-kernel.sh" | grep -E '^(KVER|ROOT|VMLINUZ|HEADERS)=')"
MODDIR=$ROOT/lib/modules/$KVER
if [ -z "${AUFSCTL:-}" ]; then
    (cd "$REPO" && SWIFT=${SWIFT:-} scripts/build.sh "$REPO/.build/glibc231") >"$WORK/build.log" 2>&1 \
        || { tail -n 30 "$WORK/build.log" >&2; die "build failed"; }
    AUFSCTL=$REPO/.build/glibc231/release/aufsctl
fi
[ -x "$AUFSCTL" ] || die "no aufsctl binary at $AUFSCTL"
# aufsctl-helper: built beside aufsctl by scripts/build.sh (AUFSCTL_HELPER names another).
HELPER=${AUFSCTL_HELPER:-$(dirname "$(readlink -f "$AUFSCTL")")/aufsctl-helper}
[ -x "$HELPER" ] || die "no aufsctl-helper at $HELPER (set AUFSCTL_HELPER)"

t=$(now)
cp -r "$REPO/Kernel/standin" "$WORK/standin"
make -C "$WORK/standin" KDIR="$HEADERS" >"$WORK/module.log" 2>&1 || { tail -n 20 "$WORK/module.log" >&2; die "stand-in build"; }

# --- the disk: Debian 12 with systemd ---------------------------------------------------------
R=$WORK/root
mkdir -p "$R"
tar -C "$R" -xf "$("$REPO/scripts/debian-root.sh" bookworm systemd systemd-sysv kmod)"
install -m 0755 "$AUFSCTL" "$R/usr/local/bin/aufsctl"
install -m 0755 "$HELPER" "$R/usr/local/bin/aufsctl-helper"  # what `aufsctl helper install` links
mkdir -p "$R/lib/modules/$KVER/updates" "$R/usr/local/sbin"
cp "$WORK/standin/aufs.ko" "$R/lib/modules/$KVER/updates/aufs.ko"
# the image branch: loop and squashfs (with what they depend on), for mount.aufs to load
for m in loop squashfs; do
    if grep -qE "/$m\.ko" "$MODDIR/modules.builtin"; then continue; fi
    modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }' | while read -r f; do
        mkdir -p "$R$(dirname "${f#"$ROOT"}")"; cp "$f" "$R${f#"$ROOT"}"
    done
done
mkdir -p "$WORK/layer-src" "$R/srv/images"
echo "from the image" >"$WORK/layer-src/layer.txt"
mksquashfs "$WORK/layer-src" "$R/srv/images/001-layer.sb" -quiet -noappend -all-root >&2 || die "mksquashfs failed"
chmod 0644 "$R/srv/images/001-layer.sb"
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$R/lib/modules/$KVER/"
done
depmod -b "$R" "$KVER"
install -m 0755 "$HERE/guest-boot.sh" "$R/usr/local/sbin/aufsctl-e2e-boot"
cat >"$R/etc/systemd/system/aufsctl-e2e-boot.service" <<'UNIT'
[Unit]
Description=aufsctl boot test
After=local-fs.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/aufsctl-e2e-boot
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf ../aufsctl-e2e-boot.service "$R/etc/systemd/system/multi-user.target.wants/aufsctl-e2e-boot.service"
ln -sf /lib/systemd/system/multi-user.target "$R/etc/systemd/system/default.target"
ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service"
echo aufsctl-boot >"$R/etc/hostname"
: >"$R/etc/fstab"
[ "${BOOT_SELFTEST_NO_MODULES_LOAD:-0}" = 1 ] && touch "$R/etc/aufsctl-e2e-selftest"
rm -f "$R/etc/modules-load.d/aufs.conf"
IMG=$WORK/disk.img
mkfs.ext4 -q -F -L aufsctl-boot -d "$R" "$IMG" 1200M
rm -rf "$R"

# --- the initramfs: virtio_blk, then switch_root into systemd -------------------------------------
IR=$WORK/initrd
mkdir -p "$IR"/{bin,dev,proc,sys,newroot,mod}
cp "$(ls /var/cache/aufsctl/kernel/busybox/bin/busybox)" "$IR/bin/busybox"
order=""
add_mod() {
    local name=$1 f dep
    case " $order " in *" $name "*) return 0 ;; esac
    f=$(find "$MODDIR/kernel" -name "$name.ko*" | head -n1)
    [ -n "$f" ] || { grep -qE "/$name\.ko" "$MODDIR/modules.builtin" && return 0; die "module $name not found"; }
    for dep in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$dep"; done
    cp "$f" "$IR/mod/"
    order="$order $name"
}
for m in virtio_pci virtio_blk; do add_mod $m; done
cat >"$IR/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $order; do insmod /mod/\$m.ko* || echo "initrd: insmod \$m failed"; done
i=0; while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
mount -o rw /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; poweroff -f; }
umount /proc /sys; mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
INIT
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"
T_PREP=$(since "$t")
log "disk and initramfs ready (${T_PREP}s; modules:$order)"

boot() {  # boot N: one QEMU run from the disk; the guest ends it (reboot or poweroff)
    local t rc
    t=$(now)
    set +e
    timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -nographic -no-reboot \
        -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" -drive "file=$IMG,format=raw,if=virtio" \
        -append "console=ttyS0 panic=-1 quiet sysctl.kernel.modprobe=/bin/false systemd.show_status=false" \
        </dev/null >"$WORK/serial$1.log" 2>&1
    rc=$?
    set -e
    tr -d '\r' <"$WORK/serial$1.log" >"$WORK/serial$1.txt"
    cp "$WORK/serial$1.txt" "/tmp/aufsctl-boot.last-serial$1.txt"
    log "boot $1: qemu exit $rc after $(since "$t")s (serial: /tmp/aufsctl-boot.last-serial$1.txt)"
    return 0
}
boot 1
grep -q '^E2E-BOOT1-END' "$WORK/serial1.txt" || log "boot 1 did not finish"
boot 2

pass=0; fail=0
for n in boot1-persist boot2-mounted boot2-remove; do
    line=$(grep -h -E "^E2E: $n (PASS|FAIL)" "$WORK"/serial[12].txt | head -n 1 || true)
    if [ -z "$line" ]; then line="E2E: $n FAIL missing from the serial logs"; fi
    echo "$line"
    case $line in *" PASS"*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
done
grep -h '^E2E-LOG: ' "$WORK"/serial[12].txt >&2 || true
grep -q '^E2E-END' "$WORK/serial2.txt" || { echo "E2E: guest FAIL boot 2 did not reach its end"; fail=$((fail + 1)); }
oops=$(grep -h -E 'Oops|BUG:|Kernel panic|general protection fault|Call Trace:' "$WORK"/serial[12].txt | head -n 3 || true)
[ -z "$oops" ] || { echo "E2E: kernel FAIL $oops"; fail=$((fail + 1)); }
log "total $(since "$T_ALL")s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
