// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// One idempotent change, as data: the typed actions it is made of say how to tell it is done,
/// how to make it (recording the undo first) and how to say it in sh, so apply, `--dry-run`,
/// `--emit-sh` and `uninstall` all read one description.
public struct Step: Sendable {
    public var id: String
    public var title: String
    public var actions: [StepAction]
    /// sh lines run before the step's test (setting `$V`, `$KVER`, `$SRC` for this and later
    /// steps); the Swift side learns the same values from the host when an action needs them.
    public var prelude: [String]
    /// What this install relies on once the step is done, whoever made it: recorded even when
    /// the step was already done, so that undoing another install record leaves what this one
    /// still needs (the shared packages, dkms module, aufs.conf). nil: what the actions name.
    public var declaredUses: [Resource]?
    /// The flag that turned part of the step's check off (`--skip-export-check`): the step is
    /// reported `skipped`, never `ok`, while its other rules still refuse what no flag can skip.
    public var skippedBy: String?

    public init(
        id: String, title: String, actions: [StepAction], prelude: [String] = [], uses: [Resource]? = nil,
        skippedBy: String? = nil
    ) {
        self.id = id
        self.title = title
        self.actions = actions
        self.prelude = prelude
        self.declaredUses = uses
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
    /// Why applying the plan needs a person at a terminal (mokutil asking for a password), if it does.
    public var needsTerminal: String? = nil
}

/// Options of `aufsctl install`.
public struct InstallOptions: Sendable {
    public var method: InstallMethod?
    public var kernel: KernelRelease?
    /// dkms: `--source DIR|URL` (default: a clone of the aufs-standalone repository for the kernel).
    public var source: AufsSource?
    /// dkms: `--source-ref`, the branch to clone (default: chosen from the kernel) or a commit.
    public var sourceRef: SourceRef?
    public var repoURL = "https://yum.spaceduck.org/kernel-ml-aufs/kernel-ml-aufs.repo"
    /// kernel-ml-aufs: the key its packages are signed with (`gpgkey=` of the repo).
    public var gpgKey: String?
    /// kernel-ml-aufs: install the kernel without signature checks (said in the report).
    public var noGpgCheck = false
    public var grubDefault = "0"
    public var reboot = false
    public var noLoad = false
    public var skipExportCheck = false
    /// dkms on a Secure Boot host: the password hash `mokutil --import` is given (`--hash-file`,
    /// made by `mokutil --generate-hash`), read where mokutil runs; nil: mokutil asks on the terminal.
    public var mokPasswordHash: String?
    /// kernel-ml-aufs on a Secure Boot host: make an unsigned kernel the GRUB default anyway (warned).
    public var allowUnsignedKernel = false
    /// `--build`: compile aufs in a scratch directory before changing anything, and in the kernel
    /// hook before `dkms install` for a new kernel.
    public var build = false
    /// `--keep-on-failure`: a failed run leaves what it applied (exit 6) instead of undoing it.
    public var keepOnFailure = false
    /// `--all-kernels` (dkms): also build for every other installed kernel of the series with headers.
    public var allKernels = false
    public var jobs = 2
    public init() {}
}

/// What every step reads and acts through.
public final class InstallContext: @unchecked Sendable {
    public let root: HostRoot
    public let runner: any CommandRunner
    public let syscalls: any Syscalls
    /// The files steps read and change (LocalFileSystem; tests give a recording or refusing one).
    public let fs: any HostFileSystem
    public let options: InstallOptions
    /// Where long commands stream to (status line or heartbeat, and the transcript).
    public var progress = ProgressSink.silent
    /// The step being applied, as the status line names it (`[6/9] dkms build ...`).
    public var stepLabel = ""
    /// kernel-ml-aufs: the release `rpm -q` reports once the package is installed.
    public var installedKernel: KernelRelease?
    /// `dkms status -m aufs` as last seen (the probe's answer to start with); nil to ask again.
    public var dkmsStatus: [DKMSStatusEntry]?
    /// Things the user must know after the run, found while running (e.g. who signed the module).
    public var notes: [String] = []
    /// Next steps found while running (`next:`, before the plan's own): what the user must do.
    public var nextSteps: [String] = []
    /// A key staged for MokManager (now or before): the run ends with "reboot and confirm" (exit 5).
    public var mokEnrolment: MokEnrolment?
    /// libkmod's view of a module in the root's tree for a kernel (tests answer for a tree without one).
    public var moduleInfo: @Sendable (_ root: HostRoot, _ kernel: String, _ name: String) -> ModuleInfo? = {
        root, kernel, name in (try? ModuleIndex(root: root, kernel: kernel))?.lookup(name)
    }
    /// Where steps record an undo before making the change it undoes (nil in dry runs and tests
    /// that drive steps directly).
    public var journal: StateJournal?
    /// What was built: the repository, branch and commit, or the source directory and its digest.
    public var provenance: String?
    /// The aufs source tree and its version once found (dkms method), so steps resolve it once.
    var aufsSource: (dir: String, version: String)?
    /// The branch the trial build compiled (`--build`): the one the clone step clones.
    public var trialBranch: String?

