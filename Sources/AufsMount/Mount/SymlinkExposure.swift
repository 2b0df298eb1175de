// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A symlink on a typed path that another user can replace. realpath follows the symlinks a path
/// names (a symlink root typed must keep working), so whoever can replace one chooses what the
/// path names at the moment aufsctl resolves it: before any check, where no fd can help (issue 21:
/// the race suite's attacker swapped an upper dir for a link to root's directory just before the
/// resolution, 1 round in 300). Such a path is refused; its canonical form is the way out.
public enum SymlinkExposure {
    /// The first symlink on `abs` (absolute) whose entry a user other than root can replace: its
    /// directory is writable by such a user (owner, group or others) and not sticky, or sticky with
    /// the link or the directory not root's. Nil when there is none (or the walk cannot tell).
    public static func foreignLink(on abs: String, _ syscalls: any Syscalls) -> String? {
        var pending = abs.split(separator: "/").map(String.init)
        var current = "/"
        var hops = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name.isEmpty || name == "." { continue }
            if name == ".." {
                current = Paths.dirname(current)
                continue
            }
            let next = Paths.join(current, name)
            guard case .success(let st) = syscalls.fileStatus(next, followSymlinks: false) else { return nil }
            guard st.mode & UInt32(S_IFMT) == UInt32(S_IFLNK) else {
                current = next
                continue
            }
            hops += 1
            guard hops <= 40, let target = FileRead.readLink(next),
                case .success(let dir) = syscalls.fileStatus(current, followSymlinks: true)
            else { return nil }
            if let who = replacers(of: st, in: dir) {
                return "\(next) is a symlink (to \(target)) in \(current), which \(who) can change, so that user "
                    + "chooses what the path names when aufsctl resolves it"
            }
            let rest = target.split(separator: "/").map(String.init)
            if target.hasPrefix("/") { current = "/" }
            pending = rest + pending
        }
        return nil
    }

    /// Who other than root can replace an entry owned by `link.uid` in a directory with `dir`'s
    /// owner and mode; nil for nobody.
    public static func replacers(of link: FileStatus, in dir: FileStatus) -> String? {
        var writers: [String] = []
        if dir.uid != 0 && dir.mode & UInt32(S_IWUSR) != 0 { writers.append("uid \(dir.uid)") }
        if dir.gid != 0 && dir.mode & UInt32(S_IWGRP) != 0 { writers.append("group \(dir.gid)") }
        if dir.mode & UInt32(S_IWOTH) != 0 { writers.append("every user") }
        guard !writers.isEmpty else { return nil }
        let sticky = dir.mode & UInt32(S_ISVTX) != 0
        // In a sticky directory only the entry's owner and the directory's owner may replace it.
        if sticky && link.uid == 0 && dir.uid == 0 { return nil }
        if sticky { return link.uid != 0 ? "uid \(link.uid) (the link's owner)" : "uid \(dir.uid)" }
        return writers.joined(separator: " and ")
    }
}
