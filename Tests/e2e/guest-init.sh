#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# shellcheck shell=dash
# /init of the e2e initramfs (built by Tests/e2e/run.sh). Runs aufsctl against a real kernel
# and prints one line per scenario on the serial console:
#     E2E: <name> PASS|FAIL <detail>
# then "E2E-END", the kernel log prefixed "KLOG: " and powers off. Every expected value is
# computed here (or on the host from the built module, see /e2e/env); nothing is a fixed PASS.
# Never `exit` (this is pid 1): a scenario that breaks reports FAIL and the next one runs.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export NO_COLOR=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev        # /dev/kmsg for aufsctl's kernel log reader
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/lock /etc/modprobe.d
# Only aufsctl (libkmod) may load modules: no kernel autoload through request_module().
echo /sbin/e2e-no-modprobe >/proc/sys/kernel/modprobe
dmesg -n 1                        # keep printk off the console; the log is dumped at the end
. /e2e/env                        # KVER AUFS_KO VERMAGIC FLAVOR NBR WRONG_EXPECTATION

O=/tmp/e2e/out; E=/tmp/e2e/err; J=/tmp/e2e/json
mkdir -p /tmp/e2e
begin() { NAME=$1; ERRS=""; : >/tmp/e2e/log; }
bad() { ERRS="$ERRS; $*"; }
# the scenario's command log, every line complete (awk ends each with a newline) and cut short,
# so that it can never run into the next E2E: line
dumplog() { head -c 6000 /tmp/e2e/log | awk -v n="$NAME" '{ print "E2E-LOG: " n ": " substr($0, 1, 300) }'; }
end() {
    if [ -z "$ERRS" ]; then
        echo "E2E: $NAME PASS $*"
    else
        echo "E2E: $NAME FAIL ${ERRS#; }"
        dumplog
    fi
}
run() {        # stdout, stderr and exit code of one command (also kept in the scenario's log)
    "$@" >"$O" 2>"$E"; RC=$?
    { echo "\$ $* -> exit $RC"; head -c 1500 "$O"; echo; head -c 1500 "$E"; echo; } >>/tmp/e2e/log
}
both() { cat "$O" "$E"; }
loaded() { grep -q "^$1 " /proc/modules; }
registered() { grep -qw "$1" /proc/filesystems; }
# "fstype source superopts" of the (last) mount at $1, from /proc/self/mountinfo
mi() {
    awk -v mp="$1" '{ i = index($0, " - "); split(substr($0, 1, i - 1), l, " ");
                      if (l[5] == mp) r = substr($0, i + 3) } END { if (r != "") print r }' /proc/self/mountinfo
}
mi_type() { mi "$1" | awk '{ print $1 }'; }
mi_opts() { mi "$1" | awk '{ print $3 }'; }
si_of() { mi_opts "$1" | tr ',' '\n' | sed -n 's/^si=//p'; }
# The branches of the aufs union at $1, `path=perm` one a line, top first, read the way
# `aufsctl status` reads them: /sys/fs/aufs/si_<id>/br<N> (aufs's default, brs=1; the stand-in
# shows the same), else mountinfo's br: list (brs=0).
branches() {
    _si=$(si_of "$1")
    if [ -n "$_si" ] && [ -e "/sys/fs/aufs/si_$_si/br0" ]; then
        ls "/sys/fs/aufs/si_$_si" | sed -n 's/^br\([0-9][0-9]*\)$/\1/p' | sort -n \
            | while read -r _n; do cat "/sys/fs/aufs/si_$_si/br$_n"; done
    else
        mi_opts "$1" | tr ',' '\n' | sed -n 's/^br[:=]//p' | tr ':' '\n'
    fi
}
# its xino: /sys/fs/aufs/si_<id>/xi_path, else mountinfo's xino=
xino_of() {
    _si=$(si_of "$1")
    if [ -n "$_si" ] && [ -e "/sys/fs/aufs/si_$_si/xi_path" ]; then cat "/sys/fs/aufs/si_$_si/xi_path"
    else mi_opts "$1" | tr ',' '\n' | sed -n 's/^xino=//p'; fi
}
aufs_mounts() { awk '{ i = index($0, " - "); split(substr($0, i + 3), r, " "); if (r[1] == "aufs") n++ } END { print n + 0 }' /proc/self/mountinfo; }

# The seed walk-through's layout.
S=/tmp/e2e/seed
mkdir -p $S/container $S/image1 $S/image2 $S/image3 $S/mnt
echo image1 >$S/image1/001.txt; echo image1 >$S/image1/002.txt
echo image2 >$S/image2/002.txt; echo image2 >$S/image2/003.txt
echo image3 >$S/image3/004.txt; echo container >$S/container/container.txt
SEEDDIRS="dirs=./container:./image1=ro:./image2=ro:./image3=ro"
SEEDBR="$S/container=rw:$S/image1=ro:$S/image2=ro:$S/image3=ro"
BL=/etc/modprobe.d/aufs-blacklist.conf
echo "E2E-INFO: kernel $(uname -r), aufs module $AUFS_KO, flavor $FLAVOR"

# --- libraries: which glibc, libkmod, libblkid the guest's aufsctl runs with ---------------------
begin libraries
run aufsctl --version
[ "$RC" = 0 ] || bad "--version exit $RC"
grep -q "^running with: glibc $USERLAND_GLIBC," "$O" || bad "--version does not say glibc $USERLAND_GLIBC: $(tail -n 1 "$O")"
grep -q "^built against: glibc 2.31," "$O" || bad "not the glibc 2.31 build: $(sed -n 2p "$O")"
end "$(tail -n 1 "$O")"

# --- check-loadable ---------------------------------------------------------------------
begin check-loadable
loaded aufs && bad "aufs already loaded before the test"
run aufsctl check
[ "$RC" = 3 ] || bad "check exit $RC, want 3"
grep -qF "$AUFS_KO" "$O" || bad "check output does not name $AUFS_KO"
grep -qF "$VERMAGIC" "$O" || bad "check output lacks the vermagic '$VERMAGIC'"
rc1=$RC
run aufsctl check --json; cp "$O" $J
st=$(jq -r '.verdict.state' $J 2>/dev/null)
jpath=$(jq -r '.facts.module.path // empty' $J 2>/dev/null)
[ "$st" = loadable ] || bad "check --json verdict state '$st', want loadable"
[ "$jpath" = "$AUFS_KO" ] || bad "check --json module path '$jpath', want $AUFS_KO"
end "exit $rc1, names $AUFS_KO and vermagic '$VERMAGIC', --json verdict $st"

