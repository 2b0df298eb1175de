#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# End-to-end proof for Kernel/standin (the aufs TEST STAND-IN, not aufs):
#   1. fetch the current Debian bookworm cloud kernel + headers (fetch-kernel.sh);
#   2. build + install the stand-in with DKMS for that kernel (not the running
#      one), then remove it from DKMS again so the host is left clean;
#   3. boot the kernel under QEMU (TCG) with a busybox-static initramfs whose
#      /init loads the module, mounts and remounts aufs (add, append, prepend,
#      del, mod) and prints mountinfo (si= only), /sys/fs/aufs/si_<id>, the
#      kernel's lines for refused options, and a read in kill_sb's window;
#   4. exit non-zero if an expected line is missing from the serial output.
#
# Needs root (dkms, /usr/src). Installs dkms, qemu-system-x86, cpio with apt
# when missing. Environment: AUFSCTL_KERNEL_CACHE (see fetch-kernel.sh),
# SMOKE_QEMU_TIMEOUT (seconds, default 120).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SRC=$REPO/Kernel/standin
PKG=aufs
VER=0.0-standin
USRSRC=/usr/src/$PKG-$VER
QEMU_TIMEOUT=${SMOKE_QEMU_TIMEOUT:-120}

log() { echo "standin-smoke: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" = 0 ] || die "needs root"

need_pkgs=()
command -v dkms >/dev/null || need_pkgs+=(dkms)
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v cpio >/dev/null || need_pkgs+=(cpio)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${need_pkgs[@]}" >&2
fi

# --- 1. kernel ---------------------------------------------------------------
t=$(now)
eval "$("$HERE/fetch-kernel.sh" | grep -E '^(KVER|ROOT|VMLINUZ|HEADERS)=')"
T_FETCH=$(since "$t")
log "kernel $KVER (fetch/cache check ${T_FETCH}s)"
CACHE=${ROOT%/root}

WORK=$(mktemp -d /tmp/standin-smoke.XXXXXX)
HOST_MODDIR=/lib/modules/$KVER
HOST_MODDIR_EXISTED=0
[ -e "$HOST_MODDIR" ] && HOST_MODDIR_EXISTED=1

