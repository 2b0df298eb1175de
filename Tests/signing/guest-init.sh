#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# shellcheck shell=dash
# /init of Tests/signing/run.sh's initramfs. The boot's mode is the kernel parameter sigtest=
# (plain, sigenforce, lockdown, blacklist; the kernel hands it to init's environment). Each
# scenario puts one variant of the stand-in at /lib/modules/KVER/updates/dkms/aufs.ko, runs
# aufsctl (or the mount helper) and prints
#     SIG: <name> PASS|FAIL <detail>
# and the command's output verbatim as SIG-OUT: lines; then SIG-END, and powers off. Every kernel
# line a scenario expects in aufsctl's output must also be one that dmesg shows for that attempt.
# Never `exit` (pid 1).
/bin/busybox mkdir -p /usr/bin /usr/sbin /usr/local/bin
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export NO_COLOR=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t securityfs securityfs /sys/kernel/security
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/lock /tmp/sig
echo /sbin/no-modprobe >/proc/sys/kernel/modprobe   # only aufsctl loads modules
dmesg -n 1
. /sig/env                                          # KVER OTHER_MAGIC THROWAWAY_SERIAL
# modinfo's way of printing a serial: 2E:AA:DE:...
THROWAWAY_SERIAL_COLONS=$(echo "$THROWAWAY_SERIAL" | sed 's/^\(00\)*//; s/../&:/g; s/:$//')
SLOT=/lib/modules/$KVER/updates/dkms/aufs.ko
O=/tmp/sig/out; E=/tmp/sig/err; K=/tmp/sig/klines
MODE=${sigtest:-unknown}
echo "SIG-INFO: mode $MODE, kernel $(uname -r), cmdline: $(cat /proc/cmdline)"
echo "SIG-INFO: lockdown: $(cat /sys/kernel/security/lockdown 2>&1), sig_enforce: $(cat /sys/module/module/parameters/sig_enforce 2>&1)"

begin() { NAME=$1; ERRS=""; : >/tmp/sig/log; }
bad() { ERRS="$ERRS; $*"; }
end() {
    if grep -qw aufs /proc/filesystems; then rmmod aufs 2>/dev/null || ERRS="$ERRS; aufs is left loaded and rmmod failed"; fi
    if [ -z "$ERRS" ]; then echo "SIG: $NAME PASS $*"; else
        echo "SIG: $NAME FAIL ${ERRS#; }"
        head -c 4000 /tmp/sig/log | awk -v n="$NAME" '{ print "SIG-LOG: " n ": " substr($0, 1, 300) }'
    fi
}
slot() { cp "/sig/$1.ko" "$SLOT"; }
# attempt CMD...: its stdout, stderr, exit code, and the kernel lines logged meanwhile (dmesg)
attempt() {
    dmesg | sed 's/^\[[ 0-9.]*\] //' >/tmp/sig/before
    "$@" >"$O" 2>"$E"; RC=$?
    dmesg | sed 's/^\[[ 0-9.]*\] //' >/tmp/sig/after
    tail -n +"$(($(wc -l </tmp/sig/before) + 1))" /tmp/sig/after >"$K"
    echo "SIG-OUT: $NAME: \$ $* -> exit $RC"
    cat "$O" "$E" | head -n 20 | awk -v n="$NAME" '{ print "SIG-OUT: " n ":   " $0 }'
    { echo "\$ $* -> exit $RC"; cat "$O" "$E"; echo "dmesg:"; cat "$K"; } >>/tmp/sig/log
}
want_rc() { [ "$RC" = "$1" ] || bad "exit $RC, want $1"; }
want_text() { cat "$O" "$E" | grep -qF -- "$1" || bad "output lacks '$1'"; }
# want_kernel TEXT: aufsctl shows a `kernel: LINE` with TEXT in it, and dmesg logged that LINE
want_kernel() {
    line=$(cat "$O" "$E" | sed -n 's/^ *kernel: //p' | grep -F -- "$1" | head -n 1)
    if [ -z "$line" ]; then bad "no 'kernel: ...$1...' line in the output"; return; fi
    grep -qxF -- "$line" "$K" || bad "'$line' is not a line dmesg logged for this attempt"
}
registered() { grep -qw aufs /proc/filesystems; }

