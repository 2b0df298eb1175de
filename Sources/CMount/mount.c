// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// The libmount functions the tests call (MountTableTests: libmount is the reference for aufsctl's own
// mountinfo parser), loaded with dlopen at first use (see CLibLoad.h). A function the tests start
// to call must be added here, else the link fails.
#include "CMount.h"
#include <CLibLoad.h>

static struct aufsctl_lib libmount = {"libmount.so.1", "libmount1 (Debian, Ubuntu) or libmount (RHEL)", 0};

AUFSCTL_LIB_CALL(libmount, int, mnt_get_library_version, (const char **ver_string), (ver_string))
AUFSCTL_LIB_CALL(libmount, struct libmnt_table *, mnt_new_table_from_file, (const char *filename), (filename))
AUFSCTL_LIB_CALL(libmount, void, mnt_unref_table, (struct libmnt_table *tb), (tb))
AUFSCTL_LIB_CALL(libmount, int, mnt_table_next_fs, (struct libmnt_table *tb, struct libmnt_iter *itr, struct libmnt_fs **fs),
                 (tb, itr, fs))
AUFSCTL_LIB_CALL(libmount, struct libmnt_iter *, mnt_new_iter, (int direction), (direction))
AUFSCTL_LIB_CALL(libmount, void, mnt_free_iter, (struct libmnt_iter *itr), (itr))
AUFSCTL_LIB_CALL(libmount, const char *, mnt_fs_get_source, (struct libmnt_fs *fs), (fs))
AUFSCTL_LIB_CALL(libmount, const char *, mnt_fs_get_target, (struct libmnt_fs *fs), (fs))
AUFSCTL_LIB_CALL(libmount, const char *, mnt_fs_get_fstype, (struct libmnt_fs *fs), (fs))
AUFSCTL_LIB_CALL(libmount, const char *, mnt_fs_get_fs_options, (struct libmnt_fs *fs), (fs))
AUFSCTL_LIB_CALL(libmount, const char *, mnt_fs_get_vfs_options, (struct libmnt_fs *fs), (fs))
AUFSCTL_LIB_CALL(libmount, int, mnt_fs_get_id, (struct libmnt_fs *fs), (fs))
AUFSCTL_LIB_CALL(libmount, int, mnt_fs_get_parent_id, (struct libmnt_fs *fs), (fs))
