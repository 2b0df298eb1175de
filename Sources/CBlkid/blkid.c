// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// The libblkid functions AufsKit calls, loaded with dlopen at first use (see CLibLoad.h). A function
// AufsKit starts to call must be added here, else the link fails.
#include "CBlkid.h"
#include <CLibLoad.h>

static struct aufsctl_lib libblkid = {"libblkid.so.1", "libblkid1 (Debian, Ubuntu) or libblkid (RHEL)", 0};

AUFSCTL_LIB_CALL(libblkid, int, blkid_get_library_version, (const char **ver_string, const char **date_string),
                 (ver_string, date_string))
AUFSCTL_LIB_CALL(libblkid, char *, blkid_devno_to_devname, (dev_t devno), (devno))
AUFSCTL_LIB_CALL(libblkid, blkid_probe, blkid_new_probe_from_filename, (const char *filename), (filename))
AUFSCTL_LIB_CALL(libblkid, void, blkid_free_probe, (blkid_probe pr), (pr))
AUFSCTL_LIB_CALL(libblkid, int, blkid_do_safeprobe, (blkid_probe pr), (pr))
AUFSCTL_LIB_CALL(libblkid, int, blkid_probe_lookup_value, (blkid_probe pr, const char *name, const char **data, size_t *len),
                 (pr, name, data, len))
AUFSCTL_LIB_CALL(libblkid, blkid_probe, blkid_new_probe, (void), ())
AUFSCTL_LIB_CALL(libblkid, int, blkid_probe_set_device, (blkid_probe pr, int fd, blkid_loff_t off, blkid_loff_t size),
                 (pr, fd, off, size))
AUFSCTL_LIB_CALL(libblkid, blkid_loff_t, blkid_probe_get_size, (blkid_probe pr), (pr))
