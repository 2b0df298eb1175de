#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# shellcheck shell=dash
# /init of Tests/secureboot/run.sh's guest, booted by shim -> GRUB -> the signed kernel under
# OVMF's Secure Boot. Prints SB: <name> PASS|FAIL <detail>, what it saw as SB-INFO/SB-OUT lines,
# then SB-END, and powers off. Never `exit` (pid 1).
/bin/busybox mkdir -p /usr/bin /usr/sbin /usr/local/bin /sbin
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export NO_COLOR=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t securityfs securityfs /sys/kernel/security
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/lock /tmp/sb
dmesg -n 1
. /sb/env                                   # KVER DB_DESC MOK_DESC PENDING_DESC
SLOT=/lib/modules/$KVER/updates/dkms/aufs.ko
O=/tmp/sb/out
insmod "/lib/modules/$KVER/kernel/fs/efivarfs/$(ls "/lib/modules/$KVER/kernel/fs/efivarfs/")" 2>/tmp/sb/insmod \
    || echo "SB-INFO: insmod efivarfs: $(cat /tmp/sb/insmod)"
mount -t efivarfs efivarfs /sys/firmware/efi/efivars || echo "SB-INFO: efivarfs not mounted"

begin() { NAME=$1; ERRS=""; }
bad() { ERRS="$ERRS; $*"; }
end() { if [ -z "$ERRS" ]; then echo "SB: $NAME PASS $*"; else echo "SB: $NAME FAIL ${ERRS#; }"; fi; }
attempt() {
    "$@" >"$O" 2>&1; RC=$?
    echo "SB-OUT: $NAME: \$ $* -> exit $RC"
    head -n 20 "$O" | awk -v n="$NAME" '{ print "SB-OUT: " n ":   " $0 }'
}
# record: the state file `install --method dkms` leaves after its mok-import step (one record; the
# key named by its subject key id), as DKMSSecureBootTests decodes it.
record() {
    mkdir -p /var/lib/aufsctl && chmod 700 /var/lib/aufsctl
    printf '{"schema":"aufsctl.state/2","installs":[{"id":1,"kernel":"%s","method":"dkms","steps":[{"id":"mok-import",' "$KVER" \
        >/var/lib/aufsctl/state.json
    printf '"title":"stage","undo":[{"revokeMokImport":{"certificate":"/var/lib/dkms/mok.pub","keyID":"%s"}}]}]}]}\n' \
        "${PENDING_DESC##*: }" >>/var/lib/aufsctl/state.json
    chmod 600 /var/lib/aufsctl/state.json
}
# keyline DESC: the /proc/keys line of the asymmetric key with that description
keyline() { grep -F "asymmetri $1:" /proc/keys | head -n 1; }

echo "SB-INFO: kernel $(uname -r); cmdline: $(cat /proc/cmdline)"
echo "SB-INFO: lockdown: $(cat /sys/kernel/security/lockdown 2>&1)"
echo "SB-INFO: sig_enforce: $(cat /sys/module/module/parameters/sig_enforce 2>&1)"
grep -E 'keyring +\.(builtin_trusted_keys|secondary_trusted_keys|machine|platform)' /proc/keys | sed 's/^/SB-INFO: keyring: /'
grep 'asymmetri' /proc/keys | sed 's/^/SB-INFO: key: /'
for r in .builtin_trusted_keys .secondary_trusted_keys .machine .platform; do
    keyctl list "%:$r" 2>&1 | sed "s/^/SB-INFO: keyctl list $r: /"
done
# inring DESC KEYRING: keyctl lists a key with that description in that keyring (or one it links)
inring() { keyctl rlist "%:$2" >/dev/null 2>&1 || return 1
    for id in $(keyctl rlist "%:$2"); do
        keyctl rdescribe "$id" 2>/dev/null | grep -qF ";$1" && return 0
        keyctl rdescribe "$id" 2>/dev/null | grep -q '^keyring;' && inring "$1" "$(keyctl rdescribe "$id" | awk -F';' '{ print $5 }')" && return 0
    done
    return 1
}
dmesg | grep -iE 'secure ?boot|Loaded X\.509|Loading compiled-in|MODSIGN|integrity:|Lockdown|EFI v|machine' | sed 's/^/SB-INFO: dmesg: /'

begin secure-boot
attempt mokutil --sb-state
grep -q 'SecureBoot enabled' "$O" || bad "mokutil --sb-state: $(head -n 1 "$O")"
grep -q '\[integrity\]' /sys/kernel/security/lockdown || bad "lockdown is $(cat /sys/kernel/security/lockdown)"
end "$(head -n 1 "$O"); lockdown $(cat /sys/kernel/security/lockdown)"

