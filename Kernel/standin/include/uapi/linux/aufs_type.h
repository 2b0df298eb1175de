/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * aufs_type.h of the aufsctl TEST STAND-IN module.
 * This is not aufs: it registers a filesystem type named "aufs" that keeps a
 * branch list and shows it where aufs does, and unions nothing. See README.md.
 */
#ifndef __AUFS_TYPE_H__
#define __AUFS_TYPE_H__

#define AUFS_NAME		"aufs"
#define AUFS_VERSION		"0.0-standin"

/* the default xino file's name, and where it goes without a writable branch */
#define AUFS_XINO_FNAME		"." AUFS_NAME ".xino"
#define AUFS_XINO_DEFPATH	"/tmp/" AUFS_XINO_FNAME

/* same value as real aufs ("aufs" in ASCII) */
#define AUFS_SUPER_MAGIC	((unsigned long)0x61756673)

#endif /* __AUFS_TYPE_H__ */
