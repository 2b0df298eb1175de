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
    /// A key waiting for MokManager: the run ends with exit 5, "reboot and confirm the key".
    public var mokEnrolment: MokEnrolment? = nil
    /// After a failure that followed changes: `rolledBack` (every change this run made undone,
    /// the host as before), `kept` (`--keep-on-failure`: exit 6), `rollbackFailed` (exit 6).
    public var onFailure: FailureHandling? = nil
    /// What the rollback undid, newest first.
    public var undone: [String]? = nil
    /// The run's transcript (`/var/log/aufsctl/install.log`), when one was kept.
    public var transcript: String? = nil

    public enum FailureHandling: String, Sendable, Codable { case rolledBack, kept, rollbackFailed }
}

/// What applying a list of steps came to.
public struct StepsOutcome: Sendable {
    public var reports: [StepReport]
    public var changed: Bool
    /// Set when a step stopped the run: the exit code and why.
    public var stop: (code: AufsExitCode, message: String)?
    /// The error that stopped it, as the step threw it.
    public var error: AufsError?
}

/// Applies steps one by one: `ok` when already done, `changed` when done now, `failed` with the
/// evidence. Each change's undo is journaled before the change; a failure leaves exit 6 and a
/// report, and `aufsctl uninstall` undoes what was recorded. install and persist both run here.
public struct Executor {
    public var printer: @Sendable (String) -> Void
    /// Where long commands stream to (a status line or heartbeats, and the transcript).
    public var progress: ProgressSink

    public init(printer: @escaping @Sendable (String) -> Void = { print($0) }, progress: ProgressSink = .silent) {
        self.printer = printer
        self.progress = progress
    }

    public func run(_ plan: Plan, context ctx: InstallContext, dryRun: Bool) async throws -> InstallReport {
        if !dryRun { tidy(ctx.root) }
        let journal = StateJournal(
            state: dryRun ? InstallState() : try InstallState.load(root: ctx.root), root: ctx.root,
            key: .install(plan.method, kernel: plan.kernel))
        let before = journal.state
        let outcome = try await apply(plan.steps, context: ctx, journal: journal, dryRun: dryRun)
        if let stop = outcome.stop {
            let changes = dryRun ? [] : journal.added(since: before)
            guard !changes.isEmpty else {
                return finish(plan, outcome, dryRun: dryRun, code: stop.code, message: stop.message)
            }
            if ctx.options.keepOnFailure {
                // What the run applied stays: a refusal after changes is 6 (partly applied), not 4,
                // which says nothing changed.
                let code: AufsExitCode = stop.code == .blocked ? .partial : stop.code
                var r = finish(plan, outcome, dryRun: dryRun, code: code, message: stop.message)
                r.onFailure = .kept
                return r
            }
            return try await rollBack(changes, plan, outcome, ctx, journal: journal, before: before)
        }
        if !dryRun, let p = ctx.provenance { try journal.setSource(p) }
        if !dryRun { prune(ctx.root, journal.state) }
        let reboot = (plan.rebootRequired && !ctx.options.reboot) || ctx.mokEnrolment != nil
        let code: AufsExitCode = reboot ? .rebootRequired : .success
        var report = finish(
            plan, outcome, dryRun: dryRun, code: dryRun ? .success : code, message: nil, notes: ctx.notes)
        report.source = ctx.provenance
        report.afterwards = ctx.nextSteps + report.afterwards
        if !dryRun && !outcome.changed { report.message = "nothing to do: every step was already done" }
        report.mokEnrolment = ctx.mokEnrolment
        return report
    }

    /// The loop both commands share: checks, applies and journals each step in order.
    public func apply(
        _ steps: [Step], context ctx: InstallContext, journal: StateJournal, dryRun: Bool
    ) async throws -> StepsOutcome {
        ctx.journal = journal
        var outcome = StepsOutcome(reports: [], changed: false, stop: nil)
        ctx.progress = progress
        for (i, step) in steps.enumerated() {
            let label = "[\(i + 1)/\(steps.count)] \(step.title)"
            ctx.stepLabel = label
            let done: Bool
            do {
                done = try await step.isDone(ctx)
            } catch {
                let e = error as? AufsError ?? AufsError("\(error)")
                let status: StepReport.Status = e.exitCode == .blocked ? .blocked : .failed
                fail(step, i, steps, status: status, e, into: &outcome)
                outcome.error = e
                let code: AufsExitCode = e.exitCode == .blocked ? .blocked : (outcome.changed ? .partial : e.exitCode)
                outcome.stop = (code, e.message)
                return outcome
            }
            if done, let flag = step.skippedBy {
                outcome.reports.append(
                    StepReport(id: step.id, title: step.title, status: .skipped, evidence: ["skipped: \(flag)"]))
                printer("\(label) ... skipped (\(flag))")
                continue
            }
            if done {
                outcome.reports.append(StepReport(id: step.id, title: step.title, status: .ok, evidence: []))
                printer("\(label) ... ok")
                if !dryRun, let uses = try? step.uses(ctx) { try journal.use(id: step.id, title: step.title, uses) }
                continue
            }
            if dryRun {
                outcome.reports.append(StepReport(id: step.id, title: step.title, status: .pending, evidence: []))
                printer("\(label) ... would change")
                continue
            }
            printer("\(label) ...")
            let recordedBefore = journal.hasRecord
            journal.step = (step.id, step.title)
            defer { journal.step = nil }
            do {
                let undo = try await step.apply(ctx)
                outcome.changed = true
                try journal.add(undo, uses: try? step.uses(ctx))
                outcome.reports.append(
                    StepReport(
                        id: step.id, title: step.title, status: .changed,
                        evidence: undo.map { "undo: \($0.description)" }))
                printer("\(label) ... changed")
            } catch {
                let e = error as? AufsError ?? AufsError("\(error)")
                fail(step, i, steps, status: .failed, e, into: &outcome)
                outcome.error = e
                // The failed step's own journaled undo stays recorded (it may have changed something),
                // but "partially applied" means an earlier change is in place.
                let partial = outcome.changed || recordedBefore
                outcome.stop = (
                    partial ? .partial : (e.exitCode == .blocked ? .blocked : .failure),
                    "step \(step.id) failed: \(e.message)"
                        + (partial ? Executor.keptSuffix : "")
                )
                return outcome
            }
        }
        if !dryRun { try journal.flushUses() }
        return outcome
    }

