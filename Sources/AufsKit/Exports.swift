// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
@_exported import AufsJournal
@_exported import AufsMount
@_exported import AufsSystem
