// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// How aufsctl reads and lists files under /sys/fs/aufs (tests record what is read).
public protocol SysfsFiles: Sendable {
    func read(_ path: String) -> Result<[UInt8], SysErrno>
    /// Names in a directory; nil when it cannot be listed.
    func list(_ path: String) -> [String]?
    /// stat(2) of a directory: kernfs answers it without calling aufs's show function.
    func exists(_ path: String) -> Bool
}

public struct RealSysfsFiles: SysfsFiles {
    public init() {}
    public func read(_ path: String) -> Result<[UInt8], SysErrno> { FileRead.bytes(path, limit: 65536) }
    public func list(_ path: String) -> [String]? { FileRead.list(path) }
    public func exists(_ path: String) -> Bool { FileRead.exists(path) }
}

/// One aufs union's entries under `/sys/fs/aufs/si_<id>` (module parameter brs=1, aufs's default):
/// `br<N>` (`path=perm`, paths escaped like mountinfo's), `brid<N>`, `xi_path`. Read only what a
/// command needs, under the union's lock (UnionLocks): aufs's sysaufs_si_show crashes on a union
/// that is being torn down.
public struct AufsSysfs: Sendable {
    public var root: HostRoot
    public var files: any SysfsFiles
    /// aufs answers EBUSY while a remount holds the union (its show function only trylocks).
    public var busyRetries = 10

    public init(root: HostRoot = HostRoot(), files: any SysfsFiles = RealSysfsFiles()) {
        self.root = root
        self.files = files
    }

    public static func directory(_ si: String) -> String { "/sys/fs/aufs/si_" + si }

    /// Whether the union's directory exists (gone once the kernel dropped its superblock).
    public func hasUnion(_ si: String) -> Bool { files.exists(root.resolve(AufsSysfs.directory(si))) }

    public enum Failure: Error, Equatable {
        /// No si_<id> directory: the union is gone (or this kernel shows none: brs=0, no sysfs).
        case absent
        case unreadable(String)
    }

    /// `br0`, `br1`, ... in order, each `path=perm`.
    public func branches(_ si: String) -> Result<[String], Failure> {
        let dir = root.resolve(AufsSysfs.directory(si))
        var lastError = ""
        for _ in 0..<3 {
            guard let names = files.list(dir) else { return .failure(.absent) }
            let indices = names.compactMap { n -> Int? in
                n.hasPrefix("br") && !n.hasPrefix("brid") ? Int(n.dropFirst(2)) : nil
            }.sorted()
            var out: [String] = []
            var retry = false
            for i in indices {
                switch value(dir, si: si, name: "br\(i)") {
                case .success(let v): out.append(v)
                case .failure(let e) where e.code == ENOENT:
                    // A remount by something other than aufsctl renumbered the branches: list again.
                    lastError = "br\(i): \(e)"
                    retry = true
                case .failure(let e): return .failure(.unreadable("\(dir)/br\(i): \(e)"))
                }
                if retry { break }
            }
            if !retry { return .success(out) }
        }
        return .failure(.unreadable("\(dir): the branch list kept changing while it was read (\(lastError))"))
    }

    /// `xi_path`: the xino file, nil with noxino.
    public func xinoPath(_ si: String) -> Result<String?, Failure> {
        let dir = root.resolve(AufsSysfs.directory(si))
        switch value(dir, si: si, name: "xi_path") {
        case .success(let v): return .success(v.isEmpty ? nil : v)
        case .failure(let e) where e.code == ENOENT:
            return .failure(files.exists(dir) ? .unreadable("\(dir)/xi_path: \(e)") : .absent)
        case .failure(let e): return .failure(.unreadable("\(dir)/xi_path: \(e)"))
        }
    }

    /// One file's text without its newline, escapes undone; EBUSY retried.
    func value(_ dir: String, si: String, name: String) -> Result<String, SysErrno> {
        var attempt = 0
        while true {
            Trace.event("sysfs-read si_\(si)/\(name)")
            switch files.read(dir + "/" + name) {
            case .success(var bytes):
                while let last = bytes.last, last == UInt8(ascii: "\n") { bytes.removeLast() }
                return .success(MountTable.unmangle(bytes[...]))
            case .failure(let e) where e.code == EBUSY && attempt < busyRetries:
                attempt += 1
                usleep(20_000)
            case .failure(let e):
                return .failure(e)
            }
        }
    }
}
