// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

public struct Uname: Sendable, Equatable, Codable {
    public var release: String
    public var version: String
    public var machine: String
    public init(release: String, version: String, machine: String) {
        self.release = release
        self.version = version
        self.machine = machine
    }
}

public struct FSStat: Sendable, Equatable {
    public var magic: Int64
    public var flags: UInt64
    public init(magic: Int64, flags: UInt64 = 0) {
        self.magic = magic
        self.flags = flags
    }
}

/// The kernel calls aufsctl makes; the real one calls Glibc, tests record or script them.
public protocol Syscalls: Sendable {
    func uname() -> Uname
    func geteuid() -> UInt32
    func statfs(_ path: String) -> Result<FSStat, SysErrno>
    /// st_dev of a path (follows symlinks).
    func deviceID(_ path: String) -> Result<UInt64, SysErrno>
    func mount(source: String, target: String, fstype: String, flags: UInt, data: String) -> Result<Void, SysErrno>
    func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno>
    /// The new mount API (fsopen/fsconfig/fsmount/move_mount) for one filesystem: every
    /// `FSCONFIG_SET_STRING` in order, then create, mount and move to `target`.
    /// Fails with the step that failed, so callers can fall back when a key is unknown.
    func fsMount(
        fstype: String, source: String, strings: [(String, String)], readOnly: Bool, target: String
    ) -> Result<Void, FsMountError>

    // The file-system side (defaults below are the real calls).
    func realpath(_ path: String) -> Result<String, SysErrno>
    func fileStatus(_ path: String, followSymlinks: Bool) -> Result<FileStatus, SysErrno>
    func makeDirectory(_ path: String, mode: UInt32) -> Result<Void, SysErrno>
    /// mkdir -p; what it created can be removed again.
    func makeDirectories(_ path: String) throws -> CreatedDirectories
    /// rm -rf that never follows a symlink; false when it did not run (see RecursiveRemove).
    @discardableResult
    func removeTree(_ path: String, strictParents: Bool) -> Bool
    /// An exclusive lock on a file in a root-only directory (FileLock).
    func lock(_ path: String, what: String) throws -> any HeldLock
    /// usleep(3), for retry loops.
    func pause(microseconds: UInt32)
}

public struct FsMountError: Error, Sendable, Equatable {
    public var step: String
    public var errno: SysErrno
}

public struct LinuxSyscalls: Syscalls {
    public init() {}

