// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// A loop device bound read-only and auto-clearing to an image descriptor. While `fd` is open the
/// binding stays; once a mount holds the device, closing it is safe, and the kernel unbinds the
/// device when that mount goes (LO_FLAGS_AUTOCLEAR). Dropped before a mount, it unbinds at once.
public final class LoopDevice: @unchecked Sendable {
    public let number: Int
    public var path: String { "/dev/loop\(number)" }
    public private(set) var fd: Int32
    /// How the device was bound, for the report: `LOOP_CONFIGURE` or `LOOP_SET_FD`, with or without
    /// direct I/O.
    public let method: String
    public let directIO: Bool

    init(number: Int, fd: Int32, method: String, directIO: Bool) {
        self.number = number
        self.fd = fd
        self.method = method
        self.directIO = directIO
    }

    /// Binds `image` to a free loop device: LOOP_CTL_GET_FREE, then LOOP_CONFIGURE with
    /// READ_ONLY|AUTOCLEAR (and DIRECT_IO when `directIO` and the kernel takes it), or LOOP_SET_FD and
    /// LOOP_SET_STATUS64 on kernels before 5.8. Another process can take the free device between the
    /// two calls (EBUSY): then it asks again, as losetup does.
    /// `legacy` forces the pre-5.8 calls (tests exercise them on a new kernel).
    public static func attach(_ image: ImageFile, directIO: Bool = true, legacy: Bool = false) throws -> LoopDevice {
        let name = String(image.path.utf8.suffix(63)) ?? image.path
        var lastError = SysErrno(EBUSY)
        for _ in 0..<32 {
            let n = aufsctl_loop_get_free()
            if n < 0 {
                let e = SysErrno(-n)
                throw AufsError(
                    e.code == ENOENT
                        ? "no /dev/loop-control: this kernel has no loop driver (CONFIG_BLK_DEV_LOOP; modprobe loop)"
                        : "cannot get a free loop device from /dev/loop-control: \(e)")
            }
            let path = "/dev/loop\(n)"
            var fd = open(path, O_RDWR | O_CLOEXEC)
            if fd < 0 && (errno == EROFS || errno == EACCES) { fd = open(path, O_RDONLY | O_CLOEXEC) }
            if fd < 0 {
                lastError = SysErrno(errno)
                if lastError.code == ENOENT { continue }  // udev or devtmpfs has not made the node yet
                throw AufsError("cannot open \(path): \(lastError)")
            }
            switch bind(fd: fd, image: image, name: name, directIO: directIO, legacy: legacy) {
            case .success(let (method, dio)):
                return LoopDevice(number: Int(n), fd: fd, method: method, directIO: dio)
            case .failure(let e) where e.code == EBUSY:
                lastError = e
                Glibc.close(fd)
            case .failure(let e):
                Glibc.close(fd)
                throw AufsError("cannot bind image \(image.path) to \(path): \(e)")
            }
        }
        throw AufsError("cannot bind image \(image.path) to a loop device: every free device was taken (\(lastError))")
    }

    private static func bind(
        fd: Int32, image: ImageFile, name: String, directIO: Bool, legacy: Bool
    ) -> Result<(String, Bool), SysErrno> {
        var rc = legacy ? -ENOTTY : aufsctl_loop_configure(fd, image.fd, directIO ? 1 : 0, name)
        if rc == 0 { return .success(("LOOP_CONFIGURE", directIO)) }
        // Direct I/O the backing filesystem cannot do (tmpfs, or a block size it does not match).
        if rc == -EINVAL && directIO && !legacy {
            rc = aufsctl_loop_configure(fd, image.fd, 0, name)
            if rc == 0 { return .success(("LOOP_CONFIGURE", false)) }
        }
        if rc == -EBUSY { return .failure(SysErrno(EBUSY)) }
        guard rc == -EINVAL || rc == -ENOTTY else { return .failure(SysErrno(-rc)) }
        // Before 5.8: no LOOP_CONFIGURE.
        rc = aufsctl_loop_set_fd(fd, image.fd, name)
        if rc != 0 { return .failure(SysErrno(-rc)) }
        let dio = directIO && aufsctl_loop_set_direct_io(fd, 1) == 0
        return .success(("LOOP_SET_FD", dio))
    }

    /// Closes this process's handle: with a mount on the device the binding stays until that mount
    /// goes; without one the kernel unbinds it now.
    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    deinit { close() }

    /// The backing file of a bound loop device (LOOP_GET_STATUS64): its st_dev and st_ino, and the
    /// name given at binding (the last 63 bytes of the image's path).
    public struct Binding: Sendable, Equatable {
        public var number: Int
        public var backingDevice: UInt64
        public var backingInode: UInt64
        public var name: String
        public var readOnly: Bool
        public var autoclear: Bool
        public var directIO: Bool
    }

    public static func binding(of number: Int) -> Binding? {
        let fd = open("/dev/loop\(number)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var info = aufsctl_loop_info_t()
        guard aufsctl_loop_get_info(fd, &info) == 0 else { return nil }
        let name = withUnsafeBytes(of: info.file_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return Binding(
            number: number, backingDevice: info.backing_device, backingInode: info.backing_inode, name: name,
            readOnly: info.flags & AUFSCTL_LO_FLAGS_READ_ONLY != 0,
            autoclear: info.flags & AUFSCTL_LO_FLAGS_AUTOCLEAR != 0,
            directIO: info.flags & AUFSCTL_LO_FLAGS_DIRECT_IO != 0)
    }

    /// Every bound loop device (`/sys/block/loop*/loop` exists only while bound), lowest first.
    public static func bound(sysfs: String = "/sys/block") -> [Int] {
        (FileRead.list(sysfs) ?? []).compactMap { name -> Int? in
            guard name.hasPrefix("loop"), let n = Int(name.dropFirst(4)) else { return nil }
            return FileRead.exists("\(sysfs)/\(name)/loop") ? n : nil
        }.sorted()
    }

    /// Waits until loop device `number` is unbound: auto-clear runs after the last close, and newer
    /// kernels do it from a work queue, so an unmount returns before the device is free. False when it
    /// is still bound after `timeoutMicroseconds`.
    public static func waitUnbound(_ number: Int, timeoutMicroseconds: UInt32 = 2_000_000) -> Bool {
        var waited: UInt32 = 0
        while FileRead.exists("/sys/block/loop\(number)/loop") {
            if waited >= timeoutMicroseconds { return false }
            usleep(10_000)
            waited += 10_000
        }
        return true
    }

    /// The path the kernel records as the device's backing file (sysfs `loop/backing_file`).
    public static func backingFile(of number: Int, sysfs: String = "/sys/block") -> String? {
        FileRead.string("\(sysfs)/loop\(number)/loop/backing_file").map { $0.trimmingBlanks }
    }
}