    /// Records `undo` in the state file now, before the change it undoes is made.
    public func willChange(_ undo: [UndoAction]) throws {
        try journal?.add(undo)
    }

    public init(
        root: HostRoot, runner: any CommandRunner, syscalls: any Syscalls, options: InstallOptions = InstallOptions(),
        dkmsStatus: [DKMSStatusEntry]? = nil, fs: any HostFileSystem = LocalFileSystem()
    ) {
        self.fs = fs
        self.root = root
        self.runner = runner
        self.syscalls = syscalls
        self.options = options
        self.dkmsStatus = dkmsStatus
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

    /// Runs a long command, streaming its output to `progress` as it goes.
    @discardableResult
    public func checkStreaming(
        _ argv: [String], environment: [String: String] = [:], explain: ((CommandResult) -> String?)? = nil
    ) async throws -> CommandResult {
        let r = try await progress.stream(
            label: stepLabel, argv: root.command(argv), shown: ShellScript.quote(argv), environment: environment,
            runner: runner)
        if !r.succeeded {
            let why = explain?(r) ?? ""
            throw AufsError(
                "\(ShellScript.quote(argv)) exited \(r.status)" + (why.isEmpty ? "" : ": " + why),
                details: r.stdout.split(separator: "\n").suffix(30).map(String.init))
        }
        return r
    }

    /// A file under the root: its path for reading and writing.
    public func path(_ abs: String) -> String { root.resolve(abs) }

    /// The undo of creating `abs`: removing it, then each directory made for it while empty,
    /// innermost first (undos run in reverse), so that undoing leaves the tree as it was.
    public func creating(_ abs: String) -> [UndoAction] {
        var missing: [String] = []
        var dir = Paths.dirname(Paths.normalize(abs))
        while dir != "/" && !fs.exists(path(dir)) {
            missing.insert(dir, at: 0)
            dir = Paths.dirname(dir)
        }
        return missing.map { .removeEmptyDirectory(path: $0) } + [.removeFile(path: abs)]
    }

    /// Copies `abs` into the backup directory before a change; returns the backup's path.
    public func backup(_ abs: String) throws -> String {
        try Backups(root: root, fs: fs).copy(abs)
    }

    /// Edits a shell KEY=value file atomically with a backup; returns the undo (none if unchanged).
    public func setAssignment(_ key: String, to value: String, in abs: String) throws -> [UndoAction] {
        let existed = fs.exists(path(abs))
        var old: [UInt8] = []
        if existed {
            switch fs.read(path(abs)) {
            case .success(let b): old = b
            case .failure(let e): throw AufsError("cannot read \(abs): \(e)")
            }
        }
        // Bytes, not text: every byte outside the changed line survives, whatever the encoding.
        let (new, changed) = ShellAssignments.set(key, to: value, inBytes: old)
        guard changed else { return [] }
        let undo: [UndoAction] = existed ? [.restoreFile(path: abs, backup: try backup(abs))] : creating(abs)
        try willChange(undo)
        try fs.makeDirectories(Paths.dirname(path(abs)))
        try fs.write(path(abs), new, mode: 0o644)
        return undo
    }

    public func isSet(_ key: String, to value: String, in abs: String) -> Bool {
        guard case .success(let b) = fs.read(path(abs)) else { return false }
        return ShellAssignments.find(key, inBytes: b)?.value == value
    }
}
