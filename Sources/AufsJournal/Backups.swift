// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem
import Glibc

/// Copies of files taken before aufsctl changes them: `/var/lib/aufsctl/backups/<path with / as _>.N`
/// (root's alone, 0700; each copy 0600), the first free N. The emitted sh scripts make the same.
/// Old copies are pruned: per file the newest `keep` stay, and every copy a record's undo needs.
public struct Backups {
    public static let directory = "/var/lib/aufsctl/backups"
    /// Copies kept per file beyond those an undo needs.
    public static let keep = 5

    public var root: HostRoot
    public var fs: any HostFileSystem

    public init(root: HostRoot, fs: any HostFileSystem = LocalFileSystem()) {
        self.root = root
        self.fs = fs
    }

    /// The backups' flat name for a path: `/etc/default/grub` -> `etc_default_grub`.
    public static func flatName(_ abs: String) -> String { abs.split(separator: "/").joined(separator: "_") }

    /// Copies `abs` into the backup directory; returns the copy's path (as the root sees it).
    public func copy(_ abs: String) throws -> String {
        let dir = root.resolve(Backups.directory, keepingLast: 2)
        try fs.makeDirectories(Paths.dirname(Paths.dirname(dir)))
        try RuntimeDir.ensurePrivate(Paths.dirname(dir), what: "backups")
        try RuntimeDir.ensurePrivate(dir, what: "backups")
        let flat = Backups.flatName(abs)
        var n = 0
        while fs.exists("\(dir)/\(flat).\(n)") { n += 1 }
        switch fs.read(root.resolve(abs)) {
        case .success(let b): try fs.write("\(dir)/\(flat).\(n)", b, mode: 0o600)
        case .failure(let e): throw AufsError("cannot back up \(abs): \(e)")
        }
        return "\(Backups.directory)/\(flat).\(n)"
    }

    /// Removes all but the newest `keep` copies of each file, sparing those `needed` names (the
    /// backups the state file's undo actions restore from); returns the removed paths.
    @discardableResult
    public func prune(needed: Set<String>, keep: Int = Backups.keep) -> [String] {
        let dir = root.resolve(Backups.directory, keepingLast: 2)
        var byFile: [String: [(n: Int, name: String)]] = [:]
        for name in FileRead.list(dir) ?? [] {
            guard let dot = name.lastIndex(of: "."), let n = Int(name[name.index(after: dot)...]) else { continue }
            byFile[String(name[..<dot]), default: []].append((n, name))
        }
        var removed: [String] = []
        for (_, copies) in byFile.sorted(by: { $0.key < $1.key }) {
            for old in copies.sorted(by: { $0.n > $1.n }).dropFirst(keep) {
                let abs = Backups.directory + "/" + old.name
                if needed.contains(abs) { continue }
                if unlink(dir + "/" + old.name) == 0 { removed.append(abs) }
            }
        }
        return removed
    }
}
