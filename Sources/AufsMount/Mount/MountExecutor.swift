// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Carries out mount plans and remounts: the one place that holds the mount lock, refuses a busy
/// mount point, creates (and on failure removes) the mount point, loads modules, rolls back
/// partial aufs mounts and reports the kernel's own log lines. Used by `mount`, `branch` and the
/// mount helper.
public struct MountExecutor {
    public var syscalls: any Syscalls
    public var root: HostRoot
    public var lockPath: String

    public init(
        syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot(), lockPath: String = RuntimeDir.mountLock
    ) {
        self.syscalls = syscalls
        self.root = root
        self.lockPath = lockPath
    }

    public func run(_ plan: MountPlan) throws -> MountReport {
        if plan.report.dryRun { return plan.report }
        switch plan {
        case .overlay(let p):
            return try overlay(p)
        case .aufs(var p):
            if p.loadModule != nil {
                do {
                    _ = try ModuleLoader(root: root, syscalls: syscalls).load()
                } catch let e as AufsError {
                    guard let fallback = p.ifLoadFails else { throw e }
                    var o = try fallback.get()
                    o.report.notes[0] =
                        "overlay, not aufs: the aufs module could not be loaded (\(e.message)); "
                        + "mounting the same layers with overlayfs because \(p.fallbackReason)"
                    return try overlay(o)
                }
            }
            if p.ensureXinoDir { try RuntimeDir.ensurePrivate(RuntimeDir.xinoDir, what: "the default xino directory") }
            try exclusively(
                target: p.target, create: p.createTarget,
                what: "mounts are serialised because concurrent aufs mounts race on xino"
            ) {
                try makeCalls(p.calls, target: p.target, fallbackAdvice: p.fallbackAdvice)
            }
            p.report.notes.append(
                "mounted aufs on \(p.target) with \(p.report.branches.count) branches in \(p.calls.count) "
                    + "call\(p.calls.count == 1 ? "" : "s")"
            )
            return p.report
        }
    }

    /// Flush the union's pseudo-links before a remount that changes its branches or turns plink off.
    public var flushPseudoLinks = true

    /// A remount of a live union (branch add/del/mod), under the mount lock.
    public func remount(_ call: MountCall, failure: String) throws {
        try remount([call], failure: failure)
    }

    /// Remounts of one live union in order, under the mount lock; as aufs asks, its pseudo-links
    /// are flushed first when the calls add, delete or change branches, or set noplink.
    public func remount(_ calls: [MountCall], failure: String) throws {
        guard let target = calls.first?.target else { return }
        let lock = try syscalls.lock(lockPath, what: "mounts and remounts are serialised")
        defer { lock.release() }
        if flushPseudoLinks && calls.contains(where: { PseudoLinks.remountNeedsFlush($0.data) }),
            let union = (try? StatusReader(root: root).read())?.mounts.first(where: {
                $0.target == target && $0.filesystem == .aufs
            })
        {
            _ = try PseudoLinks(root: root).flush(union)
        }
        let log = KernelLog()
        for (n, call) in calls.enumerated() {
            if case .failure(let e) = syscalls.mount(
                source: call.source, target: call.target, fstype: call.fstype, flags: call.flags, data: call.data)
            {
                throw AufsError(
                    "\(failure): \(e)",
                    details: ["call\(calls.count > 1 ? " \(n + 1) of \(calls.count)" : ""): \(call)"]
                        + (n > 0 ? ["\(n) earlier remount call\(n == 1 ? " was" : "s were") made and stay"] : [])
                        + kernelLines(log, "aufs"))
            }
        }
    }

