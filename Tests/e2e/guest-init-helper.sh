# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# shellcheck shell=sh
# Sourced by guest-init.sh (/e2e/helper.sh) when the guest's userland is Debian 13's
# (E2E_USERLAND=trixie): util-linux >= 2.39's mount(8)/umount(8) with aufsctl-helper as
# /sbin/mount.aufs and /sbin/umount.aufs. Uses guest-init.sh's begin/bad/end/run/mi helpers.
MOUNT=/usr/bin/mount
UMOUNT=/usr/bin/umount
export AUFSCTL_HELPER_LOG=/tmp/h/helper.log
H=/tmp/h
mkdir -p $H
: >/etc/fstab
# the branch paths of the union at $1, top first, read the way aufsctl status reads them
# (guest-init.sh's `branches`: /sys/fs/aufs/si_<id>/br<N>, else mountinfo's br:)
union_branches() { branches "$1" | sed 's/=[^=]*$//'; }
mounts_at() { awk -v mp="$1" '$5 == mp { n++ } END { print n + 0 }' /proc/self/mountinfo; }
logged() { grep -c -F -- "$1" $AUFSCTL_HELPER_LOG 2>/dev/null || true; }
one_line() { [ "$(grep -c . "$E")" = 1 ] || bad "stderr is not one line: $(head -c 300 "$E")"; }

# --- helper-control: no helper, util-linux's own fsconfig(2) path ---------------------------------
begin helper-control
C=$H/control
mkdir -p $C/a $C/b $C/longrw $C/mnt
i=0; LONG=$C/longrw=rw
while [ $i -lt 12 ]; do mkdir -p $C/long-branch-name-$i; LONG="$LONG:$C/long-branch-name-$i=ro"; i=$((i + 1)); done
[ -e /sbin/mount.aufs ] && bad "/sbin/mount.aufs exists before helper install"
run $MOUNT -t aufs -o br:$C/a=rw:$C/b=ro none $C/mnt
rc_colon=$RC
[ "$RC" = 32 ] || bad "mount -o br:... without a helper exit $RC, want 32"
grep -q "Unknown parameter" "$E" || bad "no 'Unknown parameter' from fsconfig: $(head -c 200 "$E")"
run $MOUNT -t aufs -o "br=$LONG" none $C/mnt
rc_long=$RC
[ "$RC" = 32 ] || bad "mount -o br=<${#LONG} bytes> without a helper exit $RC, want 32"
[ "$(mounts_at $C/mnt)" = 0 ] || bad "something was mounted on $C/mnt"
end "$($MOUNT --version); br: exit $rc_colon, br= of ${#LONG} bytes exit $rc_long"

# --- helper-mount: aufsctl helper install, then the same br: call ---------------------------------
begin helper-mount
run aufsctl helper install
[ "$RC" = 0 ] || bad "helper install exit $RC"
[ "$(readlink /sbin/mount.aufs)" = /usr/local/bin/aufsctl-helper ] || bad "/sbin/mount.aufs -> $(readlink /sbin/mount.aufs)"
[ "$(readlink /sbin/umount.aufs)" = /usr/local/bin/aufsctl-helper ] || bad "/sbin/umount.aufs -> $(readlink /sbin/umount.aufs)"
run $MOUNT -t aufs -o br:$C/a=rw:$C/b=ro none $C/mnt
[ "$RC" = 0 ] || bad "mount -o br:... through the helper exit $RC: $(head -c 300 "$E")"
[ "$(branches $C/mnt | tr '\n' ':')" = "$C/a=rw:$C/b=ro:" ] || bad "branches: $(branches $C/mnt | tr '\n' ':'), want $C/a=rw:$C/b=ro"
[ "$(logged "mount.aufs none $C/mnt")" -ge 1 ] || bad "the helper log has no mount.aufs call for $C/mnt"
mkdir -p $H/long-mnt
run $MOUNT -t aufs -o "br=$LONG" none $H/long-mnt
[ "$RC" = 0 ] || bad "the ${#LONG}-byte br= through the helper exit $RC: $(head -c 300 "$E")"
[ "$(union_branches $H/long-mnt | wc -l)" = 13 ] || bad "long union has $(union_branches $H/long-mnt | wc -l) branches, want 13"
run $UMOUNT $C/mnt
[ "$RC" = 0 ] || bad "umount exit $RC"
run $UMOUNT $H/long-mnt
[ "$(logged "umount.aufs $C/mnt")" -ge 1 ] || bad "the helper log has no umount.aufs call"
[ "$(mounts_at $C/mnt)$(mounts_at $H/long-mnt)" = 00 ] || bad "still mounted after umount"
end "br: and a ${#LONG}-byte br= mounted through /sbin/mount.aufs, unmounted through umount.aufs"