begin db-key-in-platform
l=$(keyline "$DB_DESC")
[ -n "$l" ] || bad "no key '$DB_DESC' in /proc/keys"
inring "$DB_DESC" .platform || bad "'$DB_DESC' is not in .platform"
attempt mokutil --test-key /sb/DB.der
grep -q 'is already in db' "$O" || bad "mokutil --test-key: $(cat "$O")"
end "${l:-none}"

begin mok-key-in-kernel
l=$(keyline "$MOK_DESC")
[ -n "$l" ] || bad "no key '$MOK_DESC' in /proc/keys"
for r in .machine .platform .secondary_trusted_keys; do inring "$MOK_DESC" $r && echo "SB-INFO: MOK key is in $r"; done
attempt mokutil --test-key /sb/MOK.der
grep -q 'is already enrolled' "$O" || bad "mokutil --test-key: $(cat "$O")"
end "${l:-none}"

# Which signed stand-in loads under the automatic lockdown: the answer is the experiment's.
for v in MOK DB unsigned; do
    begin "load-$v"
    cp "/sb/$v.ko" "$SLOT"
    attempt aufsctl load
    grep -qw aufs /proc/filesystems && loaded=yes || loaded=no
    echo "SB-INFO: load-$v: exit $RC, loaded $loaded"
    case $v in
        MOK) [ "$loaded" = yes ] || bad "the MOK-signed stand-in did not load (exit $RC)" ;;
        # Debian's kernel turns sig_enforce on under Secure Boot (seen: Y), so the refusal is
        # signing's EKEYREJECTED before lockdown is asked.
        unsigned) { [ "$loaded" = no ] && grep -q '(EKEYREJECTED, unsigned module)' "$O"; } \
            || bad "unsigned: exit $RC, loaded $loaded" ;;
        DB) ;;   # reported, not judged: whether db keys verify modules is the question
    esac
    [ "$loaded" = yes ] && rmmod aufs
    end "exit $RC, loaded $loaded"
done

begin stage-import
attempt mokutil --test-key /var/lib/dkms/mok.pub
state=$(cat "$O")
if grep -q 'is already enrolled' "$O"; then
    echo "SB-INFO: PENDING is enrolled (after MokManager): $(keyline "$PENDING_DESC")"
    cp /sb/PENDING.ko "$SLOT"; attempt aufsctl load
    grep -qw aufs /proc/filesystems || bad "the stand-in signed with the enrolled key did not load"
    end "enrolled; $(keyline "$PENDING_DESC")"
    # uninstall cannot take an enrolled key back: it says so and names mokutil --delete.
    begin uninstall-enrolled
    record
    attempt aufsctl uninstall --yes
    grep -q 'cannot undo: /var/lib/dkms/mok.pub is enrolled in MokList' "$O" || bad "uninstall: $(cat "$O")"
    grep -qF '`mokutil --delete /var/lib/dkms/mok.pub`' "$O" || bad "uninstall names no mokutil --delete"
    attempt mokutil --test-key /var/lib/dkms/mok.pub
    grep -q 'is already enrolled' "$O" || bad "after uninstall: $(cat "$O")"
    end "the enrolled key stays, mokutil --delete named"
else
    grep -q 'is not enrolled' "$O" || bad "before --import: $state"
    attempt mokutil --generate-hash=aufsctl-test
    tail -n 1 "$O" >/tmp/sb/hash
    attempt mokutil --import /var/lib/dkms/mok.pub --hash-file /tmp/sb/hash
    [ "$RC" = 0 ] || bad "mokutil --import exit $RC"
    attempt mokutil --list-new
    grep -q 'aufsctl PENDING throwaway key' "$O" || bad "--list-new does not show the key"
    attempt mokutil --test-key /var/lib/dkms/mok.pub
    grep -q 'is already in the enrollment request' "$O" || bad "after --import: $(cat "$O")"
    end "staged; --list-new shows it"
    # uninstall takes back the import an install staged (its record as install writes it): the real
    # mokutil --revoke-import on OVMF's variables. Then it is staged again for MokManager.
    begin uninstall-revokes
    record
    attempt aufsctl uninstall --yes
    [ "$RC" = 0 ] || bad "aufsctl uninstall exit $RC"
    attempt mokutil --list-new
    grep -q 'aufsctl PENDING throwaway key' "$O" && bad "--list-new still shows the key after uninstall"
    attempt mokutil --test-key /var/lib/dkms/mok.pub
    grep -q 'is not enrolled' "$O" || bad "after uninstall: $(cat "$O")"
    attempt mokutil --import /var/lib/dkms/mok.pub --hash-file /tmp/sb/hash
    attempt mokutil --test-key /var/lib/dkms/mok.pub
    grep -q 'is already in the enrollment request' "$O" || bad "staged again: $(cat "$O")"
    echo "SB-PASSWORD: aufsctl-test"
    end "mokutil --revoke-import by uninstall, --list-new empty; staged again"
fi

echo "SB-END"
dmesg | tail -n 40 | sed 's/^/KLOG: /'
poweroff -f