# --- blacklist ----------------------------------------------------------------------------
begin blacklist
echo "blacklist aufs" >$BL
cd "$S" || bad "cd $S failed"
run aufsctl mount $SEEDDIRS ./mnt; rcm=$RC
[ "$RC" != 0 ] || bad "mount succeeded with aufs blacklisted"
both | grep -qF "$BL" || bad "mount message does not name $BL"
[ -z "$(mi $S/mnt)" ] || bad "something is mounted on $S/mnt: $(mi $S/mnt)"
run aufsctl load; rcl=$RC
[ "$RC" != 0 ] || bad "load succeeded with aufs blacklisted"
both | grep -qF "$BL" || bad "load message does not name $BL"
loaded aufs && bad "aufs got loaded despite the blacklist"
rm -f $BL
end "mount exit $rcm and load exit $rcl, both name $BL"

# --- overlay-fallback ---------------------------------------------------------------------
begin overlay-fallback
echo "blacklist aufs" >$BL
cd "$S" || bad "cd $S failed"
ov_before=no; { loaded overlay || registered overlay; } && ov_before=yes
# A kernel may have overlay built in (modules.builtin): then there is nothing to load.
ov_builtin=no; grep -q '/overlay\.ko' /lib/modules/$KVER/modules.builtin 2>/dev/null && ov_builtin=yes
[ "$ov_before" = no ] || [ "$ov_builtin" = yes ] || bad "overlay already loaded/registered before aufsctl ran"
run aufsctl mount --fallback overlay $SEEDDIRS ./mnt
[ "$RC" = 0 ] || bad "mount --fallback overlay exit $RC"
grep -qi overlay "$O" || bad "output does not say overlay was mounted"
[ "$ov_builtin" = yes ] || loaded overlay || bad "overlay.ko not in /proc/modules afterwards"
registered overlay || bad "overlay not in /proc/filesystems afterwards"
[ "$(mi_type $S/mnt)" = overlay ] || bad "mountinfo type at $S/mnt is '$(mi_type $S/mnt)', want overlay"
want1=$(cat $S/image1/002.txt)
[ "$(cat mnt/002.txt 2>&1)" = "$want1" ] || bad "precedence: mnt/002.txt says '$(cat mnt/002.txt 2>&1)', want '$want1' (image1)"
listing=$(ls mnt | tr '\n' ' ')
[ "$listing" = "001.txt 002.txt 003.txt 004.txt container.txt " ] || bad "union lists '$listing'"
orig1=$(cat $S/image1/001.txt)
echo "written in the union" >mnt/001.txt
[ "$(cat $S/container/001.txt 2>&1)" = "written in the union" ] || bad "copy-up: container/001.txt is '$(cat $S/container/001.txt 2>&1)'"
[ "$(cat $S/image1/001.txt)" = "$orig1" ] || bad "copy-up changed image1/001.txt"
rm mnt/003.txt
[ -e mnt/003.txt ] && bad "mnt/003.txt still visible after rm"
[ -c $S/container/003.txt ] || bad "no whiteout (char device) container/003.txt"
[ -f $S/image2/003.txt ] || bad "rm in the union removed image2/003.txt"
wh=$(ls -l $S/container/003.txt 2>&1 | awk '{ print $1, $5, $6 }')
run aufsctl umount ./mnt
[ "$RC" = 0 ] || bad "umount exit $RC"
[ -z "$(mi $S/mnt)" ] || bad "still mounted after umount: $(mi $S/mnt)"
ls -d $S/.aufsctl-work.* >/dev/null 2>&1 && bad "overlay workdir left: $(ls -d $S/.aufsctl-work.*)"
rm -f $BL
end "overlay $([ "$ov_builtin" = yes ] && echo "built in" || echo ".ko loaded by aufsctl (before: $ov_before)"), 002.txt='$want1', copy-up to container, whiteout '$wh', umount clean"

# --- overlay-exposed: 6.1's overlayfs takes no layer fds, so the layers go by path, and a layout
# another user could change is refused (exit 2) unless --force, which says why ---------------------
begin overlay-exposed
echo "blacklist aufs" >$BL
X=/tmp/e2e/exposed
mkdir -p $X/open/c $X/open/i $X/mnt
chmod 777 $X/open
cd "$X" || bad "cd $X failed"
run aufsctl mount --fallback overlay dirs=./open/c:./open/i=ro ./mnt
[ "$RC" = 2 ] || bad "an exposed layout on $(uname -r): exit $RC, want 2"
grep -q "another user can change what they name: .*$X/open is writable by every user" "$E" \
    || bad "the refusal does not say why: $(head -c 300 "$E")"
[ -z "$(mi $X/mnt)" ] || bad "mounted despite the refusal: $(mi $X/mnt)"
ls -d $X/open/.aufsctl-work.* >/dev/null 2>&1 && bad "workdir left after the refusal: $(ls -d $X/open/.aufsctl-work.*)"
run aufsctl mount --fallback overlay --force dirs=./open/c:./open/i=ro ./mnt
[ "$RC" = 0 ] || bad "--force: exit $RC: $(head -c 300 "$E")"
grep -q "warning: --force: .*$X/open is writable by every user" "$E" || bad "--force does not say why: $(head -c 300 "$E")"
[ "$(mi_type $X/mnt)" = overlay ] || bad "--force: mountinfo type at $X/mnt is '$(mi_type $X/mnt)'"
run aufsctl umount ./mnt
[ "$RC" = 0 ] || bad "umount exit $RC"
[ -z "$(mi $X/mnt)" ] || bad "still mounted after umount"
rm -f $BL
end "refused (exit 2) with the reason; --force mounted by path and said why; umount clean"

