// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

public struct StepReport: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case ok, changed, failed, pending, blocked }
    public var id: String
    public var title: String
    public var status: Status
    public var evidence: [String]
}

public struct InstallReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.install/1"
    public var method: InstallMethod
    public var kernel: String
    public var dryRun: Bool
    public var steps: [StepReport]
    public var changed: Bool
    public var rebootRequired: Bool
    public var afterwards: [String]
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
            notes: ctx.notes + (ctx.provenance.map { ["built from \($0)"] } ?? []))
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
            rebootRequired: plan.rebootRequired, afterwards: notes + plan.afterwards, exitCode: code, message: message)
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
