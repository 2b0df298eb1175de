// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// libmount's API; the functions aufsctl calls are defined in mount.c (loaded at first use).
#include <libmount/libmount.h>
