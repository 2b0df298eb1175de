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
    /// The new mount API (fsopen/fsconfig/fsmount/move_mount) for one filesystem: every parameter
    /// in order (a string, or an anchored directory as FSCONFIG_SET_FD), then create, mount and
    /// move onto `target`'s fd (MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH). Fails with the
    /// step that failed, so callers can fall back when a key or an fd value is unknown.
    func fsMount(
        fstype: String, source: String, parameters: [FsParameter], readOnly: Bool, target: AnchoredDirectory
    ) -> Result<Void, FsMountError>

    // Paths resolved once (Anchor.swift): what the kernel is given is the object that was checked.
    /// A canonical absolute path as a directory fd, no symlink followed on the way (PathAnchor).
    func anchorDirectory(_ path: String) -> Result<AnchoredDirectory, AnchorFailure>
    /// `name` in `dir`, not followed if a symlink: a mount point's root once mounted over.
    func openDirectory(in dir: AnchoredDirectory, _ name: String) -> Result<AnchoredDirectory, SysErrno>
    /// mkdirat then openat(O_NOFOLLOW) at once; fails (removing it) unless what it opened is an empty
    /// directory of this user's.
    func makeDirectory(in dir: AnchoredDirectory, _ name: String, mode: UInt32) -> Result<AnchoredDirectory, SysErrno>
    /// The id (mountinfo's first field) of the mount `name` in `dir` is on, the name not followed:
    /// statx's STATX_MNT_ID (5.8+), else the mnt_id of /proc/self/fdinfo for an O_PATH fd on it.
    func mountID(in dir: AnchoredDirectory, _ name: String) -> Result<Int, SysErrno>
    /// umount2(name, flags|UMOUNT_NOFOLLOW) from `dir` (fchdir; the working directory is restored):
    /// a mount point cannot be renamed, so `name` in `dir` is the mount whose id was checked.
    func unmount(in dir: AnchoredDirectory, _ name: String, flags: Int32) -> Result<Void, SysErrno>
    /// rm -rf of `name` in `dir` by fd, never following a symlink, only while `name` is still the
    /// directory `identity` (nil: any directory of this user's).
    func removeTree(in dir: AnchoredDirectory, _ name: String, identity: FileIdentity?) -> TreeRemoval

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

/// The call of the new mount API that failed: callers decide on the step, its description is for people.
public enum FsMountStep: Sendable, Equatable, CustomStringConvertible {
    case open(fstype: String)
    case setString(key: String, value: String)
    case setFD(key: String, path: String)
    case create
    case mount
    case moveMount(target: String)

    public var isOpen: Bool { if case .open = self { true } else { false } }
    /// The key of an FSCONFIG_SET_STRING step.
    public var stringKey: String? { if case .setString(let k, _) = self { k } else { nil } }

    public var description: String {
        switch self {
        case .open(let t): return "fsopen(\"\(t)\")"
        case .setString(let k, let v): return "fsconfig(FSCONFIG_SET_STRING, \"\(k)\", \"\(v)\")"
        case .setFD(let k, let p): return "fsconfig(FSCONFIG_SET_FD, \"\(k)\", fd of \(p))"
        case .create: return "fsconfig(FSCONFIG_CMD_CREATE)"
        case .mount: return "fsmount"
        case .moveMount(let t): return "move_mount(onto the fd of \(t))"
        }
    }
}

public struct FsMountError: Error, Sendable, Equatable {
    public var step: FsMountStep
    public var errno: SysErrno
    public init(step: FsMountStep, errno: SysErrno) {
        self.step = step
        self.errno = errno
    }
}

/// One fsconfig parameter: a string, or a directory given by its fd (FSCONFIG_SET_FD).
public enum FsParameter: Sendable, CustomStringConvertible {
    case string(String, String)
    case directory(String, AnchoredDirectory)

    public var key: String {
        switch self {
        case .string(let k, _), .directory(let k, _): return k
        }
    }
    /// The value as a path (the directory's canonical path).
    public var value: String {
        switch self {
        case .string(_, let v): return v
        case .directory(_, let d): return d.path
        }
    }
    /// The fsconfig call that sets it.
    public var step: FsMountStep {
        switch self {
        case .string(let k, let v): return .setString(key: k, value: v)
        case .directory(let k, let d): return .setFD(key: k, path: d.path)
        }
    }
    public var description: String { step.description }
}

