// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CConvert
import CLinuxShims
import CZlib
import Glibc

/// zlib's checksums, for ContentDigest.
enum ZlibSums {
    static func crc32(_ c: UInt, _ p: UnsafePointer<UInt8>, _ n: Int) -> UInt { crc32_z(c, p, n) }
    static func adler32(_ c: UInt, _ p: UnsafePointer<UInt8>, _ n: Int) -> UInt { adler32_z(c, p, n) }
}

/// An error of a file operation, with the path it concerns.
struct OpError: Error, CustomStringConvertible {
    var what: String
    var errno: SysErrno
    var description: String { "\(what): \(errno)" }
}

/// An owned file descriptor, closed when dropped.
final class FD {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { if fd >= 0 { close(fd) } }
}

/// The conversion's file-system calls, all relative to an open directory and none following a
/// symlink: a branch other users can write is walked by fd, so a name swapped for a symlink
/// mid-walk is never followed. Hand-written over Glibc and CConvert because neither swift-system
/// nor Foundation has fd-relative xattr, linkat, mknodat or renameat2 calls.
enum Ops {
    static func withName<R>(_ n: FileName, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var b = n.bytes
        b.append(0)
        return try b.withUnsafeBufferPointer { try $0.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) } }
    }

    /// lstat of `name` in `dir`.
    static func lstat(_ dir: Int32, _ n: FileName) -> stat? {
        var st = stat()
        return withName(n) { fstatat(dir, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0 ? st : nil
    }

    static func fstat(_ fd: Int32) -> stat? {
        var st = stat()
        return Glibc.fstat(fd, &st) == 0 ? st : nil
    }

    /// Opens a directory entry as a directory, never through a symlink.
    static func openDir(_ dir: Int32, _ n: FileName) throws -> FD {
        let fd = withName(n) { openat(dir, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 { throw OpError(what: "open \(n)", errno: SysErrno(errno)) }
        return FD(fd)
    }

    static func openDirIfPresent(_ dir: Int32, _ n: FileName) -> FD? {
        let fd = withName(n) { openat(dir, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        return fd < 0 ? nil : FD(fd)
    }

    /// Opens an absolute path from `/`, refusing a symlink at every component (paths given here are
    /// canonical already: one that is a symlink now was swapped).
    static func openPathNoFollow(_ path: String) throws -> FD {
        var cur = FD(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC))
        for c in Paths.normalize(path).split(separator: "/") {
            cur = try openDir(cur.fd, FileName(String(c)))
        }
        return cur
    }

    static func isType(_ st: stat, _ t: UInt32) -> Bool { st.st_mode & S_IFMT == t }

    // MARK: xattrs

    /// Where an xattr call goes: an open directory (f*xattr) or a name in one (l*xattr through
    /// /proc/self/fd/DIR/NAME, which is anchored to the fd and does not follow a final symlink).
    enum XTarget {
        case fd(Int32)
        case entry(Int32, FileName)

        func withPath<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
            guard case .entry(let d, let n) = self else { fatalError("withPath on an fd target") }
            var b = Array("/proc/self/fd/\(d)/".utf8) + n.bytes
            b.append(0)
            return b.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
        }
    }

    /// The xattr names of an inode (ENOTSUP: none).
    static func listXattrs(_ t: XTarget) throws -> [FileName] {
        var size = 256
        while true {
            var buf = [CChar](repeating: 0, count: size)
            let n: Int =
                switch t {
                case .fd(let fd): cv_flistxattr(fd, &buf, size)
                case .entry: t.withPath { cv_llistxattr($0, &buf, size) }
                }
            if n >= 0 {
                return buf[0..<n].split(separator: 0).map { FileName($0.map { UInt8(bitPattern: $0) }) }
            }
            if errno == ERANGE {
                size *= 4
                continue
            }
            if errno == ENOTSUP || errno == ENODATA { return [] }
            throw OpError(what: "listxattr", errno: SysErrno(errno))
        }
    }

    static func getXattr(_ t: XTarget, _ name: FileName) throws -> [UInt8]? {
        var size = 256
        while true {
            var buf = [UInt8](repeating: 0, count: size)
            let n: Int = withName(name) { cname in
                switch t {
                case .fd(let fd): return cv_fgetxattr(fd, cname, &buf, size)
                case .entry: return t.withPath { cv_lgetxattr($0, cname, &buf, size) }
                }
            }
            if n >= 0 { return Array(buf[0..<n]) }
            if errno == ERANGE {
                size *= 4
                continue
            }
            if errno == ENODATA || errno == ENOTSUP { return nil }
            throw OpError(what: "getxattr \(name)", errno: SysErrno(errno))
        }
    }

    static func xattrs(_ t: XTarget) throws -> [FileName: [UInt8]] {
        var out: [FileName: [UInt8]] = [:]
        for n in try listXattrs(t) { if let v = try getXattr(t, n) { out[n] = v } }
        return out
    }

    /// flags: CV_XATTR_CREATE (the name must be new) or CV_XATTR_REPLACE (it must exist).
    static func setXattr(_ t: XTarget, _ name: FileName, _ value: [UInt8], flags: Int32) throws {
        let rc: Int32 = withName(name) { cname in
            value.withUnsafeBytes { v in
                switch t {
                case .fd(let fd): return cv_fsetxattr(fd, cname, v.baseAddress, value.count, flags)
                case .entry: return t.withPath { cv_lsetxattr($0, cname, v.baseAddress, value.count, flags) }
                }
            }
        }
        if rc != 0 { throw OpError(what: "setxattr \(name)", errno: SysErrno(errno)) }
    }

    static func removeXattr(_ t: XTarget, _ name: FileName) throws {
        let rc: Int32 = withName(name) { cname in
            switch t {
            case .fd(let fd): return cv_fremovexattr(fd, cname)
            case .entry: return t.withPath { cv_lremovexattr($0, cname) }
            }
        }
        if rc != 0 && errno != ENODATA { throw OpError(what: "removexattr \(name)", errno: SysErrno(errno)) }
    }

    /// Makes a new inode's xattrs exactly `want`: what creation gave it that the source lacks
    /// (an inherited default ACL, an LSM label) is removed; a name it already has is set with
    /// XATTR_REPLACE, a new one with XATTR_CREATE, so nothing is overwritten unseen.
    static func applyXattrs(_ t: XTarget, _ want: [FileName: [UInt8]]) throws {
        let have = Set(try listXattrs(t))
        for n in have where want[n] == nil { try removeXattr(t, n) }
        for (n, v) in want.sorted(by: { $0.key < $1.key }) {
            try setXattr(t, n, v, flags: have.contains(n) ? CV_XATTR_REPLACE : CV_XATTR_CREATE)
        }
    }

    // MARK: creating and copying

    static func times(_ st: stat) -> [timespec] { [st.st_atim, st.st_mtim] }

    /// Owner, xattrs, mode and times of `src` onto a new entry `n` in `dir` (not a directory,
    /// which goes through fd): chown first (it clears setuid and security.capability), then the
    /// xattrs, then the mode, then the times.
    static func applyMeta(_ dir: Int32, _ n: FileName, _ st: stat, _ xattrs: [FileName: [UInt8]]) throws {
        let isLink = isType(st, S_IFLNK)
        if withName(n, { fchownat(dir, $0, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) }) != 0 {
            throw OpError(what: "chown \(n)", errno: SysErrno(errno))
        }
        try applyXattrs(.entry(dir, n), xattrs)
        if !isLink, withName(n, { fchmodat(dir, $0, st.st_mode & 0o7777, 0) }) != 0 {
            throw OpError(what: "chmod \(n)", errno: SysErrno(errno))
        }
        var ts = times(st)
        if withName(n, { utimensat(dir, $0, &ts, AT_SYMLINK_NOFOLLOW) }) != 0 {
            throw OpError(what: "utimensat \(n)", errno: SysErrno(errno))
        }
    }

    /// The same for a directory we hold open.
    static func applyDirMeta(_ fd: Int32, _ st: stat, _ xattrs: [FileName: [UInt8]]) throws {
        if fchown(fd, st.st_uid, st.st_gid) != 0 { throw OpError(what: "chown", errno: SysErrno(errno)) }
        try applyXattrs(.fd(fd), xattrs)
        if fchmod(fd, st.st_mode & 0o7777) != 0 { throw OpError(what: "chmod", errno: SysErrno(errno)) }
        var ts = times(st)
        if futimens(fd, &ts) != 0 { throw OpError(what: "utimens", errno: SysErrno(errno)) }
    }

    /// A copy of a non-directory `n` of `srcDir` as `n` in `dstDir`, with its metadata and the
    /// given xattrs: regular files by reflink where the filesystem shares extents, else by
    /// copy_file_range over the data ranges only (holes stay holes: SEEK_DATA/SEEK_HOLE).
    static func copyEntry(
        _ srcDir: Int32, _ n: FileName, _ st: stat, to dstDir: Int32, xattrs: [FileName: [UInt8]]
    ) throws {
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            let src = withName(n) { openat(srcDir, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            if src < 0 { throw OpError(what: "open \(n)", errno: SysErrno(errno)) }
            defer { close(src) }
            let dst = withName(n) { openat(dstDir, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            if dst < 0 { throw OpError(what: "create \(n)", errno: SysErrno(errno)) }
            defer { close(dst) }
            try copyData(src, dst, size: st.st_size, name: n)
        case S_IFLNK:
            let target = try readLink(srcDir, n)
            let rc = withName(FileName(target)) { t in withName(n) { symlinkat(t, dstDir, $0) } }
            if rc != 0 { throw OpError(what: "symlink \(n)", errno: SysErrno(errno)) }
        default:
            if withName(n, { mknodat(dstDir, $0, st.st_mode & (S_IFMT | 0o600), st.st_rdev) }) != 0 {
                throw OpError(what: "mknod \(n)", errno: SysErrno(errno))
            }
        }
        try applyMeta(dstDir, n, st, xattrs)
    }

    static func copyData(_ src: Int32, _ dst: Int32, size: Int, name: FileName) throws {
        if size == 0 { return }
        if cv_ficlone(dst, src) == 0 { return }
        var off = 0
        while off < size {
            let data = lseek(src, off, CV_SEEK_DATA)
            if data < 0 {
                if errno == ENXIO { break }  // only a hole is left
                throw OpError(what: "lseek SEEK_DATA \(name)", errno: SysErrno(errno))
            }
            var end = lseek(src, data, CV_SEEK_HOLE)
            if end < 0 { end = size }
            var a = Int64(data)
            var b = Int64(data)
            while a < end {
                let n = cv_copy_file_range(src, &a, dst, &b, end - Int(a))
                if n > 0 { continue }
                if n == 0 { break }
                if errno == EINTR { continue }
                if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP {
                    try readWrite(src, dst, from: Int(a), to: end, name: name)
                    break
                }
                throw OpError(what: "copy_file_range \(name)", errno: SysErrno(errno))
            }
            off = end
        }
        if ftruncate(dst, size) != 0 { throw OpError(what: "ftruncate \(name)", errno: SysErrno(errno)) }
    }

    static func readWrite(_ src: Int32, _ dst: Int32, from: Int, to: Int, name: FileName) throws {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buf.deallocate() }
        var off = from
        while off < to {
            let n = pread(src, buf.baseAddress, min(buf.count, to - off), off)
            if n < 0 {
                if errno == EINTR { continue }
                throw OpError(what: "read \(name)", errno: SysErrno(errno))
            }
            if n == 0 { break }
            var w = 0
            while w < n {
                let m = pwrite(dst, buf.baseAddress! + w, n - w, off + w)
                if m < 0 {
                    if errno == EINTR { continue }
                    throw OpError(what: "write \(name)", errno: SysErrno(errno))
                }
                w += m
            }
            off += n
        }
    }

    static func readLink(_ dir: Int32, _ n: FileName) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let len = withName(n) { name in
            buf.withUnsafeMutableBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { readlinkat(dir, name, $0.baseAddress!, $0.count) }
            }
        }
        if len < 0 { throw OpError(what: "readlink \(n)", errno: SysErrno(errno)) }
        return Array(buf[0..<len])
    }

    /// The digest of a regular file's content.
    static func digest(_ dir: Int32, _ n: FileName) throws -> Content {
        let fd = withName(n) { openat(dir, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) }
        if fd < 0 { throw OpError(what: "open \(n)", errno: SysErrno(errno)) }
        defer { close(fd) }
        var d = ContentDigest()
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let r = read(fd, buf.baseAddress, buf.count)
            if r < 0 {
                if errno == EINTR { continue }
                throw OpError(what: "read \(n)", errno: SysErrno(errno))
            }
            if r == 0 { break }
            d.update(UnsafeRawBufferPointer(rebasing: buf[0..<r]))
        }
        return d.content
    }
}

/// Reads a directory's entries with getdents64 (d_type, no lstat per entry), one buffer at a time,
/// so a walk holds one buffer per level however many files a directory has.
final class DirStream {
    /// Held, so the descriptor stays open as long as the stream does.
    let dir: FD
    var fd: Int32 { dir.fd }
    private let buf: UnsafeMutableRawBufferPointer
    private var len = 0
    private var off = 0
    private var done = false

    init(_ dir: FD) {
        self.dir = dir
        buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 32768, alignment: 8)
        lseek(dir.fd, 0, SEEK_SET)
    }
    deinit { buf.deallocate() }

    struct Item {
        var name: FileName
        /// DT_* (DT_UNKNOWN where the filesystem does not fill it).
        var type: UInt8
    }

    func next() throws -> Item? {
        while true {
            if off >= len {
                if done { return nil }
                let n = aufsctl_getdents64(fd, buf.baseAddress, UInt(buf.count))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OpError(what: "getdents64", errno: SysErrno(errno))
                }
                if n == 0 {
                    done = true
                    return nil
                }
                len = n
                off = 0
            }
            // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated)
            let reclen = Int(buf.loadUnaligned(fromByteOffset: off + 16, as: UInt16.self))
            let type = buf[off + 18]
            var end = off + 19
            while end < off + reclen && buf[end] != 0 { end += 1 }
            let name = Array(UnsafeRawBufferPointer(rebasing: buf[(off + 19)..<end]))
            off += reclen
            if name == [46] || name == [46, 46] { continue }
            return Item(name: FileName(name), type: type)
        }
    }

    /// Starts again from the first entry (after the directory changed under the stream).
    func reset() {
        lseek(dir.fd, 0, SEEK_SET)
        len = 0
        off = 0
        done = false
    }

    /// Every name, sorted (for the small directories where order matters: the branch root).
    func all() throws -> [Item] {
        var out: [Item] = []
        while let i = try next() { out.append(i) }
        return out.sorted { $0.name < $1.name }
    }
}