# --- helper-fstab-120: one fstab line of 120 branches, mount -a -----------------------------------
begin helper-fstab-120
F=$H/fstab120
mkdir -p $F/mnt
i=0; BR=""; WANT=$H/want120
: >$WANT
while [ $i -lt 120 ]; do
    d=$F/layers/a-layer-with-a-rather-long-directory-name-$i
    mkdir -p $d
    echo $d >>$WANT
    perm=ro; [ $i = 0 ] && perm=rw
    BR="$BR${BR:+:}$d=$perm"
    i=$((i + 1))
done
R=$H/remount
mkdir -p $R/a $R/b $R/c $R/d $R/mnt
echo "none $F/mnt aufs br=$BR,nofail 0 0" >>/etc/fstab
echo "none $R/mnt aufs br=$R/a=rw:$R/b=ro:$R/c=ro 0 0" >>/etc/fstab
run $MOUNT -a -t aufs
[ "$RC" = 0 ] || bad "mount -a exit $RC: $(head -c 300 "$E")"
union_branches $F/mnt >$H/got120
cmp -s $H/got120 $WANT || bad "the union has $(wc -l <$H/got120) branches, not the 120 in order; first difference: $(diff $WANT $H/got120 | sed -n 2p)"
calls=$(grep -c "mount(\"none\", \"$F/mnt\"" $AUFSCTL_HELPER_LOG)
[ "$calls" -ge 2 ] || bad "$calls mount calls logged for the ${#BR}-byte list, want >= 2 (page limit)"
[ "$(mounts_at $F/mnt)" = 1 ] || bad "$F/mnt mounted $(mounts_at $F/mnt) times"
[ "$(mounts_at $R/mnt)" = 1 ] || bad "$R/mnt not mounted by mount -a"
end "fstab line of $(wc -c </etc/fstab) bytes: 120 branches in order in $calls calls, through mount.aufs"

# --- helper-remount: fstab's options come again; a changed list becomes add=; a reorder is refused --
begin helper-remount
run $MOUNT -o remount,ro $R/mnt
[ "$RC" = 0 ] || bad "remount,ro exit $RC: $(head -c 300 "$E")"
mi_opts $R/mnt | grep -q '^ro' || bad "mountinfo after remount,ro: $(mi_opts $R/mnt)"
grep -A3 "mount.aufs none $R/mnt" $AUFSCTL_HELPER_LOG | grep -q "MS_REMOUNT" || bad "no MS_REMOUNT call logged for $R/mnt"
: >$H/before-remount; cp $AUFSCTL_HELPER_LOG $H/before-remount
run $MOUNT -o remount,rw,br=$R/a=rw:$R/b=ro:$R/c=ro:$R/d=ro $R/mnt
[ "$RC" = 0 ] || bad "remount with one more branch exit $RC: $(head -c 300 "$E")"
[ "$(branches $R/mnt | tr '\n' ' ')" = "$R/a=rw $R/b=ro $R/c=ro $R/d=ro " ] || bad "branches after the remount: $(branches $R/mnt | tr '\n' ' ')"
# the calls this remount made (the helper log's new lines): add=3:, and no br= again
tail -n +$(($(wc -l <$H/before-remount) + 1)) $AUFSCTL_HELPER_LOG >$H/remount-calls
grep -qF "\"add=3:$R/d=ro\")" $H/remount-calls || bad "no add=3:$R/d=ro call: $(grep -F 'mount(' $H/remount-calls | head -c 300)"
grep -F 'mount(' $H/remount-calls | grep -q '"br=' && bad "br= re-sent on remount: $(grep -F 'mount(' $H/remount-calls | head -c 300)"
run $MOUNT -o remount,br=$R/b=ro:$R/a=rw:$R/c=ro $R/mnt
[ "$RC" = 32 ] || bad "reordering remount exit $RC, want 32"
grep -q "changes the order" "$E" || bad "reorder message: $(head -c 300 "$E")"
[ "$(branches $R/mnt | tr '\n' ' ')" = "$R/a=rw $R/b=ro $R/c=ro $R/d=ro " ] || bad "the refused reorder changed the branches: $(branches $R/mnt | tr '\n' ' ')"
end "remount,ro; +1 branch as add=3: (sysfs: 4 branches); reorder refused (exit 32)"