/// What `removeTree(in:_:identity:)` did.
public enum TreeRemoval: Sendable, Equatable {
    case removed
    case missing
    /// Left alone: the name is not the expected directory (a symlink, another directory).
    case notOurs(String)
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
        fstype: String, source: String, parameters: [FsParameter], readOnly: Bool, target: AnchoredDirectory
    ) -> Result<Void, FsMountError> {
        let fs = aufsctl_fsopen(fstype, AUFSCTL_FSOPEN_CLOEXEC)
        if fs < 0 { return .failure(FsMountError(step: .open(fstype: fstype), errno: SysErrno(errno))) }
        defer { close(fs) }
        for p in [FsParameter.string("source", source)] + parameters {
            let rc: Int32
            switch p {
            case .string(let key, let value): rc = aufsctl_fsconfig_string(fs, key, value)
            case .directory(let key, let dir): rc = withExtendedLifetime(dir) { aufsctl_fsconfig_fd(fs, key, dir.fd) }
            }
            if rc != 0 { return .failure(FsMountError(step: p.step, errno: SysErrno(errno))) }
        }
        if aufsctl_fsconfig_create(fs) != 0 {
            return .failure(FsMountError(step: .create, errno: SysErrno(errno)))
        }
        let mnt = aufsctl_fsmount(fs, readOnly ? 1 : 0)
        if mnt < 0 { return .failure(FsMountError(step: .mount, errno: SysErrno(errno))) }
        defer { close(mnt) }
        if withExtendedLifetime(target, { aufsctl_move_mount_to_fd(mnt, target.fd) }) != 0 {
            return .failure(FsMountError(step: .moveMount(target: target.path), errno: SysErrno(errno)))
        }
        return .success(())
    }

    public func anchorDirectory(_ path: String) -> Result<AnchoredDirectory, AnchorFailure> { PathAnchor.open(path) }

    public func openDirectory(in dir: AnchoredDirectory, _ name: String) -> Result<AnchoredDirectory, SysErrno> {
        withExtendedLifetime(dir) { PathAnchor.open(at: dir.fd, name, under: dir.path) }
    }

    public func makeDirectory(
        in dir: AnchoredDirectory, _ name: String, mode: UInt32
    ) -> Result<AnchoredDirectory, SysErrno> {
        withExtendedLifetime(dir) { RealFileSystem.makeDirectory(at: dir.fd, name, under: dir.path, mode: mode) }
    }

    public func mountID(in dir: AnchoredDirectory, _ name: String) -> Result<Int, SysErrno> {
        withExtendedLifetime(dir) { RealFileSystem.mountID(at: dir.fd, name) }
    }

    public func unmount(in dir: AnchoredDirectory, _ name: String, flags: Int32) -> Result<Void, SysErrno> {
        withExtendedLifetime(dir) { RealFileSystem.unmount(at: dir.fd, name, flags: flags) }
    }

    public func removeTree(in dir: AnchoredDirectory, _ name: String, identity: FileIdentity?) -> TreeRemoval {
        withExtendedLifetime(dir) { RecursiveRemove.remove(at: dir.fd, name, identity: identity) }
    }
}

/// What `stat(2)`/`lstat(2)` says about a path, the fields aufsctl decides on.
public struct FileStatus: Sendable, Equatable {
    public var mode: UInt32
    public var device: UInt64
    public var uid: UInt32
    /// Modification time, seconds since the epoch.
    public var mtime: Int = 0
    public var gid: UInt32 = 0
    public var inode: UInt64 = 0
    public var links: UInt64 = 1
    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    public var isRegular: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    public init(
        mode: UInt32, device: UInt64, uid: UInt32, mtime: Int = 0, gid: UInt32 = 0, inode: UInt64 = 0,
        links: UInt64 = 1
    ) {
        self.mode = mode
        self.device = device
        self.uid = uid
        self.mtime = mtime
        self.gid = gid
        self.inode = inode
        self.links = links
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
        return .success(FileStatus(st))
    }

    /// mkdir -p by directory fd of a canonical path: every component is opened with O_NOFOLLOW, so
    /// one swapped for a symlink (in a parent another user can write) makes it fail instead of
    /// creating the rest elsewhere.
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
            let next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            if next < 0 {
                let e = SysErrno(errno)
                if made { unlinkat(fd, c, AT_REMOVEDIR) }
                throw fail(
                    e.code == ELOOP || (e.code == ENOTDIR && RealFileSystem.isSymlink(at: fd, c))
                        ? "--mkdir: \(cur)\(made ? ", which aufsctl had just created," : "") was replaced by a "
                            + "symlink; nothing more was created"
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

extension RealFileSystem {
    static func isSymlink(at dirfd: Int32, _ name: String) -> Bool {
        var st = stat()
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    static func makeDirectory(
        at dirfd: Int32, _ name: String, under parent: String, mode: UInt32
    ) -> Result<AnchoredDirectory, SysErrno> {
        if mkdirat(dirfd, name, mode_t(mode)) != 0 { return .failure(SysErrno(errno)) }
        switch PathAnchor.open(at: dirfd, name, under: parent) {
        case .failure(let e):
            // Swapped for a symlink or a file between mkdirat and openat: what is there is not ours.
            return .failure(e)
        case .success(let d):
            // Another user's directory, or another one renamed under the name meanwhile, is not
            // the one made here: ours is this user's and empty.
            guard d.status.uid == Glibc.geteuid(), RecursiveRemove.entries(d.fd).isEmpty else {
                return .failure(SysErrno(EEXIST))
            }
            fchmod(d.fd, mode_t(mode))
            return .success(d)
        }
    }

    static func mountID(at dirfd: Int32, _ name: String) -> Result<Int, SysErrno> {
        var id: UInt64 = 0
        if aufsctl_statx_mnt_id(dirfd, name, &id) == 0 { return .success(Int(id)) }
        guard errno == ENOSYS || errno == EINVAL else { return .failure(SysErrno(errno)) }
        // Before 5.8: the mnt_id line of /proc/self/fdinfo/N (3.15+) for an O_PATH fd on the name.
        let fd = name.isEmpty ? dup(dirfd) : openat(dirfd, name, AUFSCTL_O_PATH | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { return .failure(SysErrno(errno)) }
        defer { close(fd) }
        guard let info = FileRead.string("/proc/self/fdinfo/\(fd)"),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("mnt_id:") }),
            let n = Int(line.dropFirst("mnt_id:".count).trimmingBlanks)
        else { return .failure(SysErrno(ENOSYS)) }
        return .success(n)
    }

    static func unmount(at dirfd: Int32, _ name: String, flags: Int32) -> Result<Void, SysErrno> {
        let cwd = Glibc.open(".", AUFSCTL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        defer {
            if cwd >= 0 {
                fchdir(cwd)
                close(cwd)
            }
        }
        if fchdir(dirfd) != 0 { return .failure(SysErrno(errno)) }
        if Glibc.umount2(name, flags | AUFSCTL_UMOUNT_NOFOLLOW) != 0 { return .failure(SysErrno(errno)) }
        return .success(())
    }
}

extension FileLock: HeldLock {}
