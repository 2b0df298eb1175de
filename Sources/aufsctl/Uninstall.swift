// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Uninstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract:
            "Undo what aufsctl install recorded in /var/lib/aufsctl/state.json: the newest install, one by ID, or all.",
        discussion: """
            Each record's undos are applied newest first; what another remaining record still uses stays. --all \
            also takes away the unions aufsctl persist wrote and the links aufsctl helper install made.

            Examples:
              What is recorded, and what undoing each would do:
                aufsctl uninstall --list
              The same for tools (schema aufsctl.records/1):
                aufsctl uninstall --list --json
              Undo the newest install, after seeing what it would do:
                aufsctl uninstall --dry-run
                aufsctl uninstall -y
              Everything aufsctl did to this host:
                aufsctl uninstall --all -y

            Exit status:
              0  undone (or nothing to undo)
              1  an undo failed; the message names it
              2  bad input (an unknown ID, no terminal to confirm without -y)
              6  partially undone: a later undo failed after earlier ones were applied
            """)

    @Argument(help: ArgumentHelp("The install record to undo (see --list); default: the newest.", valueName: "ID"))
    var id: Int?
    @Flag(help: "Undo every install record, newest first, then what persist and helper install recorded.") var all =
        false
    @Flag(help: "List the install records and what undoing each would do.") var list = false
    @Flag(help: "With --list: print them as JSON (schema aufsctl.records/1).") var json = false
    @Flag(help: "Print what would be undone.") var dryRun = false
    @Flag(name: [.customLong("yes"), .customShort("y")], help: "Apply without asking (apt's -y).") var yes = false
    @OptionGroup var host: HostOptions

    func validate() throws {
        if all && id != nil && !list { throw AufsError.usage("give an install record ID or --all, not both") }
        if json && !list { throw AufsError.usage("--json goes with --list (uninstall itself prints its steps)") }
    }

    func run() async throws {
        let frontend = UninstallFrontend(
            root: try host.hostRoot(), selection: all ? .all : id.map { .id($0) } ?? .newest, dryRun: dryRun,
            confirmation: Confirmation(assumeYes: yes))
        if list && json {
            return try Terminal.printJSON(RecordsReport(try InstallState.load(root: try host.hostRoot())))
        }
        if list { return try frontend.list() }
        try CommandExit.unlessSuccess(try await frontend.run())
    }
}
