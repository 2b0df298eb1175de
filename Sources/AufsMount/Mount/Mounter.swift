// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
public enum Fallback: String, Sendable, Codable, CaseIterable { case none, overlay }

/// What a union is mounted with: aufs, or overlayfs as aufsctl's fallback. Encoded as its name.
public enum UnionFilesystem: String, Sendable, Codable, CustomStringConvertible {
    case aufs, overlay
    public var description: String { rawValue }
}

public struct MountRequest: Sendable {
    public var options: AufsOptions
    public var target: String
    public var mkdir = false
    public var fallback: Fallback = .none
    public var dryRun = false
    /// Mount even where the union's geometry is refused (shared writable branch, target inside a branch).
    public var force = false
    /// How this caller asks for the overlay fallback, in the advice when aufs is missing: the CLI's
    /// flag, or the helper's mount option.
    public var fallbackAdvice = "add --fallback overlay"
    /// Why the fallback applies, in the report's note.
    public var fallbackReason = "--fallback overlay was given"
    /// The helper: an idle overlay workdir (a root-owned 0700 directory no live union uses), which a
    /// plain umount(8) of the overlay cannot remove, is used again rather than refused.
    public var reuseIdleWorkdir = false

    public init(
        options: AufsOptions, target: String, mkdir: Bool = false, fallback: Fallback = .none, dryRun: Bool = false,
        force: Bool = false
    ) {
        self.options = options
        self.target = target
        self.mkdir = mkdir
        self.fallback = fallback
        self.dryRun = dryRun
        self.force = force
    }
}

/// What `aufsctl mount` did (or, with --dry-run, would do).
public struct MountReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.mount/2"
    /// What was (or would be) mounted.
    public var filesystem: UnionFilesystem
    public var target: String
    public var branches: [Branch]
    public var xino: String?
    /// The kernel calls made (with --dry-run: that would be made), as data.
    public var calls: [SyscallRecord]
    /// A dry run of the overlay fallback: the one mount(2) made instead where the kernel lacks
    /// fsconfig's lowerdir+ (before 6.8).
    public var legacyCalls: [SyscallRecord]? = nil
    public var dryRun: Bool
    public var loadedModule: Bool
    public var workdir: String?
    public var notes: [String]
    public var warnings: [String]
    /// The image layers mounted for image branches (their directories are the branches). In JSON
    /// each is its branch's `image`.
    public var layers: [LayerMount] = []

    enum CodingKeys: String, CodingKey {
        case schema, filesystem, target, branches, xino, calls, legacyCalls, dryRun, loadedModule, workdir, notes
        case warnings
    }
}

/// `aufsctl mount`: gathers the host's facts, plans (pure), then hands the plan to the executor:
/// aufs through mount(2) plus MS_REMOUNT append batches, or overlayfs as an explicit fallback.
public struct Mounter {
    public var syscalls: any Syscalls
    public var root: HostRoot
    public var lockPath = RuntimeDir.mountLock
    public var planner = MountPlanner()
    /// Where DKMS's key is, for the message of a refused module load (see ModuleLoader).
    public var signingKey: (@Sendable (_ kernel: String) -> SigningKeyHint?)?
    /// Where the overlay workdirs' identities are kept (WorkdirRecords).
    public var workdirRecords: WorkdirRecords

    public init(syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot()) {
        self.syscalls = syscalls
        self.root = root
        workdirRecords = WorkdirRecords(root: root)
    }

    public static let workdirPrefix = ".aufsctl-work."

    /// How image branches are taken (--allow-fs, --copy).
    public var images = ImageOptions()
    /// Where each union's image layers are recorded.
    public var layerRecords = LayerRecords()
    /// Layers the union keeps from an earlier mount of it (an overlay remounted with a new stack).
    public var inheritedLayers: [LayerMount] = []

    public func mount(_ req: MountRequest) throws -> MountReport {
        nameThisThreadAufsctl()
        try MountPlanner.requireRoot(euid: syscalls.geteuid(), dryRun: req.dryRun)
        // Image branches first: each is attached and mounted read-only, and its directory is the
        // branch from here on. Whatever fails later releases them again.
        let held = AttachedLayers()
        var req = req
        var recordedAt: String?
        let given = req.options.branches
        do {
            req.options.branches = try ImageBranches.attach(
                req.options.branches, options: images, dryRun: req.dryRun, held: held)
            if req.dryRun, let report = try dryRunWithImages(req, given: given) { return report }
            return try mountAttached(req, held: held, recordedAt: &recordedAt)
        } catch {
            // The branch fds (opened in the layers' directories) are closed by now: a layer
            // with one open would not unmount (EBUSY).
            if let t = recordedAt {
                if inheritedLayers.isEmpty {
                    layerRecords.remove(t)
                } else {
                    try? layerRecords.save(t, inheritedLayers)
                }
            }
            let left = held.releaseAll()
            if !left.isEmpty, var e = error as? AufsError {
                e.details += left
                throw e
            }
            throw error
        }
    }

