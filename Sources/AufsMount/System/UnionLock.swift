// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Per-union locks, `/run/aufsctl/si/<si id>.lock`: aufs (every version from 5.0 to 6.x read)
/// dereferences a superblock that is already gone when `/sys/fs/aufs/si_<id>/*` is read while the
/// union is torn down (sysaufs_si_show after aufs_kill_sb cleared si_sb), so aufsctl's unmounts
/// hold their union's lock exclusively and every aufsctl read of a union's sysfs entries holds it
/// shared.
///
/// Lock order: `/run/aufsctl/mount.lock` first (mounts, remounts), then at most one union lock;
/// `/run/aufsctl/mtab.lock` last. A process holds one union lock at a time and never waits for
/// mount.lock while it holds one, so no cycle exists.
///
/// Lifetime: a lock file is made by whoever locks first (O_CREAT) and removed by the unmount that
/// held it exclusively once the kernel has dropped the union's superblock. Whoever removes a file
/// holds it exclusively, and whoever locks checks afterwards that the path still names the inode it
/// locked (else it opens again): a removed or stale file never splits one union's lock in two. A
/// file left behind (a union unmounted by something else) is held by nobody, so it blocks nobody,
/// including a later union that gets the same id (aufs's ids are a masked kernel address); status
/// sweeps such files by the same rule.
public struct UnionLocks: Sendable {
    public var directory: String

    public init(directory: String = RuntimeDir.unionLockDir) { self.directory = directory }

    /// The locks of the host a root describes (a fixture root keeps its own).
    public init(root: HostRoot) {
        directory = root.isHost ? RuntimeDir.unionLockDir : root.path + RuntimeDir.unionLockDir
    }

    /// aufs prints the id with `%lx`: 1 to 16 lowercase hex digits (anything else is not a file name).
    public static func isValidID(_ si: String) -> Bool {
        !si.isEmpty && si.utf8.count <= 16 && si.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    public func path(_ si: String) -> String { directory + "/" + si + ".lock" }

    /// Waits up to `timeout` seconds; throws with the lock's path and who may hold it.
    public func exclusive(_ si: String, what: String, timeout: Double = 30) throws -> UnionLock {
        switch acquire(si, exclusive: true, timeout: timeout, what: what) {
        case .success(let l): return l
        case .failure(let e): throw e
        }
    }

    /// Waits up to `timeout` seconds; a failure says why (for the "branches from mountinfo" note).
    public func shared(_ si: String, timeout: Double = 2) -> Result<UnionLock, AufsError> {
        acquire(si, exclusive: false, timeout: timeout, what: "reading the union's sysfs entries")
    }

    /// Removes the lock files of unions not in `live` (unmounted by something other than aufsctl)
    /// that nobody holds, by the same rule as an unmount: exclusively held, still the path's file.
    public func sweep(keeping live: Set<String>) {
        guard let names = FileRead.list(directory) else { return }
        for name in names where name.hasSuffix(".lock") {
            let si = String(name.dropLast(5))
            guard UnionLocks.isValidID(si), !live.contains(si) else { continue }
            let fd = open(path(si), O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            UnionLock(fd: fd, path: path(si), si: si, exclusive: false, traced: false).removeIfUnused()
        }
    }

    func acquire(_ si: String, exclusive: Bool, timeout: Double, what: String) -> Result<UnionLock, AufsError> {
        guard UnionLocks.isValidID(si) else {
            return .failure(AufsError("si=\(si) from mountinfo is not an aufs id (hex digits); not locking it"))
        }
        do { try RuntimeDir.ensurePrivate(directory, what: what) } catch let e as AufsError {
            return .failure(e)
        } catch { return .failure(AufsError("\(error)")) }
        let p = path(si)
        let kind = exclusive ? "ex" : "sh"
        let deadline = Monotonic.seconds() + timeout
        while true {
            let fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 {
                let e = SysErrno(errno)
                return .failure(
                    AufsError(
                        e.code == ELOOP
                            ? "lock file \(p) is a symlink; \(what) refuses to follow it: remove it and run again"
                            : "cannot open lock file \(p): \(e)"))
            }
            var st = stat()
            if fstat(fd, &st) != 0 || st.st_mode & S_IFMT != S_IFREG || st.st_uid != geteuid() {
                close(fd)
                return .failure(
                    AufsError(
                        "lock file \(p) is not a regular file of uid \(geteuid()); \(what) refuses it: remove it and "
                            + "run again"))
            }
            while flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR else {
                    let e = SysErrno(errno)
                    close(fd)
                    return .failure(AufsError("cannot lock \(p): \(e)"))
                }
                if Monotonic.seconds() >= deadline {
                    close(fd)
                    Trace.event("lock-\(kind)-timeout \(si)")
                    return .failure(
                        AufsError(
                            "another aufsctl holds \(p) (an unmount or remount of that union); waited "
                                + "\(Monotonic.describe(timeout))"))
                }
                usleep(5_000)
            }
            // The file we locked must still be the one the path names: an unmount removes it
            // (holding it exclusively) once the union is gone.
            var now = stat()
            if lstat(p, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev {
                Trace.event("lock-\(kind) \(si)")
                return .success(UnionLock(fd: fd, path: p, si: si, exclusive: exclusive))
            }
            close(fd)
        }
    }
}

/// A held union lock; released by `release()` or when dropped.
public final class UnionLock: HeldLock {
    private var fd: Int32
    public let path: String
    public let si: String
    public let exclusive: Bool
    /// Whether taking it was traced (so is its release).
    let traced: Bool

    init(fd: Int32, path: String, si: String, exclusive: Bool, traced: Bool = true) {
        self.fd = fd
        self.path = path
        self.si = si
        self.exclusive = exclusive
        self.traced = traced
    }

    public func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
            if traced { Trace.event("unlock-\(exclusive ? "ex" : "sh") \(si)") }
        }
    }

    /// Removes the lock file, then releases it (exclusive holders only: see UnionLocks).
    public func removeFileAndRelease() {
        if exclusive && fd >= 0 && unlink(path) == 0 { Trace.event("lock-file-removed \(si)") }
        release()
    }

    /// For a reader that found its union gone: removes the lock file (which its open may have
    /// made again) when nobody else holds it, then releases.
    public func removeIfUnused() {
        if fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 {
            var held = stat()
            var named = stat()
            if fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_ino == named.st_ino
                && held.st_dev == named.st_dev && unlink(path) == 0
            {
                Trace.event("lock-file-removed \(si)")
            }
        }
        release()
    }

    deinit { release() }
}

/// CLOCK_MONOTONIC: lock deadlines, and the trace's time stamps (the kernel's ktime_get_ns()).
public enum Monotonic {
    public static func nanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }

    public static func seconds() -> Double { Double(nanoseconds()) / 1e9 }

    static func describe(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(Int(s * 1000)) ms"
    }
}

/// `AUFSCTL_TRACE=FILE`: one line per union lock taken or released, aufs sysfs file read and
/// unmount, `<CLOCK_MONOTONIC ns> <pid> <event>`, appended with one write each. The QEMU suite
/// lays these beside the stand-in module's own record of the sysfs reads (its trace_sysfs
/// parameter) to check the lock order; off (one getenv) otherwise.
public enum Trace {
    static let path: String? = getenv("AUFSCTL_TRACE").map { String(cString: $0) }

    public static var enabled: Bool { path != nil }

    public static func event(_ text: String) {
        guard let path else { return }
        let line = "\(Monotonic.nanoseconds()) \(getpid()) \(text)\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}