dkms_cleanup() {
    if dkms status -m "$PKG" -v "$VER" 2>/dev/null | grep -q .; then
        dkms remove "$PKG/$VER" --all >&2 || true
    fi
    rm -rf "$USRSRC"
    # dkms install created /lib/modules/KVER on the host for a kernel that is
    # not installed here: take it away again (only if we created it).
    if [ "$HOST_MODDIR_EXISTED" = 0 ] && [ -d "$HOST_MODDIR" ]; then
        rm -rf "$HOST_MODDIR"
    fi
}
cleanup() {
    dkms_cleanup
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- 2. DKMS -----------------------------------------------------------------
t=$(now)
dkms_cleanup    # leftovers of an interrupted run
mkdir -p "$USRSRC"
cp -a "$SRC/." "$USRSRC/"
# Throwaway dkms.conf (the stand-in tree ships none, like aufs-standalone).
cat >"$USRSRC/dkms.conf" <<'EOF'
PACKAGE_NAME="aufs"
PACKAGE_VERSION="0.0-standin"
BUILT_MODULE_NAME[0]="aufs"
BUILT_MODULE_LOCATION[0]="fs/aufs/"
DEST_MODULE_LOCATION[0]="/kernel/fs/aufs"
MAKE[0]="make KDIR=${kernel_source_dir}"
CLEAN="make clean"
AUTOINSTALL="yes"
EOF
# The headers live in the cache, not in /lib/modules/KVER/build on the host:
# --kernelsourcedir points dkms (and so ${kernel_source_dir}) at them.
dkms add "$PKG/$VER" >&2
dkms build "$PKG/$VER" -k "$KVER" --kernelsourcedir "$HEADERS" >&2 \
    || { cat "/var/lib/dkms/$PKG/$VER/build/make.log" >&2 || true; die "dkms build"; }
# dkms install refuses a kernel without /lib/modules/KVER; that kernel is not
# installed on this host, so create the directory for the duration of the run
# (dkms_cleanup removes it again when it did not exist before).
mkdir -p "$HOST_MODDIR"
dkms install "$PKG/$VER" -k "$KVER" --kernelsourcedir "$HEADERS" >&2 || die "dkms install"
dkms status -m "$PKG" -v "$VER" >&2
KO=$(find "$HOST_MODDIR" -name 'aufs.ko*' -path '*dkms*' | head -n1)
[ -n "$KO" ] || KO=$(find "$HOST_MODDIR" -name 'aufs.ko*' | head -n1)
[ -n "$KO" ] || die "dkms install left no aufs.ko under $HOST_MODDIR"
log "dkms installed $KO"
modinfo "$KO" | grep -E '^(version|vermagic|description):' >&2
mkdir -p "$WORK/initrd/lib/modules/$KVER/updates/dkms"
cp "$KO" "$WORK/initrd/lib/modules/$KVER/updates/dkms/"
dkms_cleanup
dkms status -m "$PKG" 2>/dev/null | grep -q . && die "dkms still lists $PKG after remove"
T_DKMS=$(since "$t")
log "dkms add/build/install/remove ${T_DKMS}s"

# --- 3. initramfs --------------------------------------------------------------
t=$(now)
BB=$CACHE/busybox/bin/busybox
if [ ! -x "$BB" ]; then
    mkdir -p "$CACHE/busybox-deb" "$CACHE/busybox"
    (cd "$CACHE/busybox-deb" && apt-get -o APT::Sandbox::User=root -q download busybox-static >&2)
    dpkg -x "$(ls -t "$CACHE"/busybox-deb/busybox-static_*.deb | head -n1)" "$CACHE/busybox"
fi
[ -x "$BB" ] || die "no busybox in $CACHE/busybox"

IR=$WORK/initrd
mkdir -p "$IR"/{bin,sbin,proc,sys,dev,tmp,mnt,etc}
cp "$BB" "$IR/bin/busybox"
cp "$ROOT/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$IR/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$IR" "$KVER"
cat >"$IR/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
ln -s /bin/busybox /sbin/modprobe   # the kernel's request_module() helper
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /t && mount -t tmpfs t /t  # branches on tmpfs: aufs refuses the initramfs's ramfs
mkdir -p /t/a /t/b /t/c /t/d /t/e /t/ro /mnt /mnt2 /mnt3
say() { echo "SMOKE: $*"; }
mi() { grep " $1 " /proc/self/mountinfo | sed 's/.* - //'; }
si() { mi "$1" | tr ',' '\n' | sed -n 's/^si=//p'; }
brs() { d=/sys/fs/aufs/si_$(si "$1"); i=0; out=""; while [ -e "$d/br$i" ]; do out="$out $(cat "$d/br$i")"; i=$((i + 1)); done; echo "${out# }"; }
say "uname $(uname -r)"
if modprobe aufs; then say "modprobe ok"; else say "modprobe FAILED rc=$?"; fi
say "filesystems $(grep -w aufs /proc/filesystems | tr '\t' ' ')"
say "modversion $(cat /sys/module/aufs/version 2>/dev/null)"
if mount -t aufs -o br=/t/a=rw:/t/b=ro none /mnt; then say "mount ok"; else say "mount FAILED rc=$?"; fi
S=/sys/fs/aufs/si_$(si /mnt)
say "mountinfo $(mi /mnt)"
say "sysfs $(ls $S | tr '\n' ' ')"
say "branches $(brs /mnt)"
say "brids $(cat $S/brid0) $(cat $S/brid1)"
say "xi_path $(cat $S/xi_path)"
# Two arguments: busybox passes exactly the -o text as the mount(2) data.
mount -o remount,append=/t/c=ro none /mnt && say "append $(brs /mnt)"
mount -o remount,add=1:/t/d none /mnt && say "add $(brs /mnt)"
mount -o remount,mod=/t/b=rr+wh none /mnt && say "mod $(brs /mnt)"
mount -o remount,del=/t/d none /mnt && say "del $(brs /mnt)"
mount -o remount,prepend=/t/e=rw,del=/t/e none /mnt && say "prepend-del $(brs /mnt)"
mount -o remount,append=/t/c,del=/t/d,mod=/t/ro=ro none /mnt && say "remount-ignored $(brs /mnt)"
if mount -o remount,append=/no/such/branch=ro none /mnt 2>/dev/null; then say "bad-remount accepted"; else say "bad-remount refused"; fi
say "dmesg-lookup $(dmesg | grep 'lookup failed /no/such/branch' | tail -n1)"
say "unchanged $(brs /mnt)"
# One argument: busybox sends mountinfo's options (si= among them) plus ours.
if mount -o remount,append=/t/ro=ro /mnt; then say "remount-one-arg $(brs /mnt)"; else say "remount-one-arg FAILED"; fi
if mount -t aufs -o br=/t/a:/t/a=ro none /mnt2 2>/dev/null; then say "duplicate accepted"; else say "duplicate refused"; fi
say "dmesg-dup $(dmesg | grep 'duplicated' | tail -n1)"
if mount -t aufs -o br=/t/a=rw,frobnicate none /mnt2 2>/dev/null; then say "unknown accepted"; else say "unknown refused"; fi
say "dmesg-unknown $(dmesg | grep 'Unknown parameter' | tail -n1)"
mount -t aufs -o br=/t/b=ro,noplink,xino=/t/x.xino none /mnt2 && say "mountinfo2 $(mi /mnt2) xi_path $(cat /sys/fs/aufs/si_$(si /mnt2)/xi_path)"
if mount -o remount,del=/t/b none /mnt2 2>/dev/null; then say "last-del accepted"; else say "last-del refused"; fi
umount /mnt2
long="br=/t/a=rw,x=$(head -c 5000 /dev/zero | tr '\0' x)"
if mount -t aufs -o "$long" none /mnt3 2>/dev/null; then say "page-limit accepted"; else say "page-limit refused"; fi
say "dmesg-page $(dmesg | grep 'fills a whole page' | tail -n1)"
# aufs's crash window, widened: a read while kill_sb runs is caught and failed.
echo 1 >/sys/module/aufs/parameters/trace_sysfs
echo 400 >/sys/module/aufs/parameters/kill_delay_ms
mount -t aufs -o br=/t/c=rw none /mnt3
K=/sys/fs/aufs/si_$(si /mnt3)
cat $K/br0 >/dev/null
umount /mnt3 &
sleep 0.2
if cat $K/br0 >/dev/null 2>&1; then say "dying-read succeeded"; else say "dying-read failed"; fi
wait
say "dmesg-dying $(dmesg | grep 'read during kill_sb' | tail -n1)"
say "gone $([ -e $K ] && echo no || echo yes)"
say "trace $(grep -v '^#' /proc/fs/aufs/standin_trace | awk '{ print $4 }' | tr '\n' ' ')"
umount /mnt && say "umount ok"
rmmod aufs && say "rmmod ok"
say "done"
poweroff -f
EOF
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"
T_INITRD=$(since "$t")
log "initramfs $(du -h "$WORK/initrd.gz" | cut -f1) in ${T_INITRD}s"

# --- 4. boot -------------------------------------------------------------------
t=$(now)
SERIAL=$WORK/serial.log
set +e
timeout "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -nographic -no-reboot \
    -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet" </dev/null >"$SERIAL" 2>&1
qrc=$?
set -e
T_BOOT=$(since "$t")
tr -d '\r' <"$SERIAL" >"$SERIAL.txt"
log "qemu exit $qrc after ${T_BOOT}s; guest transcript:"
grep -E 'SMOKE:|aufs ' "$SERIAL.txt" >&2 || true

# --- 5. checks -----------------------------------------------------------------
fail=0
expect() {  # expect <description> <extended regex>
    if grep -Eq -- "$2" "$SERIAL.txt"; then
        log "ok   $1"
    else
        log "MISS $1: /$2/"
        fail=1
    fi
}
[ "$qrc" = 0 ] || { log "qemu exited $qrc (124 = timeout)"; fail=1; }
expect "guest runs $KVER"       "SMOKE: uname ${KVER//./\\.}\$"
expect "module loaded"          'SMOKE: modprobe ok$'
expect "aufs registered"        'SMOKE: filesystems nodev aufs$'
expect "module version"         'SMOKE: modversion 0\.0-standin$'
expect "mount"                  'SMOKE: mount ok$'
expect "mountinfo: si= only"    'SMOKE: mountinfo aufs none rw,si=[0-9a-f]+$'
expect "sysfs files"            'SMOKE: sysfs br0 br1 brid0 brid1 xi_path $'
expect "sysfs branches"         'SMOKE: branches /t/a=rw /t/b=ro$'
expect "branch ids"             'SMOKE: brids 256 257$'
expect "default xino"           'SMOKE: xi_path /t/a/\.aufs\.xino$'
expect "append"                 'SMOKE: append /t/a=rw /t/b=ro /t/c=ro$'
expect "add=1: (default ro)"    'SMOKE: add /t/a=rw /t/d=ro /t/b=ro /t/c=ro$'
expect "mod"                    'SMOKE: mod /t/a=rw /t/d=ro /t/b=rr\+wh /t/c=ro$'
expect "del"                    'SMOKE: del /t/a=rw /t/b=rr\+wh /t/c=ro$'
expect "prepend then del"       'SMOKE: prepend-del /t/a=rw /t/b=rr\+wh /t/c=ro$'
expect "remount no-ops"         'SMOKE: remount-ignored /t/a=rw /t/b=rr\+wh /t/c=ro$'
expect "bad remount refused"    'SMOKE: bad-remount refused$'
expect "lookup-failed log line" 'SMOKE: dmesg-lookup .*aufs au_opt_add:[0-9]+:mount\[[0-9]+\]: lookup failed /no/such/branch \(-2\)$'
expect "branches unchanged"     'SMOKE: unchanged /t/a=rw /t/b=rr\+wh /t/c=ro$'
# busybox's one-argument remount resends mountinfo's options, si= among them:
expect "busybox remount (si=)"  'SMOKE: remount-one-arg /t/a=rw /t/b=rr\+wh /t/c=ro /t/ro=ro$'
expect "duplicate refused"      'SMOKE: duplicate refused$'
expect "duplicate log line"     'SMOKE: dmesg-dup .*aufs test_add:[0-9]+:mount\[[0-9]+\]: /t/a duplicated$'
expect "unknown option refused" 'SMOKE: unknown refused$'
expect "unknown option log"     "SMOKE: dmesg-unknown .*aufs: Unknown parameter 'frobnicate'$"
expect "options, xi_path"       'SMOKE: mountinfo2 aufs none rw,si=[0-9a-f]+,noplink xi_path /t/x\.xino$'
expect "last branch kept"       'SMOKE: last-del refused$'
expect "page limit refused"     'SMOKE: page-limit refused$'
expect "page limit log line"    'SMOKE: dmesg-page .*aufs au_fsctx_parse_monolithic:[0-9]+:mount\[[0-9]+\]: mount data fills a whole page \(4095 bytes\)'
expect "dying read failed"      'SMOKE: dying-read failed$'
expect "dying read log line"    'SMOKE: dmesg-dying .*aufs sysaufs_si_show:[0-9]+:cat\[[0-9]+\]: si_[0-9a-f]+/br0 read during kill_sb'
expect "sysfs gone"             'SMOKE: gone yes$'
expect "trace"                  'SMOKE: trace read kill-begin (read-dying )+kill-end $'
expect "umount"                 'SMOKE: umount ok$'
expect "rmmod"                  'SMOKE: rmmod ok$'
expect "init finished"          'SMOKE: done$'
if [ "$fail" != 0 ]; then
    log "serial output kept in ${SERIAL}.txt (workdir not removed)"
    trap dkms_cleanup EXIT
    cp "$SERIAL.txt" /tmp/standin-smoke.last-serial.txt
    exit 1
fi
log "PASS (fetch ${T_FETCH}s, dkms ${T_DKMS}s, initramfs ${T_INITRD}s, boot ${T_BOOT}s)"
