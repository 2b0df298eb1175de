#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Runs in the systemd guest (aufsctl-e2e-boot.service, after local-fs.target) of Tests/boot/run.sh.
# Boot 1: aufsctl helper install, aufsctl persist, start the unit, reboot. Boot 2: the union is
# mounted with every branch in order, through mount.aufs, after systemd-modules-load loaded aufs;
# its image branch (a squashfs made by run.sh) attached by mount.aufs and mounted before the union.
# Results as "E2E: <name> PASS|FAIL <detail>" lines on the serial console.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NO_COLOR=1
out() { echo "$*" >/dev/ttyS0; }
L=/srv/layers
IMG=/srv/images/001-layer.sb
# as persisted and as the union shows it (the image's branch is its layer directory under /run)
BRANCHES="$L/rw=rw:$IMG=rr:$L/img1=ro:$L/50%off=ro:$L/img3=ro"
LAYERS=/run/aufsctl/layers
UNIT=srv-union.mount
MARK=/var/lib/aufsctl-e2e/boot1-done
opts() { awk '$5 == "/srv/union" { i = index($0, " - "); split(substr($0, i + 3), r, " "); print r[1], r[3] }' /proc/self/mountinfo; }

if [ ! -e $MARK ]; then
    errs=""
    mkdir -p $L/rw $L/img1 "$L/50%off" $L/img3 /srv/union
    [ "$(stat -c '%u %a' $IMG 2>&1)" = "0 644" ] || errs="$errs; $IMG is $(stat -c '%u %a' $IMG 2>&1), want root's 644"
    echo one >$L/img1/001.txt; echo three >$L/img3/003.txt
    aufsctl helper install >/tmp/o 2>&1 || errs="$errs; helper install: $(tail -n 1 /tmp/o)"
    [ "$(readlink /sbin/mount.aufs)" = /usr/local/bin/aufsctl-helper ] || errs="$errs; /sbin/mount.aufs -> $(readlink /sbin/mount.aufs)"
    aufsctl persist "dirs=$L/rw:$IMG:$L/img1=ro:$L/50%off=ro:$L/img3=ro" /srv/union >/tmp/o 2>&1 || errs="$errs; persist: $(tail -n 2 /tmp/o | tr '\n' ' ')"
    [ -f /etc/systemd/system/$UNIT ] || errs="$errs; no /etc/systemd/system/$UNIT"
    [ -L /etc/systemd/system/local-fs.target.wants/$UNIT ] || errs="$errs; $UNIT not enabled"
    [ -e /etc/aufsctl-e2e-selftest ] || grep -qx aufs /etc/modules-load.d/aufs.conf || errs="$errs; no aufs in /etc/modules-load.d/aufs.conf"
    grep -qF "Options=br=/srv/layers/rw=rw:$IMG=rr:/srv/layers/img1=ro:/srv/layers/50%%off=ro" /etc/systemd/system/$UNIT \
        || errs="$errs; Options= without the image (rr) or %%: $(grep Options= /etc/systemd/system/$UNIT)"
    # systemd orders the union after the filesystem that holds the image
    grep -q "^RequiresMountsFor=.* $IMG " /etc/systemd/system/$UNIT \
        || errs="$errs; RequiresMountsFor= lacks $IMG: $(grep RequiresMountsFor= /etc/systemd/system/$UNIT)"
    # Self-test of the suite (BOOT_SELFTEST_NO_MODULES_LOAD=1): without aufs.conf, boot 2 must fail.
    [ -e /etc/aufsctl-e2e-selftest ] && rm -f /etc/modules-load.d/aufs.conf
    systemctl start $UNIT >/tmp/o 2>&1 || errs="$errs; systemctl start $UNIT: $(tail -n 3 /tmp/o | tr '\n' ' ')"
    [ -n "$(opts)" ] || errs="$errs; not mounted after systemctl start"
    while read -r l; do out "E2E-LOG: boot1: $l"; done </etc/systemd/system/$UNIT
    if [ -z "$errs" ]; then out "E2E: boot1-persist PASS unit $UNIT written, enabled and started: $(opts)"
    else out "E2E: boot1-persist FAIL ${errs#; }"; fi
    mkdir -p "$(dirname $MARK)"; touch $MARK; sync
    out "E2E-BOOT1-END"
    systemctl reboot
    exit 0