# --- convert: an aufs union converted to overlay, mounted by this kernel's overlayfs ---------------
begin convert
C=/tmp/e2e/conv
mkdir -p $C/rw/etc $C/rw/opq $C/ro/etc $C/ro/opq $C/ro/usr/lib $C/work $C/mnt
echo base-a >$C/ro/etc/a; echo base-b >$C/ro/etc/b; echo lib >$C/ro/usr/lib/l; echo hidden >$C/ro/opq/x
echo upper-a >$C/rw/etc/a; echo mine >$C/rw/opq/m
: >$C/rw/.wh..wh.aufs; chmod 444 $C/rw/.wh..wh.aufs
ln $C/rw/.wh..wh.aufs $C/rw/etc/.wh.b; ln $C/rw/.wh..wh.aufs $C/rw/.wh.usr; ln $C/rw/.wh..wh.aufs $C/rw/opq/.wh..wh..opq
run aufsctl convert --to overlay --commit --verify "dirs=$C/rw:$C/ro=ro"
[ "$RC" = 0 ] || bad "convert --commit --verify exit $RC: $(tail -n 2 "$E")"
grep -q "verify: the merged trees are equal" "$O" || bad "verify did not find the trees equal: $(grep verify "$O")"
grep -q "overlay (kernel mount, read-only)" "$O" || bad "verify did not mount overlay"
[ -c $C/rw/etc/b ] || bad "no whiteout device rw/etc/b"
run aufsctl convert --finish "dirs=$C/rw:$C/ro=ro"
[ "$RC" = 0 ] || bad "convert --finish exit $RC"
[ -e $C/rw/.aufsctl-convert ] && bad "finish left rw/.aufsctl-convert"
mount -t overlay overlay -o lowerdir=$C/ro,upperdir=$C/rw,workdir=$C/work $C/mnt 2>>/tmp/e2e/log || bad "mount -t overlay failed"
listing=$(cd $C/mnt && find . | sort | tr '\n' ' ')
want=". ./etc ./etc/a ./opq ./opq/m "
[ "$listing" = "$want" ] || bad "the overlay shows '$listing', want '$want'"
[ "$(cat $C/mnt/etc/a 2>&1)" = upper-a ] || bad "mnt/etc/a is '$(cat $C/mnt/etc/a 2>&1)'"
echo more >$C/mnt/usr-again 2>>/tmp/e2e/log && [ "$(cat $C/rw/usr-again 2>&1)" = more ] || bad "writing through the overlay failed"
umount $C/mnt || bad "umount of the overlay failed"
# and back: aufs's whiteouts again, with overlay's own xattrs (origin, impure) dropped
run aufsctl convert --to aufs --commit "dirs=$C/rw:$C/ro=ro"
[ "$RC" = 0 ] || bad "convert --to aufs exit $RC: $(tail -n 2 "$E")"
[ -f $C/rw/etc/.wh.b ] && [ -f $C/rw/.wh.usr ] && [ -f $C/rw/opq/.wh..wh..opq ] || bad "the aufs whiteouts are not back"
[ "$(stat -c %h $C/rw/.wh..wh.aufs 2>&1)" = 4 ] || bad ".wh..wh.aufs has $(stat -c %h $C/rw/.wh..wh.aufs 2>&1) links, want 4"
end "converted to overlay (verified against the kernel's mount), mounted with upperdir by $(uname -r): '$listing'; back to aufs"

# --- mount-on-demand ----------------------------------------------------------------------
begin mount-on-demand
cd "$S" || bad "cd $S failed"
loaded aufs && bad "aufs loaded before the mount"
registered aufs && bad "aufs registered before the mount"
run aufsctl mount --json $SEEDDIRS ./mnt; cp "$O" $J
[ "$RC" = 0 ] || bad "mount exit $RC"
XINO=$(jq -r '.xino // empty' $J 2>/dev/null)
lm=$(jq -r '.loadedModule' $J 2>/dev/null)
[ -n "$XINO" ] || bad "no xino in the --json report"
[ "$lm" = true ] || bad "--json loadedModule=$lm"
loaded aufs || bad "aufs not in /proc/modules after the mount"
[ "$(mi_type $S/mnt)" = aufs ] || bad "mountinfo type at $S/mnt is '$(mi_type $S/mnt)'"
opts=$(mi_opts $S/mnt)
echo "$opts" | grep -qE '^rw,si=[0-9a-f]+$' || bad "super options '$opts', want rw,si=<id> only (aufs's default brs=1)"
gotbr=$(branches $S/mnt | tr '\n' ':'); gotbr=${gotbr%:}
[ "$gotbr" = "$SEEDBR" ] || bad "branches (/sys/fs/aufs/si_$(si_of $S/mnt)) '$gotbr', want '$SEEDBR'"
gotx=$(xino_of $S/mnt)
[ "$gotx" = "$XINO" ] || bad "xi_path '$gotx', want '$XINO'"
got="$opts; sysfs $gotbr, xi_path $gotx"
end "aufs loaded through libkmod: $got"

# --- status (the union above is still mounted) --------------------------------------------
begin status
run aufsctl status --json; cp "$O" $J
[ "$RC" = 0 ] || bad "status exit $RC"
n=$(jq --arg t $S/mnt '[.mounts[] | select(.target == $t)] | length' $J 2>/dev/null)
fs=$(jq -r --arg t $S/mnt '.mounts[] | select(.target == $t) | .filesystem' $J 2>/dev/null)
br=$(jq -r --arg t $S/mnt '.mounts[] | select(.target == $t) | [.branches[] | .path + "=" + .permission] | join(":")' $J 2>/dev/null)
sx=$(jq -r --arg t $S/mnt '.mounts[] | select(.target == $t) | .xino // empty' $J 2>/dev/null)
[ "$n" = 1 ] || bad "status lists $S/mnt $n times"
[ "$fs" = aufs ] || bad "status filesystem '$fs'"
[ "$br" = "$SEEDBR" ] || bad "status branches '$br', want '$SEEDBR'"
[ "$sx" = "$XINO" ] || bad "status xino '$sx', want '$XINO'"
from=$(jq -r --arg t $S/mnt '.mounts[] | select(.target == $t) | .branchesFrom' $J 2>/dev/null)
[ "$from" = sysfs ] || bad "status read the branches from '$from', want sysfs"
end "lists $S/mnt: aufs, 4 branches in order from $from, xino $sx"

