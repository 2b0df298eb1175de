// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// What every kind of action says about itself: whether it is done, how to make it (recording its
/// undo in the journal before the change), its sh, and what the install relies on once it is done.
protocol ActionKind: Sendable {
    func isDone(_ ctx: InstallContext) async throws -> Bool
    /// Makes the change; returns its undo (already recorded in the journal before the change).
    func apply(_ ctx: InstallContext) async throws -> [UndoAction]
    /// The sh condition that holds when the action is done (nil: a check that always runs).
    var shellDoneTest: String? { get }
    /// The sh that makes the change, with the same backups and atomic renames as the Swift path.
    var shellCommands: [String] { get }
    func resources(_ ctx: InstallContext) throws -> [Resource]
    /// sh run once after every step (a pending MOK key ends the script with exit 5).
    var shellEpilogue: [String] { get }
}

extension ActionKind {
    func resources(_ ctx: InstallContext) throws -> [Resource] { [] }
    var shellEpilogue: [String] { [] }
}

/// The typed changes install steps and `persist` are made of. One executor applies them and one
/// renderer (ShellScript) turns them into sh; there is no hand-written sh twin.
public enum StepAction: Sendable {
    /// A check that stops the plan (exit 4) when the host cannot go on; changes nothing.
    case preflight(Preflight)
    /// `KEY=value` lines of a shell-assignment file (/etc/default/grub, /etc/sysconfig/kernel),
    /// edited byte for byte: every other byte stays as it was (Latin-1, CRLF, no final newline).
    case setAssignments(SetAssignments)
    /// A whole file with this content (from a template); replaced atomically when it differs.
    case writeFile(WriteFile)
    /// A line a file must hold (`aufs` in modules-load.d's aufs.conf), appended when missing.
    case ensureLine(EnsureLine)
    /// A command run when its probe does not hold; its undo takes it back.
    case command(CommandAction)
    /// apt-get install of the packages that are missing (and the kernel's headers).
    case aptInstallMissing(AptInstallMissing)
    /// A shallow git clone of a branch, or a fetch of one commit (https/http only).
    case gitClone(GitClone)
    /// The aufs source laid out in /usr/src/aufs-V for DKMS: copied root-owned, without
    /// setuid/setgid bits or group/other write, symlinks refused.
    case copyTree(CopyTree)
    /// The kernel-ml-aufs yum repo, with the signature checks the options ask for.
    case yumRepo(YumRepoAction)
    /// grub2-mkconfig of the live GRUB config.
    case grubMkconfig(GrubMkconfig)
    /// grubby --set-default to the installed kernel-ml-aufs.
    case grubbyDefault(GrubbyDefault)
    /// dkms add, build or install of the aufs source's version.
    case dkms(DKMSAction)
    /// Loads aufs through libkmod (sh: modprobe) and checks /proc/filesystems.
    case loadModule(LoadModule)
    /// A symlink aufsctl makes (a unit's enablement); an existing non-link is refused.
    case symlink(SymlinkAction)
    /// persist's /etc/fstab line, placed after the lines that mount what the union needs.
    case fstabLine(FstabLineAction)
    /// Secure Boot: dkms's sign tool, DKMS's signing pair, its certificate staged for MokManager.
    case signing(SigningAction)
    /// `--build`: aufs compiled for the kernel in a scratch directory; none builds: blocked.
    case trialBuild(TrialBuildAction)

    var kind: any ActionKind {
        switch self {
        case .preflight(let a): return a
        case .setAssignments(let a): return a
        case .writeFile(let a): return a
        case .ensureLine(let a): return a
        case .command(let a): return a
        case .aptInstallMissing(let a): return a
        case .gitClone(let a): return a
        case .copyTree(let a): return a
        case .yumRepo(let a): return a
        case .grubMkconfig(let a): return a
        case .grubbyDefault(let a): return a
        case .dkms(let a): return a
        case .loadModule(let a): return a
        case .symlink(let a): return a
        case .fstabLine(let a): return a
        case .signing(let a): return a.kind
        case .trialBuild(let a): return a
        }
    }

    public func isDone(_ ctx: InstallContext) async throws -> Bool { try await kind.isDone(ctx) }
    public func apply(_ ctx: InstallContext) async throws -> [UndoAction] { try await kind.apply(ctx) }
    public var shellDoneTest: String? { kind.shellDoneTest }
    public var shellCommands: [String] { kind.shellCommands }
    public func resources(_ ctx: InstallContext) throws -> [Resource] { try kind.resources(ctx) }
    public var shellEpilogue: [String] { kind.shellEpilogue }
}

/// The POSIX sh form of a step for `--emit-sh`: run `commands` unless `doneTest` succeeds.
public struct ShellStep: Sendable, Equatable {
    /// Lines run unconditionally before the test (setting variables later steps use).
    public var prelude: [String]
    /// A shell condition that is true when the step is already done (nil: always run).
    public var doneTest: String?
    public var commands: [String]
}

extension Step {
    /// Done when every action is done (a preflight throws its reason instead).
    public func isDone(_ ctx: InstallContext) async throws -> Bool {
        for a in actions where !(try await a.isDone(ctx)) { return false }
        return true
    }

    /// Applies the actions that are not done, in order; returns their undo.
    public func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        var undo: [UndoAction] = []
        for a in actions where !(try await a.isDone(ctx)) { undo += try await a.apply(ctx) }
        return undo
    }

    /// What the install relies on once the step is done.
    public func uses(_ ctx: InstallContext) throws -> [Resource] {
        if let declaredUses { return declaredUses }
        return try actions.flatMap { try $0.resources(ctx) }
    }

    /// The sh form, derived from the same actions: checks run as they are, changes under their test.
    public var shell: ShellStep {
        let tests = actions.compactMap(\.shellDoneTest)
        if tests.count < actions.count && actions.count == 1 {
            return ShellStep(prelude: prelude, doneTest: nil, commands: actions[0].shellCommands)
        }
        if actions.count <= 1 {
            return ShellStep(
                prelude: prelude, doneTest: tests.first ?? "true", commands: actions.first?.shellCommands ?? [":"])
        }
        let body = actions.flatMap { a -> [String] in
            guard let test = a.shellDoneTest else { return a.shellCommands }
            return ["if ! { \(test); }; then"] + a.shellCommands.map { "    " + $0 } + ["fi"]
        }
        return ShellStep(
            prelude: prelude, doneTest: tests.count == actions.count ? tests.joined(separator: " && ") : nil,
            commands: body)
    }
}
