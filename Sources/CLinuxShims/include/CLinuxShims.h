// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
#ifndef AUFSCTL_CLINUXSHIMS_H
#define AUFSCTL_CLINUXSHIMS_H
// What Glibc does not hand to Swift: statfs (the struct and call are hidden behind macros),
// <linux/magic.h> constants and the major/minor macros.
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    int64_t f_type;
    uint64_t f_flags;
} aufsctl_statfs_t;

/// statfs(2); returns 0 or -errno.
int aufsctl_statfs(const char *path, aufsctl_statfs_t *out);
/// fstatfs(2) (an O_PATH fd too); returns 0 or -1 with errno.
int aufsctl_fstatfs(int fd, aufsctl_statfs_t *out);

unsigned int aufsctl_major(uint64_t dev);
unsigned int aufsctl_minor(uint64_t dev);

/// Filesystem magic numbers from <linux/magic.h> (and aufs's own).
extern const int64_t AUFSCTL_MAGIC_TMPFS, AUFSCTL_MAGIC_RAMFS, AUFSCTL_MAGIC_PROC, AUFSCTL_MAGIC_SYSFS,
    AUFSCTL_MAGIC_CONFIGFS, AUFSCTL_MAGIC_DEBUGFS, AUFSCTL_MAGIC_SECURITYFS, AUFSCTL_MAGIC_ECRYPTFS,
    AUFSCTL_MAGIC_OVERLAYFS, AUFSCTL_MAGIC_XFS, AUFSCTL_MAGIC_BTRFS, AUFSCTL_MAGIC_UBIFS,
    AUFSCTL_MAGIC_HFSPLUS, AUFSCTL_MAGIC_NILFS, AUFSCTL_MAGIC_NFS, AUFSCTL_MAGIC_SMB, AUFSCTL_MAGIC_CIFS,
    AUFSCTL_MAGIC_EXT4, AUFSCTL_MAGIC_SQUASHFS, AUFSCTL_MAGIC_ISOFS, AUFSCTL_MAGIC_CRAMFS,
    AUFSCTL_MAGIC_ROMFS, AUFSCTL_MAGIC_AUFS, AUFSCTL_MAGIC_FUSE, AUFSCTL_MAGIC_TRACEFS,
    AUFSCTL_MAGIC_CGROUP, AUFSCTL_MAGIC_CGROUP2, AUFSCTL_MAGIC_DEVPTS, AUFSCTL_MAGIC_EROFS,
    AUFSCTL_MAGIC_F2FS, AUFSCTL_MAGIC_CEPH, AUFSCTL_MAGIC_9P;

/// prctl(PR_SET_NAME): prctl is variadic, so Swift cannot call it.
int aufsctl_set_thread_name(const char *name);

/// The new mount API through syscall(2): glibc wraps it only from 2.36, and the binary is linked
/// against glibc 2.31 so that it runs on Debian 11 and Ubuntu 20.04. Each returns what the system
/// call returns (-1 with errno set; ENOSYS on kernels before 5.2).
int aufsctl_fsopen(const char *fstype, unsigned int flags);
int aufsctl_fsconfig_string(int fd, const char *key, const char *value);
int aufsctl_fsconfig_create(int fd);
int aufsctl_fsmount(int fd, int read_only);
int aufsctl_move_mount_to(int mnt, const char *target);
extern const unsigned int AUFSCTL_FSOPEN_CLOEXEC;
/// fsconfig(FSCONFIG_SET_FD): a layer given as an open directory (overlayfs >= 6.13 takes
/// lowerdir+, upperdir and workdir so and shows the directory's real path).
int aufsctl_fsconfig_fd(int fd, const char *key, int value_fd);
/// move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH): onto the
/// directory the fd names, never re-resolving a path.
int aufsctl_move_mount_to_fd(int mnt, int target_fd);

/// statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (name empty: AT_EMPTY_PATH), STATX_MNT_ID): the id of
/// the mount `name` is on (mountinfo's first field); 0 with the id, -1 with errno (EINVAL or no
/// STATX_MNT_ID in the answer before 5.8, then -1 with errno ENOSYS).
int aufsctl_statx_mnt_id(int dirfd, const char *name, uint64_t *mnt_id);
/// open(2)'s O_PATH (glibc declares it only with _GNU_SOURCE).
extern const int AUFSCTL_O_PATH;
/// Raises RLIMIT_NOFILE's soft limit to at least `want` (at most the hard limit): each branch is held
/// open as an fd until the mount is made. Returns the soft limit now.
unsigned long aufsctl_raise_nofile(unsigned long want);
/// umount2's UMOUNT_NOFOLLOW (not in every libc's headers).
extern const int AUFSCTL_UMOUNT_NOFOLLOW;

/// gnu_get_libc_version(): the glibc this process runs with.
const char *aufsctl_libc_version(void);

/// setns(fd, CLONE_NEWNS) through syscall(2): 0, or -1 with errno.
int aufsctl_setns_mnt(int fd);

/// mallopt(3) is declared in <malloc.h>, which Glibc does not hand to Swift: one arena and a fixed
/// mmap threshold (bytes) for a short-lived process.
void aufsctl_malloc_tune(int mmap_threshold);

/// getdents64(2) through syscall(2) (glibc's wrapper is hidden behind _GNU_SOURCE): the bytes of
/// linux_dirent64 records written to buf, 0 at the end, or -1 with errno.
long aufsctl_getdents64(int fd, void *buf, unsigned long count);

/// keyctl(KEYCTL_READ) through syscall(2) (no libkeyutils): a keyring's key serials, 4 bytes each,
/// written to buf; returns the size the whole list needs, or -1 with errno.
long aufsctl_keyctl_read(int32_t keyring, void *buf, unsigned long len);
/// Loop devices (loop.c): each returns 0 (or a loop number) on success, -errno on failure.
typedef struct {
    uint64_t backing_device;
    uint64_t backing_inode;
    uint32_t flags;
    uint64_t offset;
    uint64_t size_limit;
    char file_name[64];
} aufsctl_loop_info_t;

/// LOOP_CTL_GET_FREE on /dev/loop-control: a free loop device's number (created if needed).
int aufsctl_loop_get_free(void);
/// LOOP_CONFIGURE (5.8+): binds image_fd read-only, auto-clearing, with direct I/O when asked.
int aufsctl_loop_configure(int loop_fd, int image_fd, int direct_io, const char *name);
/// Before 5.8: LOOP_SET_FD (read-only when image_fd was opened O_RDONLY), then LOOP_SET_STATUS64
/// for auto-clear and the name; unbinds again when the second call fails.
int aufsctl_loop_set_fd(int loop_fd, int image_fd, const char *name);
int aufsctl_loop_set_direct_io(int loop_fd, int on);
int aufsctl_loop_get_info(int loop_fd, aufsctl_loop_info_t *out);
int aufsctl_loop_clear(int loop_fd);
/// fgetxattr(2) (<sys/xattr.h> is not in Glibc's module): the value's length, or -errno.
long aufsctl_fgetxattr(int fd, const char *name, void *value, unsigned long size);
extern const unsigned int AUFSCTL_LO_FLAGS_READ_ONLY, AUFSCTL_LO_FLAGS_AUTOCLEAR, AUFSCTL_LO_FLAGS_DIRECT_IO;
/// setvbuf(stdout, NULL, _IOLBF, 0): Swift 6 cannot name C's `stdout` (shared mutable state).
void aufsctl_stdout_line_buffered(void);

#endif
