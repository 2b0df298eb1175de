// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
#include "CLinuxShims.h"
#include <errno.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>

int aufsctl_statfs(const char *path, aufsctl_statfs_t *out) {
    struct statfs st;
    if (statfs(path, &st) != 0) return -errno;
    out->f_type = (int64_t)(uint32_t)st.f_type;
    out->f_flags = (uint64_t)st.f_flags;
    return 0;
}

int aufsctl_fstatfs(int fd, aufsctl_statfs_t *out) {
    struct statfs st;
    if (fstatfs(fd, &st) != 0) return -1;
    out->f_type = (int64_t)(uint32_t)st.f_type;
    out->f_flags = (uint64_t)st.f_flags;
    return 0;
}

unsigned int aufsctl_major(uint64_t dev) { return major(dev); }
unsigned int aufsctl_minor(uint64_t dev) { return minor(dev); }

const int64_t AUFSCTL_MAGIC_TMPFS = TMPFS_MAGIC;
const int64_t AUFSCTL_MAGIC_RAMFS = RAMFS_MAGIC;
const int64_t AUFSCTL_MAGIC_PROC = PROC_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_SYSFS = SYSFS_MAGIC;
const int64_t AUFSCTL_MAGIC_CONFIGFS = 0x62656570;
const int64_t AUFSCTL_MAGIC_DEBUGFS = DEBUGFS_MAGIC;
const int64_t AUFSCTL_MAGIC_SECURITYFS = SECURITYFS_MAGIC;
const int64_t AUFSCTL_MAGIC_ECRYPTFS = ECRYPTFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_OVERLAYFS = OVERLAYFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_XFS = XFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_BTRFS = BTRFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_UBIFS = 0x24051905;
const int64_t AUFSCTL_MAGIC_HFSPLUS = 0x482b;
const int64_t AUFSCTL_MAGIC_NILFS = NILFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_NFS = NFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_SMB = SMB_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_CIFS = 0xFF534D42;
const int64_t AUFSCTL_MAGIC_EXT4 = EXT4_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_SQUASHFS = SQUASHFS_MAGIC;
const int64_t AUFSCTL_MAGIC_ISOFS = ISOFS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_CRAMFS = CRAMFS_MAGIC;
const int64_t AUFSCTL_MAGIC_ROMFS = 0x7275;
const int64_t AUFSCTL_MAGIC_AUFS = 0x61756673;
const int64_t AUFSCTL_MAGIC_FUSE = 0x65735546;
const int64_t AUFSCTL_MAGIC_TRACEFS = TRACEFS_MAGIC;
const int64_t AUFSCTL_MAGIC_CGROUP = CGROUP_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_CGROUP2 = CGROUP2_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_DEVPTS = DEVPTS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_EROFS = EROFS_SUPER_MAGIC_V1;
const int64_t AUFSCTL_MAGIC_F2FS = F2FS_SUPER_MAGIC;
const int64_t AUFSCTL_MAGIC_CEPH = 0x00c36400;
const int64_t AUFSCTL_MAGIC_9P = V9FS_MAGIC;

#include <sys/prctl.h>
int aufsctl_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/mount.h>

// Syscall numbers are the same on every architecture for these (added in 5.2); the fallbacks
// serve libc headers older than the syscalls.
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif

const unsigned int AUFSCTL_FSOPEN_CLOEXEC = FSOPEN_CLOEXEC;

int aufsctl_fsopen(const char *fstype, unsigned int flags) { return (int)syscall(SYS_fsopen, fstype, flags); }

int aufsctl_fsconfig_string(int fd, const char *key, const char *value) {
    return (int)syscall(SYS_fsconfig, fd, FSCONFIG_SET_STRING, key, value, 0);
}

int aufsctl_fsconfig_create(int fd) { return (int)syscall(SYS_fsconfig, fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0); }

int aufsctl_fsmount(int fd, int read_only) {
    return (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, read_only ? MOUNT_ATTR_RDONLY : 0);
}

int aufsctl_move_mount_to(int mnt, const char *target) {
    return (int)syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

int aufsctl_fsconfig_fd(int fd, const char *key, int value_fd) {
    return (int)syscall(SYS_fsconfig, fd, FSCONFIG_SET_FD, key, NULL, value_fd);
}

int aufsctl_move_mount_to_fd(int mnt, int target_fd) {
    return (int)syscall(SYS_move_mount, mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

#include <linux/stat.h>
#ifndef SYS_statx
#define SYS_statx 332
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

int aufsctl_statx_mnt_id(int dirfd, const char *name, uint64_t *mnt_id) {
    struct statx stx;
    int flags = AT_SYMLINK_NOFOLLOW | (name[0] == 0 ? AT_EMPTY_PATH : 0);
    if (syscall(SYS_statx, dirfd, name, flags, STATX_MNT_ID, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) {
        errno = ENOSYS;
        return -1;
    }
    *mnt_id = stx.stx_mnt_id;
    return 0;
}

const int AUFSCTL_UMOUNT_NOFOLLOW = 8;

#include <sys/resource.h>
unsigned long aufsctl_raise_nofile(unsigned long want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long)rl.rlim_cur;
}
#ifndef O_PATH
#define O_PATH 010000000
#endif
const int AUFSCTL_O_PATH = O_PATH;

#include <gnu/libc-version.h>

const char *aufsctl_libc_version(void) { return gnu_get_libc_version(); }

#include <sched.h>
int aufsctl_setns_mnt(int fd) {
    return (int)syscall(SYS_setns, fd, 0x00020000 /* CLONE_NEWNS */);
}

long aufsctl_getdents64(int fd, void *buf, unsigned long count) { return syscall(SYS_getdents64, fd, buf, count); }

#include <malloc.h>
void aufsctl_malloc_tune(int mmap_threshold) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
}

long aufsctl_keyctl_read(int32_t keyring, void *buf, unsigned long len) {
    return syscall(SYS_keyctl, 11 /* KEYCTL_READ, <linux/keyctl.h> */, keyring, buf, len);
}
#include <stdio.h>
void aufsctl_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
