// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Writes files so that a crash leaves either the old or the new content, never a mix:
/// a temporary file in the same directory, fsync, rename over the target, fsync the directory.
public enum AtomicFile {
    public static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let dir = Paths.dirname(path)
        let prefix = temporaryPrefix(path)
        // Temporary files a killed writer left behind (callers hold the install or mount lock).
        for stale in (FileRead.list(dir) ?? []) where stale.hasPrefix(prefix) { unlink(dir + "/" + stale) }
        var template = Array((dir + "/" + prefix + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw AufsError("cannot create a temporary file in \(dir): \(SysErrno(errno))") }
        let tmp = String(cString: template)
        var ok = false
        defer { if !ok { unlink(tmp) } }
        var st = stat()
        let keepMode = stat(path, &st) == 0 ? st.st_mode & 0o7777 : mode
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = SysErrno(errno)
                close(fd)
                throw AufsError("cannot write \(tmp): \(e)")
            }
            written += n
        }
        fchmod(fd, keepMode)
        if fsync(fd) != 0 { let e = SysErrno(errno); close(fd); throw AufsError("fsync \(tmp): \(e)") }
        close(fd)
        if rename(tmp, path) != 0 { throw AufsError("cannot rename \(tmp) to \(path): \(SysErrno(errno))") }
        ok = true
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// `.NAME.aufsctl-`: what the temporary files for `path` start with. NAME is cut to 200 bytes,
    /// so that a legal 255-byte name (a long systemd unit name) still leaves room for the suffix.
    public static func temporaryPrefix(_ path: String) -> String {
        var name = ""
        for c in (path.split(separator: "/").last.map(String.init) ?? "file").unicodeScalars {
            if name.utf8.count + String(c).utf8.count > 200 { break }
            name.unicodeScalars.append(c)
        }
        return "." + name + ".aufsctl-"
    }

    /// Removes the temporary files a killed writer left in `dir` (every `.*.aufsctl-XXXXXX`).
    @discardableResult
    public static func removeStaleTemporaries(in dir: String) -> Int {
        var n = 0
        for name in FileRead.list(dir) ?? [] where name.hasPrefix(".") && isTemporaryName(name) {
            if unlink(dir + "/" + name) == 0 { n += 1 }
        }
        return n
    }

    static func isTemporaryName(_ name: String) -> Bool {
        // mkstemp's XXXXXX: six letters or digits after the last ".aufsctl-".
        let suffix = name.suffix(6)
        return name.dropLast(6).hasSuffix(".aufsctl-")
            && suffix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    public static func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        try write(path, Array(text.utf8), mode: mode)
    }

    /// Creates the directories of `path` (like mkdir -p).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var cur = ""
        for c in Paths.normalize(path).split(separator: "/") {
            cur += "/" + c
            if mkdir(cur, mode) != 0 && errno != EEXIST { throw AufsError("cannot create \(cur): \(SysErrno(errno))") }
        }
    }
}
