// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
#ifndef AUFSCTL_CCONVERT_H
#define AUFSCTL_CCONVERT_H
// What `aufsctl convert` needs and Glibc does not hand to Swift: the xattr calls (<sys/xattr.h>
// is not in Swift's Glibc module), renameat2 (wrapped by glibc only from 2.28, and the binary is
// linked against 2.31's headers without _GNU_SOURCE), FICLONE, copy_file_range, SEEK_DATA/SEEK_HOLE.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern const int CV_XATTR_CREATE, CV_XATTR_REPLACE;
extern const unsigned int CV_RENAME_EXCHANGE, CV_RENAME_NOREPLACE;
extern const int CV_SEEK_DATA, CV_SEEK_HOLE;

/// Each returns what the system call returns (-1 with errno set).
ssize_t cv_llistxattr(const char *path, char *list, size_t size);
ssize_t cv_lgetxattr(const char *path, const char *name, void *value, size_t size);
int cv_lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags);
int cv_lremovexattr(const char *path, const char *name);
ssize_t cv_flistxattr(int fd, char *list, size_t size);
ssize_t cv_fgetxattr(int fd, const char *name, void *value, size_t size);
int cv_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);
int cv_fremovexattr(int fd, const char *name);

/// renameat2(2) through syscall(2).
int cv_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
/// ioctl(dst, FICLONE, src): a reflink copy where the filesystem shares extents (btrfs, xfs).
int cv_ficlone(int dst, int src);
/// copy_file_range(2) at explicit offsets (in-kernel copy; a reflink on filesystems that can).
ssize_t cv_copy_file_range(int in, int64_t *off_in, int out, int64_t *off_out, size_t len);
/// syncfs(2): the staged tree on disk before the journal lets a commit rely on it.
int cv_syncfs(int fd);
/// makedev(3)
uint64_t cv_makedev(unsigned int major, unsigned int minor);

#endif
