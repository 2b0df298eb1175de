// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// libkmod's API; the functions aufsctl calls are defined in kmod.c (loaded at first use).
#include <libkmod.h>