    /// Under the lock: refuses a target that is already a mount point, creates it if asked (and
    /// removes it again when `body` fails), then runs `body`.
    func exclusively<T>(target: String, create: Bool, what: String, _ body: () throws -> T) throws -> T {
        let lock = try syscalls.lock(lockPath, what: what)
        defer { lock.release() }
        if let existing = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: target) {
            throw AufsError.usage(
                "\(target) is already a mount point (\(existing.fstype) from \(existing.source)); unmount it first "
                    + "(aufsctl umount \(target))"
            )
        }
        guard create else { return try body() }
        // --mkdir creates the mount point only now, everything validated, and removes it again if
        // the mount fails, so a refused mount changes nothing.
        let created = try syscalls.makeDirectories(target)
        do { return try body() } catch {
            created.remove()
            throw error
        }
    }

    func makeCalls(_ calls: [MountCall], target: String, fallbackAdvice: String = "add --fallback overlay") throws {
        let log = KernelLog()
        for (n, call) in calls.enumerated() {
            if case .failure(let e) = syscalls.mount(
                source: call.source, target: call.target, fstype: call.fstype, flags: call.flags, data: call.data)
            {
                var details = ["call \(n + 1) of \(calls.count): \(call)"] + kernelLines(log, "aufs")
                if n > 0 {
                    if case .failure = syscalls.umount2(target, flags: 0) {
                        _ = syscalls.umount2(target, flags: Int32(MNT_DETACH))
                    }
                    details.append(
                        "rolled back: unmounted \(target) after \(n) of \(calls.count) calls had succeeded; nothing "
                            + "is left mounted"
                    )
                }
                throw AufsError(
                    Self.explain(e, target: target, fallbackAdvice: fallbackAdvice), exitCode: .failure,
                    details: details)
            }
        }
    }

    func overlay(_ p: OverlayMountPlan) throws -> MountReport {
        var report = p.report
        if p.loadOverlay { try? loadModule("overlay") }
        try exclusively(target: p.target, create: p.createTarget, what: "mounts are serialised") {
            if let workdir = p.workdir, case .failure(let e) = syscalls.makeDirectory(workdir, mode: 0o700) {
                let owner = (try? StatusReader(root: root).read())?.mounts.first(where: { $0.workdir == workdir })
                if e.code == EEXIST, owner == nil, p.reuseIdleWorkdir,
                    case .success(let st) = syscalls.fileStatus(workdir, followSymlinks: false),
                    st.isDirectory, st.uid == 0, st.mode & 0o077 == 0
                {
                    // Left by a plain umount(8) of the fallback union (umount.overlay does not exist);
                    // overlayfs empties its own work directory at mount.
                    report.notes.append("used the idle overlay workdir \(workdir) again (left by an earlier umount)")
                } else if e.code == EEXIST, let owner {
                    throw AufsError.usage(
                        "overlay workdir \(workdir) belongs to the live overlay union on \(owner.target) "
                            + "(upper \(owner.branches.first.map(UnionGeometry.pathOf) ?? "?")); one upper directory "
                            + "cannot serve two unions: "
                            + "unmount that one (aufsctl umount \(owner.target)) or give this union its own writable "
                            + "branch"
                    )
                } else {
                    throw AufsError(
                        e.code == EEXIST
                            ? "overlay workdir \(workdir) already exists and no live union uses it (left by an earlier "
                                + "mount?); remove it"
                            : "cannot create overlay workdir \(workdir): \(e)")
                }
            }
            let log = KernelLog()
            func fail(_ error: AufsError) -> AufsError {
                if let w = p.workdir { syscalls.removeTree(w, strictParents: false) }
                return error
            }
            switch syscalls.fsMount(
                fstype: "overlay", source: OverlayMounter.source, strings: p.strings, readOnly: p.readOnly,
                target: p.target)
            {
            case .success:
                report.calls = SyscallRecord.overlay(strings: p.strings, target: p.target)
            case .failure(let f)
            where f.step.hasPrefix("fsconfig(FSCONFIG_SET_STRING, \"lowerdir+\"") || f.step.hasPrefix("fsopen")
                || (f.step == "fsconfig(FSCONFIG_CMD_CREATE)" && f.errno.code == EINVAL):
                // No lowerdir+ (kernel < 6.8) or no new mount API: one mount(2) within the page limit.
                // Kernels whose overlay still parses options the legacy way (< 6.5) accept every
                // fsconfig string and only refuse "lowerdir+" at FSCONFIG_CMD_CREATE, hence that case.
                let legacy = p.legacy
                if legacy.data.utf8.count > AufsCallPlanner.maxDataBytes {
                    throw fail(
                        AufsError(
                            "overlay fallback: this kernel lacks fsconfig lowerdir+ (\(f.errno.name)), and the "
                                + "\(p.layerCount) layers need \(legacy.data.utf8.count) bytes of mount data; "
                                + "mount(2) takes at most "
                                + "\(AufsCallPlanner.maxDataBytes); use shorter paths (symlinks) or fewer layers"))
                }
                if case .failure(let e) = syscalls.mount(
                    source: legacy.source, target: legacy.target, fstype: "overlay", flags: legacy.flags,
                    data: legacy.data)
                {
                    throw fail(
                        AufsError(
                            "overlay mount failed: \(e)", details: ["call: \(legacy)"] + kernelLines(log, "overlay")))
                }
                report.calls = [SyscallRecord(legacy)]
            case .failure(let f):
                throw fail(
                    AufsError("overlay mount failed at \(f.step): \(f.errno)", details: kernelLines(log, "overlay")))
            }
        }
        return report
    }

    func loadModule(_ name: String) throws {
        let kver = syscalls.uname().release
        guard FileRead.isDirectory(root.resolve("/lib/modules/\(kver)")) else { return }
        _ = try ModuleIndex(root: root, kernel: kver).load(name, options: nil)
    }

    func kernelLines(_ log: KernelLog?, _ word: String) -> [String] {
        (log?.newLines(containing: [word]) ?? []).map { "kernel: " + $0 }
    }

    static func explain(_ e: SysErrno, target: String, fallbackAdvice: String = "add --fallback overlay") -> String {
        switch e.code {
        case ENODEV:
            return
                "mount failed: ENODEV: aufs is not available in this kernel (the filesystem type is not registered); "
                + "run `aufsctl check` to see why and what would fix it, or \(fallbackAdvice)"
        case EINVAL:
            return "mount failed: EINVAL: aufs refused the options; the kernel log lines below say why"
        case EPERM, EACCES:
            return "mount failed: \(e.name): not permitted (root and CAP_SYS_ADMIN are needed)"
        case ENOSPC:
            return "mount failed: ENOSPC: too many branches for this aufs build"
        case E2BIG:
            return "mount failed: E2BIG: too many options in one call"
        default:
            return "mount failed: \(e)"
        }
    }
}

