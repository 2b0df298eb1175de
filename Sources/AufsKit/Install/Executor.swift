// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

public struct StepReport: Sendable, Codable, Equatable {
    /// `skipped`: a flag turned the step's check off (`--skip-export-check`).
    public enum Status: String, Sendable, Codable { case ok, changed, failed, pending, blocked, skipped }
    public var id: String
    public var title: String
    public var status: Status
    public var evidence: [String]
}

public struct InstallReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.install/2"
    public var method: InstallMethod
    public var kernel: String
    public var dryRun: Bool
    public var steps: [StepReport]
    public var changed: Bool
    public var rebootRequired: Bool
    /// The next steps, only (what the user must do now).
    public var afterwards: [String]
    /// What the run found worth saying that asks nothing of the user.
    public var notes: [String] = []
    /// What was built (dkms: the repository, branch and commit, or the directory and digest).
    public var source: String? = nil
    /// Encoded as the number the process exits with.
    public var exitCode: AufsExitCode
    public var message: String?
}

/// Applies a plan step by step: `ok` when already done, `changed` when done now, `failed` with the
/// evidence. State is saved after each change; a failure leaves exit 6 and a report, and
/// `aufsctl uninstall` undoes what was recorded.
public struct Executor {
    public var printer: @Sendable (String) -> Void

    public init(printer: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.printer = printer
    }

    public func run(_ plan: Plan, context ctx: InstallContext, dryRun: Bool) async throws -> InstallReport {
        var reports: [StepReport] = []
        let journal = StateJournal(
            state: dryRun ? InstallState() : try InstallState.load(root: ctx.root),
            root: ctx.root, method: plan.method, kernel: plan.kernel)
        ctx.journal = journal
        var recordedBefore = false
        var changedAny = false
        let n = plan.steps.count
        let printer = self.printer
        let throttle = Throttle(seconds: 2)
        ctx.progress = { line in if throttle.due() { printer("      \(line)") } }
        for (i, step) in plan.steps.enumerated() {
            let label = "[\(i + 1)/\(n)] \(step.title)"
            let done: Bool
            do {
                done = try await step.isDone(ctx)
            } catch let e as AufsError {
                let status: StepReport.Status = e.exitCode == .blocked ? .blocked : .failed
                reports.append(
                    StepReport(id: step.id, title: step.title, status: status, evidence: [e.message] + e.details))
                printer("\(label) ... \(status.rawValue)")
                printer("      " + e.message)
                e.details.forEach { printer("      " + $0) }
                let code: AufsExitCode = e.exitCode == .blocked ? .blocked : (changedAny ? .partial : e.exitCode)
                for (j, s) in plan.steps.enumerated().dropFirst(i + 1) {
                    printer("[\(j + 1)/\(n)] \(s.title) ... not reached")
                }
                return finish(
                    plan, reports + pending(plan, after: i), dryRun: dryRun, changed: changedAny, code: code,
                    message: e.message)
            }
            if done, let flag = step.skippedBy {
                reports.append(
                    StepReport(id: step.id, title: step.title, status: .skipped, evidence: ["skipped: \(flag)"]))
                printer("\(label) ... skipped (\(flag))")
                continue
            }
            if done {
                reports.append(StepReport(id: step.id, title: step.title, status: .ok, evidence: []))
                printer("\(label) ... ok")
                if !dryRun, let uses = try? step.uses?(ctx) { try journal.use(id: step.id, title: step.title, uses) }
                continue
            }
            if dryRun {
                reports.append(StepReport(id: step.id, title: step.title, status: .pending, evidence: []))
                printer("\(label) ... would change")
                continue
            }
            printer("\(label) ...")
            do {
                recordedBefore = journal.state.installs.contains {
                    $0.method == plan.method && $0.kernel == plan.kernel
                }
                journal.step = (step.id, step.title)
                let undo = try await step.apply(ctx)
                changedAny = true
                try journal.add(undo, uses: try? step.uses?(ctx))
                journal.step = nil
                reports.append(
                    StepReport(
                        id: step.id, title: step.title, status: .changed,
                        evidence: undo.map { "undo: \($0.description)" }))
                printer("\(label) ... changed")
            } catch {
                let e = error as? AufsError ?? AufsError("\(error)")
                reports.append(
                    StepReport(id: step.id, title: step.title, status: .failed, evidence: [e.message] + e.details))
                printer("\(label) ... failed")
                printer("      " + e.message)
                e.details.forEach { printer("      " + $0) }
                for (j, s) in plan.steps.enumerated().dropFirst(i + 1) {
                    printer("[\(j + 1)/\(n)] \(s.title) ... not reached")
                }
                journal.step = nil
                // The failed step's own journaled undo stays recorded (it may have changed something),
                // but "partially applied" means an earlier change is in place.
                let recorded = recordedBefore
                return finish(
                    plan, reports + pending(plan, after: i), dryRun: false, changed: changedAny,
                    code: changedAny || recorded ? .partial : (e.exitCode == .blocked ? .blocked : .failure),
                    message: "step \(step.id) failed: \(e.message)"
                        + (changedAny || recorded
                            ? "; earlier steps stay applied; `aufsctl uninstall` undoes them" : ""))
            }
        }
        if !dryRun { try journal.flushUses() }
        if !dryRun, let p = ctx.provenance { try journal.setSource(p) }
        let code: AufsExitCode = plan.rebootRequired && !ctx.options.reboot ? .rebootRequired : .success
        var report = finish(
            plan, reports, dryRun: dryRun, changed: changedAny, code: dryRun ? .success : code, message: nil,
            notes: ctx.notes)
        report.source = ctx.provenance
        if !dryRun && !changedAny { report.message = "nothing to do: every step was already done" }
        return report
    }

