// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// aufsctl's runtime directory: locks and default xino files, in a directory only root can write
/// (never /run/lock or /tmp, where any user can create, hold or plant a symlink under the name).
public enum RuntimeDir {
    public static let path = "/run/aufsctl"
    public static let mountLock = "/run/aufsctl/mount.lock"
    public static let installLock = "/run/aufsctl/install.lock"
    public static let xinoDir = "/run/aufsctl/xino"
    /// The identity of each overlay workdir aufsctl made (WorkdirRecords).
    public static let workdirRecords = "/run/aufsctl/workdir"
    /// One lock file per aufs union (UnionLocks).
    public static let unionLockDir = "/run/aufsctl/si"

    /// Creates `dir` (0700) if missing, then checks it is a real directory (not a symlink), owned
    /// by this user and writable by nobody else; throws a message naming the problem otherwise.
    public static func ensurePrivate(_ dir: String, what: String) throws {
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            if errno == ENOENT {
                try ensurePrivate(Paths.dirname(dir), what: what)
                if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                    throw AufsError("cannot create \(dir) (\(what)): \(SysErrno(errno))")
                }
            } else {
                throw AufsError("cannot create \(dir) (\(what)): \(SysErrno(errno))")
            }
        }
        var st = stat()
        guard lstat(dir, &st) == 0 else { throw AufsError("cannot inspect \(dir) (\(what)): \(SysErrno(errno))") }
        if st.st_mode & S_IFMT != S_IFDIR {
            throw AufsError(
                "\(dir) is not a directory (a symlink or file planted there?); \(what) needs it to be root's own "
                    + "directory: remove it and run again"
            )
        }
        if st.st_uid != geteuid() {
            throw AufsError(
                "\(dir) belongs to uid \(st.st_uid), not to uid \(geteuid()); \(what) refuses a directory another "
                    + "user controls: remove it and run again"
            )
        }
        if st.st_mode & 0o022 != 0 {
            throw AufsError(
                "\(dir) is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8))); \(what) "
                    + "refuses what others could have put there: inspect it, then chmod 700 \(dir)"
            )
        }
        // Ours and not writable by others, but readable (made by an older aufsctl): make it 0700.
        if st.st_mode & 0o077 != 0 { chmod(dir, 0o700) }
    }
}

/// An exclusive flock(2) on a lock file, held until `release()` or deinit.
public final class FileLock {
    private var fd: Int32

    /// Takes the lock, waiting up to `timeout` seconds; throws with a clear message otherwise.
    /// The lock lives in a private directory (created 0700) and is opened with O_NOFOLLOW: another
    /// user can neither hold it nor redirect it with a symlink.
    public init(path: String, what: String, timeout: Double = 60) throws {
        try RuntimeDir.ensurePrivate(Paths.dirname(path), what: what)
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 {
            let e = SysErrno(errno)
            throw AufsError(
                e.code == ELOOP
                    ? "lock file \(path) is a symlink; \(what) refuses to follow it: remove it and run again"
                    : "cannot open lock file \(path): \(e); \(what) needs root")
        }
        var st = stat()
        if fstat(fd, &st) != 0 || st.st_mode & S_IFMT != S_IFREG || st.st_uid != geteuid() {
            close(fd)
            throw AufsError(
                "lock file \(path) is not a regular file of uid \(geteuid()); \(what) refuses it: remove it and run "
                    + "again"
            )
        }
        let deadline = Double(time(nil)) + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let e = SysErrno(errno)
                close(fd)
                throw AufsError("cannot lock \(path): \(e)")
            }
            if Double(time(nil)) >= deadline {
                close(fd)
                throw AufsError(
                    "another aufsctl holds \(path) (\(what)); waited \(Int(timeout)) s; try again when it has finished")
            }
            usleep(20_000)
        }
    }

    public func release() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { release() }
}