    public func uname() -> Uname {
        var u = utsname()
        _ = Glibc.uname(&u)
        func field<T>(_ v: T) -> String {
            withUnsafeBytes(of: v) { raw in
                let bytes = raw.prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        return Uname(release: field(u.release), version: field(u.version), machine: field(u.machine))
    }

    public func geteuid() -> UInt32 { Glibc.geteuid() }

    public func statfs(_ path: String) -> Result<FSStat, SysErrno> {
        var out = aufsctl_statfs_t()
        let rc = aufsctl_statfs(path, &out)
        if rc != 0 { return .failure(SysErrno(-rc)) }
        return .success(FSStat(magic: out.f_type, flags: out.f_flags))
    }

    public func deviceID(_ path: String) -> Result<UInt64, SysErrno> {
        var st = stat()
        if stat(path, &st) != 0 { return .failure(SysErrno(errno)) }
        return .success(UInt64(st.st_dev))
    }

    public func mount(
        source: String, target: String, fstype: String, flags: UInt, data: String
    ) -> Result<Void, SysErrno> {
        if Glibc.mount(source, target, fstype, flags, data) != 0 { return .failure(SysErrno(errno)) }
        return .success(())
    }

    public func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno> {
        if Glibc.umount2(target, flags) != 0 { return .failure(SysErrno(errno)) }
        return .success(())
    }

    public func fsMount(
        fstype: String, source: String, strings: [(String, String)], readOnly: Bool, target: String
    ) -> Result<Void, FsMountError> {
        let fs = aufsctl_fsopen(fstype, AUFSCTL_FSOPEN_CLOEXEC)
        if fs < 0 { return .failure(FsMountError(step: "fsopen(\"\(fstype)\")", errno: SysErrno(errno))) }
        defer { close(fs) }
        for (key, value) in [("source", source)] + strings {
            if aufsctl_fsconfig_string(fs, key, value) != 0 {
                return .failure(
                    FsMountError(
                        step: "fsconfig(FSCONFIG_SET_STRING, \"\(key)\", \"\(value)\")", errno: SysErrno(errno)))
            }
        }
        if aufsctl_fsconfig_create(fs) != 0 {
            return .failure(FsMountError(step: "fsconfig(FSCONFIG_CMD_CREATE)", errno: SysErrno(errno)))
        }
        let mnt = aufsctl_fsmount(fs, readOnly ? 1 : 0)
        if mnt < 0 { return .failure(FsMountError(step: "fsmount", errno: SysErrno(errno))) }
        defer { close(mnt) }
        if aufsctl_move_mount_to(mnt, target) != 0 {
            return .failure(FsMountError(step: "move_mount(\"\(target)\")", errno: SysErrno(errno)))
        }
        return .success(())
    }
}

/// What `stat(2)`/`lstat(2)` says about a path, the fields aufsctl decides on.
public struct FileStatus: Sendable, Equatable {
    public var mode: UInt32
    public var device: UInt64
    public var uid: UInt32
    /// Modification time, seconds since the epoch.
    public var mtime: Int = 0
    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    public var isRegular: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    public init(mode: UInt32, device: UInt64, uid: UInt32, mtime: Int = 0) {
        self.mode = mode
        self.device = device
        self.uid = uid
        self.mtime = mtime
    }
}

/// Directories `makeDirectories` created, outermost first; `remove()` takes them away again
/// (through the parent fds kept at creation, never by re-resolving a path).
public final class CreatedDirectories: @unchecked Sendable {
    private var undo: [() -> Void]
    private let cleanup: () -> Void
    public init(undo: [() -> Void] = [], cleanup: @escaping () -> Void = {}) {
        self.undo = undo
        self.cleanup = cleanup
    }
    public var isEmpty: Bool { undo.isEmpty }
    public func remove() {
        for u in undo.reversed() { u() }
        undo = []
    }
    deinit { cleanup() }
}

/// A held exclusive lock; released by `release()` or when dropped.
public protocol HeldLock: AnyObject {
    func release()
}

/// The file-system side of the seam: every path aufsctl creates, removes, locks or resolves on
/// the mount path goes through these, so mount, umount, branch and the overlay fallback run in
/// unit tests without root. The defaults are the real calls (LinuxSyscalls uses them as they are;
/// a test fake overrides what it records and inherits the rest, which then acts on its temp dirs).
extension Syscalls {
    public func realpath(_ path: String) -> Result<String, SysErrno> { RealFileSystem.realpath(path) }
    public func fileStatus(_ path: String, followSymlinks: Bool) -> Result<FileStatus, SysErrno> {
        RealFileSystem.status(path, follow: followSymlinks)
    }
    public func makeDirectory(_ path: String, mode: UInt32) -> Result<Void, SysErrno> {
        Glibc.mkdir(path, mode_t(mode)) == 0 ? .success(()) : .failure(SysErrno(errno))
    }
    public func makeDirectories(_ path: String) throws -> CreatedDirectories {
        try RealFileSystem.makeDirectories(path)
    }
    @discardableResult
    public func removeTree(_ path: String, strictParents: Bool) -> Bool {
        RecursiveRemove.remove(path, strictParents: strictParents)
    }
    public func lock(_ path: String, what: String) throws -> any HeldLock { try FileLock(path: path, what: what) }
    public func pause(microseconds: UInt32) { usleep(microseconds) }
}

/// The real calls behind the file-system defaults of `Syscalls`.
enum RealFileSystem {
    static func realpath(_ path: String) -> Result<String, SysErrno> {
        guard let r = Glibc.realpath(path, nil) else { return .failure(SysErrno(errno)) }
        defer { free(r) }
        return .success(String(cString: r))
    }

    static func status(_ path: String, follow: Bool) -> Result<FileStatus, SysErrno> {
        var st = stat()
        let rc = follow ? stat(path, &st) : lstat(path, &st)
        if rc != 0 { return .failure(SysErrno(errno)) }
        return .success(
            FileStatus(
                mode: UInt32(st.st_mode), device: UInt64(st.st_dev), uid: st.st_uid,
                mtime: st.st_mtim.tv_sec))
    }

    /// mkdir -p by directory fd: existing components are followed as the user named them, but a
    /// directory this call created is opened with O_NOFOLLOW, so one swapped for a symlink (in a
    /// parent another user can write) makes it fail instead of creating the rest elsewhere.
    static func makeDirectories(_ p: String) throws -> CreatedDirectories {
        var undo: [() -> Void] = []
        var parents: [Int32] = []
        func result() -> CreatedDirectories {
            CreatedDirectories(undo: undo, cleanup: { [parents] in parents.forEach { close($0) } })
        }
        var fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw AufsError("--mkdir: cannot open /: \(SysErrno(errno))") }
        func fail(_ message: String) -> AufsError {
            close(fd)
            result().remove()
            return AufsError(message)
        }
        var cur = ""
        for c in Paths.normalize(p).split(separator: "/").map(String.init) {
            cur += "/" + c
            var made = false
            if mkdirat(fd, c, 0o755) == 0 {
                made = true
            } else if errno != EEXIST {
                throw fail("--mkdir: cannot create \(cur): \(SysErrno(errno))")
            }
            let next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (made ? O_NOFOLLOW : 0))
            if next < 0 {
                let e = SysErrno(errno)
                if made { unlinkat(fd, c, AT_REMOVEDIR) }
                throw fail(
                    e.code == ELOOP
                        ? "--mkdir: \(cur), which aufsctl had just created, was replaced by a symlink; nothing more "
                            + "was created"
                        : "--mkdir: cannot open \(cur): \(e)")
            }
            if made {
                let parent = dup(fd)
                parents.append(parent)
                undo.append { unlinkat(parent, c, AT_REMOVEDIR) }
            }
            close(fd)
            fd = next
        }
        close(fd)
        return result()
    }
}

extension FileLock: HeldLock {}
