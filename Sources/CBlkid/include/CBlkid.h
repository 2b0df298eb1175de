// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// libblkid's API; the functions aufsctl calls are defined in blkid.c (loaded at first use).
#include <blkid/blkid.h>
