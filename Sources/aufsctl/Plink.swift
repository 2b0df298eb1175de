// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct PlinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plink",
        abstract: "List or flush an aufs union's pseudo-links (what aufs-util's auplink does).",
        discussion: """
            A hard-linked file copied up through one name stays linked to its other names through a pseudo-link; \
            aufs's manual asks for a flush before unmounting or changing branches, which umount and branch do \
            themselves.

            Examples:
              aufsctl plink list ./mnt
              aufsctl plink flush ./mnt

            Exit status:
              0  listed or flushed (or nothing to do)
              1  the flush failed (/proc/fs/aufs/plink_maint, a copy-up); the message names it
              2  not an aufs union, or an action other than list or flush
            """)

    enum Action: String, CaseIterable, ExpressibleByArgument {
        case list, flush

        init?(argument: String) { self.init(rawValue: argument) }
        static var allValueStrings: [String] { allCases.map { $0.rawValue } }
        static var allValueDescriptions: [String: String] { [:] }
        var defaultValueDescription: String { rawValue }
    }

    @Argument(help: "list or flush.") var action: Action
    @Argument(help: "The aufs mount point.", completion: Completions.liveTargets) var target: String
    @Flag(help: "Print the report as JSON (schema aufsctl.plink/1).") var json = false

    func run() async throws {
        if action == .flush && geteuid() != 0 {
            throw AufsError("plink flush needs root (/proc/fs/aufs/plink_maint); run it with sudo")
        }
        let m: UnionMount
        let r: PseudoLinks.Report
        if action == .flush,
            let (u, lock) = try StatusReader().lockedAufsUnion(
                at: Paths.resolved(target), what: "flushing the pseudo-links of \(target)")
        {
            // Held through the flush: an unmount or remount of this union waits for it.
            defer { lock?.release() }
            m = u
            r = try PseudoLinks().flush(u)
        } else {
            m = try StatusReader().read(target: target).mounts[0]
            r = action == .list ? PseudoLinks().list(m) : try PseudoLinks().flush(m)
        }
        if json { return try Terminal.printJSON(r) }
        if let why = r.skipped {
            print("\(m.target): nothing to \(action.rawValue): \(why)")
            return
        }
        for e in r.entries { print("\(e.path)  aufs inode \(e.aufsInode)") }
        for p in r.paths { print((action == .list ? "  pseudo-linked: " : "  copied up: ") + p) }
        if action == .flush { print("flushed \(r.entries.count) pseudo-link(s) of \(m.target)") }
    }
}
