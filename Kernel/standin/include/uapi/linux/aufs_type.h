/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * aufs_type.h of the aufsctl TEST STAND-IN module.
 * This is not aufs: it registers a filesystem type named "aufs" that keeps
 * and shows its mount options and unions nothing. See README.md.
 */
#ifndef __AUFS_TYPE_H__
#define __AUFS_TYPE_H__

#define AUFS_NAME		"aufs"
#define AUFS_VERSION		"0.0-standin"

/* same value as real aufs ("aufs" in ASCII) */
#define AUFS_SUPER_MAGIC	((unsigned long)0x61756673)

#endif /* __AUFS_TYPE_H__ */