# --- helper-umount ---------------------------------------------------------------------------------
begin helper-umount
run $UMOUNT $F/mnt
[ "$RC" = 0 ] || bad "umount $F/mnt exit $RC: $(head -c 300 "$E")"
run $UMOUNT $R/mnt
[ "$RC" = 0 ] || bad "umount $R/mnt exit $RC: $(head -c 300 "$E")"
[ "$(logged "umount.aufs $F/mnt")" -ge 1 ] || bad "umount.aufs $F/mnt not logged"
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left"
end "both unmounted through umount.aufs"

# --- helper-load-16: 16 unions in fstab mounted at once (mount -a -F, as systemd does at boot) ------
begin helper-load-16
: >/etc/fstab
u=0
while [ $u -lt 16 ]; do
    L=$H/load/u$u
    mkdir -p $L/mnt
    i=0; BR=""
    while [ $i -lt 70 ]; do
        d=$L/layers/another-rather-long-layer-directory-name-$i
        mkdir -p $d
        perm=ro; [ $i = 0 ] && perm=rw
        BR="$BR${BR:+:}$d=$perm"
        i=$((i + 1))
    done
    echo "none $L/mnt aufs br=$BR 0 0" >>/etc/fstab
    u=$((u + 1))
done
run $MOUNT -a -F -t aufs
[ "$RC" = 0 ] || bad "mount -a -F exit $RC: $(head -c 300 "$E")"
[ "$(aufs_mounts)" = 16 ] || bad "$(aufs_mounts) aufs mounts, want 16"
u=0; partial=""
while [ $u -lt 16 ]; do
    L=$H/load/u$u
    [ "$(mounts_at $L/mnt)" = 1 ] || bad "$L/mnt mounted $(mounts_at $L/mnt) times"
    n=$(union_branches $L/mnt | wc -l)
    [ "$n" = 70 ] || partial="$partial u$u:$n"
    u=$((u + 1))
done
[ -z "$partial" ] || bad "partial unions (branches):$partial"
run $UMOUNT -a -t aufs
[ "$RC" = 0 ] || bad "umount -a exit $RC: $(head -c 300 "$E")"
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left after umount -a"
end "16 unions of 70 branches each mounted once, none partial, all unmounted"

# --- helper-umount-16: 16 unions unmounted at once by umount(8) through umount.aufs, while
# aufsctl status runs in a loop (guest-init.sh's unmount16) --------------------------------------
r=1
while [ "$r" -le "${U16_ROUNDS:-1}" ]; do
    begin helper-umount-16
    : >$AUFSCTL_HELPER_LOG
    mount16 $H/u16
    unmount16 $H/u16 $UMOUNT
    [ "$(grep -c '^umount.aufs ' $AUFSCTL_HELPER_LOG)" = 16 ] || bad "$(grep -c '^umount.aufs ' $AUFSCTL_HELPER_LOG) umount.aufs runs logged, want 16"
    end "round $r/${U16_ROUNDS:-1}, umount(8) -> umount.aufs: $U16_DETAIL"
    r=$((r + 1))
done

# --- helper-bad-input: the documented exit code and one line ---------------------------------------
begin helper-bad-input
run /sbin/mount.aufs none
[ "$RC" = 1 ] || bad "missing DIR exit $RC, want 1"; one_line
run /sbin/mount.aufs none $C/mnt --frobnicate
[ "$RC" = 1 ] || bad "unknown flag exit $RC, want 1"; one_line
run $MOUNT -t aufs -o br=$C/a=rw,frobnicate none $C/mnt
[ "$RC" = 32 ] || bad "unknown aufs option exit $RC, want 32"
grep -q frobnicate "$E" || bad "the reason does not name frobnicate: $(head -c 200 "$E")"
run /sbin/umount.aufs
[ "$RC" = 1 ] || bad "umount.aufs without DIR exit $RC, want 1"; one_line
[ "$(aufs_mounts)" = 0 ] || bad "$(aufs_mounts) aufs mounts left"
end "missing DIR 1, unknown flag 1, unknown option 32, umount.aufs without DIR 1"
