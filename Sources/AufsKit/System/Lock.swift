import Glibc

/// An exclusive flock(2) on a lock file, held until `release()` or deinit.
public final class FileLock {
    private var fd: Int32

    /// Takes the lock, waiting up to `timeout` seconds; throws with a clear message otherwise.
    public init(path: String, what: String, timeout: Double = 60) throws {
        mkdir(FilePath.dirname(path), 0o755)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw AufsError("cannot open lock file \(path): \(Errno(errno)); \(what) needs root") }
        let deadline = Double(time(nil)) + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let e = Errno(errno)
                close(fd)
                throw AufsError("cannot lock \(path): \(e)")
            }
            if Double(time(nil)) >= deadline {
                close(fd)
                throw AufsError("another aufsctl holds \(path) (\(what)); waited \(Int(timeout)) s; try again when it has finished")
            }
            usleep(20_000)
        }
    }

    public func release() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { release() }
}
