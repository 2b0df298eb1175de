// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// How to put back what a step changed. Recorded in the state file so `uninstall` can run it later.
public enum UndoAction: Sendable, Codable, Equatable {
    /// Restore `path` from `backup` (a copy taken before the change).
    case restoreFile(path: String, backup: String)
    /// The step created `path`: remove it.
    case removeFile(path: String)
    /// The step created a directory tree: remove it.
    case removeTree(path: String)
    /// The step created `/lib/modules/KVER` (headers for a kernel that is not installed): remove it
    /// unless a kernel package has since put modules there (a `kernel/` directory).
    case removeModuleTree(path: String)
    /// Run a command (argv), e.g. `dkms remove aufs/V --all`, `yum remove -y kernel-ml-aufs`.
    case command(argv: [String])
    /// `persist` added an aufs line for this mount point to /etc/fstab: remove that line only
    /// (other lines, other unions' and the administrator's later edits, stay).
    case removeFstabEntry(target: String)
    /// The step created this directory (for a file it wrote): remove it when it is empty again
    /// (something else put there since keeps it).
    case removeEmptyDirectory(path: String)

    /// The directories above `file` that do not exist under `root` yet, outermost first: what
    /// writing it creates, so that undoing it can take them away again (`removeEmptyDirectory`).
    public static func missingDirectories(above file: String, root: HostRoot) -> [String] {
        var missing: [String] = []
        var dir = Paths.dirname(Paths.normalize(file))
        while dir != "/" && !FileRead.exists(root.resolve(dir)) {
            missing.insert(dir, at: 0)
            dir = Paths.dirname(dir)
        }
        return missing
    }

    public var description: String {
        switch self {
        case .restoreFile(let p, let b): return "restore \(p) from \(b)"
        case .removeFile(let p): return "remove \(p)"
        case .removeTree(let p): return "remove \(p)/"
        case .removeModuleTree(let p): return "remove \(p)/ unless a kernel's modules are there"
        case .command(let argv): return ShellScript.quote(argv)
        case .removeFstabEntry(let t): return "remove the aufs line for \(t) from /etc/fstab"
        case .removeEmptyDirectory(let p): return "remove \(p)/ if it is empty"
        }
    }

    /// What the action takes away, as install records name what they use: `file:PATH`,
    /// `packages:apt` (apt-get remove can take reverse dependencies with it, so every package an
    /// install added counts as one shared resource), `dkms:aufs/V` for `dkms remove aufs/V --all`.
    public var resources: [String] {
        switch self {
        case .restoreFile(let p, _), .removeFile(let p), .removeTree(let p), .removeModuleTree(let p):
            return ["file:" + p]
        case .command(let argv):
            if argv.starts(with: ["apt-get", "remove"]) { return ["packages:apt"] }
            if argv.count >= 4, argv[0] == "dkms", argv[1] == "remove", argv.last == "--all" {
                return ["dkms:" + argv[2]]
            }
            return []
        case .removeFstabEntry(let t):
            return ["fstab:" + t]
        case .removeEmptyDirectory:
            return []  // taken away only when empty: nothing another record uses can go with it
        }
    }
}

/// The POSIX sh form of a step for `--emit-sh`: run `commands` unless `doneTest` succeeds.
public struct ShellStep: Sendable, Equatable {
    /// Lines run unconditionally before the test (setting variables later steps use).
    public var prelude: [String]
    /// A shell condition that is true when the step is already done (nil: always run).
    public var doneTest: String?
    public var commands: [String]
    public init(prelude: [String] = [], doneTest: String?, commands: [String]) {
        self.prelude = prelude
        self.doneTest = doneTest
        self.commands = commands
    }
}

