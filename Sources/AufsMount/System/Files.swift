// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CZlib
import Glibc

/// Small file helpers over Glibc. Hand-written because FoundationEssentials' FileManager
/// reports errors as NSError without the errno we need to tell "missing" from "denied".
public enum FileRead {
    public enum Outcome: Sendable, Equatable {
        case ok(String)
        case missing
        case denied
        case failed(String)
    }

    /// Reads a whole file (regular, proc or sysfs) as UTF-8 (invalid bytes replaced).
    public static func text(_ path: String, limit: Int = 16 << 20) -> Outcome {
        switch bytes(path, limit: limit) {
        case .success(let b): return .ok(String(decoding: b, as: UTF8.self))
        case .failure(let e):
            switch e.code {
            case ENOENT, ENOTDIR: return .missing
            case EACCES, EPERM: return .denied
            default: return .failed(e.description)
            }
        }
    }

    public static func bytes(_ path: String, limit: Int = 16 << 20) -> Result<[UInt8], SysErrno> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(SysErrno(errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        // Uninitialized: a zero-filled 64 KB array cost each small /proc read a 64 KB memset.
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buf.deallocate() }
        while out.count < limit {
            let n = read(fd, buf.baseAddress, buf.count)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SysErrno(errno))
            }
            if n == 0 { break }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
        return .success(out)
    }

    public static func string(_ path: String) -> String? {
        if case .ok(let s) = text(path) { return s }
        return nil
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, sorted; nil when it cannot be read.
    public static func list(_ path: String) -> [String]? {
        guard let d = opendir(path) else { return nil }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// realpath(3), or nil (errno set).
    public static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// The target of a symlink, or nil.
    public static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buf, 4096)
        if n < 0 { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An errno value with its symbolic name (`ENODEV`) and text.
public struct SysErrno: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }

    public var name: String { SysErrno.names.first { $0.0 == code }?.1 ?? "E\(code)" }
    public var text: String { String(cString: strerror(code)) }
    public var description: String { "\(name) (\(text))" }

    public static func describe(_ code: Int32) -> String { SysErrno(code).description }

    // swift-system's SysErrno has no symbolic names; this table is the one hand-written piece.
    // Pairs, not a Dictionary: the first [Int32: String] in a process costs a scan of every
    // protocol conformance record in the binary (issue 14).
    static let names: [(Int32, String)] = [
        (EPERM, "EPERM"), (ENOENT, "ENOENT"), (ESRCH, "ESRCH"), (EINTR, "EINTR"), (EIO, "EIO"),
        (ENXIO, "ENXIO"), (E2BIG, "E2BIG"), (ENOEXEC, "ENOEXEC"), (EBADF, "EBADF"), (ECHILD, "ECHILD"),
        (EAGAIN, "EAGAIN"), (ENOMEM, "ENOMEM"), (EACCES, "EACCES"), (EFAULT, "EFAULT"), (ENOTBLK, "ENOTBLK"),
        (EBUSY, "EBUSY"), (EEXIST, "EEXIST"), (EXDEV, "EXDEV"), (ENODEV, "ENODEV"), (ENOTDIR, "ENOTDIR"),
        (EISDIR, "EISDIR"), (EINVAL, "EINVAL"), (ENFILE, "ENFILE"), (EMFILE, "EMFILE"), (ENOTTY, "ENOTTY"),
        (EFBIG, "EFBIG"), (ENOSPC, "ENOSPC"), (ESPIPE, "ESPIPE"), (EROFS, "EROFS"), (EMLINK, "EMLINK"),
        (EPIPE, "EPIPE"), (ERANGE, "ERANGE"), (ENAMETOOLONG, "ENAMETOOLONG"), (ENOSYS, "ENOSYS"),
        (ENOTEMPTY, "ENOTEMPTY"), (ELOOP, "ELOOP"), (ENOTSUP, "EOPNOTSUPP"), (ETIMEDOUT, "ETIMEDOUT"),
        (ESTALE, "ESTALE"), (ENOKEY, "ENOKEY"), (EKEYREJECTED, "EKEYREJECTED"), (ENOPKG, "ENOPKG"),
    ]
}

public enum Paths {
    /// Makes `p` absolute against the current directory and removes `.`/`..`/duplicate slashes
    /// lexically (no symlink resolution).
    public static func absolute(_ p: String) -> String {
        var base = p
        if !p.hasPrefix("/") {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let cwd = getcwd(&buf, buf.count).map { String(cString: $0) } ?? "/"
            base = cwd + "/" + p
        }
        return normalize(base)
    }

    /// `absolute(p)` with symlinks resolved where the path exists (a mount point named through a
    /// link is the same mount point); lexical otherwise.
    public static func resolved(_ p: String) -> String {
        let abs = absolute(p)
        guard let r = realpath(abs, nil) else { return abs }
        defer { free(r) }
        return String(cString: r)
    }

    public static func normalize(_ p: String) -> String {
        var parts: [Substring] = []
        for c in p.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    public static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }

    public static func dirname(_ p: String) -> String {
        guard let i = p.lastIndex(of: "/") else { return "." }
        return i == p.startIndex ? "/" : String(p[..<i])
    }
}

extension FileRead {
    /// Reads a gzip file (`/proc/config.gz`, `/boot/symvers-KVER.gz`) through zlib.
    public static func gunzip(_ path: String, limit: Int = 64 << 20) -> Outcome {
        if access(path, F_OK) != 0 { return errno == EACCES ? .denied : .missing }
        guard let gz = gzopen(path, "rb") else {
            return errno == EACCES ? .denied : .failed(SysErrno(errno).description)
        }
        defer { gzclose(gz) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { return .failed("gzip data error") }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<Int(n)])
        }
        return .ok(String(decoding: out, as: UTF8.self))
    }
}
