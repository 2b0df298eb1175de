// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `aufsctl install` from options to an exit code: the install lock, the decision, then the plan
/// printed (`--dry-run`), rendered as sh (`--emit-sh`) or confirmed and applied, and the report in
/// text or JSON. The command only parses arguments and hands them here.
public struct InstallFrontend {
    public enum Mode: Sendable, Equatable { case apply, dryRun, emitSh }

    public var installer: Installer
    public var options: InstallOptions
    public var mode: Mode
    public var json: Bool
    public var confirmation: Confirmation
    public var console: Console
    /// Where long commands show life: a status line on stderr when it is a terminal, else heartbeats.
    public var progressDisplay: ProgressSink.Display

    public init(
        installer: Installer, options: InstallOptions, mode: Mode, json: Bool, confirmation: Confirmation,
        console: Console = .standard, progressDisplay: ProgressSink.Display = .none
    ) {
        self.progressDisplay = progressDisplay
        self.installer = installer
        self.options = options
        self.mode = mode
        self.json = json
        self.confirmation = confirmation
        self.console = console
    }

    /// Runs the install and returns how the process should exit.
    public func run() async throws -> AufsExitCode {
        // Held from the probe on, so a second install decides on what the first one left.
        let lock =
            mode != .apply || geteuid() != 0
            ? nil
            : try FileLock(
                path: installer.root.resolve(RuntimeDir.installLock, keepingLast: 2), what: "one install at a time",
                timeout: 10)
        defer { lock?.release() }
        switch try await installer.decide(options) {
        case .stop(let message, let waysOut, let code):
            try stop(message: message, waysOut: waysOut, code: code)
            return code
        case .plan(let plan, let facts):
            if mode == .emitSh {
                console.raw(ShellScript.render(plan, facts: facts))  // data: never escaped
                return .success
            }
            if mode == .apply {
                guard geteuid() == 0 else {
                    throw AufsError(
                        "install changes the host (packages, /usr/src, /etc, GRUB) and needs root; run it with sudo, "
                            + "or use --dry-run or --emit-sh to see the plan"
                    )
                }
                if let why = plan.needsTerminal, !confirmation.isTerminal() {
                    throw AufsError.usage(
                        "stdin is not a terminal, and \(why): pass --mok-password-hash FILE (made with `mokutil "
                            + "--generate-hash > FILE`), or run install on a terminal; nothing was changed")
                }
                guard try confirm(plan) else {
                    console.line("nothing changed")
                    return .failure
                }
            }
            return try await apply(plan, facts: facts)
        }
    }

    func stop(message: String, waysOut: [String], code: AufsExitCode) throws {
        if json {
            console.line(try JSONText.encode(InstallStop(message: message, waysOut: waysOut, exitCode: code)))
        } else {
            console.line(message)
            for w in waysOut { console.line("  - " + w) }
        }
    }

    func confirm(_ plan: Plan) throws -> Bool {
        guard try confirmation.mustAsk(what: "the plan", verb: "apply it") else { return true }
        console.line("plan (\(plan.method.rawValue) for \(plan.kernel)):")
        for (i, s) in plan.steps.enumerated() { console.line("  [\(i + 1)/\(plan.steps.count)] \(s.title)") }
        return confirmation.ask("apply it?", prompt: console.write)
    }

    func apply(_ plan: Plan, facts: HostFacts) async throws -> AufsExitCode {
        let dryRun = mode == .dryRun
        let console = self.console
        let toStderr = json
        // A plain transcript of every applied run (as apt's term.log); a run goes on without one.
        let transcript: Transcript?
        switch dryRun ? nil : Transcript.open(root: installer.root) {
        case .success(let t)?: transcript = t
        case .failure(let e)?:
            console.error("aufsctl: no transcript kept: \(e.message)")
            transcript = nil
        case nil: transcript = nil
        }
        let say: @Sendable (String) -> Void = { line in
            toStderr ? console.error(line) : console.line(line)
            transcript?.line(line)
        }
        transcript?.line("aufsctl install (\(plan.method.rawValue) for \(plan.kernel)) at \(Transcript.timestamp())")
        say(
            "\(dryRun ? "plan" : "install") aufs with method \(plan.method.rawValue) for "
                + "\(plan.kernel)\(dryRun ? " (dry run: nothing is changed)" : "")")
        let sink = ProgressSink(display: progressDisplay, transcript: transcript)
        var report = try await Executor(printer: say, progress: sink).run(
            plan, context: installer.context(facts, options), dryRun: dryRun)
        report.transcript = transcript?.path
        if json {
            console.line(try JSONText.encode(report))
        } else {
            render(report)
        }
        return report.exitCode
    }

    func render(_ report: InstallReport) {
        if let m = report.message, report.exitCode != .blocked { console.line(m) }
        if report.exitCode == .blocked && report.changed && report.onFailure != .rolledBack {
            console.line("steps before the preflight changed the host (see above); `aufsctl uninstall` undoes them")
        }
        for n in report.notes { console.line("note: " + n) }
        if let s = report.source { console.line("built from: " + s) }
        if let m = report.mokEnrolment {
            console.line(
                "\(m.next): \(m.certificate)" + (m.subject.map { " (\($0))" } ?? "")
                    + (m.state == .staged ? ", staged now" : ", staged before"))
        }
        if report.exitCode != .success, let t = report.transcript { console.line("transcript: \(t)") }
        if report.exitCode == .rebootRequired { console.line("reboot required to finish") }
        if report.exitCode == .success || report.exitCode == .rebootRequired {
            for a in report.afterwards { console.line("next: " + a) }
        }
    }
}

/// `install --json` when no plan runs (aufs already usable, or no method works here).
public struct InstallStop: Encodable {
    public var schema = "aufsctl.install/2"
    public var message: String
    public var waysOut: [String]
    public var exitCode: AufsExitCode
}