# --- the walk-through's semantics (real aufs only: the stand-in unions nothing) and live branch
# operations (both: the stand-in keeps the branch list that remounts edit) ----------------------
W=/tmp/e2e/walk
mkdir -p $W/container $W/image1 $W/image2 $W/image3 $W/extra $W/mnt
echo image1 >$W/image1/001.txt; echo image1 >$W/image1/002.txt
echo image2 >$W/image2/002.txt; echo image2 >$W/image2/003.txt
echo image3 >$W/image3/004.txt; echo extra >$W/extra/005.txt
cd "$W" || bad "cd $W failed"
if [ "$FLAVOR" = real ]; then
begin aufs-semantics
run aufsctl mount dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt
[ "$RC" = 0 ] || bad "mount exit $RC"
[ "$(cat mnt/002.txt 2>&1)" = image1 ] || bad "precedence: mnt/002.txt says '$(cat mnt/002.txt 2>&1)', want image1"
listing=$(ls mnt | tr '\n' ' ')
[ "$listing" = "001.txt 002.txt 003.txt 004.txt " ] || bad "union lists '$listing'"
echo "written in the union" >mnt/001.txt
[ "$(cat container/001.txt 2>&1)" = "written in the union" ] || bad "copy-up: container/001.txt is '$(cat container/001.txt 2>&1)'"
[ "$(cat image1/001.txt)" = image1 ] || bad "copy-up changed image1/001.txt"
rm mnt/003.txt
[ -e mnt/003.txt ] && bad "mnt/003.txt still visible after rm"
[ -e container/.wh.003.txt ] || bad "no whiteout container/.wh.003.txt"
[ -f image2/003.txt ] || bad "rm in the union removed image2/003.txt"
end "002.txt from image1, copy-up into container (image1 untouched), container/.wh.003.txt on delete"
fi

begin branch-ops
if [ -z "$(mi $W/mnt)" ]; then
    run aufsctl mount dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt
    [ "$RC" = 0 ] || bad "mount exit $RC"
fi
sysbr() { branches $W/mnt | tr '\n' ' '; }
run aufsctl branch add ./mnt ./extra=ro --index 1
[ "$RC" = 0 ] || bad "branch add exit $RC"
[ "$(sysbr | awk '{ print $2 }')" = "$W/extra=ro" ] || bad "after add, branch 1 is '$(sysbr | awk '{ print $2 }')', want $W/extra=ro"
[ "$FLAVOR" = standin ] || [ "$(cat mnt/005.txt 2>&1)" = extra ] || bad "005.txt of the new branch not visible"
run aufsctl branch mod ./mnt ./image2=rr
[ "$RC" = 0 ] || bad "branch mod exit $RC"
sysbr | tr ' ' '\n' | grep -qx "$W/image2=rr" || bad "after mod, sysfs has no $W/image2=rr: $(sysbr)"
run aufsctl branch del ./mnt ./extra
[ "$RC" = 0 ] || bad "branch del exit $RC"
sysbr | grep -q "$W/extra" && bad "after del, sysfs still lists $W/extra: $(sysbr)"
[ -e mnt/005.txt ] && bad "005.txt still visible after del"
after=$(sysbr)
[ "$after" = "$W/container=rw $W/image1=ro $W/image2=rr $W/image3=ro " ] || bad "branches after add, mod, del: '$after'"
run aufsctl branch del ./mnt ./nonexistent
[ "$RC" = 2 ] || bad "branch del of a missing directory exit $RC, want 2"
run aufsctl umount ./mnt
[ "$RC" = 0 ] || bad "umount exit $RC"
end "add at index 1, mod =rr, del; sysfs now '$after'"

# --- image-layers: squashfs images as branches added and deleted on a live union (issue 23). The
# images were made on the host by mksquashfs. The kernel cannot autoload loop or squashfs here (no
# modprobe, no /dev/loop-control before loop is loaded): aufsctl loads them through libkmod. On the
# stand-in the branch list in sysfs is what the kernel was given; real aufs also shows the files,
# copies up from the layer and refuses a busy del. ---------------------------------------------------
begin image-layers
t0=$(cut -d' ' -f1 /proc/uptime)
IM=/tmp/e2e/layers
mkdir -p $IM/rw $IM/base $IM/mnt
echo base >$IM/base/base.txt; echo "from base" >$IM/base/shared.txt; echo hidden >$IM/base/hidden.txt
# loop and squashfs: "module" when aufsctl must load them, "builtin" when the kernel has them
mods=""
for m in loop squashfs; do
    if grep -q "/$m\.ko" /lib/modules/$KVER/modules.builtin 2>/dev/null; then mods="$mods $m:builtin"
    else loaded $m && bad "$m loaded before the scenario"; mods="$mods $m:module"; fi
