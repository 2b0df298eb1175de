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

    public func mount(_ req: MountRequest) throws -> MountReport {
        nameThisThreadAufsctl()
        let facts = try MountFacts.gather(req, syscalls: syscalls, root: root)
        let plan = try planner.plan(req, facts: facts)
        var executor = MountExecutor(syscalls: syscalls, root: root, lockPath: lockPath)
        executor.signingKey = signingKey
        executor.workdirRecords = workdirRecords
        return try executor.run(plan)
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
