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
    func statfs(_ path: String) -> Result<FSStat, Errno>
    /// st_dev of a path (follows symlinks).
    func deviceID(_ path: String) -> Result<UInt64, Errno>
    func mount(source: String, target: String, fstype: String, flags: UInt, data: String) -> Result<Void, Errno>
    func umount2(_ target: String, flags: Int32) -> Result<Void, Errno>
    /// The new mount API (fsopen/fsconfig/fsmount/move_mount) for one filesystem: every
    /// `FSCONFIG_SET_STRING` in order, then create, mount and move to `target`.
    /// Fails with the step that failed, so callers can fall back when a key is unknown.
    func fsMount(fstype: String, source: String, strings: [(String, String)], readOnly: Bool, target: String) -> Result<Void, FsMountError>
}

public struct FsMountError: Error, Sendable, Equatable {
    public var step: String
    public var errno: Errno
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

    public func statfs(_ path: String) -> Result<FSStat, Errno> {
        var out = aufsctl_statfs_t()
        let rc = aufsctl_statfs(path, &out)
        if rc != 0 { return .failure(Errno(-rc)) }
        return .success(FSStat(magic: out.f_type, flags: out.f_flags))
    }

    public func deviceID(_ path: String) -> Result<UInt64, Errno> {
        var st = stat()
        if stat(path, &st) != 0 { return .failure(Errno(errno)) }
        return .success(UInt64(st.st_dev))
    }

    public func mount(source: String, target: String, fstype: String, flags: UInt, data: String) -> Result<Void, Errno> {
        if Glibc.mount(source, target, fstype, flags, data) != 0 { return .failure(Errno(errno)) }
        return .success(())
    }

    public func umount2(_ target: String, flags: Int32) -> Result<Void, Errno> {
        if Glibc.umount2(target, flags) != 0 { return .failure(Errno(errno)) }
        return .success(())
    }

    public func fsMount(fstype: String, source: String, strings: [(String, String)], readOnly: Bool, target: String) -> Result<Void, FsMountError> {
        let fs = aufsctl_fsopen(fstype, AUFSCTL_FSOPEN_CLOEXEC)
        if fs < 0 { return .failure(FsMountError(step: "fsopen(\"\(fstype)\")", errno: Errno(errno))) }
        defer { close(fs) }
        for (key, value) in [("source", source)] + strings {
            if aufsctl_fsconfig_string(fs, key, value) != 0 {
                return .failure(FsMountError(step: "fsconfig(FSCONFIG_SET_STRING, \"\(key)\", \"\(value)\")", errno: Errno(errno)))
            }
        }
        if aufsctl_fsconfig_create(fs) != 0 {
            return .failure(FsMountError(step: "fsconfig(FSCONFIG_CMD_CREATE)", errno: Errno(errno)))
        }
        let mnt = aufsctl_fsmount(fs, readOnly ? 1 : 0)
        if mnt < 0 { return .failure(FsMountError(step: "fsmount", errno: Errno(errno))) }
        defer { close(mnt) }
        if aufsctl_move_mount_to(mnt, target) != 0 {
            return .failure(FsMountError(step: "move_mount(\"\(target)\")", errno: Errno(errno)))
        }
        return .success(())
    }
}
