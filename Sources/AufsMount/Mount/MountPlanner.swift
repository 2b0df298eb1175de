// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// How the kernel is given aufs's branch directories. `true`: as `/proc/self/fd/N` of the fds
/// aufsctl opened and checked, since aufs resolves each branch with kern_path(LOOKUP_FOLLOW) into a
/// struct path and shows that path (seq_path) in /sys/fs/aufs and mountinfo, never the string it
/// was given (read in aufs's opts.c and sysaufs.c; to be confirmed on a real aufs kernel, see the
/// README's security section). `false` would send paths and refuse, unless --force, a branch on a
/// path another user can change, as for an old kernel's overlay.
public enum AufsKernelPaths {
    public static let descriptors = true
}

/// An aufs mount: an optional module load, then mount(2) and its MS_REMOUNT append batches.
public struct AufsMountPlan: Sendable {
    public var target: String
    /// The mount point's fd (nil with --mkdir: opened once created); the kernel mounts on it.
    public var targetDirectory: AnchoredDirectory?
    /// The branch fds the calls name (`/proc/self/fd/N`): kept open until the calls are made.
    public var branchDirectories: [AnchoredDirectory]
    public var createTarget: Bool
    /// The module to load through libkmod first (path, for the report).
    public var loadModule: String?
    public var calls: [MountCall]
    /// The default xino lives in /run/aufsctl/xino, which must exist (private) first.
    public var ensureXinoDir: Bool
    /// With --fallback overlay and a module that may fail to load: what to do then.
    public var ifLoadFails: Result<OverlayMountPlan, AufsError>?
    public var report: MountReport
    /// The request's fallbackAdvice and fallbackReason, for the executor's messages.
    public var fallbackAdvice = "add --fallback overlay"
    public var fallbackReason = "--fallback overlay was given"
}

/// The overlay fallback: fsopen/fsconfig (lowerdir+) where the kernel has it, else one mount(2).
public struct OverlayMountPlan: Sendable {
    public var target: String
    public var targetDirectory: AnchoredDirectory?
    public var createTarget: Bool
    public var workdir: String?
    /// The directory the workdir is made in (the upper dir's parent), by fd.
    public var upperParent: AnchoredDirectory?
    /// lowerdir+ per layer, then upperdir: directories by fd (FSCONFIG_SET_FD, 6.13+); the
    /// workdir is added once made. Strings where no fd was opened (facts made by hand).
    public var layers: [FsParameter]
    /// Why a layer named by path (a kernel without FSCONFIG_SET_FD for overlay) could be swapped by
    /// another user: refused then unless `force`.
    public var exposure: [String]
    public var force: Bool
    public var legacy: MountCall
    public var readOnly: Bool
    public var loadOverlay: Bool
    public var layerCount: Int
    public var report: MountReport
    /// The request's reuseIdleWorkdir.
    public var reuseIdleWorkdir = false
}

public enum MountPlan: Sendable {
    case aufs(AufsMountPlan)
    case overlay(OverlayMountPlan)

    public var report: MountReport {
        switch self {
        case .aufs(let p): return p.report
        case .overlay(let p): return p.report
        }
    }
}

/// Decides, from a request and the host's facts alone, what to mount and how; no I/O, so every
/// rule (geometry, branch limits, the overlay detour, xino) is tested without a kernel.
public struct MountPlanner: Sendable {
    public var calls = AufsCallPlanner()
    public init() {}

    static func requireRoot(euid: UInt32, dryRun: Bool) throws {
        if !dryRun && euid != 0 {
            throw AufsError(
                "mounting needs root (mount(2) requires CAP_SYS_ADMIN); run it with sudo, or add --dry-run to see the "
                    + "calls",
                exitCode: .failure)
        }
    }

