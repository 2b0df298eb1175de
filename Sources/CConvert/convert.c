// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
#define _GNU_SOURCE
#include "CConvert.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif

const int CV_XATTR_CREATE = XATTR_CREATE, CV_XATTR_REPLACE = XATTR_REPLACE;
const unsigned int CV_RENAME_EXCHANGE = RENAME_EXCHANGE, CV_RENAME_NOREPLACE = RENAME_NOREPLACE;
const int CV_SEEK_DATA = SEEK_DATA, CV_SEEK_HOLE = SEEK_HOLE;

ssize_t cv_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }
ssize_t cv_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}
int cv_lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
    return lsetxattr(path, name, value, size, flags);
}
int cv_lremovexattr(const char *path, const char *name) { return lremovexattr(path, name); }
ssize_t cv_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }
ssize_t cv_fgetxattr(int fd, const char *name, void *value, size_t size) { return fgetxattr(fd, name, value, size); }
int cv_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags) {
    return fsetxattr(fd, name, value, size, flags);
}
int cv_fremovexattr(int fd, const char *name) { return fremovexattr(fd, name); }

int cv_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

int cv_ficlone(int dst, int src) { return ioctl(dst, FICLONE, src); }

ssize_t cv_copy_file_range(int in, int64_t *off_in, int out, int64_t *off_out, size_t len) {
    loff_t a = *off_in, b = *off_out;
    ssize_t n = syscall(SYS_copy_file_range, in, &a, out, &b, len, 0);
    if (n > 0) { *off_in = a; *off_out = b; }
    return n;
}

int cv_syncfs(int fd) { return syncfs(fd); }

uint64_t cv_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