case $MODE in
plain)
    begin plain-unsigned
    slot unsigned; attempt aufsctl load
    want_rc 0; want_text "loaded aufs into $KVER"
    want_text "could not verify its signature"
    grep -q "module verification failed" "$K" || bad "dmesg has no 'module verification failed' line"
    registered || bad "aufs is not in /proc/filesystems"
    rmmod aufs || bad "rmmod aufs failed"
    end "loaded, tainted: $(grep -o 'module verification failed.*' "$K")"

    begin plain-untrusted
    slot throwaway; attempt aufsctl load
    want_rc 0; want_text "loaded aufs into $KVER"
    registered || bad "aufs is not in /proc/filesystems"
    rmmod aufs || bad "rmmod aufs failed"
    end "signed by a key the kernel does not trust, loaded (no enforcement)"

    begin unknown-symbol
    slot needsym; attempt aufsctl load
    want_rc 1; want_text "(ENOENT, unknown symbol)"; want_text "aufs needs d_walk"
    want_kernel "Unknown symbol d_walk"
    end "$(head -n 1 "$E")"

    begin symbol-crc
    slot crc; attempt aufsctl load
    want_rc 1; want_text "(EINVAL, symbol version mismatch)"; want_text "register_filesystem differs"
    want_kernel "disagrees about version of symbol register_filesystem"
    end "$(head -n 1 "$E")"

    begin module-layout
    slot layout; attempt aufsctl load
    want_rc 1; want_text "(ENOEXEC, built for another kernel)"
    want_kernel "disagrees about version of symbol module_layout"
    end "$(head -n 1 "$E")"

    begin vermagic
    slot vermagic; attempt aufsctl load
    want_rc 1; want_text "(ENOEXEC, built for another kernel)"
    want_kernel "version magic '$OTHER_MAGIC' should be"
    end "$(head -n 1 "$E")"

    begin modprobe-blacklist
    slot unsigned; echo "blacklist aufs" >/etc/modprobe.d/sig-blacklist.conf
    attempt aufsctl load
    want_rc 1; want_text "(blacklisted in modprobe.d)"; want_text "/etc/modprobe.d/sig-blacklist.conf:1"
    [ -s "$K" ] && bad "the kernel logged something, but libkmod should refuse before asking it: $(head -n 1 "$K")"
    rm -f /etc/modprobe.d/sig-blacklist.conf
    end "$(head -n 1 "$E")"

    begin lockdown-runtime
    echo integrity >/sys/kernel/security/lockdown || bad "could not raise lockdown"
    grep -q '\[integrity\]' /sys/kernel/security/lockdown || bad "lockdown is $(cat /sys/kernel/security/lockdown)"
    slot unsigned; attempt aufsctl load
    want_rc 1; want_text "(EPERM, lockdown)"; want_text "carries no signature"
    want_kernel "unsigned module loading is restricted"
    registered && bad "aufs got loaded"
    end "$(head -n 1 "$E")"

    begin modules-disabled
    echo 1 >/proc/sys/kernel/modules_disabled || bad "could not set kernel.modules_disabled"
    attempt aufsctl load
    want_rc 1; want_text "(EPERM, module loading disabled)"; want_text "modules_disabled: 1"
    end "$(head -n 1 "$E")"
    ;;
sigenforce)
    begin enforce-facts
    [ "$(cat /sys/module/module/parameters/sig_enforce)" = Y ] || bad "sig_enforce is not Y"
    end "sig_enforce Y"

    begin enforce-unsigned
    slot unsigned; attempt aufsctl load
    want_rc 1; want_text "(EKEYREJECTED, unsigned module)"; want_text "carries no signature"
    want_kernel "Loading of unsigned module is rejected"
    end "$(head -n 1 "$E")"

    begin enforce-untrusted
    slot throwaway; attempt aufsctl load
    want_rc 1; want_text "(EKEYREJECTED, signed by a key the kernel does not trust)"
    want_text "'aufsctl throwaway signing key' (key $THROWAWAY_SERIAL_COLONS, DKMS's key /var/lib/dkms/mok.pub), which this kernel does not trust"
    want_text "way out: \`mokutil --import /var/lib/dkms/mok.pub\`, then reboot and confirm the key in MokManager"
    want_kernel "Loading of module with unavailable key is rejected"
    registered && bad "aufs got loaded"
    end "$(head -n 1 "$E")"

    begin enforce-mount
    mkdir -p /tmp/u/rw /tmp/u/ro /tmp/u/m; cd /tmp/u || bad "cd /tmp/u"
    attempt aufsctl mount dirs=./rw:./ro=ro ./m
    want_rc 1; want_text "(EKEYREJECTED, signed by a key the kernel does not trust)"
    want_text "mokutil --import /var/lib/dkms/mok.pub"
    want_kernel "Loading of module with unavailable key is rejected"
    grep -q ' /tmp/u/m ' /proc/self/mountinfo && bad "something is mounted on /tmp/u/m"
    cd / || true
    end "$(head -n 1 "$E")"

    begin enforce-helper
    ln -sf /usr/local/bin/aufsctl-helper /sbin/mount.aufs
    attempt /sbin/mount.aufs none /tmp/u/m -o br=/tmp/u/rw=rw:/tmp/u/ro=ro
    want_rc 32; want_text "mount.aufs: loading aufs failed (EKEYREJECTED, signed by a key the kernel does not trust)"
    want_text "aufsctl check"   # the helper reads no DKMS configuration: it points at check
    want_kernel "Loading of module with unavailable key is rejected"
    end "$(head -n 1 "$E")"
    ;;
lockdown)
    begin lockdown-facts
    grep -q '\[integrity\]' /sys/kernel/security/lockdown || bad "lockdown is $(cat /sys/kernel/security/lockdown)"
    [ "$(cat /sys/module/module/parameters/sig_enforce)" = N ] || bad "sig_enforce is not N"
    end "lockdown $(cat /sys/kernel/security/lockdown), sig_enforce N"

    begin lockdown-unsigned
    slot unsigned; attempt aufsctl load
    want_rc 1; want_text "(EPERM, lockdown)"; want_text "lockdown=integrity"; want_text "carries no signature"
    want_kernel "unsigned module loading is restricted"
    end "$(head -n 1 "$E")"

    begin lockdown-untrusted
    slot throwaway; attempt aufsctl load
    want_rc 1; want_text "(EPERM, lockdown)"; want_text "'aufsctl throwaway signing key'"
    want_kernel "unsigned module loading is restricted"
    registered && bad "aufs got loaded"
    end "$(head -n 1 "$E")"
    ;;
blacklist)
    begin cmdline-blacklist
    slot unsigned; attempt aufsctl load
    want_rc 1; want_text "(EPERM, blacklisted on the kernel command line)"; want_text "module_blacklist=aufs"
    want_kernel "Module aufs is blacklisted"
    end "$(head -n 1 "$E")"
    ;;
*)
    echo "SIG: mode FAIL unknown sigtest=$MODE"
    ;;
esac
echo "SIG-END"
dmesg | sed 's/^/KLOG: /' | tail -n 60
poweroff -f
