// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Uninstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract:
            "Undo what aufsctl install recorded in /var/lib/aufsctl/state.json: the newest install, one by ID, or all.")

    @Argument(help: ArgumentHelp("The install record to undo (see --list); default: the newest.", valueName: "ID"))
    var id: Int?
    @Flag(help: "Undo every install record, newest first, then what persist and helper install recorded.") var all =
        false
    @Flag(help: "List the install records and what undoing each would do.") var list = false
    @Flag(help: "Print what would be undone.") var dryRun = false
    @Flag(help: "Apply without asking.") var yes = false
    @OptionGroup var host: HostOptions

    func validate() throws {
        if all && id != nil && !list { throw AufsError.usage("give an install record ID or --all, not both") }
    }

    func run() async throws {
        let frontend = UninstallFrontend(
            root: try host.hostRoot(), selection: all ? .all : id.map { .id($0) } ?? .newest, dryRun: dryRun,
            confirmation: Confirmation(assumeYes: yes))
        if list { return try frontend.list() }
        try CommandExit.unlessSuccess(try await frontend.run())
    }
}
