// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// A directory resolved once into an open fd: checks are made on the fd (fstat, fstatfs) and the
/// kernel is given that object (`/proc/self/fd/N`, fsconfig's FSCONFIG_SET_FD, move_mount onto the
/// fd, *at calls), so a name another user swaps afterwards changes nothing. Closed when dropped.
public final class AnchoredDirectory: @unchecked Sendable {
    public let fd: Int32
    /// The canonical path the fd was reached by (every component opened with O_NOFOLLOW).
    public let path: String
    public let status: FileStatus
    public let fs: FSStat
    /// The directories above this one (from `/`) whose entries another user can swap, one sentence
    /// each; only a name given as a string (an older kernel's overlay options) is exposed by them.
    public let exposureAbove: [String]
    /// Why another user can swap this directory's own entry in its parent, if they can.
    public let exposureOwn: String?
    /// Why another user can create or rename a root-owned entry in this directory (where the overlay
    /// workdir is made beside the upper dir, the upper dir's parent), if they can.
    public let entriesReplaceable: String?
    private let owned: Bool

    public init(
        fd: Int32, path: String, status: FileStatus, fs: FSStat, exposureAbove: [String] = [],
        exposureOwn: String? = nil, entriesReplaceable: String? = nil, owned: Bool = true
    ) {
        self.fd = fd
        self.path = path
        self.status = status
        self.fs = fs
        self.exposureAbove = exposureAbove
        self.exposureOwn = exposureOwn
        self.entriesReplaceable = entriesReplaceable
        self.owned = owned
    }

    deinit { if owned { close(fd) } }

    /// The name the kernel resolves to this very directory (a magic link, never re-walked).
    public var procPath: String { "/proc/self/fd/\(fd)" }
    /// Every reason another user could make this path name another directory.
    public var exposure: [String] { exposureAbove + (exposureOwn.map { [$0] } ?? []) }
    public var identity: FileIdentity { FileIdentity(device: status.device, inode: status.inode) }

    /// Where the directory is now (the kernel's d_path through /proc/self/fd), nil if that cannot
    /// be read; differs from `path` only when it was renamed since it was opened.
    public var currentPath: String? { FileRead.readLink(procPath) }
}

/// A file's identity: st_dev and st_ino.
public struct FileIdentity: Sendable, Equatable, Codable {
    public var device: UInt64
    public var inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// Why a path could not be resolved into a directory fd.
public struct AnchorFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path up to the component that failed.
    public var at: String
    public var errno: SysErrno
    /// That component is a symlink (in a canonical path: one swapped in since it was resolved).
    public var symlink: Bool
    public var description: String {
        symlink
            ? "\(at) is a symlink now (it was not when the path was resolved: another user swapped it?)"
            : "\(at): \(errno)"
    }
}

