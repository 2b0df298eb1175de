// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a union's branches between aufs and overlayfs, staged inside each branch.",
        discussion: """
            Forms:
              aufsctl convert --to overlay dirs=./changes:./base=ro      (the branches, top first)
              aufsctl convert --to overlay /mnt/union                    (a live union: flushed, unmounted)
              aufsctl convert --to aufs ./upper                          (one branch alone)
            Without --dry-run or --commit the converted trees are staged in BRANCH/.aufsctl-convert and \
            nothing is changed in place. --commit stages afresh (or finishes a commit that stopped part-way) \
            and exchanges them in under a journal; \
            --rollback removes a staging or undoes a commit; --finish drops the original trees a commit \
            kept. --verify compares the merged trees (kernel mounts where the kernel has the filesystem, \
            else aufsctl's reference evaluator). Exit codes: 0 done, 1 failed (or --verify found a \
            difference), 2 refused (nothing changed), 6 a commit stopped part-way (--commit again or \
            --rollback).
            """)

    @Option(help: "The format to convert to: overlay (from aufs) or aufs (from overlay).") var to: UnionFormat?
    @Flag(help: "overlayfs's xattrs in user.overlay.* (mount option userxattr) instead of trusted.overlay.*.")
    var userxattr = false
    @Flag(help: "List every change; write nothing.") var dryRun = false
    @Flag(help: "Stage afresh (or finish an interrupted commit), then exchange the converted trees in.")
    var commit = false
    @Flag(help: "Remove a staging, or undo a commit from its journal.") var rollback = false
    @Flag(help: "Remove the original trees a commit kept for --rollback.") var finish = false
    @Flag(help: "Compare the merged trees of source and result (alone: of the current staging or commit).")
    var verify = false
    @Flag(help: "Print the report as JSON (schema aufsctl.convert/1).") var json = false
    @Argument(help: ArgumentHelp("dirs=BRANCHES, a live union's mount point, or one branch.", valueName: "UNION"))
    var union: String

    func validate() throws { _ = try action() }

    /// The one mode the flags give (they exclude each other).
    func action() throws -> ConvertRequest.Action {
        let modes = [
            (dryRun, ConvertRequest.Action.dryRun), (commit, .commit), (rollback, .rollback), (finish, .finish),
        ]
        .filter(\.0)
        if modes.count > 1 {
            throw AufsError.usage("--dry-run, --commit, --rollback and --finish exclude each other; give one")
        }
        let action = modes.first?.1 ?? (verify && to == nil ? .verify : .stage)
        if verify && (action == .dryRun || action == .rollback || action == .finish) {
            throw AufsError.usage("--verify compares a staging or a commit: use it alone, or with --commit")
        }
        return action
    }

    func run() throws {
        var req = ConvertRequest(to: to, action: try action(), spec: union, userxattr: userxattr, verify: verify)
        req.listChanges = json
        let conversion = Conversion(progress: { json ? () : Terminal.error("aufsctl: " + $0) })
        let report = try conversion.run(req)
        if json {
            try Terminal.printJSON(report)
        } else {
            for l in report.lines { print(l) }
        }
        if report.exitCode != 0 { throw CommandExit(code: report.exitCode) }
    }
}

extension UnionFormat: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}
