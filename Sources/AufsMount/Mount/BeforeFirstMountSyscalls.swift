// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Test-only: runs a hook just before the first mount(2), then passes every call on. The QEMU
/// suite installs it (through AUFSCTL_TEST_RMDIR_AFTER_VALIDATION) to remove a branch between
/// validation and the call, proving the kernel's own refusal reaches the user; the race tests
/// (AUFSCTL_TEST_PAUSE_BEFORE_MOUNT) to give another user's process the moment between the checks
/// and the calls.
public final class BeforeFirstMountSyscalls: Syscalls, @unchecked Sendable {
    let base: any Syscalls
    var hook: (() -> Void)?

    public init(_ base: any Syscalls, hook: @escaping () -> Void) {
        self.base = base
        self.hook = hook
    }

    func runHook() {
        if let h = hook {
            hook = nil
            h()
        }
    }

    public func uname() -> Uname { base.uname() }
    public func geteuid() -> UInt32 { base.geteuid() }
    public func statfs(_ path: String) -> Result<FSStat, SysErrno> { base.statfs(path) }
    public func deviceID(_ path: String) -> Result<UInt64, SysErrno> { base.deviceID(path) }
    public func mount(
        source: String, target: String, fstype: String, flags: UInt, data: String
    ) -> Result<Void, SysErrno> {
        runHook()
        return base.mount(source: source, target: target, fstype: fstype, flags: flags, data: data)
    }
    public func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno> {
        runHook()
        return base.umount2(target, flags: flags)
    }
    public func fsMount(
        fstype: String, source: String, parameters: [FsParameter], readOnly: Bool, target: AnchoredDirectory
    ) -> Result<Void, FsMountError> {
        runHook()
        return base.fsMount(fstype: fstype, source: source, parameters: parameters, readOnly: readOnly, target: target)
    }
    public func anchorDirectory(_ path: String) -> Result<AnchoredDirectory, AnchorFailure> {
        base.anchorDirectory(path)
    }
    public func openDirectory(in dir: AnchoredDirectory, _ name: String) -> Result<AnchoredDirectory, SysErrno> {
        base.openDirectory(in: dir, name)
    }
    public func makeDirectory(
        in dir: AnchoredDirectory, _ name: String, mode: UInt32
    ) -> Result<AnchoredDirectory, SysErrno> {
        base.makeDirectory(in: dir, name, mode: mode)
    }
    public func mountID(in dir: AnchoredDirectory, _ name: String) -> Result<Int, SysErrno> {
        base.mountID(in: dir, name)
    }
    public func unmount(in dir: AnchoredDirectory, _ name: String, flags: Int32) -> Result<Void, SysErrno> {
        runHook()
        return base.unmount(in: dir, name, flags: flags)
    }
    public func removeTree(in dir: AnchoredDirectory, _ name: String, identity: FileIdentity?) -> TreeRemoval {
        base.removeTree(in: dir, name, identity: identity)
    }
    public func realpath(_ path: String) -> Result<String, SysErrno> { base.realpath(path) }
    public func fileStatus(_ path: String, followSymlinks: Bool) -> Result<FileStatus, SysErrno> {
        base.fileStatus(path, followSymlinks: followSymlinks)
    }
    public func makeDirectory(_ path: String, mode: UInt32) -> Result<Void, SysErrno> {
        base.makeDirectory(path, mode: mode)
    }
    public func makeDirectories(_ path: String) throws -> CreatedDirectories { try base.makeDirectories(path) }
    public func removeTree(_ path: String, strictParents: Bool) -> Bool {
        base.removeTree(path, strictParents: strictParents)
    }
    public func lock(_ path: String, what: String) throws -> any HeldLock { try base.lock(path, what: what) }
    public func pause(microseconds: UInt32) { base.pause(microseconds: microseconds) }
}
