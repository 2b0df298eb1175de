// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Copying a tree root will build from, by directory fd: nothing followed, nothing of the
/// source's owner or special bits kept. Hand-written: cp -a keeps ownership, and cp has no mode
/// that both refuses links and drops group/other write.
enum TreeCopy {
    /// What of an aufs-standalone tree a module build needs (AUFS-FACTS section 3).
    static let items = ["fs", "include", "Makefile", "config.mk"]

    /// Copies the items `src` has into `dest` (created root's 0755), refusing links first.
    static func copyBuildTree(from src: String, to dest: String) throws {
        let present = items.filter { FileRead.exists(src + "/" + $0) || FileRead.readLink(src + "/" + $0) != nil }
        for item in present { try refuseLinks(src + "/" + item, shown: item) }
        try makeRootDirectory(dest)
        for item in present { try copy(src + "/" + item, into: dest, name: item) }
    }

    /// Throws when `path` is, or holds, anything but regular files and directories.
    static func refuseLinks(_ path: String, shown: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw AufsError("cannot read \(path): \(SysErrno(errno))") }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR:
            for name in FileRead.list(path) ?? [] { try refuseLinks(path + "/" + name, shown: shown + "/" + name) }
        default:
            throw AufsError(
                "\(path) is a symlink or special file; aufsctl copies only regular files and directories into "
                    + "/usr/src, which root's dkms builds from: replace it with the file it stands for",
                exitCode: .blocked)
        }
    }

    /// Makes `dir` root's, 0755 (no setgid inherited from /usr/src).
    static func makeRootDirectory(_ dir: String) throws {
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw AufsError("cannot create \(dir): \(SysErrno(errno))") }
        try own(dir, mode: 0o755)
    }

    static func own(_ path: String, mode: mode_t) throws {
        if geteuid() == 0 && lchown(path, 0, 0) != 0 { throw AufsError("cannot chown \(path): \(SysErrno(errno))") }
        if chmod(path, mode) != 0 { throw AufsError("cannot chmod \(path): \(SysErrno(errno))") }
    }

    /// Copies `source` (a file or directory) to `into/name`.
    static func copy(_ source: String, into dir: String, name: String) throws {
        var st = stat()
        guard lstat(source, &st) == 0 else { throw AufsError("cannot read \(source): \(SysErrno(errno))") }
        let dest = dir + "/" + name
        let mode = st.st_mode & 0o755
        if st.st_mode & S_IFMT == S_IFDIR {
            if mkdir(dest, mode) != 0 && errno != EEXIST {
                throw AufsError("cannot create \(dest): \(SysErrno(errno))")
            }
            var dst = stat()
            guard lstat(dest, &dst) == 0, dst.st_mode & S_IFMT == S_IFDIR else {
                throw AufsError("\(dest) is not a directory; remove it and run again")
            }
            try own(dest, mode: mode)
            for n in FileRead.list(source) ?? [] { try copy(source + "/" + n, into: dest, name: n) }
            return
        }
        guard case .success(let bytes) = FileRead.bytes(source) else {
            throw AufsError("cannot read \(source): \(SysErrno(errno))")
        }
        unlink(dest)
        let fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AufsError("cannot create \(dest): \(SysErrno(errno))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw AufsError("cannot write \(dest): \(SysErrno(errno))") }
            written += n
        }
        if geteuid() == 0 && fchown(fd, 0, 0) != 0 { throw AufsError("cannot chown \(dest): \(SysErrno(errno))") }
        if fchmod(fd, mode) != 0 { throw AufsError("cannot chmod \(dest): \(SysErrno(errno))") }
    }
}
