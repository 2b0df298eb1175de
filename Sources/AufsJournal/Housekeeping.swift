// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

/// What a run tidies before and after it changes a host: temporary files a killed aufsctl (or an
/// emitted script) left beside the files it writes, and backups beyond the newest few per file.
public enum Housekeeping {
    /// The directories aufsctl writes files into (atomically, through `.NAME.aufsctl-XXXXXX`).
    public static let directories = [
        "/etc", "/etc/default", "/etc/sysconfig", "/etc/yum.repos.d", "/etc/modules-load.d", "/etc/systemd/system",
        "/etc/systemd/system/local-fs.target.wants", "/boot/grub2", "/boot/efi/EFI/centos", "/var/lib/aufsctl",
        Backups.directory,
    ]

    /// Removes stale temporary files (callers hold the install lock); returns how many.
    @discardableResult
    public static func removeStaleTemporaries(root: HostRoot) -> Int {
        var dirs = directories
        // dkms.conf is written into each /usr/src/aufs-V.
        for name in FileRead.list(root.resolve("/usr/src")) ?? [] where name.hasPrefix("aufs-") {
            dirs.append("/usr/src/" + name)
        }
        return dirs.reduce(0) { $0 + AtomicFile.removeStaleTemporaries(in: root.resolve($1)) }
    }

    /// Prunes backups no undo in `state` restores from, keeping the newest `Backups.keep` per file.
    @discardableResult
    public static func pruneBackups(root: HostRoot, state: InstallState) -> [String] {
        let undos = state.installs.flatMap { $0.steps.flatMap(\.undo) } + (state.unions ?? []).flatMap(\.undo)
        let needed = Set(
            undos.compactMap { u -> String? in if case .restoreFile(_, let b) = u { return b } else { return nil } })
        return Backups(root: root).prune(needed: needed)
    }
}
