// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a union's branches between aufs and overlayfs, staged inside each branch.",
        discussion: """
            Without --dry-run or --commit the converted trees are staged in BRANCH/.aufsctl-convert and \
            nothing is changed in place. --commit stages afresh (or finishes a commit that stopped part-way) \
            and exchanges them in under a journal; --rollback removes a staging or undoes a commit; --finish \
            drops the original trees a commit kept. --verify compares the merged trees (kernel mounts where \
            the kernel has the filesystem, else aufsctl's reference evaluator). UNION is the branches, top \
            first (dirs=...), a live union's mount point (flushed and unmounted first), or one branch alone.

            Examples:
              Every change converting the walk-through's branches to overlayfs would make:
                aufsctl convert --to overlay --dry-run dirs=./container:./image1=ro
              A live union, converted in place, then compared and the originals dropped:
                aufsctl convert --to overlay --commit --verify /srv/seed/mnt
                aufsctl convert --finish dirs=/srv/seed/container:/srv/seed/image1=ro
              One overlay upper directory back to an aufs branch, and undone again:
                aufsctl convert --to aufs --commit ./upper
                aufsctl convert --rollback ./upper

            Exit status:
              0  done
              1  failed, or --verify found a difference; the message names it
              2  refused (a mounted branch, a tree the other format cannot hold, bad input); nothing changed
              6  a commit stopped part-way: run --commit again, or --rollback
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
    @Argument(
        help: ArgumentHelp("dirs=BRANCHES, a live union's mount point, or one branch.", valueName: "UNION"),
        completion: Completions.unionsAndDirectories)
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
