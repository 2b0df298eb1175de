// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Umount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "umount",
        abstract: "Unmount an aufs mount (or an overlay aufsctl made), retrying while busy.")

    @Argument(help: "The mount point.") var target: String
    @Flag(help: "Detach now, unmount when no longer busy (MNT_DETACH).") var lazy = false
    @Flag(help: "Unmount even if it is neither aufs nor an overlay aufsctl made.") var force = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Do not flush aufs's pseudo-links first (aufsctl plink flush).") var noPlinkFlush = false

    func run() throws {
        var unmounter = Unmounter(syscalls: testSyscalls())
        unmounter.flushPseudoLinks = !noPlinkFlush
        let r = try unmounter.unmount(target, lazy: lazy, force: force)
        if json { return try Terminal.printJSON(r) }
        print(
            "unmounted \(r.filesystem) from \(r.target)" + (r.attempts > 1 ? " after \(r.attempts) attempts" : "")
                + (r.removedWorkdir.map { "; removed overlay workdir \($0)" } ?? "")
                + (r.leftWorkdir.map { "; \($0)" } ?? "")
                + (r.releasedLayers.isEmpty
                    ? ""
                    : "; released \(r.releasedLayers.count) image layer\(r.releasedLayers.count == 1 ? "" : "s")"))
        for l in r.leftLayers { Terminal.error("aufsctl: warning: " + l) }
    }
}
