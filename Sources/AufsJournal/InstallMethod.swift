// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

/// The ways aufs can be installed.
public enum InstallMethod: String, Sendable, Codable, CaseIterable {
    case kernelMLAufs = "kernel-ml-aufs"
    case dkms
    case ubuntuExtra = "ubuntu-extra"
}
