// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The directory under which every host file is read or written (`--root`, default `/`),
/// so a fixture tree drives the real parsing code in tests.
public struct HostRoot: Sendable, Equatable {
    public let path: String

    public init(_ path: String = "/") {
        var p = path.isEmpty ? "/" : path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    public var isHost: Bool { path == "/" }

    /// Checks that the root exists and is a directory.
    public static func validated(_ path: String) throws -> HostRoot {
        var st = stat()
        if stat(path, &st) != 0 {
            throw AufsError.usage(
                "--root \(path): \(SysErrno.describe(errno)); expected an existing directory holding a host tree "
                    + "(/etc, /proc, /lib/modules)"
            )
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            throw AufsError.usage("--root \(path): not a directory; expected a directory holding a host tree")
        }
        return HostRoot(Paths.absolute(path))
    }

    /// argv run inside the root: as is for `/`, through `chroot ROOT` otherwise.
    public func command(_ argv: [String]) -> [String] {
        isHost ? argv : ["chroot", path] + argv
    }

    /// `abs` under the root with the symlinks of every component but the last `keep` resolved (as
    /// `resolve` does), those kept as named: for aufsctl's own directories and files
    /// (`/var/lib/aufsctl/state.json`, `/run/aufsctl/install.lock`), whose checks (lstat,
    /// O_NOFOLLOW) must see a symlink planted there rather than what it points to.
    public func resolve(_ abs: String, keepingLast keep: Int) -> String {
        if isHost { return abs }
        let parts = Paths.normalize(abs).split(separator: "/").map(String.init)
        let head = "/" + parts.dropLast(keep).joined(separator: "/")
        return ([resolve(head)] + parts.suffix(keep)).joined(separator: "/").replacingDoubleSlashes
    }

    /// `abs` (an absolute host path such as `/etc/os-release`) resolved under the root the way
    /// chroot would: symlinks are followed inside the tree, and an absolute link target (Debian's
    /// `build -> /usr/src/linux-headers-...`) starts again at the root, never at the host's `/`.
    public func resolve(_ abs: String) -> String {
        if isHost { return abs }
        var pending = abs.split(separator: "/").map(String.init).reversed() as [String]
        var resolved: [String] = []
        var links = 0
        while let c = pending.popLast() {
            if c == "." || c.isEmpty { continue }
            if c == ".." { if !resolved.isEmpty { resolved.removeLast() }; continue }
            let candidate = path + "/" + (resolved + [c]).joined(separator: "/")
            guard let target = FileRead.readLink(candidate) else {
                resolved.append(c)
                continue
            }
            links += 1
            if links > 40 { resolved.append(c); continue }  // a loop: leave it for open() to report ELOOP
            if target.hasPrefix("/") { resolved = [] }
            pending += target.split(separator: "/").map(String.init).reversed()
        }
        return path + "/" + resolved.joined(separator: "/")
    }
}

extension String {
    fileprivate var replacingDoubleSlashes: String {
        var out = ""
        for c in self where !(c == "/" && out.hasSuffix("/")) { out.append(c) }
        return out
    }
}
