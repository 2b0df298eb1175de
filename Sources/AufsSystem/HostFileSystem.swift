// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import Glibc

/// The host's files as the install wing reads and changes them (install's actions, persist, the
/// backups). Like SwiftPM's FileSystem: every change a conforming type does not implement throws
/// "unsupported", so a test's file system that forgets one fails loudly instead of touching the
/// disk; the real one, LocalFileSystem, implements each call explicitly.
public protocol HostFileSystem: Sendable {
    func read(_ path: String) -> Result<[UInt8], SysErrno>
    func exists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    /// Names in a directory, sorted; nil when it cannot be read.
    func list(_ path: String) -> [String]?
    /// The target of a symlink (never followed), or nil.
    func readLink(_ path: String) -> String?

    /// Replaces `path` atomically (temporary file, fsync, rename); an existing file keeps its mode.
    func write(_ path: String, _ bytes: [UInt8], mode: UInt32) throws
    /// mkdir -p.
    func makeDirectories(_ path: String) throws
    /// Removes a file or a symlink itself; a missing one is no error.
    func remove(_ path: String) throws
    func symlink(_ target: String, at path: String) throws
    func rename(_ from: String, to: String) throws
    /// rm -rf that never follows a symlink.
    func removeTree(_ path: String) throws
    /// rmdir: a directory that is missing or no longer empty stays, and that is no error.
    func removeEmptyDirectory(_ path: String) throws
    /// chmod of a file aufsctl wrote (a kernel hook must be executable).
    func setPermissions(_ path: String, _ mode: UInt32) throws
}

/// What a file system that does not implement a change throws.
public struct UnsupportedFileOperation: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var description: String { "\(operation) \(path): not supported by this file system" }
}

extension HostFileSystem {
    public func write(_ path: String, _ bytes: [UInt8], mode: UInt32) throws {
        throw UnsupportedFileOperation(operation: "write", path: path)
    }
    public func makeDirectories(_ path: String) throws {
        throw UnsupportedFileOperation(operation: "mkdir -p", path: path)
    }
    public func remove(_ path: String) throws { throw UnsupportedFileOperation(operation: "remove", path: path) }
    public func symlink(_ target: String, at path: String) throws {
        throw UnsupportedFileOperation(operation: "symlink", path: path)
    }
    public func rename(_ from: String, to: String) throws {
        throw UnsupportedFileOperation(operation: "rename to \(to)", path: from)
    }
    public func removeTree(_ path: String) throws { throw UnsupportedFileOperation(operation: "rm -rf", path: path) }
    public func removeEmptyDirectory(_ path: String) throws {
        throw UnsupportedFileOperation(operation: "rmdir", path: path)
    }

    public func setPermissions(_ path: String, _ mode: UInt32) throws {
        throw UnsupportedFileOperation(operation: "chmod", path: path)
    }

    // Conveniences over the requirements.
    public func string(_ path: String) -> String? {
        guard case .success(let b) = read(path) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }
    public func write(_ path: String, _ text: String, mode: UInt32 = 0o644) throws {
        try write(path, Array(text.utf8), mode: mode)
    }
}

/// The real file system, each call made explicitly (no defaults).
public struct LocalFileSystem: HostFileSystem {
    public init() {}

    public func read(_ path: String) -> Result<[UInt8], SysErrno> { FileRead.bytes(path) }
    public func exists(_ path: String) -> Bool { FileRead.exists(path) }
    public func isDirectory(_ path: String) -> Bool { FileRead.isDirectory(path) }
    public func list(_ path: String) -> [String]? { FileRead.list(path) }
    public func readLink(_ path: String) -> String? { FileRead.readLink(path) }

    public func write(_ path: String, _ bytes: [UInt8], mode: UInt32) throws {
        try AtomicFile.write(path, bytes, mode: mode_t(mode))
    }

    public func makeDirectories(_ path: String) throws { try AtomicFile.makeDirectories(path) }

    public func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw AufsError("cannot remove \(path): \(SysErrno(errno))") }
    }

    public func symlink(_ target: String, at path: String) throws {
        if Glibc.symlink(target, path) != 0 { throw AufsError("cannot link \(path) -> \(target): \(SysErrno(errno))") }
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw AufsError("cannot move \(from) to \(to): \(SysErrno(errno))") }
    }

    public func removeTree(_ path: String) throws { RecursiveRemove.remove(path) }

    public func removeEmptyDirectory(_ path: String) throws {
        if rmdir(path) != 0 && ![ENOENT, ENOTEMPTY, EEXIST].contains(errno) {
            throw AufsError("cannot remove \(path)/: \(SysErrno(errno))")
        }
    }

    public func setPermissions(_ path: String, _ mode: UInt32) throws {
        // fchmodat without following: the file aufsctl just wrote, never what a link points to.
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw AufsError("cannot chmod \(path): not a regular file")
        }
        if chmod(path, mode_t(mode)) != 0 { throw AufsError("cannot chmod \(path): \(SysErrno(errno))") }
    }
}