done
[ -e /dev/loop-control ] && ! loaded loop && bad "/dev/loop-control exists before loop is loaded"
# "loopN backing-file" of every bound loop device
bound_loops() { for _f in /sys/block/loop*/loop/backing_file; do [ -e "$_f" ] && { _n=${_f#/sys/block/}; echo "${_n%%/*} $(cat "$_f")"; }; done; }
layer_dir() { branches $IM/mnt | sed -n "s|^\(/run/aufsctl/layers/$1\.sb@[^=]*\)=.*|\1|p"; }
cd $IM || bad "cd $IM failed"
run aufsctl mount dirs=./rw:./base=ro ./mnt
[ "$RC" = 0 ] || bad "mount exit $RC: $(head -c 300 "$E")"
run aufsctl branch add ./mnt /e2e/003-apps.sb
[ "$RC" = 0 ] || bad "branch add of the image exit $RC: $(head -c 300 "$E")"
for m in $mods; do
    [ "${m#*:}" = builtin ] || loaded "${m%:*}" || bad "aufsctl did not load ${m%:*} (/proc/modules)"
done
L3=$(layer_dir 003-apps)
brs=$(branches $IM/mnt | tr '\n' ' ')
[ "$brs" = "$IM/rw=rw $L3=rr $IM/base=ro " ] && [ -n "$L3" ] || bad "branches after add '$brs', want rw, the layer (rr) right under it, base"
# the one remount: add=1: with the layer directory
grep -q '^done: mount("none", "'$IM'/mnt", "aufs", MS_REMOUNT[|A-Z_0-9a-zx]*, "add=1:'"$L3"'=rr")$' "$O" || bad "not one add=1: remount: $(grep '^done' "$O")"
# the layer: a squashfs mount of a read-only, auto-clearing loop device backed by the image
lmi=$(mi "$L3")
dev=$(echo "$lmi" | awk '{ print $2 }')
echo "$lmi" | grep -qE '^squashfs /dev/loop[0-9]+ ro(,|$)' || bad "layer mount at $L3 is '$lmi', want squashfs from /dev/loopN, ro"
[ "$(cat /sys/block/${dev#/dev/}/loop/backing_file 2>&1)" = /e2e/003-apps.sb ] || bad "$dev backs '$(cat /sys/block/${dev#/dev/}/loop/backing_file 2>&1)'"
[ "$(cat /sys/block/${dev#/dev/}/ro 2>&1)" = 1 ] || bad "$dev is not read-only"
[ "$(cat /sys/block/${dev#/dev/}/loop/autoclear 2>&1)" = 1 ] || bad "$dev is not auto-clearing"
[ "$(cat "$L3/apps/deep.txt" 2>&1)" = "deep in the image" ] || bad "the layer does not show the image's apps/deep.txt"
stat -c '%u %a' "$(dirname "$L3")" | grep -qx '0 700' || bad "/run/aufsctl/layers is $(stat -c '%u %a' "$(dirname "$L3")")"
run aufsctl status --json; cp "$O" $J
img=$(jq -r --arg t $IM/mnt '.mounts[] | select(.target == $t) | .branches | to_entries[] | select(.value.image) | "\(.key) \(.value.image.file) \(.value.image.type) \(.value.image.device)"' $J 2>/dev/null)
[ "$img" = "1 /e2e/003-apps.sb squashfs $dev" ] || bad "status --json image branches: '$img', want '1 /e2e/003-apps.sb squashfs $dev'"
detail="add=1: $L3=rr on $dev (loop, squashfs:$mods; loaded by aufsctl where modules)"
if [ "$FLAVOR" = real ]; then
    [ "$(cat mnt/apps/deep.txt 2>&1)" = "deep in the image" ] || bad "aufs: apps/deep.txt not visible at once: $(cat mnt/apps/deep.txt 2>&1)"
    [ "$(cat mnt/shared.txt 2>&1)" = "from 003-apps" ] || bad "aufs: shared.txt says '$(cat mnt/shared.txt 2>&1)', want the layer's (it is above base)"
    echo appended >>mnt/apps.txt
    [ "$(cat rw/apps.txt 2>&1 | tr '\n' '|')" = "apps layer|appended|" ] || bad "aufs: copy-up: rw/apps.txt is '$(cat rw/apps.txt 2>&1)'"
    [ "$(cat "$L3/apps.txt")" = "apps layer" ] || bad "aufs: the layer's apps.txt changed"
    # a busy del: a file of the layer held open through the union
    # shellcheck disable=SC2217 # the redirect is the point: sleep holds a file of the layer open
    sleep 600 <mnt/shared.txt &
    holder=$!
    sleep 0.3
    run aufsctl branch del ./mnt /e2e/003-apps.sb
    rcbusy=$RC
    [ "$RC" != 0 ] || bad "aufs: del of a layer with an open file succeeded"
    grep -q "$holder" "$E" || bad "aufs: the busy del does not name the holder (pid $holder): $(head -c 400 "$E")"
    grep -q 'nothing was changed' "$E" || bad "aufs: the busy del does not say nothing changed"
    [ "$(branches $IM/mnt | tr '\n' ' ')" = "$brs" ] || bad "aufs: branches changed by the refused del: $(branches $IM/mnt | tr '\n' ' ')"
    [ "$(mi_type "$L3")" = squashfs ] || bad "aufs: the layer was unmounted by the refused del"
    kill $holder; wait $holder 2>/dev/null
    detail="$detail; files visible at once, copy-up to rw, busy del exit $rcbusy naming pid $holder"
fi
run aufsctl branch del ./mnt /e2e/003-apps.sb
[ "$RC" = 0 ] || bad "branch del by the image's path exit $RC: $(head -c 300 "$E")"
[ "$(branches $IM/mnt | tr '\n' ' ')" = "$IM/rw=rw $IM/base=ro " ] || bad "branches after del: $(branches $IM/mnt | tr '\n' ' ')"
[ -e "$L3" ] && bad "layer directory $L3 left after del"
[ -n "$(mi "$L3")" ] && bad "layer still mounted after del"
bound_loops | grep -q ' /e2e/003-apps.sb$' && bad "a loop device still backs the image after del: $(bound_loops | tr '\n' ' ')"
# two layers, then umount releases both
run aufsctl branch add ./mnt /e2e/003-apps.sb
[ "$RC" = 0 ] || bad "second add of 003-apps exit $RC"
run aufsctl branch add ./mnt /e2e/004-more.sb
[ "$RC" = 0 ] || bad "add of 004-more exit $RC: $(head -c 300 "$E")"
L3=$(layer_dir 003-apps); L4=$(layer_dir 004-more)
brs=$(branches $IM/mnt | tr '\n' ' ')
[ "$brs" = "$IM/rw=rw $L4=rr+wh $L3=rr $IM/base=ro " ] || bad "branches with two layers '$brs', want rw, 004 (rr+wh: it holds a whiteout), 003, base"
[ "$FLAVOR" = standin ] || [ ! -e mnt/hidden.txt ] || bad "aufs: base's hidden.txt visible through 004-more's whiteout"
[ "$(bound_loops | grep -c ' /e2e/00[34]-[a-z]*\.sb$')" = 2 ] || bad "loop devices with the images: $(bound_loops | tr '\n' ' ')"
run aufsctl umount ./mnt
[ "$RC" = 0 ] || bad "umount exit $RC: $(head -c 300 "$E")"
[ -z "$(mi $IM/mnt)" ] || bad "still mounted after umount"
[ -e "$L3" ] || [ -e "$L4" ] && bad "layer directories left after umount: $(ls /run/aufsctl/layers)"
left=$(bound_loops | grep ' /e2e/00[34]-[a-z]*\.sb$' | tr '\n' ' ')
[ -z "$left" ] || bad "loop devices left after umount: $left"
ls /run/aufsctl/unions/*.layers >/dev/null 2>&1 && bad "layer records left: $(ls /run/aufsctl/unions/*.layers)"
end "$detail; del by the image's path released $dev and $L3; two layers ($L4=rr+wh above 003), umount released both; $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s"

if [ "$FLAVOR" = real ]; then
# A live aufs union with a copied-up hard link (pseudo-linked) and deletions, converted to overlay
# by its mount point (flushed, unmounted), the overlay compared with what aufs showed, and back.
begin convert-aufs
R=/tmp/e2e/realconv
mkdir -p $R/rw $R/ro/dir $R/ro/sub $R/mnt $R/work $R/ovl
echo old >$R/ro/dir/a; ln $R/ro/dir/a $R/ro/dir/b; echo gone >$R/ro/dir/gone; echo x >$R/ro/sub/x
cd $R || bad "cd $R failed"
# names, types, modes, sizes, contents, and each non-directory's first name with the same inode
view() {
    (cd "$1" && find . | sort | while read -r p; do
        i=$(stat -c %i "$p")
        first=$(find . ! -type d -inum "$i" 2>/dev/null | sort | head -n 1)
        [ -d "$p" ] && first=-
        sum=-; [ -f "$p" ] && sum=$(md5sum <"$p" | cut -c1-12)
        size=$(stat -c %s "$p"); [ -d "$p" ] && size=-   # a directory's size is the filesystem's own
        echo "$p $(stat -c '%F %a' "$p") $size $sum ${first:--}"
    done)
}
run aufsctl mount dirs=./rw:./ro=ro ./mnt
[ "$RC" = 0 ] || bad "aufs mount exit $RC"
echo new >mnt/dir/a                                   # copy-up; dir/b keeps sharing the inode (pseudo-link)
rm mnt/dir/gone                                       # rw/dir/.wh.gone
rm -r mnt/sub && mkdir mnt/sub && echo y >mnt/sub/y   # opaque directory
[ "$(cat mnt/dir/b)" = new ] || bad "aufs: dir/b reads '$(cat mnt/dir/b)' after dir/a was written"
live=$(view mnt)
run aufsctl convert --to overlay --commit --verify $R/mnt
[ "$RC" = 0 ] || bad "convert of the live union exit $RC: $(tail -n 2 "$E")"
[ -z "$(mi $R/mnt)" ] || bad "the aufs union is still mounted"
run aufsctl convert --finish "dirs=$R/rw:$R/ro=ro"
mount -t overlay overlay -o lowerdir=$R/ro,upperdir=$R/rw,workdir=$R/work $R/ovl 2>>/tmp/e2e/log || bad "overlay mount failed"
ovl=$(view ovl)
[ "$ovl" = "$live" ] || bad "overlay shows other than aufs did: $(echo "$ovl" | tr '\n' ';') vs $(echo "$live" | tr '\n' ';')"
umount $R/ovl
rm -rf $R/work/*
run aufsctl convert --to aufs --commit "dirs=$R/rw:$R/ro=ro"
[ "$RC" = 0 ] || bad "convert back exit $RC: $(tail -n 2 "$E")"
run aufsctl convert --finish "dirs=$R/rw:$R/ro=ro"
run aufsctl mount dirs=./rw:./ro=ro ./mnt
back=$(view mnt)
[ "$back" = "$live" ] || bad "aufs after the round trip shows other than before: $(echo "$back" | tr '\n' ';')"
run aufsctl umount ./mnt
end "live aufs union (pseudo-linked dir/a+b, a whiteout, an opaque dir) -> overlay -> aufs, same tree: $(echo "$live" | wc -l) entries"
fi

# --- check-usable, load-again, umount -----------------------------------------------------
begin check-usable
run aufsctl check; rc1=$RC
[ "$RC" = 0 ] || bad "check exit $RC, want 0"
run aufsctl check --json; st=$(jq -r '.verdict.state' "$O" 2>/dev/null)
[ "$st" = usable ] || bad "check --json verdict '$st', want usable"
end "exit $rc1, verdict $st"

begin load-again
run aufsctl load
[ "$RC" = 0 ] || bad "load exit $RC, want 0"
both | grep -qiE 'already|registered' || bad "load does not say already loaded/registered"
end "exit $RC: $(both | head -n 1)"

begin umount
cd "$S" || bad "cd $S failed"
run aufsctl umount ./mnt
[ "$RC" = 0 ] || bad "umount exit $RC"
[ -z "$(mi $S/mnt)" ] || bad "still mounted: $(mi $S/mnt)"
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left"
end "$(cat "$O")"

# --- geometry: what the kernel accepts but breaks users, refused before the call ----------------
# (aufs's own mount path: the first union is mounted by the stand-in or real aufs alike)
begin geometry
G=/tmp/e2e/geo
mkdir -p $G/c1 $G/i1 $G/i2 $G/m1 $G/m2 $G/a/sub $G/b
cd "$G" || bad "cd $G failed"
run aufsctl mount dirs=./c1:./i1=ro ./m1
[ "$RC" = 0 ] || bad "first union: exit $RC"
run aufsctl mount dirs=./c1:./i2=ro ./m2
[ "$RC" = 2 ] || bad "shared writable branch: exit $RC, want 2"
grep -qF "$G/c1 is already the writable branch of the aufs union on $G/m1" "$E" || bad "refusal does not name the other union: $(head -c 300 "$E")"
[ -z "$(mi $G/m2)" ] || bad "m2 mounted although refused: $(mi $G/m2)"
mkdir -p $G/c2
run aufsctl mount dirs=./c2:./c1=ro ./m2
[ "$RC" = 0 ] || bad "sharing c1 read-only: exit $RC: $(head -c 300 "$E")"
run aufsctl umount ./m2
run aufsctl mount dirs=./a:./b=ro ./a/sub
[ "$RC" = 2 ] || bad "target inside its branch: exit $RC, want 2"
grep -qF "the mount point $G/a/sub is inside the branch $G/a" "$E" || bad "refusal lacks the reason: $(head -c 300 "$E")"
[ -z "$(mi $G/a/sub)" ] || bad "a/sub mounted although refused"
run aufsctl umount ./m1
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left"
end "shared rw branch and a target inside its branch refused (exit 2, the other union named); a shared ro branch mounts"

# --- branch-limit + branches-N --------------------------------------------------------------
B=/tmp/e2e/many
mkdir -p $B/mnt
pad=abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz
spec=""; : >/tmp/e2e/want
i=1
while [ $i -le $NBR ]; do
    name=$(printf 'branch-%03d-' $i); name=$name$(echo $pad | cut -c1-$((60 - ${#name})))
    mkdir -p $B/$name
    perm=ro; [ $i = 1 ] && perm=rw
    spec="$spec:./$name=$perm"
    echo "$B/$name=$perm" >>/tmp/e2e/want
    i=$((i + 1))
done
spec="dirs=${spec#:}"
# The suite's own failure proof (run.sh E2E_SELFTEST_WRONG_EXPECTATION=1): expect one branch more.
[ "$WRONG_EXPECTATION" = 1 ] && echo "$B/not-a-branch=ro" >>/tmp/e2e/want
nwant=$(wc -l </tmp/e2e/want)
cd "$B" || bad "cd $B failed"

begin branch-limit
# The stock kernel config says nothing about aufs: aufsctl assumes aufs's default of 127.
if [ "$NBR" -le 127 ]; then
    end "not applicable: $NBR branches are within aufs's default limit of 127"
elif grep -q '^CONFIG_AUFS_BRANCH_MAX_' /boot/config-$KVER; then
    end "skipped: /boot/config-$KVER sets $(grep '^CONFIG_AUFS_BRANCH_MAX_' /boot/config-$KVER)"
else
    run aufsctl mount "$spec" ./mnt
    [ "$RC" = 2 ] || bad "mount of $NBR branches exit $RC, want 2"
    both | grep -q 'at most 127' || bad "message does not give the limit 127"
    [ -z "$(mi $B/mnt)" ] || bad "something got mounted"
    end "$NBR branches refused (exit $RC): $(both | head -n 1 | cut -c1-100)"
    # The stand-in has no branch limit: declare it like an aufs built with BRANCH_MAX_511.
    [ "$FLAVOR" = standin ] && echo CONFIG_AUFS_BRANCH_MAX_511=y >>/boot/config-$KVER
fi

begin branches-$NBR
run aufsctl mount --json "$spec" ./mnt; cp "$O" $J
[ "$RC" = 0 ] || bad "mount exit $RC"
ncalls=$(jq '.calls | length' $J 2>/dev/null)
nrem=$(jq '[.calls[] | select(.flags | index("MS_REMOUNT"))] | length' $J 2>/dev/null)
[ "${nrem:-0}" -gt 1 ] || bad "remount batches: '$nrem', want > 1"
[ "$ncalls" = $((nrem + 1)) ] || bad "$ncalls calls but $nrem remounts"
# the data argument of each call: at most 4095 bytes (one page, NUL included) and 64 options
jq -r '.calls[].data' $J 2>/dev/null >/tmp/e2e/data
maxlen=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' /tmp/e2e/data)
maxent=$(awk -F, '{ if (NF > m) m = NF } END { print m + 0 }' /tmp/e2e/data)
[ "$(wc -l </tmp/e2e/data)" = "$ncalls" ] || bad "could not read the data of every call"
[ "$maxlen" -le 4095 ] || bad "a call carries $maxlen bytes of data (> 4095)"
[ "$maxent" -le 64 ] || bad "a call carries $maxent options (> 64)"
# what the kernel holds: the branch list the way aufsctl status reads it (sysfs)
branches $B/mnt >/tmp/e2e/got
ngot=$(wc -l </tmp/e2e/got)
if ! cmp -s /tmp/e2e/want /tmp/e2e/got; then
    bad "kernel received $ngot branches, want $nwant in order; first difference: $(diff /tmp/e2e/want /tmp/e2e/got 2>&1 | grep '^[-+][^-+]' | head -n 2 | tr '\n' ' ')"
fi
[ "$(sort /tmp/e2e/got | uniq -d | wc -l)" = 0 ] || bad "duplicate branches reached the kernel"
run aufsctl umount ./mnt
[ "$RC" = 0 ] || bad "umount exit $RC"
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left after umount"
end "$ngot/$nwant branches once each in order, $ncalls calls ($nrem append= remount batches, data <= $maxlen bytes and <= $maxent options per call), umount clean"

# --- kernel-log ------------------------------------------------------------------------------
begin kernel-log
K=/tmp/e2e/klog
mkdir -p $K/rw $K/ro $K/gone $K/mnt
export AUFSCTL_TEST_RMDIR_AFTER_VALIDATION=$K/gone
run aufsctl mount dirs=$K/rw:$K/ro=ro:$K/gone=ro $K/mnt
unset AUFSCTL_TEST_RMDIR_AFTER_VALIDATION
[ "$RC" = 1 ] || bad "mount exit $RC, want 1"
[ -d $K/gone ] && bad "the test hook did not remove $K/gone"
# The branch goes to the kernel as the fd aufsctl checked (/proc/self/fd/N), which now names a
# removed directory: aufs 6.1 (test_add) and the stand-in say "no existence /proc/self/fd/N", and
# aufsctl adds the directory's path. (Before fd-named branches: "lookup failed $K/gone (-2)".)
grep -qE "aufs [a-z_]+:[0-9]+:.*no existence /proc/self/fd/[0-9]+ \[$K/gone \(deleted\)\]" "$E" \
    || bad "stderr lacks the kernel's 'aufs <function>:<line>:...no existence /proc/self/fd/N [$K/gone (deleted)]' line"
grep -qF "mount(\"none\", \"$K/mnt\", \"aufs\", " "$E" || bad "stderr lacks the exact mount(\"none\", \"$K/mnt\", \"aufs\", ...) call"
[ -z "$(mi $K/mnt)" ] || bad "left mounted: $(mi $K/mnt)"
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left"
end "exit $RC; $(grep -oE 'aufs [a-z_]+:[0-9]+:.*no existence.*' "$E" | head -n 1)"

# --- umount-16: 16 unions unmounted at once while `aufsctl status` runs in a loop --------------
# On real aufs 5.10.140 this crashed the kernel in sysaufs_si_show (issue 28): every unmount read
# every union's sysfs entries while the others tore theirs down. Checked here: every exit 0, every
# union gone, no kernel oops (run.sh); with the stand-in also the lock order and the reads per
# command, from aufsctl's AUFSCTL_TRACE and the stand-in's own record of every si_* read and kill_sb
# (trace_sysfs), with kill_sb's window widened to 1 s (kill_delay_ms) so that an unlocked read
# would land in it, and two status loops so that readers are at work while the unmounts run.
U16BR=3
mount16() {  # mount16 DIR: 16 unions of 3 branches, DIR/u<i>/mnt
    _i=0
    while [ $_i -lt 16 ]; do
        mkdir -p $1/u$_i/c $1/u$_i/r $1/u$_i/s $1/u$_i/mnt
        run aufsctl mount dirs=$1/u$_i/c:$1/u$_i/r=ro:$1/u$_i/s=ro $1/u$_i/mnt
        [ "$RC" = 0 ] || bad "mount of u$_i exit $RC: $(head -c 200 "$E")"
        _i=$((_i + 1))
    done
}
unmount16() {  # unmount16 DIR COMMAND...: `COMMAND DIR/u<i>/mnt` for the 16 at once; sets U16_DETAIL
    _d=$1; shift
    T=/tmp/e2e/u16; rm -rf $T; mkdir -p $T
    # A 17th union that nobody unmounts meanwhile: the status loops take its shared lock while the 16
    # exclusive ones are held, so the check below always has readers to judge (16 unmounts started
    # at once can hold every other union's lock through the whole window).
    # (Mounted before the traces start: its own mount reads the other unions' entries.)
    mkdir -p $_d/by/c $_d/by/mnt
    aufsctl mount dirs=$_d/by/c $_d/by/mnt >/dev/null 2>&1 || bad "mount of the 17th union (bystander) failed"
    if [ "$FLAVOR" = standin ]; then
        echo clear >/proc/fs/aufs/standin_trace
        echo 1000 >/sys/module/aufs/parameters/kill_delay_ms
        echo 1 >/sys/module/aufs/parameters/trace_sysfs
    fi
    export AUFSCTL_TRACE=$T/aufsctl.trace
    _loops=""
    for _l in 1 2; do
        ( while [ ! -e $T/stop ]; do
              aufsctl status --json >$T/status$_l.out 2>>$T/status.err; echo $? >>$T/status.rc
              grep -c '"branchesNote"' $T/status$_l.out >>$T/status.notes
          done ) &
        _loops="$_loops $!"
    done
    while [ ! -s $T/status.rc ]; do sleep 0.1; done
    _t0=$(cut -d' ' -f1 /proc/uptime)
    _pids=""; _i=0
    while [ $_i -lt 16 ]; do
        ( "$@" $_d/u$_i/mnt >$T/out$_i 2>&1; echo $? >$T/rc$_i ) &
        _pids="$_pids $!"
        _i=$((_i + 1))
    done
    for _p in $_pids; do wait $_p; done
    _t1=$(cut -d' ' -f1 /proc/uptime)
    touch $T/stop
    for _p in $_loops; do wait $_p; done
    unset AUFSCTL_TRACE
    # The bystander goes outside the trace (its kill_sb is no part of the 16's check).
    [ "$FLAVOR" = standin ] && echo 0 >/sys/module/aufs/parameters/trace_sysfs
    aufsctl umount $_d/by/mnt >/dev/null 2>&1 || bad "umount of the 17th union (bystander) failed"
    _i=0
    while [ $_i -lt 16 ]; do
        [ "$(cat $T/rc$_i 2>/dev/null)" = 0 ] || bad "$* $_d/u$_i/mnt: exit $(cat $T/rc$_i 2>/dev/null): $(head -c 200 $T/out$_i)"
        _i=$((_i + 1))
    done
    [ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left"
    _left=0; for _f in /sys/fs/aufs/si_*; do [ -e "$_f" ] && _left=$((_left + 1)); done
    [ "$_left" = 0 ] || bad "$_left /sys/fs/aufs/si_* directories left"
    _runs=$(wc -l <$T/status.rc); _failed=$(grep -vc '^0$' $T/status.rc)
    _notes=$(awk '{ n += $1 } END { print n + 0 }' $T/status.notes)
    [ "$_failed" = 0 ] || bad "aufsctl status failed in $_failed of $_runs runs: $(head -c 300 $T/status.err)"
    U16_DETAIL="16 exits 0 in $(awk -v a=$_t0 -v b=$_t1 'BEGIN { printf "%.1f", b - a }') s, none left; aufsctl status (two loops) ran $_runs times meanwhile, all exit 0 ($_notes unions shown from mountinfo after a lock timeout)"
    if [ "$FLAVOR" = standin ]; then
        echo 0 >/sys/module/aufs/parameters/trace_sysfs
        echo 0 >/sys/module/aufs/parameters/kill_delay_ms
        dmesg | grep -q 'read during kill_sb' && bad "the stand-in saw a read during kill_sb: $(dmesg | grep 'read during kill_sb' | tail -n 1)"
        head -n 1 /proc/fs/aufs/standin_trace | grep -q ' lost 0$' || bad "the stand-in's trace overflowed: $(head -n 1 /proc/fs/aufs/standin_trace)"
        { awk '{ print $1, "U", $2, $3, $4 }' $T/aufsctl.trace
          grep -v '^#' /proc/fs/aufs/standin_trace | awk '{ print $1, "K", $2, $4, $5, $3 }'
        } | sort -n | awk -v nbr=$U16BR -v unions=16 -f /e2e/lockcheck.awk >$T/check
        grep '^LOCKCHECK-ERR: ' $T/check | head -n 5 | while read -r _l; do echo "$_l" >>/tmp/e2e/log; done
        grep -q '^LOCKCHECK-ERR: ' $T/check && bad "lock order: $(grep '^LOCKCHECK-ERR: ' $T/check | head -n 2 | tr '\n' ' ')"
        U16_DETAIL="$U16_DETAIL; $(sed -n 's/^LOCKCHECK: //p' $T/check); $(ls /run/aufsctl/si 2>/dev/null | wc -l) lock files left"
    fi
}

# E2E_U16_ROUNDS=N (run.sh) repeats it N times in this boot (real aufs: at least 20, by hand)
r=1
while [ "$r" -le "${U16_ROUNDS:-1}" ]; do
    begin umount-16
    mount16 /tmp/e2e/u16u
    unmount16 /tmp/e2e/u16u aufsctl umount
    end "round $r/${U16_ROUNDS:-1}, aufsctl umount: $U16_DETAIL"
    r=$((r + 1))
done

# util-linux >= 2.39's mount(8) with aufsctl as its helper (E2E_USERLAND=trixie only)
[ "${USERLAND:-host}" = trixie ] && . /e2e/helper.sh

echo "E2E-END"
dmesg | sed 's/^/KLOG: /'
sync
poweroff -f
