// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem
import Glibc

/// `aufsctl uninstall`: undoes install records, each one's steps newest first. Records are undone
/// independently: an undo that would take away what another remaining record still uses (a shared
/// file such as aufs.conf, the packages, the dkms module with every kernel's build) is handed to
/// that record instead, so it happens when the last record that relies on it is undone.
public struct Uninstaller {
    public enum Selection: Sendable, Equatable { case newest, id(Int), all }

    public var printer: @Sendable (String) -> Void
    /// The files undo restores and removes.
    public var fs: any HostFileSystem

    public init(
        printer: @escaping @Sendable (String) -> Void = { print($0) }, fs: any HostFileSystem = LocalFileSystem()
    ) {
        self.printer = printer
        self.fs = fs
    }

    /// One line per record: `ID  method  kernel  N steps: what undoing it does`.
    public static func list(_ state: InstallState) -> [String] {
        state.installs.map { r in
            let actions = r.steps.flatMap(\.undo)
            return
                "\(r.id ?? 0)  \(r.method.rawValue)  \(r.kernel)  \(r.steps.count) "
                + "step\(r.steps.count == 1 ? "" : "s"), \(actions.count) undo "
                + "action\(actions.count == 1 ? "" : "s")"
                + (actions.isEmpty ? "" : ": " + actions.map(\.description).joined(separator: "; "))
        }
    }

    @discardableResult
    public func run(
        root: HostRoot, runner: any CommandRunner, dryRun: Bool, selection: Selection = .newest
    ) async throws -> Int {
        var state = try InstallState.load(root: root)
        guard !state.installs.isEmpty else {
            if case .id(let n) = selection {
                throw AufsError.usage("no install record \(n): \(InstallState.path) records no install")
            }
            printer("nothing to undo: \(InstallState.path) records no install")
            return 0
        }
        var ids: [Int]
        switch selection {
        case .newest: ids = [state.installs.last!.id!]
        case .all: ids = state.installs.reversed().map { $0.id! }
        case .id(let n):
            guard state.installs.contains(where: { $0.id == n }) else {
                throw AufsError.usage(
                    "no install record \(n) in \(InstallState.path); `aufsctl uninstall --list` shows them "
                        + "(\(state.installs.compactMap(\.id).map(String.init).joined(separator: ", ")))"
                )
            }
            ids = [n]
        }
        var undone = 0
        for id in ids {
            undone += try await undo(id: id, state: &state, root: root, runner: runner, dryRun: dryRun)
        }
        return undone
    }

    /// Undoes one record on `state` (a dry run changes only this in-memory copy, so a preview of
    /// `--all` shows what the real run would hand over and what it would finally do).
    func undo(
        id: Int, state: inout InstallState, root: HostRoot, runner: any CommandRunner, dryRun: Bool
    ) async throws -> Int {
        guard let r = state.installs.firstIndex(where: { $0.id == id }) else { return 0 }
        let record = state.installs[r]
        printer((dryRun ? "would undo" : "undoing") + " record \(id): \(record.method.rawValue) for \(record.kernel)")
        var undone = 0
        var remaining = record.steps
        func save() throws {
            guard !dryRun else { return }
            if let i = state.installs.firstIndex(where: { $0.id == id }) { state.installs[i].steps = remaining }
            try state.save(root: root)
        }
        for step in record.steps.reversed() {
            // A step whose undo would take what another remaining record still uses goes, whole,
            // to the newest such record: a step's actions belong together (the module tree with
            // the packages that own its build link).
            let shared = Set(step.undo.flatMap(\.resources))
            if !shared.isEmpty,
                let heir = state.installs.lastIndex(where: { $0.id != id && !$0.resources.isDisjoint(with: shared) })
            {
                let heirID = state.installs[heir].id ?? 0
                for action in step.undo {
                    printer(
                        (dryRun ? "would keep " : "kept ")
                            + "for record \(heirID), which still uses it: \(action.description)")
                }
                let moved = InstallState.StepRecord(
                    id: "from-\(id)-\(step.id)", title: "from record \(id): \(step.title)", undo: step.undo)
                // Changes are undone newest first: what this (newer) record did runs before the
                // heir's own undo of the same thing, what an older record did runs after it.
                if heirID < id {
                    state.installs[heir].steps.append(moved)
                } else {
                    state.installs[heir].steps.insert(moved, at: 0)
                }
                remaining.removeLast()
                undone += 1
                try save()
                continue
            }
            for action in step.undo.reversed() {
                printer((dryRun ? "would " : "") + "undo \(step.id): \(action.description)")
                if dryRun { continue }
                do {
                    try await perform(action, root: root, runner: runner)
                } catch {
                    let e = error as? AufsError ?? AufsError("\(error)")
                    try save()
                    throw AufsError(
                        "undo of \(step.id) failed: \(e.message); what is not undone yet stays in \(InstallState.path)",
                        exitCode: .partial, details: e.details)
                }
            }
            remaining.removeLast()
            undone += 1
            // Saved after each step, so a killed uninstall does not repeat what it undid.
            try save()
        }
        state.installs.removeAll { $0.id == id }
        if !dryRun { try state.save(root: root) }
        return undone
    }