    public func plan(_ req: MountRequest, facts: MountFacts) throws -> MountPlan {
        try Self.requireRoot(euid: facts.euid, dryRun: req.dryRun)
        let branches = facts.branches
        // The union against the live ones (aufs and aufsctl's overlays): what the kernel accepts
        // but breaks users is refused here unless --force, with the reason.
        let geometry = UnionGeometry.check(target: facts.canonicalTarget, branches: branches, live: facts.live)
        if !geometry.refusals.isEmpty && !req.force {
            throw AufsError(geometry.refusals[0], exitCode: .usage, details: Array(geometry.refusals.dropFirst()))
        }
        let geometryWarnings = geometry.warnings + geometry.refusals.map { "--force: " + $0 }
        // Checked before choosing the filesystem: a bad xino= is bad input even when overlay is used.
        let xino = try facts.xino.get()

        var notes: [String] = []
        var loadModule: String?
        var ifLoadFails: Result<OverlayMountPlan, AufsError>?
        if !facts.aufsRegistered {
            var unavailable: String?
            switch facts.module {
            case .loadable(let path):
                loadModule = path
                notes.append(
                    req.dryRun
                        ? "would load the aufs module (\(path)) through libkmod first"
                        : "loaded the aufs module (\(path)) through libkmod")
                if req.fallback == .overlay && !req.dryRun {
                    ifLoadFails = Result {
                        try overlay(
                            req, facts: facts, reason: "the aufs module could not be loaded",
                            geometry: geometry, warnings: geometryWarnings)
                    }.mapError { $0 as? AufsError ?? AufsError("\($0)") }
                }
            case .absent(let why):
                unavailable = why
            }
            if let why = unavailable {
                if req.fallback == .overlay {
                    return .overlay(
                        try overlay(req, facts: facts, reason: why, geometry: geometry, warnings: geometryWarnings))
                }
                notes.append(
                    "aufs is not registered and \(why); trying the call anyway so the kernel has the last word")
            }
        }
        if let n = xino.note { notes.append(n) }
        var options = req.options.other
        if let x = xino.path { options.append("xino=" + x) } else if req.options.noxino { options.append("noxino") }
        let limit = facts.branchLimit ?? 127
        if branches.count > limit {
            throw AufsError.usage(
                "\(branches.count) branches given; this aufs allows at most \(limit) (CONFIG_AUFS_BRANCH_MAX_*)")
        }
        let anchored = AufsKernelPaths.descriptors && facts.branchDirectories.count == branches.count
        if !AufsKernelPaths.descriptors {
            let exposed = Self.exposure(facts)
            if !exposed.isEmpty && !req.force {
                throw AufsError(
                    "this aufs is given branch paths, and another user can change what they name: "
                        + exposed[0] + "; move the branches where only root can rename them, or add --force",
                    exitCode: .usage, details: Array(exposed.dropFirst()))
            }
        }
        let mountCalls = try calls.plan(
            branches: branches, options: options, target: facts.target, readOnly: req.options.readOnly,
            kernelSpecs: anchored
                ? zip(branches, facts.branchDirectories).map { "\($1.procPath)=\($0.permission)" } : nil)
        let report = MountReport(
            filesystem: .aufs, target: facts.target, branches: branches, xino: xino.path,
            calls: mountCalls.map(SyscallRecord.init), dryRun: req.dryRun,
            loadedModule: loadModule != nil && !req.dryRun,
            workdir: nil, notes: notes + geometry.notes, warnings: geometryWarnings + (xino.warning.map { [$0] } ?? []))
        return .aufs(
            AufsMountPlan(
                target: facts.target, targetDirectory: facts.targetDirectory,
                branchDirectories: anchored ? facts.branchDirectories : [], createTarget: facts.createTarget,
                loadModule: loadModule, calls: mountCalls,
                ensureXinoDir: xino.path?.hasPrefix(RuntimeDir.xinoDir + "/") ?? false, ifLoadFails: ifLoadFails,
                report: report, fallbackAdvice: req.fallbackAdvice, fallbackReason: req.fallbackReason))
    }