    /// A run that failed after changing the host undoes what it changed, newest first, so a
    /// provisioning run leaves no registered, unbuilt module or half-installed packages behind.
    func rollBack(
        _ changes: [UndoAction], _ plan: Plan, _ outcome: StepsOutcome, _ ctx: InstallContext, journal: StateJournal,
        before: InstallState
    ) async throws -> InstallReport {
        let failure = outcome.error ?? AufsError(outcome.stop?.message ?? "failed")
        printer(
            "rolling back the \(changes.count) change\(changes.count == 1 ? "" : "s") this run made "
                + "(--keep-on-failure keeps them):")
        var undone: [UndoAction] = []
        let undo = Uninstaller(printer: printer, fs: ctx.fs)
        for action in changes {
            printer("      undo: \(action.description)")
            do {
                try await undo.perform(action, root: ctx.root, runner: ctx.runner)
                undone.append(action)
            } catch {
                let e = error as? AufsError ?? AufsError("\(error)")
                try journal.rolledBack(undone, before: before, complete: false)
                var r = finish(
                    plan, outcome, dryRun: false, code: .partial,
                    message: "step failed: \(failure.message); the rollback stopped at `\(action.description)`: "
                        + "\(e.message); `aufsctl uninstall` undoes what is left")
                r.onFailure = .rollbackFailed
                r.undone = undone.map(\.description)
                return r
            }
        }
        try journal.rolledBack(undone, before: before, complete: true)
        // Blocked stays blocked (exit 4): the host is as it was, the kernel cannot take aufs.
        let code: AufsExitCode = failure.exitCode == .blocked ? .blocked : .failure
        var r = finish(
            plan, outcome, dryRun: false, code: code,
            message: (outcome.stop?.message.replacingAll(Executor.keptSuffix, with: "") ?? failure.message)
                + "; rolled back: the host is as it was before this run")
        r.onFailure = .rolledBack
        r.undone = undone.map(\.description)
        return r
    }

    /// What a failed step's message says when earlier changes stay (taken off again after a rollback).
    static let keptSuffix = "; earlier steps stay applied; `aufsctl uninstall` undoes them"

    /// Removes what a killed run left: temporary files beside the files aufsctl writes.
    public func tidy(_ root: HostRoot) {
        let n = Housekeeping.removeStaleTemporaries(root: root)
        if n > 0 { printer("removed \(n) temporary file\(n == 1 ? "" : "s") an interrupted aufsctl left") }
    }

    /// Keeps the newest backups per file (and every one an undo needs); says which went.
    public func prune(_ root: HostRoot, _ state: InstallState) {
        let removed = Housekeeping.pruneBackups(root: root, state: state)
        if !removed.isEmpty {
            printer(
                "pruned \(removed.count) old backup\(removed.count == 1 ? "" : "s") (the newest \(Backups.keep) per "
                    + "file and those an undo needs stay): \(removed.joined(separator: ", "))")
        }
    }

    /// Reports a step that failed (or was blocked) and the ones it keeps from running.
    func fail(
        _ step: Step, _ i: Int, _ steps: [Step], status: StepReport.Status, _ e: AufsError, into o: inout StepsOutcome
    ) {
        o.reports.append(StepReport(id: step.id, title: step.title, status: status, evidence: [e.message] + e.details))
        printer("[\(i + 1)/\(steps.count)] \(step.title) ... \(status.rawValue)")
        printer("      " + e.message)
        e.details.forEach { printer("      " + $0) }
        for (j, s) in steps.enumerated().dropFirst(i + 1) {
            printer("[\(j + 1)/\(steps.count)] \(s.title) ... not reached")
            o.reports.append(StepReport(id: s.id, title: s.title, status: .pending, evidence: []))
        }
    }

    func finish(
        _ plan: Plan, _ o: StepsOutcome, dryRun: Bool, code: AufsExitCode, message: String?, notes: [String] = []
    ) -> InstallReport {
        InstallReport(
            method: plan.method, kernel: plan.kernel, dryRun: dryRun, steps: o.reports, changed: o.changed,
            rebootRequired: plan.rebootRequired, afterwards: plan.afterwards, notes: notes, exitCode: code,
            message: message)
    }
}