    /// Whether `dkms status` no longer lists what `dkms remove MODULE/V [-k K | --all]` was to remove.
    func dkmsHasNothingLeft(
        module moduleVersion: String, kernel: String?, root: HostRoot, runner: any CommandRunner
    ) async throws -> Bool {
        let mv = moduleVersion.split(separator: "/", maxSplits: 1).map(String.init)
        guard mv.count == 2 else { return false }
        let st = try await runner.run(root.command(["dkms", "status", "-m", mv[0]]))
        guard st.succeeded else { return false }
        return !DKMSStatusEntry.parse(st.stdout).contains {
            $0.module == mv[0] && $0.version == mv[1] && (kernel == nil || $0.kernel == kernel)
        }
    }

    public func perform(_ action: UndoAction, root: HostRoot, runner: any CommandRunner) async throws {
        switch action {
        case .restoreFile(let path, let backup):
            guard case .success(let b) = fs.read(root.resolve(backup)) else {
                throw AufsError("backup \(backup) is missing")
            }
            try fs.write(root.resolve(path), b, mode: 0o644)
        case .removeFile(let path):
            try fs.remove(root.entry(path))
        case .removeTree(let path):
            try fs.removeTree(root.resolve(path))
        case .removeEmptyDirectory(let path):
            try fs.removeEmptyDirectory(root.resolve(path))
        case .removeModuleTree(let path):
            if !fs.exists(root.resolve(path + "/kernel")) { try fs.removeTree(root.resolve(path)) }
        case .removeFstabLine(let target), .removeFstabEntry(let target):
            let fstab = root.resolve("/etc/fstab")
            let legacy = action == .removeFstabEntry(target: target)
            if let text = fs.string(fstab), let without = FstabLine.remove(target: target, from: text, unmarked: legacy)
            {
                try fs.write(fstab, without)
            }
        case .relink(let path, let target):
            try fs.remove(root.entry(path))
            try fs.symlink(target, at: root.entry(path))
        case .moveBack(let saved, let path):
            try fs.rename(root.entry(saved), to: root.entry(path))
        case .dkmsRemove(let module, let kernel):
            let argv = ["dkms", "remove", module] + (kernel.map { ["-k", $0] } ?? ["--all"])
            let r = try await runner.run(root.command(argv))
            // Already gone (`remove -k K` of the last kernel removes the module): the goal holds.
            if r.succeeded { return }
            if try await dkmsHasNothingLeft(module: module, kernel: kernel, root: root, runner: runner) { return }
            throw failed(argv, r)
        case .aptRemove(let packages):
            try await run(
                ["apt-get", "remove", "-y"] + AptLock.options + packages, root: root, runner: runner,
                environment: ["DEBIAN_FRONTEND": "noninteractive"])
        case .aptPurge(let packages):
            try await run(
                ["apt-get", "purge", "-y"] + AptLock.options + packages, root: root, runner: runner,
                environment: ["DEBIAN_FRONTEND": "noninteractive"])
        case .command(let argv):
            try await run(argv, root: root, runner: runner)
        case .revokeMokImport(let cert, let keyID, let serial):
            try await revokeImport(cert, keyID: keyID, serial: serial, root: root, runner: runner)
        case .keep(let what, let why):
            printer("      kept \(what): \(why)")
        }
    }

    func run(
        _ argv: [String], root: HostRoot, runner: any CommandRunner, environment: [String: String] = [:]
    ) async throws {
        let r = try await runner.run(root.command(argv), environment: environment)
        if !r.succeeded { throw failed(argv, r) }
    }

    func failed(_ argv: [String], _ r: CommandResult) -> AufsError {
        AufsError(
            "\(words(argv)) exited \(r.status)",
            details: (r.stderr + r.stdout).split(separator: "\n").suffix(20).map(String.init))
    }
}
