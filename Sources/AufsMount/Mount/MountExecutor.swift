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
    /// Where DKMS's key is, for the message of a refused module load (see ModuleLoader).
    public var signingKey: (@Sendable (_ kernel: String) -> SigningKeyHint?)?
    /// Where the identity of each overlay workdir made is kept (WorkdirRecords).
    public var workdirRecords: WorkdirRecords

    public init(
        syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot(), lockPath: String = RuntimeDir.mountLock
    ) {
        self.syscalls = syscalls
        self.root = root
        self.lockPath = lockPath
        workdirRecords = WorkdirRecords(root: root)
    }

    public func run(_ plan: MountPlan) throws -> MountReport {
        if plan.report.dryRun { return plan.report }
        switch plan {
        case .overlay(let p):
            return try overlay(p)
        case .aufs(var p):
            if p.loadModule != nil {
                do {
                    _ = try ModuleLoader(root: root, syscalls: syscalls, signingKey: signingKey).load()
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
                target: p.target, directory: p.targetDirectory, create: p.createTarget,
                what: "mounts are serialised because concurrent aufs mounts race on xino"
            ) { mountPoint in
                try withExtendedLifetime(p.branchDirectories) {
                    try makeCalls(p.calls, at: mountPoint, fallbackAdvice: p.fallbackAdvice)
                }
            }
            p.report.notes.append(
                "mounted aufs on \(p.target) with \(p.report.branches.count) branches in \(p.calls.count) "
                    + "call\(p.calls.count == 1 ? "" : "s")"
                    + (p.branchDirectories.isEmpty
                        ? "" : " (the mount point and the branches passed as the fds they were checked on)")
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
    /// are flushed first when the calls add, delete or change branches, or set noplink. A call's
    /// `kernelTarget`/`kernelData` (the union root's and the branches' fds) are what is made.
    public func remount(_ calls: [MountCall], failure: String) throws {
        guard let target = calls.first?.target else { return }
        let lock = try syscalls.lock(lockPath, what: "mounts and remounts are serialised")
        defer { lock.release() }
        // Then the union's own lock (UnionLocks' order): no aufsctl reads its branch list halfway
        // through the calls, and an unmount of it waits for them.
        let status = StatusReader(root: root)
        let entry = (try? status.mountTable())?.entries.last { $0.target == target && $0.fstype == "aufs" }
        let unionLock = try entry.flatMap(StatusReader.si).flatMap { si in
            UnionLocks.isValidID(si) ? try status.locks.exclusive(si, what: "remounting \(target)") : nil
        }
        defer { unionLock?.release() }
        if flushPseudoLinks && calls.contains(where: { PseudoLinks.remountNeedsFlush($0.data) }), let entry,
            let union = status.aufsMount(entry, locking: .held, xino: false)
        {
            _ = try PseudoLinks(root: root, syscalls: syscalls).flush(union)
        }
        let log = KernelLog()
        for (n, call) in calls.enumerated() {
            if case .failure(let e) = syscalls.mount(
                source: call.source, target: call.kernelTarget ?? call.target, fstype: call.fstype, flags: call.flags,
                data: call.kernelData ?? call.data)
            {
                throw AufsError(
                    "\(failure): \(e)",
                    details: call.report("call\(calls.count > 1 ? " \(n + 1) of \(calls.count)" : "")")
                        + (n > 0 ? ["\(n) earlier remount call\(n == 1 ? " was" : "s were") made and stay"] : [])
                        + kernelLines(log, "aufs"))
            }
        }
    }

    /// The mount point by fd: the directory the union is mounted on, and its parent and name, where
    /// the union's root is found once mounted (a mount point cannot be renamed).
    struct MountPoint {
        var path: String
        var parent: AnchoredDirectory
        var name: String
        var directory: AnchoredDirectory
    }

    /// Under the lock: refuses a target that is already a mount point, creates it if asked (and
    /// removes it again when `body` fails), opens it by fd, then runs `body` with it.
    func exclusively<T>(
        target: String, directory: AnchoredDirectory?, create: Bool, what: String, _ body: (MountPoint) throws -> T
    ) throws -> T {
        let lock = try syscalls.lock(lockPath, what: what)
        defer { lock.release() }
        if let existing = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: target) {
            throw AufsError.usage(
                "\(target) is already a mount point (\(existing.fstype) from \(existing.source)); unmount it first "
                    + "(aufsctl umount \(target))"
            )
        }
        guard create else { return try body(try mountPoint(target, checked: directory)) }
        // --mkdir creates the mount point only now, everything validated, and removes it again if
        // the mount fails, so a refused mount changes nothing.
        let created = try syscalls.makeDirectories(target)
        do { return try body(try mountPoint(target, checked: nil)) } catch {
            created.remove()
            throw error
        }
    }

    /// Opens the mount point's parent with the no-follow walk and the mount point in it; with
    /// `checked` (the fd validation opened), it must still be that directory.
    func mountPoint(_ target: String, checked: AnchoredDirectory?) throws -> MountPoint {
        let name = String(target.split(separator: "/").last ?? "")
        guard !name.isEmpty else { throw AufsError.usage("mount point \(target): / cannot be a union's mount point") }
        let parent: AnchoredDirectory
        switch syscalls.anchorDirectory(Paths.dirname(target)) {
        case .success(let p): parent = p
        case .failure(let f): throw AufsError("mount point \(target): \(f); nothing was mounted")
        }
        let dir: AnchoredDirectory
        switch syscalls.openDirectory(in: parent, name) {
        case .success(let d): dir = d
        case .failure(let e): throw AufsError("mount point \(target): cannot open it: \(e); nothing was mounted")
        }
        if let checked, checked.identity != dir.identity {
            throw AufsError(
                "mount point \(target) is no longer the directory that was checked (renamed or replaced meanwhile: "
                    + "another user can write \(Paths.dirname(target))?); nothing was mounted")
        }
        return MountPoint(path: target, parent: parent, name: name, directory: checked ?? dir)
    }

    /// After the first call: the union must sit where it was planned. The mount point was named by
    /// fd; had it been renamed before the call, the union went with it, and is unmounted again.
    func checkLanded(_ mp: MountPoint, unmount: () -> Void) throws {
        let now = mp.directory.currentPath
        if now == mp.path { return }
        unmount()
        throw AufsError(
            "mount point \(mp.path) was moved to \(now ?? "an unknown place") just before the mount (another user "
                + "can rename entries in \(Paths.dirname(mp.path))?); the union was unmounted again")
    }

    func makeCalls(_ calls: [MountCall], at mp: MountPoint, fallbackAdvice: String = "add --fallback overlay") throws {
        let log = KernelLog()
        var unionRoot: AnchoredDirectory?
        func rollBack() {
            if case .failure = syscalls.unmount(in: mp.parent, mp.name, flags: 0) {
                _ = syscalls.unmount(in: mp.parent, mp.name, flags: Int32(MNT_DETACH))
            }
        }
        for (n, planned) in calls.enumerated() {
            var call = planned
            call.kernelTarget = n == 0 ? mp.directory.procPath : unionRoot?.procPath
            if case .failure(let e) = syscalls.mount(
                source: call.source, target: call.kernelTarget ?? call.target, fstype: call.fstype, flags: call.flags,
                data: call.kernelData ?? call.data)
            {
                var details = call.report("call \(n + 1) of \(calls.count)") + kernelLines(log, "aufs")
                if n > 0 {
                    // The partial union's lock first: no aufsctl reads its sysfs entries while it goes.
                    let status = StatusReader(root: root)
                    let si = (try? status.mountTable())?.entries.last { $0.target == mp.path }.flatMap(StatusReader.si)
                    let unionLock = try? si.flatMap {
                        UnionLocks.isValidID($0) ? try status.locks.exclusive($0, what: "rolling back \(mp.path)") : nil
                    }
                    rollBack()
                    if let unionLock { status.releaseAfterUnmount(unionLock, waiting: 0) }
                    details.append(
                        "rolled back: unmounted \(mp.path) after \(n) of \(calls.count) calls had succeeded; nothing "
                            + "is left mounted"
                    )
                }
                throw AufsError(
                    Self.explain(e, target: mp.path, fallbackAdvice: fallbackAdvice), exitCode: .failure,
                    details: details)
            }
            if n == 0 {
                try checkLanded(mp) { _ = syscalls.umount2(mp.directory.procPath, flags: Int32(MNT_DETACH)) }
                if calls.count > 1 {
                    // The union's root, for the append remounts: mp.name cannot be renamed now.
                    switch syscalls.openDirectory(in: mp.parent, mp.name) {
                    case .success(let r): unionRoot = r
                    case .failure(let e):
                        rollBack()
                        throw AufsError("cannot open the new union's root \(mp.path): \(e); it was unmounted again")
                    }
                }
            }
        }
    }

    func overlay(_ p: OverlayMountPlan) throws -> MountReport {
        var report = p.report
        if p.loadOverlay { try? loadModule("overlay") }
        try exclusively(
            target: p.target, directory: p.targetDirectory, create: p.createTarget, what: "mounts are serialised"
        ) { mp in
            let work = try makeWorkdir(p, &report)
            let log = KernelLog()
            func fail(_ error: AufsError) -> AufsError {
                if let w = p.workdir, let parent = p.upperParent, let work {
                    _ = syscalls.removeTree(
                        in: parent, w.split(separator: "/").last.map(String.init) ?? "", identity: work.identity)
                    workdirRecords.remove(w)
                }
                return error
            }
            var layers = p.layers
            if let work { layers.append(.directory("workdir", work)) }
            if try overlayByNewAPI(p, layers: layers, at: mp, report: &report, log: log, fail: fail) {
                report.calls = [try overlayByMount2(p, at: mp, log: log, fail: fail)]
            }
            try checkLanded(mp) {
                _ = syscalls.umount2(mp.directory.procPath, flags: Int32(MNT_DETACH))
                _ = fail(AufsError(""))
            }
        }
        return report
    }

    /// The new mount API: layers by fd, else (a kernel whose overlay takes no fds, after the exposure
    /// gate) by path. Returns true when the kernel needs one legacy mount(2) call instead.
    func overlayByNewAPI(
        _ p: OverlayMountPlan, layers: [FsParameter], at mp: MountPoint, report: inout MountReport, log: KernelLog?,
        fail: (AufsError) -> AufsError
    ) throws -> Bool {
        switch syscalls.fsMount(
            fstype: "overlay", source: OverlayMounter.source, parameters: layers, readOnly: p.readOnly,
            target: mp.directory)
        {
        case .success:
            report.calls = SyscallRecord.overlay(layers, target: p.target)
            return false
        case .failure(let f) where Self.noDirectoryFDs(f):
            // No layers by fd (overlay < 6.13) or no new mount API: from here the layers are
            // named by path, which another user may change; refused then unless --force.
            try gate(
                p, &report,
                because: "this kernel's overlayfs takes no directory fds (\(f.step): "
                    + "\(f.errno.name)), so the layers are given by path", fail: fail)
            if f.step.isOpen { return true }
            let strings = layers.map { FsParameter.string($0.key, $0.value) }
            switch syscalls.fsMount(
                fstype: "overlay", source: OverlayMounter.source, parameters: strings, readOnly: p.readOnly,
                target: mp.directory)
            {
            case .success:
                report.calls = SyscallRecord.overlay(strings, target: p.target)
                return false
            case .failure(let f2)
            where f2.step.stringKey == "lowerdir+" || (f2.step == .create && f2.errno.code == EINVAL):
                // No lowerdir+ (kernel < 6.8): one mount(2) within the page limit. Kernels whose
                // overlay still parses options the legacy way (< 6.5) accept every fsconfig
                // string and only refuse "lowerdir+" at FSCONFIG_CMD_CREATE, hence that case.
                return true
            case .failure(let f2):
                throw fail(
                    AufsError("overlay mount failed at \(f2.step): \(f2.errno)", details: kernelLines(log, "overlay")))
            }
        case .failure(let f):
            throw fail(AufsError("overlay mount failed at \(f.step): \(f.errno)", details: kernelLines(log, "overlay")))
        }
    }

    /// One mount(2) with the layers in its data, within the page limit; returns the call as made.
    func overlayByMount2(
        _ p: OverlayMountPlan, at mp: MountPoint, log: KernelLog?, fail: (AufsError) -> AufsError
    ) throws -> SyscallRecord {
        var legacy = p.legacy
        legacy.kernelTarget = mp.directory.procPath
        if legacy.data.utf8.count > AufsCallPlanner.maxDataBytes {
            throw fail(
                AufsError(
                    "overlay fallback: this kernel lacks fsconfig lowerdir+, and the "
                        + "\(p.layerCount) layers need \(legacy.data.utf8.count) bytes of mount data; "
                        + "mount(2) takes at most "
                        + "\(AufsCallPlanner.maxDataBytes); use shorter paths (symlinks) or fewer layers"))
        }
        if case .failure(let e) = syscalls.mount(
            source: legacy.source, target: mp.directory.procPath, fstype: "overlay", flags: legacy.flags,
            data: legacy.data)
        {
            throw fail(
                AufsError("overlay mount failed: \(e)", details: legacy.report("call") + kernelLines(log, "overlay")))
        }
        return SyscallRecord(legacy)
    }

    /// Makes the overlay workdir beside the upper dir (by fd, 0700) and records its identity. With
    /// `reuseIdleWorkdir` (the helper), one that a plain umount(8) of the fallback union left is
    /// taken again: a directory of root's alone that no live union uses, in a parent where no
    /// other user can rename entries (overlayfs empties its own work directory at mount).
    func makeWorkdir(_ p: OverlayMountPlan, _ report: inout MountReport) throws -> AnchoredDirectory? {
        guard let workdir = p.workdir else { return nil }
        guard let parent = p.upperParent else {
            throw AufsError("overlay fallback: the upper dir's parent was not opened; nothing was mounted")
        }
        let name = workdir.split(separator: "/").last.map(String.init) ?? ""
        let work: AnchoredDirectory
        switch syscalls.makeDirectory(in: parent, name, mode: 0o700) {
        case .success(let d): work = d
        case .failure(let e):
            let owner =
                e.code == EEXIST ? StatusReader(root: root).overlays().first(where: { $0.workdir == workdir }) : nil
            if let owner {
                throw AufsError.usage(
                    "overlay workdir \(workdir) belongs to the live overlay union on \(owner.target) "
                        + "(upper \(owner.branches.first.map(UnionGeometry.pathOf) ?? "?")); one upper "
                        + "directory cannot serve two unions: "
                        + "unmount that one (aufsctl umount \(owner.target)) or give this union its own "
                        + "writable branch"
                )
            }
            if e.code == EEXIST, p.reuseIdleWorkdir, parent.entriesReplaceable == nil,
                case .success(let d) = syscalls.openDirectory(in: parent, name),
                d.status.uid == 0, d.status.mode & 0o077 == 0
            {
                report.notes.append("used the idle overlay workdir \(workdir) again (left by an earlier umount)")
                work = d
            } else {
                throw AufsError(
                    e.code == EEXIST
                        ? "overlay workdir \(workdir) already exists and no live union uses it (left by an earlier "
                            + "mount?, or put there by another user); remove it"
                        : "cannot create overlay workdir \(workdir): \(e)")
            }
        }
        try workdirRecords.save(workdir, work.identity)
        return work
    }

    /// The kernel takes no overlay layer by fd, or no new mount API at all (fsopen fails). Overlay
    /// on the new mount API (6.5 to 6.12) refuses the first FSCONFIG_SET_FD with EINVAL; before 6.5
    /// it is a legacy filesystem, whose fsconfig(2) refuses FSCONFIG_SET_FD with EOPNOTSUPP (Debian
    /// 12's 6.1 in the QEMU suite; found by the i27 branch's full run).
    static func noDirectoryFDs(_ f: FsMountError) -> Bool {
        if case .setFD = f.step, [EINVAL, EOPNOTSUPP].contains(f.errno.code) { return true }
        return f.step.isOpen
    }

    /// Where the overlay layers go by path: refuses, unless --force (then says so in the report),
    /// a layout in which another user can change what a path names.
    func gate(
        _ p: OverlayMountPlan, _ report: inout MountReport, because why: String,
        fail: (AufsError) -> AufsError
    ) throws {
        guard !p.exposure.isEmpty else { return }
        if !p.force {
            throw fail(
                AufsError(
                    "overlay fallback: \(why); another user can change what they name: \(p.exposure[0]); move the "
                        + "layers where only root can rename entries, or add --force to mount anyway",
                    exitCode: .usage, details: Array(p.exposure.dropFirst())))
        }
        report.warnings += p.exposure.map { "--force: \(why), though another user can change what they name: \($0)" }
    }

    func loadModule(_ name: String) throws {
        let kver = syscalls.uname().release
        guard FileRead.isDirectory(root.resolve("/lib/modules/\(kver)")) else { return }
        _ = try ModuleIndex(root: root, kernel: kver).load(name, options: nil)
    }

    /// The kernel's new log lines about `word`; a directory the kernel was given by fd and names
    /// as /proc/self/fd/N gets its path after it (read while the fd is open).
    func kernelLines(_ log: KernelLog?, _ word: String) -> [String] {
        (log?.newLines(containing: [word]) ?? []).map { "kernel: " + Self.namingFDs($0) }
    }

    static func namingFDs(_ line: String) -> String {
        let marker = Array("/proc/self/fd/".utf8)
        let b = Array(line.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard b[i...].starts(with: marker) else {
                out.append(b[i])
                i += 1
                continue
            }
            var j = i + marker.count
            while j < b.count && b[j] >= UInt8(ascii: "0") && b[j] <= UInt8(ascii: "9") { j += 1 }
            out += b[i..<j]
            if j > i + marker.count, let p = FileRead.readLink(String(decoding: b[i..<j], as: UTF8.self)) {
                out += Array(" [\(p)]".utf8)
            }
            i = j
        }
        return String(decoding: out, as: UTF8.self)
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
