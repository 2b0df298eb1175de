// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `aufsctl uninstall`: lists the records, or shows what undoing would do, confirms, takes the
/// install lock and undoes the selected records (with `--all`, then what persist and helper
/// install recorded).
public struct UninstallFrontend {
    public var root: HostRoot
    public var runner: any CommandRunner
    public var selection: Uninstaller.Selection
    public var dryRun: Bool
    public var confirmation: Confirmation
    public var console: Console

    public init(
        root: HostRoot, runner: any CommandRunner = SubprocessRunner(), selection: Uninstaller.Selection,
        dryRun: Bool, confirmation: Confirmation, console: Console = .standard
    ) {
        self.root = root
        self.runner = runner
        self.selection = selection
        self.dryRun = dryRun
        self.confirmation = confirmation
        self.console = console
    }

    /// `uninstall --list`: one line per install record, then the persist and helper records.
    public func list() throws {
        let state = try InstallState.load(root: root)
        let lines = Uninstaller.list(state)
        console.line(lines.isEmpty ? "no install records in \(InstallState.path)" : lines.joined(separator: "\n"))
        for u in state.unions ?? [] {
            console.line(
                "-  \(u.summary): " + u.undo.map(\.description).joined(separator: "; ") + " (undone by --all)")
        }
    }

    public func run() async throws -> AufsExitCode {
        let console = self.console
        let printer: @Sendable (String) -> Void = { console.line($0) }
        if !dryRun {
            guard geteuid() == 0 else {
                throw AufsError("uninstall changes the host and needs root; run it with sudo, or use --dry-run")
            }
            if try confirmation.mustAsk(what: "the undo", verb: "undo without a prompt") {
                _ = try await Uninstaller(printer: printer).run(
                    root: root, runner: runner, dryRun: true, selection: selection)
                guard confirmation.ask("undo these?", prompt: console.write) else {
                    console.line("nothing changed")
                    return .failure
                }
            }
        }
        return try await undo(printer: printer)
    }

    func undo(printer: @escaping @Sendable (String) -> Void) async throws -> AufsExitCode {
        let lock =
            dryRun
            ? nil
            : try FileLock(
                path: root.resolve(RuntimeDir.installLock, keepingLast: 2), what: "one install at a time", timeout: 10)
        defer { lock?.release() }
        var n = try await Uninstaller(printer: printer).run(
            root: root, runner: runner, dryRun: dryRun, selection: selection)
        if selection == .all {  // persist's units and fstab lines, the helper links
            n += try await UnionRecords(root: root, printer: printer).undo(
                where: { _ in true }, dryRun: dryRun, runner: runner)
        }
        console.line(dryRun ? "\(n) step(s) would be undone" : "undid \(n) step(s)")
        return .success
    }
}
