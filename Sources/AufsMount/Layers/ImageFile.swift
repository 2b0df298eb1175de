// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// An image file (or block device) given as a branch, opened once: every later check and the
/// loop device use this descriptor, never the name again.
public final class ImageFile: @unchecked Sendable {
    public enum Kind: String, Sendable, Codable { case file, blockDevice = "block-device" }

    /// The path as given, made absolute (what messages and status show).
    public let path: String
    public let fd: Int32
    public let kind: Kind
    public let device: UInt64
    public let inode: UInt64
    /// st_rdev of a block device.
    public let rdev: UInt64
    public let size: UInt64
    public let uid: UInt32
    public let gid: UInt32
    public let mode: UInt32

    private init(path: String, fd: Int32, st: stat, size: UInt64) {
        self.path = path
        self.fd = fd
        self.kind = st.st_mode & S_IFMT == S_IFBLK ? .blockDevice : .file
        self.device = UInt64(st.st_dev)
        self.inode = UInt64(st.st_ino)
        self.rdev = UInt64(st.st_rdev)
        self.size = size
        self.uid = st.st_uid
        self.gid = st.st_gid
        self.mode = UInt32(st.st_mode)
    }

    deinit { close(fd) }

    /// Whether `path` names something that would be an image branch (a regular file or a block
    /// device, after symlinks), without opening it: how a branch list tells images from directories.
    public static func looksLikeImage(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let t = st.st_mode & S_IFMT
        return t == S_IFREG || t == S_IFBLK
    }

    /// Opens `path` read-only (never a FIFO, socket or character device: O_NONBLOCK keeps a FIFO
    /// from hanging the open, and the type is checked on the descriptor).
    public static func open(_ path: String) throws -> ImageFile {
        let abs = Paths.absolute(path)
        let fd = Glibc.open(abs, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if fd < 0 {
            let e = SysErrno(errno)
            throw AufsError.usage("image \(abs): cannot open it: \(e)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = SysErrno(errno)
            Glibc.close(fd)
            throw AufsError("image \(abs): fstat failed: \(e)")
        }
        let t = st.st_mode & S_IFMT
        guard t == S_IFREG || t == S_IFBLK else {
            Glibc.close(fd)
            throw AufsError.usage(
                "image \(abs): not a regular file or block device; a branch is a directory, an image file or a "
                    + "block device")
        }
        // Blocking reads from here on (libblkid, the loop driver).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var size = UInt64(st.st_size)
        if t == S_IFBLK {
            var end = lseek(fd, 0, SEEK_END)
            if end < 0 { end = 0 }
            size = UInt64(end)
            lseek(fd, 0, SEEK_SET)
        }
        return ImageFile(path: abs, fd: fd, st: st, size: size)
    }

    /// Why another user could change this image while it is mounted, or nil when only root can.
    /// The kernel's filesystem parser would then read bytes a user controls (the reason Slax copies
    /// its bundles first). Owner, mode bits and a POSIX ACL granting write are each enough.
    public func writableByOthers() -> String? {
        if uid != 0 {
            return "it belongs to uid \(uid), who can change it while it is mounted"
        }
        if mode & 0o002 != 0 {
            return "it is writable by every user (mode \(String(mode & 0o7777, radix: 8)))"
        }
        if mode & 0o020 != 0 && gid != 0 && !(kind == .blockDevice && gid == Self.diskGroup) {
            return "it is writable by group \(gid) (mode \(String(mode & 0o7777, radix: 8)))"
        }
        if let acl = aclWriters() { return acl }
        return nil
    }

    /// The `disk` group: its members can write every disk anyway, so a block device they can
    /// write is not a new exposure.
    static var diskGroup: UInt32? {
        guard let g = getgrnam("disk") else { return nil }
        return g.pointee.gr_gid
    }

    /// A POSIX access ACL that lets a named user or group write (within the mask).
    func aclWriters() -> String? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = aufsctl_fgetxattr(fd, "system.posix_acl_access", &buf, UInt(buf.count))
        guard n > 4 else { return nil }
        return PosixACL.writers(Array(buf[0..<Int(n)]))
    }
}

/// The binary form of `system.posix_acl_access` (a 4-byte version, then 8-byte entries of tag,
/// perm, id), read only to tell whether it grants write to a named user or group.
enum PosixACL {
    static let userObj: UInt16 = 0x01, user: UInt16 = 0x02, groupObj: UInt16 = 0x04, group: UInt16 = 0x08
    static let mask: UInt16 = 0x10, other: UInt16 = 0x20

    static func writers(_ b: [UInt8]) -> String? {
        guard b.count >= 4, (b.count - 4) % 8 == 0 else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        var maskWrite = true
        var named: [(tag: UInt16, id: UInt32)] = []
        var i = 4
        while i + 8 <= b.count {
            let tag = u16(i)
            let perm = u16(i + 2)
            if tag == mask { maskWrite = perm & 2 != 0 }
            if (tag == user || tag == group) && perm & 2 != 0 { named.append((tag, u32(i + 4))) }
            i += 8
        }
        guard maskWrite, let first = named.first else { return nil }
        return "its ACL lets \(first.tag == user ? "uid" : "gid") \(first.id) write it"
    }
}
