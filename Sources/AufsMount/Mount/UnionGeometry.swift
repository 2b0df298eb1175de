// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// What the kernel accepts but breaks users, checked against the live unions before a mount:
/// a writable branch shared with another union, a mount point inside one of its own branches
/// (refused unless --force), the "union over itself" idiom (a note), a branch the union will hide
/// (a warning). Pure: the live unions come from `LiveUnions`.
public enum UnionGeometry {
    public struct Findings: Sendable, Equatable {
        public var refusals: [String] = []
        public var warnings: [String] = []
        public var notes: [String] = []
    }

    /// `target` and every branch path canonical (symlinks resolved).
    public static func check(target: String, branches: [Branch], live: [UnionMount]) -> Findings {
        var f = Findings()
        for b in branches where b.permission.writable {
            for u in live where u.target != target {
                guard let other = u.branches.first(where: { pathOf($0) == b.path }), permOf(other).hasPrefix("rw")
                else { continue }
                f.refusals.append(
                    "\(b.path) is already the writable branch of the \(u.filesystem) union on \(u.target); "
                        + "aufs's manual: \"A branch should not be shared as the writable branch between multiple "
                        + "aufs. A readonly branch can be shared.\" "
                        + "Give this union its own writable branch (or mount \(b.path) =ro here), or pass --force")
            }
        }
        if branches.contains(where: { $0.permission.writable }) {
            for u in live where u.target != target && u.filesystem == .aufs && u.branchesNote != nil {
                f.warnings.append(
                    "the branches of the aufs union on \(u.target) could not be read (\(u.branchesNote!)); whether "
                        + "it shares this union's writable branch was not checked")
            }
        }
        for (i, b) in branches.enumerated() {
            if target.hasPrefix(b.path + "/") || (b.path == "/" && target != "/") {
                f.refusals.append(
                    "the mount point \(target) is inside the branch \(b.path): the union would contain itself "
                        + "(its root lists the directory its mount covers, its content shows up a second time under "
                        + "\(b.path), "
                        + "and a backup or search of \(b.path) that crosses mounts copies it twice); mount it outside "
                        + "its branches, or pass --force"
                )
            } else if target == b.path {
                f.notes.append(
                    "union over itself: the mount point \(target) is also branch \(i) (\(b.permission)); "
                        + "after the mount the directory's own content is reachable only through the union")
            } else if b.path.hasPrefix(target == "/" ? "/" : target + "/") {
                f.warnings.append(
                    "branch \(b.path) is inside the mount point \(target): after the mount it is hidden under the "
                        + "union "
                        + "(\(b.path) then shows the union, not the branch)")
            }
        }
        return f
    }

    static func pathOf(_ spec: String) -> String {
        guard let eq = spec.lastIndex(of: "=") else { return spec }
        return String(spec[..<eq])
    }

    static func permOf(_ spec: String) -> String {
        guard let eq = spec.lastIndex(of: "=") else { return "" }
        return String(spec[spec.index(after: eq)...])
    }
}
