// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The aufs trees dkms builds from, checked for what root must not build: a file another user
/// owns or may write (an older aufsctl's `cp -a` kept the source owner's).
enum DKMSTrees {
    /// `/usr/src/aufs-V: why` for each registered version (/var/lib/dkms/aufs/V) whose tree is not
    /// root's alone; nil when all are.
    static func unsafe(root: HostRoot, limit: Int = 20000) -> [String]? {
        let versions = (FileRead.list(root.resolve("/var/lib/dkms/aufs")) ?? []).filter {
            FileRead.isDirectory(root.resolve("/var/lib/dkms/aufs/" + $0)) && !$0.hasPrefix(".")
        }
        let found = versions.compactMap { v -> String? in
            let tree = "/usr/src/aufs-\(v)"
            return problem(root.resolve(tree), shown: tree, budget: limit).map { "\(tree): \($0)" }
        }
        return found.isEmpty ? nil : found
    }

    /// The first entry (in name order) not owned by root or writable by group/others, as `PATH why`.
    static func problem(_ path: String, shown: String, budget: Int) -> String? {
        var left = budget
        func walk(_ p: String, _ s: String) -> String? {
            left -= 1
            guard left > 0 else { return nil }
            var st = stat()
            guard lstat(p, &st) == 0 else { return nil }
            if st.st_uid != 0 { return "\(s) belongs to uid \(st.st_uid)" }
            if st.st_mode & S_IFMT != S_IFLNK && st.st_mode & 0o022 != 0 {
                return "\(s) is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))"
            }
            guard st.st_mode & S_IFMT == S_IFDIR else { return nil }
            for n in FileRead.list(p) ?? [] { if let w = walk(p + "/" + n, s + "/" + n) { return w } }
            return nil
        }
        return walk(path, shown)
    }
}