/// rm -rf by directory fd, never following a symlink, with names as bytes (RecursiveRemove reads
/// names into Strings, which turns a name with an invalid UTF-8 byte into another name it cannot
/// unlink; branches hold such names).
enum TreeRemove {
    static func remove(at dir: Int32, _ n: FileName) {
        guard let st = Ops.lstat(dir, n) else { return }
        guard Ops.isType(st, S_IFDIR) else {
            _ = Ops.withName(n) { unlinkat(dir, $0, 0) }
            return
        }
        if let sub = Ops.openDirIfPresent(dir, n) {
            fchmod(sub.fd, 0o700)
            let s = DirStream(sub)
            var names: [FileName] = []
            while let item = try? s.next() {
                names.append(item.name)
                if names.count >= 4096 {
                    for m in names { remove(at: sub.fd, m) }
                    names = []
                    lseek(sub.fd, 0, SEEK_SET)
                    s.reset()
                }
            }
            for m in names { remove(at: sub.fd, m) }
        }
        _ = Ops.withName(n) { unlinkat(dir, $0, AT_REMOVEDIR) }
    }

    static func remove(_ path: String) {
        let p = Paths.normalize(path)
        guard p != "/", let parent = try? Ops.openPathNoFollow(Paths.dirname(p)) else { return }
        remove(at: parent.fd, FileName(String(p.split(separator: "/").last!)))
    }
}