    /// The same layers for overlayfs: one upper (the rw branch, on top), the rest lower.
    func overlay(
        _ req: MountRequest, facts: MountFacts, reason: String, geometry: UnionGeometry.Findings,
        warnings geometryWarnings: [String]
    ) throws -> OverlayMountPlan {
        let branches = facts.branches
        let (upper, lowers) = try Self.overlayLayers(branches)
        let ofacts =
            facts.overlay
            ?? OverlayFacts(upperSharesParentDevice: nil, whiteouts: 0, firstWhiteout: nil, overlayRegistered: true)
        let workdir = try upper.map { try Self.overlayWorkdir(upper: $0, ofacts) }
        var warnings: [String] = []
        if ofacts.whiteouts > 0 {
            warnings.append(
                "\(ofacts.whiteouts) aufs whiteout\(ofacts.whiteouts == 1 ? "" : "s") (.wh.*) in the lower branches "
                    + "(first: \(ofacts.firstWhiteout ?? "")): overlay does not honour them, so the files they delete "
                    + "will show"
            )
        }
        let byPath = Dictionary(
            zip(facts.branchDirectories.map(\.path), facts.branchDirectories), uniquingKeysWith: { a, _ in a })
        func layer(_ key: String, _ path: String) -> FsParameter {
            byPath[path].map { .directory(key, $0) } ?? .string(key, path)
        }
        var layers = lowers.map { layer("lowerdir+", $0) }
        if let upper { layers.append(layer("upperdir", upper)) }
        var parts = ["lowerdir=" + lowers.map(overlayEscape).joined(separator: ":")]
        if let upper, let workdir {
            parts += ["upperdir=" + overlayEscape(upper), "workdir=" + overlayEscape(workdir)]
        }
        let legacy = MountCall(
            source: OverlayMounter.source, target: facts.target, fstype: "overlay",
            flags: req.options.readOnly ? UInt(MS_RDONLY) : 0, data: parts.joined(separator: ","))
        let ignored = req.options.other + (req.options.xino.map { ["xino=" + $0] } ?? [])
        if !ignored.isEmpty {
            warnings.append(
                "overlay has no equivalent of the aufs options \(ignored.joined(separator: ",")); they were ignored")
        }
        let report = MountReport(
            filesystem: .overlay, target: facts.target, branches: branches, xino: nil,
            calls: req.dryRun ? SyscallRecord.overlay(layers, workdir: workdir, target: facts.target) : [],
            legacyCalls: req.dryRun ? [SyscallRecord(legacy)] : nil,
            dryRun: req.dryRun, loadedModule: false, workdir: workdir,
            notes: [
                "overlay, not aufs: \(reason); mounting the same layers with overlayfs because \(req.fallbackReason)"
            ]
                + geometry.notes,
            warnings: warnings + geometryWarnings)
        return OverlayMountPlan(
            target: facts.target, targetDirectory: facts.targetDirectory, createTarget: facts.createTarget,
            workdir: workdir, upperParent: ofacts.upperParent, layers: layers, exposure: Self.exposure(facts, ofacts),
            force: req.force,
            legacy: legacy, readOnly: req.options.readOnly, loadOverlay: !ofacts.overlayRegistered,
            layerCount: lowers.count, report: report, reuseIdleWorkdir: req.reuseIdleWorkdir)
    }

    /// overlay's shape: at most one rw branch, on top (the upper layer), at least one lower.
    static func overlayLayers(_ branches: [Branch]) throws -> (upper: String?, lowers: [String]) {
        let writable = branches.enumerated().filter { $0.element.permission.writable }
        if writable.count > 1 {
            throw AufsError.usage(
                "overlay fallback: \(writable.count) rw branches "
                    + "(\(writable.map { $0.element.path }.joined(separator: ", "))); "
                    + "overlay has one upper layer: make all but the first ro")
        }
        if let w = writable.first, w.offset != 0 {
            throw AufsError.usage(
                "overlay fallback: the rw branch \(w.element.path) is branch \(w.offset); "
                    + "overlay's upper layer is always on top, so make it the first branch")
        }
        let upper = writable.first?.element.path
        let lowers = (upper == nil ? branches : Array(branches.dropFirst())).map(\.path)
        if lowers.isEmpty {
            throw AufsError.usage("overlay fallback: needs at least one ro branch below the rw one")
        }
        if lowers.count > OverlayMounter.maxLayers {
            throw AufsError.usage(
                "overlay fallback: \(lowers.count) lower layers; overlayfs allows at most \(OverlayMounter.maxLayers)")
        }
        return (upper, lowers)
    }

    /// The workdir beside the upper dir, on its filesystem.
    static func overlayWorkdir(upper: String, _ ofacts: OverlayFacts) throws -> String {
        guard upper != "/" else { throw AufsError.usage("overlay fallback: / cannot be the upper layer") }
        let w = Paths.join(Paths.dirname(upper), OverlayMounter.workdirName(for: upper))
        guard ofacts.upperSharesParentDevice == true else {
            throw AufsError.usage(
                "overlay fallback: \(upper) is a mount point of its own, so a workdir beside it (\(w)) "
                    + "would be on another filesystem; overlay needs workdir and upperdir on the same filesystem")
        }
        return w
    }

    /// The branches' exposure, and the upper dir's parent's (the workdir is made there).
    static func exposure(_ facts: MountFacts, _ ofacts: OverlayFacts) -> [String] {
        var exposure = Self.exposure(facts)
        if let p = ofacts.upperParent {
            exposure += p.exposure.map { "the upper dir's parent: " + $0 }
            if let why = p.entriesReplaceable {
                exposure.append("the workdir is made in \(p.path), and \(why)")
            }
        }
        return exposure
    }

    /// Why another user could make a branch path name another directory, one line per reason.
    static func exposure(_ facts: MountFacts) -> [String] {
        zip(facts.branches.indices, facts.branchDirectories).flatMap { i, d in
            d.exposure.map { "branch \(i) (\(d.path)): \($0)" }
        }
    }
}
