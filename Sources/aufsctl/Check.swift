// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Tell whether aufs is usable here, and if not, what install would do or why it cannot.",
        discussion: "Exit codes: 0 usable, 3 loadable or installable, 4 blocked, 1 error, 2 usage error.")

    @Flag(help: "Print the report as JSON (schema aufsctl.check/1, see README).")
    var json = false

    @Option(help: ArgumentHelp("Check this kernel release instead of the running one.", valueName: "KVER"))
    var kernel: String?

    // HostOptions' --root declared here, not as an @OptionGroup: one type fewer for ArgumentParser
    // to reflect on (about 0.5 M instructions, issue 14); the help and the parsing are the same.
    @Option(
        help: ArgumentHelp(
            "Read every host file under DIR (a mounted image, chroot or fixture tree).", valueName: "DIR"))
    var root: String = "/"

    func run() async throws {
        let root = try HostRoot.validated(root)
        let k = try parseKernel(kernel)
        let facts = try await HostProbe(root: root).probe(kernel: k)
        var report = CheckReport(root: root, facts: facts)
        // A mount helper another user could replace runs as root on every `mount -t aufs`.
        report.warnings += HelperLinks(root: root).unsafeHelpers()
        if json {
            print(try report.json())
        } else {
            for w in report.warnings { Terminal.error("aufsctl: warning: " + w) }
            print(report.human(style: TextStyle(color: Terminal.colorOnStdout)), terminator: "")
        }
        if report.exitCode != .success { throw CommandExit(code: report.exitCode.rawValue) }
    }
}
