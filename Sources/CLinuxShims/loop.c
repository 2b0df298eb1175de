// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// Loop devices for image layers: ioctl(2) is variadic, so Swift cannot call it; each function
// returns 0 (or a value >= 0) on success and -errno on failure.
#include "CLinuxShims.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
#endif

int aufsctl_loop_get_free(void) {
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0) return -errno;
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    int e = errno;
    close(ctl);
    return n < 0 ? -e : n;
}

static void set_name(unsigned char *dst, const char *name) {
    memset(dst, 0, LO_NAME_SIZE);
    if (name) strncpy((char *)dst, name, LO_NAME_SIZE - 1);
}

int aufsctl_loop_configure(int loop_fd, int image_fd, int direct_io, const char *name) {
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = (unsigned int)image_fd;
    cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | (direct_io ? LO_FLAGS_DIRECT_IO : 0);
    set_name(cfg.info.lo_file_name, name);
    return ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0 ? 0 : -errno;
}

int aufsctl_loop_set_fd(int loop_fd, int image_fd, const char *name) {
    if (ioctl(loop_fd, LOOP_SET_FD, image_fd) != 0) return -errno;
    struct loop_info64 info;
    memset(&info, 0, sizeof info);
    info.lo_flags = LO_FLAGS_AUTOCLEAR;
    set_name(info.lo_file_name, name);
    if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
        int e = errno;
        ioctl(loop_fd, LOOP_CLR_FD, 0);
        return -e;
    }
    return 0;
}

int aufsctl_loop_set_direct_io(int loop_fd, int on) {
    return ioctl(loop_fd, LOOP_SET_DIRECT_IO, (unsigned long)(on ? 1 : 0)) == 0 ? 0 : -errno;
}

int aufsctl_loop_get_info(int loop_fd, aufsctl_loop_info_t *out) {
    struct loop_info64 info;
    memset(&info, 0, sizeof info);
    if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) != 0) return -errno;
    out->backing_device = info.lo_device;
    out->backing_inode = info.lo_inode;
    out->flags = info.lo_flags;
    out->offset = info.lo_offset;
    out->size_limit = info.lo_sizelimit;
    memcpy(out->file_name, info.lo_file_name, sizeof out->file_name);
    out->file_name[sizeof out->file_name - 1] = 0;
    return 0;
}

int aufsctl_loop_clear(int loop_fd) { return ioctl(loop_fd, LOOP_CLR_FD, 0) == 0 ? 0 : -errno; }

const unsigned int AUFSCTL_LO_FLAGS_READ_ONLY = LO_FLAGS_READ_ONLY;
const unsigned int AUFSCTL_LO_FLAGS_AUTOCLEAR = LO_FLAGS_AUTOCLEAR;
const unsigned int AUFSCTL_LO_FLAGS_DIRECT_IO = LO_FLAGS_DIRECT_IO;

#include <sys/xattr.h>
long aufsctl_fgetxattr(int fd, const char *name, void *value, unsigned long size) {
    long n = fgetxattr(fd, name, value, size);
    return n < 0 ? -errno : n;
}
