#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Makes DIR a copy of the CentOS 7 fixture root in which `aufsctl install --method kernel-ml-aufs
# --root DIR` can really run its commands (as `chroot DIR cmd`): a static busybox as /bin/sh and
# its applets, and sh stubs for rpm, yum, yum-config-manager, grub2-mkconfig and grubby that act
# on the tree the way the real ones would and log their argv to DIR/var/log/stub-calls.
#
#   Tests/stress/centos-stub-root.sh DIR        (root; YUM_DELAY=SECONDS makes `yum install` slow)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=${1:?usage: centos-stub-root.sh DIR}
BB=""
for c in /usr/bin/busybox /bin/busybox; do
    if [ -x "$c" ] && file -L "$c" 2>/dev/null | grep -q 'statically linked'; then BB=$c; break; fi
done
if [ -z "$BB" ]; then
    cache=/var/cache/aufsctl/busybox-static
    if [ ! -x "$cache/bin/busybox" ]; then
        tmp=$(mktemp -d)
        (cd "$tmp" && apt-get download busybox-static >/dev/null 2>&1 && dpkg -x busybox-static_*.deb "$cache") \
            || { echo "no static busybox (apt-get download busybox-static failed)" >&2; exit 2; }
        rm -rf "$tmp"
    fi
    BB=$cache/bin/busybox
fi
KVER=5.13.1-1.el7.x86_64
mkdir -p "$T"
cp -a "$REPO/Tests/Fixtures/roots/centos7/." "$T/"
mkdir -p "$T/bin" "$T/usr/bin" "$T/var/lib" "$T/var/log" "$T/run/lock" "$T/tmp"
cp "$BB" "$T/bin/busybox"
for a in sh mkdir cat rm ls sort touch printf echo sleep test [; do ln -sf busybox "$T/bin/$a"; done
stub() { printf '#!/bin/sh\nPATH=/bin:/usr/bin\necho "%s $*" >> /var/log/stub-calls\n%s\n' "$1" "$2" >"$T/usr/bin/$1"; chmod 755 "$T/usr/bin/$1"; }
stub rpm "if [ -e /var/lib/fake-rpm/kernel-ml-aufs ]; then echo $KVER; exit 0; fi
echo 'package kernel-ml-aufs is not installed'; exit 1"
stub yum "case \"\$*\" in
'install -y kernel-ml-aufs') sleep ${YUM_DELAY:-0}; mkdir -p /var/lib/fake-rpm; : > /var/lib/fake-rpm/kernel-ml-aufs
  : > /boot/vmlinuz-$KVER; printf 'CONFIG_MODULES=y\nCONFIG_AUFS_FS=y\n' > /boot/config-$KVER;;
'remove -y kernel-ml-aufs') rm -f /var/lib/fake-rpm/kernel-ml-aufs /boot/vmlinuz-$KVER /boot/config-$KVER;;
*) echo \"stub yum: unexpected \$*\" >&2; exit 1;;
esac"
stub yum-config-manager "echo 'stub yum-config-manager: not expected' >&2; exit 1"
stub grub2-mkconfig "[ \"\$1\" = -o ] || exit 1
for k in \$(ls /boot | sort -r); do case \$k in vmlinuz-*) printf \"menuentry '%s' {\n\tlinux16 /%s\n}\n\" \$k \$k;; esac; done > \"\$2\""
stub grubby "S=/var/lib/fake-grubby-default
case \"\$1\" in
--default-kernel) if [ -e \$S ]; then cat \$S; echo; else echo /boot/vmlinuz-3.10.0-1160.el7.x86_64; fi;;
--set-default) printf %s \"\$2\" > \$S;;
*) exit 1;;
esac"