/// Test-only: runs a hook just before the first mount(2), then passes every call on. The QEMU
/// suite installs it (through AUFSCTL_TEST_RMDIR_AFTER_VALIDATION) to remove a branch between
/// validation and the call, proving the kernel's own refusal reaches the user.
public final class BeforeFirstMountSyscalls: Syscalls, @unchecked Sendable {
    let base: any Syscalls
    var hook: (() -> Void)?

    public init(_ base: any Syscalls, hook: @escaping () -> Void) {
        self.base = base
        self.hook = hook
    }

    public func uname() -> Uname { base.uname() }
    public func geteuid() -> UInt32 { base.geteuid() }
    public func statfs(_ path: String) -> Result<FSStat, SysErrno> { base.statfs(path) }
    public func deviceID(_ path: String) -> Result<UInt64, SysErrno> { base.deviceID(path) }
    public func mount(
        source: String, target: String, fstype: String, flags: UInt, data: String
    ) -> Result<Void, SysErrno> {
        if let h = hook { hook = nil; h() }
        return base.mount(source: source, target: target, fstype: fstype, flags: flags, data: data)
    }
    public func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno> { base.umount2(target, flags: flags) }
    public func fsMount(
        fstype: String, source: String, strings: [(String, String)], readOnly: Bool, target: String
    ) -> Result<Void, FsMountError> {
        if let h = hook { hook = nil; h() }
        return base.fsMount(fstype: fstype, source: source, strings: strings, readOnly: readOnly, target: target)
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
