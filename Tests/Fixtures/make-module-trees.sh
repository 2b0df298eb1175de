#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Regenerates the kernel-module parts of the fixture host roots under roots/:
#   - lib/modules/KVER/**/*.ko[.xz]   tiny ELF objects that only carry a .modinfo section
#                                     (vermagic, name, alias, license, description). They are
#                                     NOT kernel modules and cannot be loaded; libkmod and
#                                     modinfo(8) read them like modules, which is all the
#                                     probe needs.
#   - lib/modules/KVER/modules.order, modules.builtin, modules.builtin.modinfo (inputs)
#   - lib/modules/KVER/modules.dep(.bin), modules.alias(.bin), modules.builtin(.alias).bin,
#     modules.symbols(.bin), ... written by `depmod -b ROOT KVER` (the binary indexes
#     libkmod opens)
#   - Module.symvers excerpts (headers' build dir, /boot/symvers-KVER.gz on CentOS)
#
# Why the outputs are committed: the tests must work from a clean clone on a machine
# without gcc or depmod (and libkmod only reads the binary .bin indexes), and the files
# are a few KB each. Re-run this script after changing it and commit what changes.
#
# Reproducible: same inputs give byte-identical files on the same toolchain (no
# timestamps: objects are built from a fixed source name with -fno-ident, gzip -n, xz
# single-threaded; depmod output is deterministic). A different gcc/binutils/kmod
# version may produce different (equally valid) bytes.
#
# Requires: gcc, depmod/modinfo (kmod), xz, gzip, sha256sum.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
roots="$here/roots"
DEPMOD=${DEPMOD:-$(command -v depmod || echo /sbin/depmod)}
MODINFO=${MODINFO:-$(command -v modinfo || echo /sbin/modinfo)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# make_ko OUT VERMAGIC NAME ALIAS [compress]
# A relocatable ELF object whose .modinfo holds NUL-terminated key=value strings, in the
# order a real module has them.
make_ko() {
    local out=$1 vermagic=$2 name=$3 alias=$4 compress=${5:-}
    local src="$work/modinfo.c"
    {
        echo '/* fixture stand-in for a kernel module: only a .modinfo section */'
        local i=0
        for kv in "description=fixture stand-in, not a module" "license=GPL" "alias=$alias" \
                  "depends=" "name=$name" "vermagic=$vermagic"; do
            printf 'static const char modinfo_%d[] __attribute__((section(".modinfo"), used, aligned(1))) = "%s";\n' "$i" "$kv"
            i=$((i + 1))
        done
    } > "$src"
    (cd "$work" && gcc -c -O0 -g0 -fno-ident -fno-asynchronous-unwind-tables -fno-toplevel-reorder \
        -o modinfo.o modinfo.c)
    mkdir -p "$(dirname "$out")"
    rm -f "$out" "$out.xz"
    if [ "$compress" = xz ]; then
        xz -9 -T1 --check=crc32 -c "$work/modinfo.o" > "$out.xz"
    else
        cp "$work/modinfo.o" "$out"
        chmod 0644 "$out"
    fi
}

# builtin_modinfo MODULE KEY=VALUE... : entries of modules.builtin.modinfo (NUL separated)
builtin_modinfo() {
    local m=$1; shift
    for kv in "$@"; do printf '%s.%s\0' "$m" "$kv"; done
}

# tree ROOT KVER : clears what this script generates for one kernel
clear_tree() {
    local dir="$roots/$1/lib/modules/$2"
    rm -rf "$dir/kernel"
    rm -f "$dir"/modules.*
    mkdir -p "$dir"
}

run_depmod() {
    "$DEPMOD" -b "$roots/$1" "$2"
    # depmod writes modules.* with the umask; normalise for git.
    chmod 0644 "$roots/$1/lib/modules/$2"/modules.*
}

# symvers LINE-SPEC... : Module.symvers lines. CRCs are not real: they are derived from the
# kernel release and symbol name so that re-runs are identical.
# $1 = kver, $2 = "new" (5 columns, namespace, 5.4+) or "old" (4 columns, 3.10); then
# "symbol module type [namespace]" lines on stdin.
symvers() {
    local kver=$1 style=$2 sym mod type ns crc
    while read -r sym mod type ns; do
        [ -z "$sym" ] && continue
        crc=$(printf '%s:%s' "$kver" "$sym" | sha256sum | cut -c1-8)
        if [ "$style" = old ]; then
            printf '0x%s\t%s\t%s\t%s\n' "$crc" "$sym" "$mod" "$type"
        else
            printf '0x%s\t%s\t%s\t%s\t%s\n' "$crc" "$sym" "$mod" "$type" "${ns:-}"
        fi
    done
}

# Exports of a stock (unpatched) 5.x kernel near the ones aufs uses. None of the aufs
# standalone-patch exports (Kernel/exports: d_walk, d_exchange, alloc_empty_file,
# do_splice_from, do_truncate, fsnotify_get_group, iterate_mounts, path_noexec,
# security_path_chmod/chown/link/rmdir/symlink, setfl, task_work_run, vfs_getxattr_alloc,
# vfs_read, vfs_write, __mnt_drop_write, do_splice_to, update_time, __sync_filesystem,
# is_current_mnt_ns, security_file_permission, security_inode_permission) is exported by
# mainline: the patch adds exactly those EXPORT_SYMBOL lines. Debian disabled the aufs
# patches from 11 on, Ubuntu dropped aufs in 21.04, so these kernels export none of them.
vmlinux_5x() {
    cat <<'EOF'
security_path_mkdir vmlinux EXPORT_SYMBOL
security_path_mknod vmlinux EXPORT_SYMBOL
security_path_unlink vmlinux EXPORT_SYMBOL
security_path_rename vmlinux EXPORT_SYMBOL
security_inode_create vmlinux EXPORT_SYMBOL_GPL
security_inode_mkdir vmlinux EXPORT_SYMBOL_GPL
security_inode_init_security vmlinux EXPORT_SYMBOL
vfs_getxattr vmlinux EXPORT_SYMBOL_GPL
__vfs_getxattr vmlinux EXPORT_SYMBOL
vfs_setxattr vmlinux EXPORT_SYMBOL_GPL
vfs_removexattr vmlinux EXPORT_SYMBOL_GPL
vfs_listxattr vmlinux EXPORT_SYMBOL_GPL
kernel_read vmlinux EXPORT_SYMBOL
kernel_write vmlinux EXPORT_SYMBOL
vfs_iter_read vmlinux EXPORT_SYMBOL
vfs_iter_write vmlinux EXPORT_SYMBOL
vfs_create vmlinux EXPORT_SYMBOL
vfs_mkdir vmlinux EXPORT_SYMBOL
vfs_mknod vmlinux EXPORT_SYMBOL
vfs_unlink vmlinux EXPORT_SYMBOL
vfs_rmdir vmlinux EXPORT_SYMBOL
vfs_rename vmlinux EXPORT_SYMBOL
vfs_link vmlinux EXPORT_SYMBOL
vfs_symlink vmlinux EXPORT_SYMBOL
vfs_truncate vmlinux EXPORT_SYMBOL_GPL
vfs_fsync vmlinux EXPORT_SYMBOL
vfs_llseek vmlinux EXPORT_SYMBOL
vfs_statfs vmlinux EXPORT_SYMBOL
vfs_fallocate vmlinux EXPORT_SYMBOL_GPL
notify_change vmlinux EXPORT_SYMBOL
lookup_one_len vmlinux EXPORT_SYMBOL
d_splice_alias vmlinux EXPORT_SYMBOL
d_obtain_alias vmlinux EXPORT_SYMBOL
dget_parent vmlinux EXPORT_SYMBOL
dput vmlinux EXPORT_SYMBOL
iput vmlinux EXPORT_SYMBOL
igrab vmlinux EXPORT_SYMBOL
mnt_want_write vmlinux EXPORT_SYMBOL_GPL
mnt_drop_write vmlinux EXPORT_SYMBOL_GPL
__mnt_is_readonly vmlinux EXPORT_SYMBOL_GPL
kern_path vmlinux EXPORT_SYMBOL
path_get vmlinux EXPORT_SYMBOL
path_put vmlinux EXPORT_SYMBOL
dentry_open vmlinux EXPORT_SYMBOL
filp_open vmlinux EXPORT_SYMBOL
filp_close vmlinux EXPORT_SYMBOL
fput vmlinux EXPORT_SYMBOL
iterate_dir vmlinux EXPORT_SYMBOL
do_splice_direct vmlinux EXPORT_SYMBOL
splice_direct_to_actor vmlinux EXPORT_SYMBOL
generic_permission vmlinux EXPORT_SYMBOL
inode_permission vmlinux EXPORT_SYMBOL
fsnotify vmlinux EXPORT_SYMBOL_GPL
fsnotify_alloc_group vmlinux EXPORT_SYMBOL_GPL
fsnotify_put_group vmlinux EXPORT_SYMBOL_GPL
task_work_add vmlinux EXPORT_SYMBOL_GPL
EOF
}

# ---------------------------------------------------------------- CentOS 7 (stock)
# 3.10 predates modules.builtin.modinfo (Linux 5.2), so depmod warns that it is missing: expected.
k3=3.10.0-1160.el7.x86_64
vm3="$k3 SMP mod_unload modversions "
for r in centos7 centos7-aufs; do
    clear_tree "$r" "$k3"
    d="$roots/$r/lib/modules/$k3"
    # RHEL 7 ships its modules xz-compressed.
    make_ko "$d/kernel/fs/overlayfs/overlay.ko" "$vm3" overlay fs-overlay xz
    printf 'kernel/fs/overlayfs/overlay.ko\n' > "$d/modules.order"
    printf 'kernel/fs/binfmt_script.ko\nkernel/fs/mbcache.ko\nkernel/fs/autofs4/autofs4.ko\n' > "$d/modules.builtin"
    run_depmod "$r" "$k3"
    # kernel-3.10.0 installs /boot/symvers-KVER.gz. 3.10 still exported vfs_read and
    # vfs_write (unexported in 5.x); the patch-only exports are absent.
    mkdir -p "$roots/$r/boot"
    { printf 'vfs_read vmlinux EXPORT_SYMBOL\nvfs_write vmlinux EXPORT_SYMBOL\n'
      vmlinux_5x | grep -v -e '^kernel_read ' -e '^kernel_write ' -e '^vfs_iter_' -e '^fsnotify' -e '^task_work_add '
      printf 'jbd2_journal_start fs/jbd2/jbd2 EXPORT_SYMBOL\nxfs_trans_alloc fs/xfs/xfs EXPORT_SYMBOL_GPL\n'
    } | symvers "$k3" old | gzip -9 -n > "$roots/$r/boot/symvers-$k3.gz"
done

# ---------------------------------------------------------------- CentOS 7 + kernel-ml-aufs
k=5.13.1-1.el7.x86_64
r=centos7-aufs
clear_tree "$r" "$k"
d="$roots/$r/lib/modules/$k"
make_ko "$d/kernel/fs/overlayfs/overlay.ko" "$k SMP mod_unload modversions " overlay fs-overlay
printf 'kernel/fs/overlayfs/overlay.ko\n' > "$d/modules.order"
# CONFIG_AUFS_FS=y: aufs is listed as builtin, with its modinfo in modules.builtin.modinfo.
printf 'kernel/fs/binfmt_script.ko\nkernel/fs/mbcache.ko\nkernel/fs/autofs/autofs4.ko\nkernel/fs/aufs/aufs.ko\n' > "$d/modules.builtin"
{ builtin_modinfo autofs4 license=GPL alias=fs-autofs alias=devname:autofs
  builtin_modinfo aufs "description=aufs -- Advanced multi layered unification filesystem" \
      "author=Junjiro R. Okajima <aufs-users@lists.sourceforge.net>" license=GPL alias=fs-aufs \
      version=5.13-20210712
} > "$d/modules.builtin.modinfo"
run_depmod "$r" "$k"

# ---------------------------------------------------------------- Debian 11 (headers present)
k=5.10.0-28-amd64
r=debian11
clear_tree "$r" "$k"
d="$roots/$r/lib/modules/$k"
make_ko "$d/kernel/fs/overlayfs/overlay.ko" "$k SMP mod_unload modversions " overlay fs-overlay
printf 'kernel/fs/overlayfs/overlay.ko\n' > "$d/modules.order"
printf 'kernel/fs/binfmt_script.ko\nkernel/fs/autofs/autofs4.ko\n' > "$d/modules.builtin"
builtin_modinfo autofs4 license=GPL alias=fs-autofs alias=devname:autofs > "$d/modules.builtin.modinfo"
run_depmod "$r" "$k"
hdr="$roots/$r/usr/src/linux-headers-$k"
mkdir -p "$hdr"
# Relative, so the link resolves inside the root (the distro's own link is absolute:
# /usr/src/linux-headers-KVER). It lives in usr/lib/modules/KVER (lib -> usr/lib).
ln -sfn "../../../src/linux-headers-$k" "$d/build"
{ vmlinux_5x
  printf 'jbd2_journal_start fs/jbd2/jbd2 EXPORT_SYMBOL\njbd2_journal_stop fs/jbd2/jbd2 EXPORT_SYMBOL\n'
  printf 'mb_cache_entry_create fs/mbcache EXPORT_SYMBOL\n'
  printf 'usb_stor_suspend drivers/usb/storage/usb-storage EXPORT_SYMBOL_GPL USB_STORAGE\n'
} | symvers "$k" new > "$hdr/Module.symvers"

# ---------------------------------------------------------------- Debian 12 (no headers)
k=6.1.0-18-amd64
r=debian12
clear_tree "$r" "$k"
d="$roots/$r/lib/modules/$k"
make_ko "$d/kernel/fs/overlayfs/overlay.ko" "$k SMP preempt_dynamic mod_unload modversions " overlay fs-overlay
printf 'kernel/fs/overlayfs/overlay.ko\n' > "$d/modules.order"
printf 'kernel/fs/binfmt_script.ko\nkernel/fs/autofs/autofs4.ko\n' > "$d/modules.builtin"
builtin_modinfo autofs4 license=GPL alias=fs-autofs alias=devname:autofs > "$d/modules.builtin.modinfo"
run_depmod "$r" "$k"

# ---------------------------------------------------------------- Ubuntu 20.04 (aufs.ko, not loaded)
k=5.4.0-42-generic
r=ubuntu2004
clear_tree "$r" "$k"
d="$roots/$r/lib/modules/$k"
# Ubuntu signs its modules; these stand-ins are unsigned (no signer in modinfo).
make_ko "$d/kernel/fs/aufs/aufs.ko" "$k SMP mod_unload modversions " aufs fs-aufs
make_ko "$d/kernel/fs/overlayfs/overlay.ko" "$k SMP mod_unload modversions " overlay fs-overlay
printf 'kernel/fs/overlayfs/overlay.ko\nkernel/fs/aufs/aufs.ko\n' > "$d/modules.order"
printf 'kernel/fs/binfmt_script.ko\nkernel/fs/mbcache.ko\nkernel/fs/jbd2/jbd2.ko\nkernel/fs/ext4/ext4.ko\nkernel/fs/autofs/autofs4.ko\n' > "$d/modules.builtin"
{ builtin_modinfo ext4 license=GPL alias=fs-ext4 alias=ext3 alias=fs-ext3 alias=ext2 alias=fs-ext2
  builtin_modinfo autofs4 license=GPL alias=fs-autofs alias=devname:autofs
} > "$d/modules.builtin.modinfo"
run_depmod "$r" "$k"

# ---------------------------------------------------------------- Ubuntu 22.04 (headers, Secure Boot)
k=5.15.0-91-generic
r=ubuntu2204
clear_tree "$r" "$k"
d="$roots/$r/lib/modules/$k"
make_ko "$d/kernel/fs/overlayfs/overlay.ko" "$k SMP mod_unload modversions " overlay fs-overlay
printf 'kernel/fs/overlayfs/overlay.ko\n' > "$d/modules.order"
printf 'kernel/fs/binfmt_script.ko\nkernel/fs/mbcache.ko\nkernel/fs/jbd2/jbd2.ko\nkernel/fs/ext4/ext4.ko\nkernel/fs/autofs/autofs4.ko\n' > "$d/modules.builtin"
{ builtin_modinfo ext4 license=GPL alias=fs-ext4 alias=ext3 alias=fs-ext3 alias=ext2 alias=fs-ext2
  builtin_modinfo autofs4 license=GPL alias=fs-autofs alias=devname:autofs
} > "$d/modules.builtin.modinfo"
run_depmod "$r" "$k"
hdr="$roots/$r/usr/src/linux-headers-$k"
mkdir -p "$hdr"
ln -sfn "../../../src/linux-headers-$k" "$d/build"
# ext4/jbd2 are built in on Ubuntu, so their exports are vmlinux's.
{ vmlinux_5x
  printf 'jbd2_journal_start vmlinux EXPORT_SYMBOL\njbd2_journal_stop vmlinux EXPORT_SYMBOL\n'
  printf 'usb_stor_suspend drivers/usb/storage/usb-storage EXPORT_SYMBOL_GPL USB_STORAGE\n'
} | symvers "$k" new > "$hdr/Module.symvers"

# ---------------------------------------------------------------- check what libkmod will see
"$MODINFO" -b "$roots/ubuntu2004" -k 5.4.0-42-generic -F vermagic aufs >/dev/null
"$MODINFO" -b "$roots/centos7-aufs" -k 5.13.1-1.el7.x86_64 aufs >/dev/null
echo "module trees written under $roots"