    /// Facts, plan and calls for a request whose image branches are attached; its fds (branches,
    /// mount point) are closed when it returns or throws.
    func mountAttached(_ req: MountRequest, held: AttachedLayers, recordedAt: inout String?) throws -> MountReport {
        let facts = try MountFacts.gather(req, syscalls: syscalls, root: root)
        let plan = try planner.plan(req, facts: facts)
        var executor = MountExecutor(syscalls: syscalls, root: root, lockPath: lockPath)
        executor.signingKey = signingKey
        executor.workdirRecords = workdirRecords
        let layers = inheritedLayers + held.layers
        if !req.dryRun && !layers.isEmpty {
            // Recorded before the union exists, so a crash after the mount still names them.
            try layerRecords.save(facts.target, layers)
            if !held.layers.isEmpty { recordedAt = facts.target }
            try images.check("recorded")
        }
        var report = try executor.run(plan)
        if !req.dryRun && !layers.isEmpty {
            do { try images.check("union-mounted") } catch {
                var u = Unmounter(syscalls: syscalls, root: root)
                u.keepLayers = true
                _ = try? u.unmount(facts.target, lazy: false, force: false)
                throw error
            }
        }
        report.layers = layers
        for i in report.branches.indices {
            report.branches[i].image = layers.first { $0.directory == report.branches[i].path }.map(
                BranchImageEntry.init)
        }
        for l in held.layers {
            report.notes.append(
                "image \(l.copiedFrom.map { "\($0) (copied to \(l.image))" } ?? l.image): \(l.type) on \(l.device)"
                    + " mounted read-only at \(l.directory)")
        }
        return report
    }

    /// A dry run with image branches: the images were probed, but their directories do not exist,
    /// so the union's own checks wait for the real run; the calls are shown as they would be made.
    func dryRunWithImages(_ req: MountRequest, given: [RawBranch]) throws -> MountReport? {
        let images = req.options.branches.filter { $0.path.hasPrefix(LayerMount.root + "/") }
        if images.isEmpty { return nil }
        func absolute(_ p: String) -> String { p.hasPrefix("/") ? Paths.normalize(p) : Paths.absolute(p) }
        let branches = req.options.branches.enumerated().map { i, r in
            var b = Branch(
                path: absolute(r.path),
                permission: r.permission.flatMap { try? BranchPermission.parse($0).get() }
                    ?? BranchPermission(base: i == 0 ? .rw : .ro), filesystem: "")
            // attach keeps the order: the branch given at i is the image this layer would mount.
            if r.path.hasPrefix(LayerMount.root + "/"), i < given.count {
                b.image = BranchImageEntry(file: absolute(given[i].path))
            }
            return b
        }
        let calls = try planner.calls.plan(
            branches: branches, options: req.options.other, target: Paths.absolute(req.target),
            readOnly: req.options.readOnly)
        return MountReport(
            filesystem: .aufs, target: Paths.absolute(req.target), branches: branches, xino: nil,
            calls: calls.map(SyscallRecord.init),
            dryRun: true, loadedModule: false, workdir: nil,
            notes: branches.compactMap { b in
                b.image.map { "would attach a read-only loop device to \($0.file) and mount it at \(b.path)" }
            } + [
                "\(images.count) image branch\(images.count == 1 ? "" : "es") probed; the union's own checks "
                    + "(geometry, overlay fallback, xino) run once the layers are mounted"
            ], warnings: [])
    }

    /// A per-union xino name: the mount point's last component (safe characters only) and a hash
    /// of its whole path, e.g. `mnt-3f2a1b4c.xino`.
    static func xinoName(target: String) -> String { runtimeName(target, suffix: ".xino") }

    /// A file name for `path` in a runtime directory: its last component (safe characters only) and
    /// a hash of the whole path, then `suffix`.
    static func runtimeName(_ target: String, suffix: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325  // FNV-1a 64
        for b in target.utf8 { hash = (hash ^ UInt64(b)) &* 0x100000001b3 }
        let base = String(
            (target.split(separator: "/").last ?? "root").unicodeScalars
                .map {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
                        ? Character($0) : "_"
                }
                .prefix(40))
        let hex = String(hash & 0xffff_ffff, radix: 16)
        return "\(base)-\(String(repeating: "0", count: 8 - hex.count))\(hex)\(suffix)"
    }
}