fi

errs=""
o=$(opts)
[ -n "$o" ] || errs="$errs; /srv/union is not mounted"
# shellcheck disable=SC2086 # split "fstype options" into $1 $2
set -- $o
fstype=${1:-none} options=${2:-}
[ "$fstype" = aufs ] || errs="$errs; fstype $fstype"
# mountinfo shows si=<id> only (aufs's default, and the stand-in's): the branches and the xino are in
# /sys/fs/aufs/si_<id>/, where aufsctl status reads them
si=$(echo "$options" | tr ',' '\n' | sed -n 's/^si=//p')
got=$(ls "/sys/fs/aufs/si_$si" 2>/dev/null | sed -n 's/^br\([0-9][0-9]*\)$/\1/p' | sort -n \
    | while read -r n; do cat "/sys/fs/aufs/si_$si/br$n"; done | tr '\n' ':')
got=${got%:}
# br1 is the image's layer: a squashfs on a read-only loop device backed by the image, mounted by
# mount.aufs before the union (mountinfo lists a namespace's mounts in the order they were made)
layer=$(cat "/sys/fs/aufs/si_$si/br1" 2>/dev/null | sed 's/=[^=]*$//')
case $layer in "$LAYERS"/001-layer.sb@*) ;; *) errs="$errs; branch 1 is '$layer', not a layer under $LAYERS" ;; esac
want=$(echo "$BRANCHES" | sed "s|:$IMG=rr:|:$layer=rr:|")
[ "$got" = "$want" ] || errs="$errs; branches '$got' (si_$si), want '$want'"
lmount=$(awk -v mp="$layer" '$5 == mp { i = index($0, " - "); print NR, substr($0, i + 3) }' /proc/self/mountinfo)
union_line=$(awk '$5 == "/srv/union" { print NR }' /proc/self/mountinfo)
# shellcheck disable=SC2086 # "line fstype source superopts"
set -- $lmount
[ "${2:-}" = squashfs ] && [ "${4%%,*}" = ro ] || errs="$errs; layer $layer mounted as '$lmount', want squashfs ro"
loopdev=${3:-none}
[ "$(cat "/sys/block/${loopdev#/dev/}/loop/backing_file" 2>&1)" = $IMG ] || errs="$errs; $loopdev does not back $IMG: $(cat "/sys/block/${loopdev#/dev/}/loop/backing_file" 2>&1)"
[ "$(cat "/sys/block/${loopdev#/dev/}/ro" 2>&1)" = 1 ] || errs="$errs; $loopdev is not read-only"
[ -n "${1:-}" ] && [ -n "$union_line" ] && [ "$1" -lt "$union_line" ] || errs="$errs; the layer (mountinfo line ${1:-none}) not mounted before the union (line ${union_line:-none})"
[ "$(cat "$layer/layer.txt" 2>&1)" = "from the image" ] || errs="$errs; $layer/layer.txt: $(cat "$layer/layer.txt" 2>&1)"
layerinfo="layer $layer (squashfs on $loopdev, mountinfo line ${1:-?} < the union's $union_line)"
# squashfs: a module here, kernel autoload off, in no modules-load.d, so mount.aufs loaded it (a
# binary without that fails: mount of the layer ENODEV). loop is found loaded even for a binary that
# cannot load it (systemd's own early module setup, it seems), so it proves nothing here; the e2e
# guest, without systemd, checks that aufsctl loads loop.
if ! grep -q "/squashfs\.ko" "/lib/modules/$(uname -r)/modules.builtin"; then
    grep -q "^squashfs " /proc/modules || errs="$errs; squashfs is not loaded"
    grep -rqx squashfs /etc/modules-load.d /usr/lib/modules-load.d /lib/modules-load.d 2>/dev/null \
        && errs="$errs; squashfs is listed in a modules-load.d"
fi
# Only aufsctl adds a per-union xino in /run/aufsctl/xino: proof the unit went through mount.aufs.
xino=$(cat "/sys/fs/aufs/si_$si/xi_path" 2>/dev/null)
case $xino in /run/aufsctl/xino/*) ;; *) errs="$errs; xi_path '$xino', not aufsctl's (mount.aufs not used?)" ;; esac
systemctl is-active -q $UNIT || errs="$errs; $UNIT is $(systemctl is-active $UNIT)"
# systemd-modules-load logs to the kernel log before journald runs: read both.
modlog=$( { journalctl -b -o short-monotonic --no-pager; dmesg; } 2>/dev/null | grep "systemd-modules-load.*Inserted module 'aufs'" | head -n 1)
[ -n "$modlog" ] || errs="$errs; systemd-modules-load did not insert aufs: $( { journalctl -b --no-pager; dmesg; } | grep -i 'modules-load' | tail -n 2 | tr '\n' ' ')"
[ "$(cat /proc/sys/kernel/modprobe)" = /bin/false ] || errs="$errs; kernel.modprobe is $(cat /proc/sys/kernel/modprobe), kernel autoload possible"
t_mod=$(echo "$modlog" | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
t_mnt=$(journalctl -b -o short-monotonic -u $UNIT | grep -m1 -E "Mount(ing|ed)" | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
[ "$(cat /srv/union/003.txt 2>/dev/null)" = three ] && errs="$errs; the stand-in unions nothing, yet 003.txt appeared?"
aufsctl status /srv/union >/tmp/o 2>&1
grep -q "persisted (systemd-unit $UNIT)" /tmp/o || errs="$errs; status does not mark it persisted: $(head -n 1 /tmp/o)"
aufsctl status --json /srv/union >/tmp/o 2>&1
grep -q "\"persisted\" : \"systemd-unit $UNIT\"" /tmp/o || errs="$errs; status --json lacks persisted: $(tr -d '\n' </tmp/o | head -c 200)"
# the helper recorded the layer it attached: status names the image and its loop device
tr -d ' \n' </tmp/o | grep -q "\"image\":{[^}]*\"file\":\"$IMG\"" || errs="$errs; status --json does not name the image $IMG"
tr -d ' \n' </tmp/o | grep -q "\"device\":\"$loopdev\"" || errs="$errs; status --json does not name $loopdev"
if [ -z "$errs" ]; then out "E2E: boot2-mounted PASS $fstype $options, branches $got, xino $xino; $layerinfo; aufs inserted by systemd-modules-load at ${t_mod}s, $UNIT at ${t_mnt}s"
else out "E2E: boot2-mounted FAIL ${errs#; }"; fi
journalctl -b -u $UNIT --no-pager | tail -n 5 | while read -r l; do out "E2E-LOG: boot2: $l"; done

errs=""
umount /srv/union >/tmp/o 2>&1 || errs="$errs; umount: $(tail -n 1 /tmp/o)"
# umount.aufs released the image: no layer directory, no loop device backed by it
[ -e "$layer" ] && errs="$errs; layer $layer left after umount"
grep -qx $IMG /sys/block/loop*/loop/backing_file 2>/dev/null && errs="$errs; a loop device still backs $IMG after umount"
aufsctl persist --remove /srv/union >/tmp/o 2>&1 || errs="$errs; persist --remove: $(tail -n 1 /tmp/o)"
[ -e /etc/systemd/system/$UNIT ] && errs="$errs; $UNIT still there"
[ -e /etc/systemd/system/local-fs.target.wants/$UNIT ] && errs="$errs; wants link still there"
[ -e /etc/modules-load.d/aufs.conf ] && errs="$errs; aufs.conf still there"
aufsctl uninstall --all --yes >/tmp/o 2>&1 || errs="$errs; uninstall --all: $(tail -n 1 /tmp/o)"
[ -e /sbin/mount.aufs ] && errs="$errs; /sbin/mount.aufs still there after uninstall --all"
if [ -z "$errs" ]; then out "E2E: boot2-remove PASS umount (image layer and loop device released), persist --remove, uninstall --all left nothing"
else out "E2E: boot2-remove FAIL ${errs#; }"; fi
out "E2E-END"
systemctl poweroff