    func pending(_ plan: Plan, after i: Int) -> [StepReport] {
        plan.steps.dropFirst(i + 1).map { StepReport(id: $0.id, title: $0.title, status: .pending, evidence: []) }
    }

    func finish(
        _ plan: Plan, _ steps: [StepReport], dryRun: Bool, changed: Bool, code: AufsExitCode, message: String?,
        notes: [String] = []
    ) -> InstallReport {
        InstallReport(
            method: plan.method, kernel: plan.kernel, dryRun: dryRun, steps: steps, changed: changed,
            rebootRequired: plan.rebootRequired, afterwards: plan.afterwards, notes: notes, exitCode: code,
            message: message)
    }
}

/// `aufsctl uninstall`: undoes install records, each one's steps newest first. Records are undone
/// independently: an undo that would take away what another remaining record still uses (a shared
/// file such as aufs.conf, the packages, the dkms module with every kernel's build) is handed to
/// that record instead, so it happens when the last record that relies on it is undone.
public struct Uninstaller {
    public enum Selection: Sendable, Equatable { case newest, id(Int), all }

    public var printer: @Sendable (String) -> Void
    public init(printer: @escaping @Sendable (String) -> Void = { print($0) }) { self.printer = printer }

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

    /// Whether `dkms status` no longer lists what `dkms remove aufs/V [-k K | --all]` was to remove.
    func dkmsHasNothingLeft(_ argv: [String], root: HostRoot, runner: any CommandRunner) async throws -> Bool {
        let mv = argv[2].split(separator: "/", maxSplits: 1).map(String.init)
        guard mv.count == 2 else { return false }
        let kernel = argv.firstIndex(of: "-k").flatMap { $0 + 1 < argv.count ? argv[$0 + 1] : nil }
        let st = try await runner.run(root.command(["dkms", "status", "-m", mv[0]]))
        guard st.succeeded else { return false }
        return !DKMSStatusEntry.parse(st.stdout).contains {
            $0.module == mv[0] && $0.version == mv[1] && (kernel == nil || $0.kernel == kernel)
        }
    }

    func perform(_ action: UndoAction, root: HostRoot, runner: any CommandRunner) async throws {
        switch action {
        case .restoreFile(let path, let backup):
            guard case .success(let b) = FileRead.bytes(root.resolve(backup)) else {
                throw AufsError("backup \(backup) is missing")
            }
            try AtomicFile.write(root.resolve(path), b)
        case .removeFile(let path):
            if unlink(root.resolve(path)) != 0 && errno != ENOENT {
                throw AufsError("cannot remove \(path): \(SysErrno(errno))")
            }
        case .removeTree(let path):
            RecursiveRemove.remove(root.resolve(path))
        case .removeEmptyDirectory(let path):
            if rmdir(root.resolve(path)) != 0 && ![ENOENT, ENOTEMPTY, EEXIST].contains(errno) {
                throw AufsError("cannot remove \(path)/: \(SysErrno(errno))")
            }
        case .removeModuleTree(let path):
            if !FileRead.exists(root.resolve(path + "/kernel")) { RecursiveRemove.remove(root.resolve(path)) }
        case .removeFstabEntry(let target):
            let fstab = root.resolve("/etc/fstab")
            if let text = FileRead.string(fstab), let without = FstabLine.remove(target: target, from: text) {
                try AtomicFile.write(fstab, without)
            }
        case .command(let argv):
            let r = try await runner.run(root.command(argv))
            if !r.succeeded, argv.count >= 3, argv[0] == "dkms", argv[1] == "remove",
                try await dkmsHasNothingLeft(argv, root: root, runner: runner)
            {
                return  // already gone (`remove -k K` of the last kernel removes the module): the goal holds
            }
            if !r.succeeded {
                throw AufsError(
                    "\(ShellScript.quote(argv)) exited \(r.status)",
                    details: (r.stderr + r.stdout).split(separator: "\n").suffix(20).map(String.init))
            }
        }
    }
}

/// Lets a progress line through at most once per interval.
final class Throttle: @unchecked Sendable {
    private var last = 0.0
    private let seconds: Double
    init(seconds: Double) { self.seconds = seconds }
    func due() -> Bool {
        let now = Double(time(nil))
        if now - last < seconds { return false }
        last = now
        return true
    }
}
