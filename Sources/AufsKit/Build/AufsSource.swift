// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Where the dkms method's aufs source comes from: a checkout on this host, or a repository
/// to clone (https or http only; decided once, when the option is parsed).
public enum AufsSource: Sendable, Equatable {
    case directory(String)
    case repository(url: String)

    /// The checkout's absolute path, for `.directory`.
    public var directory: String? {
        if case .directory(let d) = self { return Paths.absolute(d) }
        return nil
    }
}

/// `--source-ref`: an aufs-standalone branch, or a full commit id to build instead of a head.
public enum SourceRef: Sendable, Equatable {
    case branch(String)
    case commit(String)

    public var branch: String? {
        if case .branch(let b) = self { return b }
        return nil
    }
    public var commit: String? {
        if case .commit(let c) = self { return c }
        return nil
    }
}