/// One idempotent change: how to tell it is done, how to do it, and how to undo it.
public struct Step: Sendable {
    public var id: String
    public var title: String
    /// A check-only step (preflight): `isDone` throws the reason when the host cannot go on.
    public var preflight: Bool
    public var isDone: @Sendable (InstallContext) async throws -> Bool
    /// Makes the change; returns how to undo it (in the order to run).
    public var apply: @Sendable (InstallContext) async throws -> [UndoAction]
    public var shell: ShellStep
    /// What this install relies on once the step is done, whoever made it (`UndoAction.resources`
    /// names): recorded even when the step was already done, so that undoing another install
    /// record leaves what this one still needs (the shared packages, dkms module, aufs.conf).
    public var uses: (@Sendable (InstallContext) throws -> [String])?
    /// The flag that turns the step's check off (`--skip-export-check`): reported `skipped`, never
    /// `ok`, while `isDone` still refuses what no flag can skip.
    public var skippedBy: String?

    public init(
        id: String, title: String, preflight: Bool = false, skippedBy: String? = nil,
        isDone: @escaping @Sendable (InstallContext) async throws -> Bool,
        apply: @escaping @Sendable (InstallContext) async throws -> [UndoAction] = { _ in [] },
        shell: ShellStep, uses: (@Sendable (InstallContext) throws -> [String])? = nil
    ) {
        self.id = id
        self.title = title
        self.preflight = preflight
        self.isDone = isDone
        self.apply = apply
        self.shell = shell
        self.uses = uses
        self.skippedBy = skippedBy
    }
}

/// What a plan installs for: a kernel release (dkms, ubuntu-extra), or a kernel package whose
/// release is known only once it is installed (kernel-ml-aufs).
public enum PlanTarget: Sendable, Equatable, CustomStringConvertible {
    case kernel(String)
    case package(String)

    /// The release or the package name: what reports and install records carry as `kernel`.
    public var description: String {
        switch self {
        case .kernel(let k), .package(let k): return k
        }
    }
}

public struct Plan: Sendable {
    public var method: InstallMethod
    public var target: PlanTarget
    /// The install record's key and the report's `kernel`.
    public var kernel: String { target.description }
    public var steps: [Step]
    /// What the user must do after a successful run (reboot, MOK enrolment).
    public var rebootRequired: Bool
    public var afterwards: [String]
}

/// Options of `aufsctl install`.
public struct InstallOptions: Sendable {
    public var method: InstallMethod?
    public var kernel: KernelRelease?
    public var source: String?
    /// dkms: `--source-ref NAME`, the aufs-standalone branch to clone (default: from the kernel).
    public var sourceBranch: String?
    /// dkms: `--source-ref COMMIT`, the commit to build (a full hex id), instead of a branch head.
    public var sourceCommit: String?
    public var repoURL = "https://yum.spaceduck.org/kernel-ml-aufs/kernel-ml-aufs.repo"
    /// kernel-ml-aufs: the key its packages are signed with (`gpgkey=` of the repo).
    public var gpgKey: String?
    /// kernel-ml-aufs: install the kernel without signature checks (said in the report).
    public var noGpgCheck = false
    public var grubDefault = "0"
    public var reboot = false
    public var noLoad = false
    public var skipExportCheck = false
    public var jobs = 2
    public init() {}
}

/// What every step reads and acts through.
public final class InstallContext: @unchecked Sendable {
    public let root: HostRoot
    public let runner: any CommandRunner
    public let syscalls: any Syscalls
    public let facts: HostFacts
    public let options: InstallOptions
    /// Progress lines for long steps (elapsed time and the last output line).
    public var progress: @Sendable (String) -> Void = { _ in }
    /// Values steps learn while running (the installed kernel release, the aufs version).
    public var learned: [String: String] = [:]
    /// `dkms status -m aufs` as last seen (the probe's answer to start with); nil to ask again.
    public var dkmsStatus: [DKMSStatusEntry]?
    /// Things the user must know after the run, found while running (e.g. who signed the module).
    public var notes: [String] = []
    /// Where steps record an undo before making the change it undoes (nil in dry runs and tests
    /// that drive steps directly).
    public var journal: StateJournal?
    /// What was built: the repository, branch and commit, or the source directory and its digest.
    public var provenance: String?
    /// The aufs source tree and its version once found (dkms method), so steps resolve it once.
    var aufsSource: (dir: String, version: String)?

    /// Records `undo` in the state file now, before the change it undoes is made.
    public func willChange(_ undo: [UndoAction]) throws {
        try journal?.add(undo)
    }