/// The per-component walk behind `Syscalls.anchorDirectory`.
public enum PathAnchor {
    /// Opens the canonical, absolute `path` from `/` one component at a time with
    /// O_NOFOLLOW|O_DIRECTORY (intermediate components O_PATH), noting every directory whose
    /// entries another user could swap. The last one is opened O_RDONLY (fsconfig's
    /// FSCONFIG_SET_FD takes no O_PATH fd), O_PATH where reading is not permitted (a dry run as
    /// another user). Hand-written: openat2's RESOLVE_NO_SYMLINKS (5.6+) gives no per-directory
    /// owners, which the refusals for older kernels need.
    public static func open(_ path: String) -> Result<AnchoredDirectory, AnchorFailure> {
        let components = Paths.normalize(path).split(separator: "/").map(String.init)
        var fd = Glibc.open("/", (components.isEmpty ? O_RDONLY : AUFSCTL_O_PATH) | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return .failure(AnchorFailure(at: "/", errno: SysErrno(errno), symlink: false)) }
        guard var st = fileStatus(fd) else {
            let e = SysErrno(errno)
            close(fd)
            return .failure(AnchorFailure(at: "/", errno: e, symlink: false))
        }
        var here = "/"
        var above: [String] = []
        var own: String?
        for (i, c) in components.enumerated() {
            let last = i == components.count - 1
            let flags = O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
            var next = openat(fd, c, (last ? O_RDONLY : AUFSCTL_O_PATH) | flags)
            if next < 0 && last && (errno == EACCES || errno == EPERM) { next = openat(fd, c, AUFSCTL_O_PATH | flags) }
            let child = Paths.join(here, c)
            if next < 0 {
                let e = SysErrno(errno)
                var lst = stat()
                let isLink = fstatat(fd, c, &lst, AT_SYMLINK_NOFOLLOW) == 0 && lst.st_mode & S_IFMT == S_IFLNK
                close(fd)
                return .failure(AnchorFailure(at: child, errno: isLink ? SysErrno(ELOOP) : e, symlink: isLink))
            }
            close(fd)
            fd = next
            guard let cst = fileStatus(fd) else {
                let e = SysErrno(errno)
                close(fd)
                return .failure(AnchorFailure(at: child, errno: e, symlink: false))
            }
            if let why = replaceable(entryOwner: cst.uid, in: st, at: here) {
                if last { own = why } else { above.append(why) }
            }
            st = cst
            here = child
        }
        var fsst = aufsctl_statfs_t()
        if aufsctl_fstatfs(fd, &fsst) != 0 {
            let e = SysErrno(errno)
            close(fd)
            return .failure(AnchorFailure(at: here, errno: e, symlink: false))
        }
        return .success(
            AnchoredDirectory(
                fd: fd, path: here, status: st, fs: FSStat(magic: fsst.f_type, flags: fsst.f_flags),
                exposureAbove: above, exposureOwn: own, entriesReplaceable: replaceable(entryOwner: 0, in: st, at: here)
            )
        )
    }

    /// Opens `name` in the directory `dirfd` without following a symlink (one step of the walk);
    /// its exposure is not computed (a mount point's root, a directory just made).
    public static func open(
        at dirfd: Int32, _ name: String, under parentPath: String
    ) -> Result<
        AnchoredDirectory, SysErrno
    > {
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { return .failure(SysErrno(errno)) }
        var fsst = aufsctl_statfs_t()
        guard let st = fileStatus(fd), aufsctl_fstatfs(fd, &fsst) == 0 else {
            let e = SysErrno(errno)
            close(fd)
            return .failure(e)
        }
        return .success(
            AnchoredDirectory(
                fd: fd, path: Paths.join(parentPath, name), status: st,
                fs: FSStat(magic: fsst.f_type, flags: fsst.f_flags)))
    }

    /// Whether a user other than root can swap an entry owned by `entryOwner` in the directory
    /// `dir` (at `path`): the directory is theirs, or group/other-writable without the sticky bit
    /// (with it, only the entry's owner can rename it). A sentence saying who, or nil.
    public static func replaceable(entryOwner: UInt32, in dir: FileStatus, at path: String) -> String? {
        if dir.uid != 0 { return "\(path) belongs to uid \(dir.uid)" }
        let others = dir.mode & 0o002 != 0
        let group = dir.mode & 0o020 != 0 && dir.gid != 0
        guard others || group else { return nil }
        let sticky = dir.mode & UInt32(S_ISVTX) != 0
        if sticky && entryOwner == 0 { return nil }
        let who = others ? "every user" : "group \(dir.gid)"
        return sticky
            ? "\(path) is writable by \(who) and the entry in it belongs to uid \(entryOwner)"
            : "\(path) is writable by \(who) (mode \(String(dir.mode & 0o7777, radix: 8)))"
    }

    static func fileStatus(_ fd: Int32) -> FileStatus? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileStatus(st)
    }
}

extension FileStatus {
    init(_ st: stat) {
        self.init(
            mode: UInt32(st.st_mode), device: UInt64(st.st_dev), uid: st.st_uid, mtime: st.st_mtim.tv_sec,
            gid: st.st_gid, inode: UInt64(st.st_ino), links: UInt64(st.st_nlink))
    }
}
