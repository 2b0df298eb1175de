// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `aufsctl branch add|del|mod`: aufs remounts that change the branches of a live mount.
public struct BranchEditor {
    public enum Action: String, Sendable, CaseIterable { case add, del, mod }
    public var syscalls: any Syscalls
    public var root: HostRoot
    public var lockPath = RuntimeDir.mountLock
    /// Flush pseudo-links before the remount (aufs's manual); `--no-plink-flush` turns it off.
    public var flushPseudoLinks = true

    public init(syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot()) {
        self.syscalls = syscalls
        self.root = root
    }

    /// Validates and makes the remount; returns the call made (or, with dryRun, to be made).
    public func edit(_ action: Action, target: String, branch: String, index: Int?, dryRun: Bool) throws -> MountCall {
        nameThisThreadAufsctl()
        if !dryRun && syscalls.geteuid() != 0 {
            throw AufsError("changing branches needs root (mount(2) with MS_REMOUNT); run it with sudo")
        }
        let t = Self.resolved(target, syscalls)
        // Only this union's sysfs entries, and not its xino.
        guard let m = try StatusReader(root: root).union(at: t, xino: false) else {
            throw AufsError.usage("\(target): not an aufs mount (see aufsctl status)")
        }
        if m.filesystem != .aufs {
            throw AufsError.usage(
                "\(t) is an overlay fallback mount: overlayfs cannot change layers on a live mount; unmount it and "
                    + "mount again with the new branch list"
            )
        }
        // PATH=PERM: a ':' after the '=' is inside the permission, where aufs would start a branch.
        if let eq = branch.firstIndex(of: "="), branch[eq...].contains(":") {
            let perm = String(branch[branch.index(after: eq)...])
            if case .failure(let why) = BranchPermission.parse(perm) {
                throw AufsError.usage("branch \(action.rawValue) \(branch.prefix { $0 != "=" }): \(why)")
            }
        }
        if m.branches.isEmpty {
            throw AufsError("\(t): its branches could not be read (\(m.branchesNote ?? "none listed")); try again")
        }
        let raw = try AufsOptions.parseBranchList(branch)
        guard raw.count == 1 else {
            throw AufsError.usage("branch \(action.rawValue): give one PATH[=PERM], not a list")
        }
        let validator = BranchValidator(syscalls: syscalls)
        let existing = m.branches.map { String($0.prefix { $0 != "=" }) }
        // The option for the branch named as given (a path, or /proc/self/fd/N for the kernel).
        let make: (String) -> String
        let path: String
        // The branch as the kernel is given it: its fd, when it was opened.
        var branchDirectory: AnchoredDirectory?
        switch action {
        case .add:
            let anchored = try validator.validateAnchored(raw, readOnlyMount: false)[0]
            let b = anchored.branch
            branchDirectory = anchored.directory
            let b2 =
                raw[0].permission == nil
                ? Branch(path: b.path, permission: BranchPermission(base: .ro), filesystem: b.filesystem) : b
            path = b2.path
            for e in existing {
                if e == b2.path { throw AufsError.usage("\(b2.path) is already branch of \(t)") }
                if b2.path.hasPrefix(e + "/") || e.hasPrefix(b2.path + "/") {
                    throw AufsError.usage("\(b2.path) and the existing branch \(e) overlap (one is inside the other)")
                }
            }
            if let index {
                guard index >= 0 && index <= existing.count else {
                    throw AufsError.usage(
                        "--index \(index): \(t) has \(existing.count) branches; expected 0...\(existing.count)")
                }
                make = { "add=\(index):\($0)=\(b2.permission)" }
            } else {
                make = { "append=\($0)=\(b2.permission)" }
            }
        case .del, .mod:
            // The kernel's branch list is the authority: a branch whose directory has vanished
            // (or is no longer a directory) is still named by its path for del and mod.
            let lexical =
                raw[0].path.hasPrefix("/") ? Paths.normalize(raw[0].path) : Paths.join(validator.cwd, raw[0].path)
            if let d = try? validator.anchoredDirectory(raw[0].path, what: "branch") {
                path = d.path
                branchDirectory = d
            } else if existing.contains(Paths.normalize(lexical)) {
                path = Paths.normalize(lexical)
                // Named by path (there is no directory to open): refused where another user could
                // create that name and point it at another branch.
                if let why = Self.creatableByOthers(path, syscalls) {
                    throw AufsError(
                        "branch \(action.rawValue) \(path): the directory is gone, so the kernel would be given the "
                            + "path, and \(why); recreate it as root or move the union's branches where only root "
                            + "can write")
                }
            } else {
                path = try validator.canonicalDirectory(raw[0].path, what: "branch")
            }
            guard existing.contains(path) else {
                throw AufsError.usage("\(path) is not a branch of \(t) (branches: \(existing.joined(separator: ", ")))")
            }
            if action == .del {
                if raw[0].permission != nil { throw AufsError.usage("branch del takes a path without =PERM") }
                if existing.count == 1 { throw AufsError.usage("\(path) is the only branch of \(t); unmount instead") }
                make = { "del=\($0)" }
            } else {
                guard let p = raw[0].permission else {
                    throw AufsError.usage("branch mod needs PATH=PERM (e.g. \(path)=ro)")
                }
                switch BranchPermission.parse(p) {
                case .success(let perm): make = { "mod=\($0)=\(perm)" }
                case .failure(let why): throw AufsError.usage("branch \(path): \(why)")
                }
            }
        }
        let entry = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: t)
        let current =
            entry.map { HelperOptions.currentFlags(vfsOptions: $0.vfsOptions, superOptions: $0.fsOptions) } ?? 0
        var call = MountCall(
            source: "none", target: t, fstype: "aufs", flags: UInt(MS_REMOUNT) | current, data: make(path))
        if dryRun { return call }
        guard let entry else { throw AufsError.usage("\(target): not a mount point (see aufsctl status)") }
        // The union's root and the branch by fd: the kernel remounts the mount that was checked.
        let unionRoot = try LiveMount.open(t, entry: entry, syscalls: syscalls).root(syscalls)
        call.kernelTarget = unionRoot.procPath
        call.kernelData = branchDirectory.map { make($0.procPath) }
        var executor = MountExecutor(syscalls: syscalls, root: root, lockPath: lockPath)
        executor.flushPseudoLinks = flushPseudoLinks
        try withExtendedLifetime((unionRoot, branchDirectory)) {
            try executor.remount(call, failure: "branch \(action.rawValue) failed")
        }
        return call
    }

    /// Why another user could create `path` (its deepest existing directory, opened with the
    /// no-follow walk, is on a path they can change or lets them add entries), or nil.
    static func creatableByOthers(_ path: String, _ syscalls: any Syscalls) -> String? {
        var dir = Paths.dirname(path)
        while true {
            switch syscalls.anchorDirectory(dir) {
            case .success(let d):
                if let why = d.exposure.first { return why }
                return PathAnchor.replaceable(entryOwner: UInt32.max, in: d.status, at: d.path)
            case .failure(let f) where f.errno.code == ENOENT && dir != "/":
                dir = Paths.dirname(dir)
            case .failure(let f):
                return "\(f)"
            }
        }
    }

    /// The path as the kernel names the mount: absolute, symlinks resolved where it exists.
    static func resolved(_ p: String, _ syscalls: any Syscalls) -> String {
        let abs = p.hasPrefix("/") ? Paths.normalize(p) : Paths.absolute(p)
        if case .success(let r) = syscalls.realpath(abs) { return r }
        return abs
    }
}
