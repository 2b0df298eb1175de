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

    /// How image branches are taken (--allow-fs, --copy).
    public var images = ImageOptions()
    /// Where each union's image layers are recorded.
    public var layerRecords = LayerRecords()
    /// On an overlay union: unmount it and mount it again with the new stack (`--remount`).
    public var remountOverlay = false
    /// `--drop-whiteouts`: moves the whiteouts that would hide a new layer into a journaled backup
    /// and returns a note; the remount then adds udba=reval. Nil: they are only reported.
    public var dropWhiteouts: (([WhiteoutAudit.Finding]) throws -> String)? = nil

    public init(syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot()) {
        self.syscalls = syscalls
        self.root = root
    }

    /// What a branch change did.
    public struct Change: Sendable {
        /// The remount made (or, with dryRun, to be made); nil for an overlay mounted again.
        public var call: MountCall?
        /// The image layer added or deleted, when the branch is one.
        public var layer: LayerMount?
        /// The union's target, canonical.
        public var target: String
        public var notes: [String] = []
        public var warnings: [String] = []
    }

    /// Validates and makes the remount; returns the call made (or, with dryRun, to be made).
    public func edit(_ action: Action, target: String, branch: String, index: Int?, dryRun: Bool) throws -> MountCall {
        let c = try change(action, target: target, branch: branch, index: index, dryRun: dryRun)
        return c.call ?? MountCall(source: "none", target: c.target, fstype: "overlay", flags: 0, data: "")
    }

    /// `edit`, with image layers: an image is attached first (default position right under the rw
    /// branch), a deleted layer is released after the remount, and every failure before the
    /// remount succeeds releases what was attached.
    public func change(
        _ action: Action, target: String, branch: String, index: Int?, dryRun: Bool
    ) throws -> Change {
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
            guard remountOverlay, action != .mod else {
                throw AufsError.usage(
                    "\(t) is an overlay fallback mount: overlayfs cannot change layers on a live mount; add --remount "
                        + "to unmount it and mount it again with the new stack when nothing holds it, or unmount it "
                        + "and mount again with the new branch list"
                )
            }
            return try OverlayRestack(editor: self).change(
                action, union: m, branch: branch, index: index, dryRun: dryRun)
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
        var raw = try AufsOptions.parseBranchList(branch)
        guard raw.count == 1 else {
            throw AufsError.usage("branch \(action.rawValue): give one PATH[=PERM], not a list")
        }
        let validator = BranchValidator(syscalls: syscalls)
        let existing = m.branches.map { String($0.prefix { $0 != "=" }) }
        var result = Change(call: nil, layer: nil, target: t)
        let held = AttachedLayers()
        var index = index
        var extra: [String] = []
        let recorded = layerRecords.load(t)
        if action != .add, let l = Self.layer(named: raw[0].path, in: recorded, existing: existing, cwd: validator.cwd)
        {
            raw[0].path = l.directory
            result.layer = l
        } else if action != .add, let i = Int(raw[0].path), !FileRead.exists(Paths.join(validator.cwd, raw[0].path)) {
            guard i >= 0 && i < existing.count else {
                throw AufsError.usage("branch \(i): \(t) has \(existing.count) branches (0...\(existing.count - 1))")
            }
            raw[0].path = existing[i]
        }
        if action == .add && ImageBranches.isImage(raw[0].path, cwd: validator.cwd) {
            try attachImage(
                &raw, index: &index, extra: &extra, result: &result, m: m, existing: existing, validator: validator,
                held: held, dryRun: dryRun)
            if result.call != nil { return result }  // a dry run: the image was probed only
        }
        do {
            result.call = try remountEditing(
                action, t: t, target: target, m: m, raw: raw, existing: existing, validator: validator, index: index,
                dryRun: dryRun, extraOptions: extra)
        } catch var e as AufsError {
            held.releaseAll()
            if action == .del && e.message.contains("EBUSY") {
                e.details.append(
                    BusyHolders.sentence(BusyHolders().holders(of: t), target: t) + "; nothing was changed")
            }
            throw e
        } catch {
            held.releaseAll()
            throw error
        }
        if dryRun { return result }
        finishLayer(action, t: t, recorded: recorded, held: held, result: &result)
        return result
    }

    /// An image given to `branch add`: attached (right under the rw branch unless --index), and
    /// audited for whiteouts above it that would hide it.
    func attachImage(
        _ raw: inout [RawBranch], index: inout Int?, extra: inout [String], result: inout Change, m: UnionMount,
        existing: [String], validator: BranchValidator, held: AttachedLayers, dryRun: Bool
    ) throws {
        // Right under the rw branch, as `slax activate` does with add:1.
        if index == nil {
            index = m.branches.firstIndex { $0.hasSuffix("=rw") || $0.contains("=rw+") }.map { $0 + 1 } ?? 0
        }
        let (b, layer) = try ImageBranches.attachOne(
            raw[0].path.hasPrefix("/") ? raw[0].path : Paths.join(validator.cwd, raw[0].path),
            permission: raw[0].permission, options: images, dryRun: dryRun)
        raw[0] = b
        if let layer {
            held.append(layer)
            result.layer = layer
            let above = Array(existing.prefix(index ?? 0))
            let found = WhiteoutAudit.find(layer: layer.directory, branches: above)
            if !found.isEmpty, let drop = dropWhiteouts {
                do { result.notes.append(try drop(found)) } catch {
                    held.releaseAll()
                    throw error
                }
                // Cached negative dentries would keep hiding the files (as sfs_load knows).
                extra = ["udba=reval"]
            } else if !found.isEmpty {
                result.warnings.append(
                    "\(found.count) whiteout\(found.count == 1 ? "" : "s") in the branches above the new layer "
                        + "hide paths it provides (first: "
                        + found.prefix(3).map { "\($0.path) hides /\($0.hides)" }.joined(separator: "; ")
                        + "); --drop-whiteouts moves them to a backup")
            }
        }
        if dryRun {
            // The layer's directory does not exist before the real run: the image was probed only.
            result.call = MountCall(
                source: "none", target: result.target, fstype: "aufs", flags: UInt(MS_REMOUNT),
                data: "add=\(index ?? 1):\(raw[0].path)=\(raw[0].permission ?? "rr")")
            result.notes.append("the image was probed; its loop device and layer mount are made by the real run")
        }
    }

    /// After the remount: an added layer is recorded, a deleted one released.
    func finishLayer(
        _ action: Action, t: String, recorded: [LayerMount], held: AttachedLayers, result: inout Change
    ) {
        if action == .add, let l = held.layers.first {
            var layers = recorded
            layers.append(l)
            try? layerRecords.save(t, layers)
            result.notes.append(
                "image \(l.copiedFrom ?? l.image): \(l.type) on \(l.device) mounted read-only at \(l.directory)")
        } else if action == .del, let l = result.layer {
            switch LayerMount.release(directory: l.directory, device: l.device) {
            case .success:
                result.notes.append("released image layer \(l.directory) (\(l.device))")
                try? layerRecords.save(t, recorded.filter { $0.directory != l.directory })
            case .failure(let e):
                try? layerRecords.save(t, recorded.filter { $0.directory != l.directory } + [l])
                result.warnings.append(
                    "the union no longer uses \(l.directory), but it stays mounted: \(e); "
                        + BusyHolders.sentence(BusyHolders().holders(of: l.directory), target: l.directory))
            }
        }
    }

    /// The recorded layer a `del`/`mod` argument names: its image (as given or copied), its mount
    /// directory, or its index in the union.
    static func layer(named arg: String, in layers: [LayerMount], existing: [String], cwd: String) -> LayerMount? {
        let abs = Paths.normalize(arg.hasPrefix("/") ? arg : Paths.join(cwd, arg))
        if let l = layers.first(where: { $0.image == abs || $0.copiedFrom == abs || $0.directory == abs }) { return l }
        if let i = Int(arg), !FileRead.exists(abs), i >= 0, i < existing.count {
            return layers.first { $0.directory == existing[i] }
        }
        return nil
    }

    /// The option of a branch change, the branch's path, and its directory fd when it was opened.
    typealias Option = (make: (String) -> String, path: String, directory: AnchoredDirectory?)

    /// The remount of a live aufs union for one branch change (the path already a directory).
    func remountEditing(
        _ action: Action, t: String, target: String, m: UnionMount, raw: [RawBranch], existing: [String],
        validator: BranchValidator, index: Int?, dryRun: Bool, extraOptions: [String] = []
    ) throws -> MountCall {
        let o =
            action == .add
            ? try addOption(t: t, raw: raw, existing: existing, validator: validator, index: index)
            : try delModOption(action, t: t, raw: raw, existing: existing, validator: validator)
        let entry = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: t)
        let current =
            entry.map { VFSFlags.current(vfsOptions: $0.vfsOptions, superOptions: $0.fsOptions) } ?? 0
        var call = MountCall(
            source: "none", target: t, fstype: "aufs", flags: UInt(MS_REMOUNT) | current,
            data: ([o.make(o.path)] + extraOptions).joined(separator: ","))
        if dryRun { return call }
        guard let entry else { throw AufsError.usage("\(target): not a mount point (see aufsctl status)") }
        // The union's root and the branch by fd: the kernel remounts the mount that was checked.
        let unionRoot = try LiveMount.open(t, entry: entry, syscalls: syscalls).root(syscalls)
        call.kernelTarget = unionRoot.procPath
        call.kernelData = o.directory.map { ([o.make($0.procPath)] + extraOptions).joined(separator: ",") }
        var executor = MountExecutor(syscalls: syscalls, root: root, lockPath: lockPath)
        executor.flushPseudoLinks = flushPseudoLinks
        try withExtendedLifetime((unionRoot, o.directory)) {
            try executor.remount(call, failure: "branch \(action.rawValue) failed")
        }
        return call
    }

    func addOption(
        t: String, raw: [RawBranch], existing: [String], validator: BranchValidator, index: Int?
    ) throws -> Option {
        let anchored = try validator.validateAnchored(raw, readOnlyMount: false)[0]
        let b = anchored.branch
        let b2 =
            raw[0].permission == nil
            ? Branch(path: b.path, permission: BranchPermission(base: .ro), filesystem: b.filesystem) : b
        for e in existing {
            if e == b2.path { throw AufsError.usage("\(b2.path) is already branch of \(t)") }
            if b2.path.hasPrefix(e + "/") || e.hasPrefix(b2.path + "/") {
                throw AufsError.usage("\(b2.path) and the existing branch \(e) overlap (one is inside the other)")
            }
        }
        guard let index else { return ({ "append=\($0)=\(b2.permission)" }, b2.path, anchored.directory) }
        guard index >= 0 && index <= existing.count else {
            throw AufsError.usage(
                "--index \(index): \(t) has \(existing.count) branches; expected 0...\(existing.count)")
        }
        return ({ "add=\(index):\($0)=\(b2.permission)" }, b2.path, anchored.directory)
    }

    func delModOption(
        _ action: Action, t: String, raw: [RawBranch], existing: [String], validator: BranchValidator
    ) throws -> Option {
        // The kernel's branch list is the authority: a branch whose directory has vanished
        // (or is no longer a directory) is still named by its path for del and mod.
        let path: String
        var branchDirectory: AnchoredDirectory?
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
            return ({ "del=\($0)" }, path, branchDirectory)
        }
        guard let p = raw[0].permission else {
            throw AufsError.usage("branch mod needs PATH=PERM (e.g. \(path)=ro)")
        }
        switch BranchPermission.parse(p) {
        case .success(let perm): return ({ "mod=\($0)=\(perm)" }, path, branchDirectory)
        case .failure(let why): throw AufsError.usage("branch \(path): \(why)")
        }
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