    public init(
        root: HostRoot, runner: any CommandRunner, syscalls: any Syscalls, facts: HostFacts, options: InstallOptions
    ) {
        self.root = root
        self.runner = runner
        self.syscalls = syscalls
        self.facts = facts
        self.options = options
        self.dkmsStatus = root.isHost ? facts.dkms.entries : nil
    }

    /// Runs a command in the root (through `chroot` when the root is not `/`).
    public func run(_ argv: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await runner.run(root.command(argv), environment: environment)
    }

    /// Runs a command and fails the step with its output when it exits non-zero.
    @discardableResult
    public func check(
        _ argv: [String], environment: [String: String] = [:], explain: ((CommandResult) -> String?)? = nil
    ) async throws -> CommandResult {
        let r = try await run(argv, environment: environment)
        if !r.succeeded {
            let tail = (r.stderr + r.stdout).split(separator: "\n").suffix(30).map(String.init)
            let why = explain?(r) ?? ""
            throw AufsError(
                "\(ShellScript.quote(argv)) exited \(r.status)" + (why.isEmpty ? "" : ": " + why), details: tail)
        }
        return r
    }

    /// Runs a long command, reporting elapsed time and the last output line as it goes.
    @discardableResult
    public func checkStreaming(_ argv: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        let full = root.command(argv)
        let start = Double(time(nil))
        let progress = self.progress
        let r = try await runner.runStreaming(full, environment: environment) { line in
            progress("\(Int(Double(time(nil)) - start))s  \(line.prefix(100))")
        }
        if !r.succeeded {
            throw AufsError(
                "\(ShellScript.quote(argv)) exited \(r.status)",
                details: r.stdout.split(separator: "\n").suffix(30).map(String.init))
        }
        return r
    }

    /// A file under the root: its path for reading and writing.
    public func path(_ abs: String) -> String { root.resolve(abs) }

    /// Copies `abs` into the backup directory before a change; returns the backup's path.
    public func backup(_ abs: String) throws -> String {
        let dir = path("/var/lib/aufsctl/backups")
        try AtomicFile.makeDirectories(Paths.dirname(Paths.dirname(dir)))
        try RuntimeDir.ensurePrivate(Paths.dirname(dir), what: "install backups")
        try RuntimeDir.ensurePrivate(dir, what: "install backups")
        let flat = abs.split(separator: "/").joined(separator: "_")
        var n = 0
        var dest = "\(dir)/\(flat).\(n)"
        while FileRead.exists(dest) { n += 1; dest = "\(dir)/\(flat).\(n)" }
        switch FileRead.bytes(path(abs)) {
        case .success(let b): try AtomicFile.write(dest, b, mode: 0o600)
        case .failure(let e): throw AufsError("cannot back up \(abs): \(e)")
        }
        return "/var/lib/aufsctl/backups/\(flat).\(n)"
    }

    /// Edits a shell KEY=value file atomically with a backup; returns the undo (none if unchanged).
    public func setAssignment(_ key: String, to value: String, in abs: String) throws -> [UndoAction] {
        let existed = FileRead.exists(path(abs))
        var old: [UInt8] = []
        if existed {
            switch FileRead.bytes(path(abs)) {
            case .success(let b): old = b
            case .failure(let e): throw AufsError("cannot read \(abs): \(e)")
            }
        }
        // Bytes, not text: every byte outside the changed line survives, whatever the encoding.
        let (new, changed) = ShellAssignments.set(key, to: value, inBytes: old)
        guard changed else { return [] }
        let undo: UndoAction = existed ? .restoreFile(path: abs, backup: try backup(abs)) : .removeFile(path: abs)
        try willChange([undo])
        try AtomicFile.makeDirectories(Paths.dirname(path(abs)))
        try AtomicFile.write(path(abs), new)
        return [undo]
    }

    public func isSet(_ key: String, to value: String, in abs: String) -> Bool {
        guard case .success(let b) = FileRead.bytes(path(abs)) else { return false }
        return ShellAssignments.find(key, inBytes: b)?.value == value
    }
}
