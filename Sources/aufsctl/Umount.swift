// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct Umount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "umount",
        abstract: "Unmount an aufs mount (or an overlay aufsctl made), retrying while busy.",
        discussion: """
            Flushes aufs's pseudo-links first, retries EBUSY 5 times 100 ms apart and then names who holds the union; \
            an overlay union's workdir is removed. A mount that is neither aufs nor aufsctl's overlay is refused \
            unless --any-filesystem.

            Examples:
              aufsctl umount ./mnt
              Detach it now, even while in use:
                aufsctl umount -l ./mnt

            Exit status:
              0  unmounted
              1  it failed (still busy after the retries: the holders are named)
              2  not a mount point, or not a union (--any-filesystem overrides)
            """)

    @Argument(help: "The mount point.", completion: Completions.liveTargets) var target: String
    @Flag(name: .shortAndLong, help: "Detach now, unmount when no longer busy (MNT_DETACH).") var lazy = false
    @Flag(
        name: .shortAndLong,
        help: "Force the unmount (MNT_FORCE, as umount(8)'s -f), for filesystems that abort pending requests.")
    var force = false
    @Flag(
        name: .customLong("any-filesystem"),
        help: ArgumentHelp(
            "Unmount even a mount that is neither aufs nor an overlay aufsctl made (--force did, before it was "
                + "MNT_FORCE)."))
    var anyFilesystem = false
    @Flag(name: .shortAndLong, help: "Say how many attempts it took.") var verbose = false
    @Flag(name: .customShort("n"), help: "Accepted and ignored, as umount(8)'s -n: aufsctl never writes /etc/mtab.")
    var noMtab = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Do not flush aufs's pseudo-links first (aufsctl plink flush).") var noPlinkFlush = false

    func run() throws {
        var unmounter = Unmounter(syscalls: testSyscalls())
        unmounter.flushPseudoLinks = !noPlinkFlush
        unmounter.extraFlags = force ? Int32(MNT_FORCE) : 0
        let r: UnmountReport
        do {
            r = try unmounter.unmount(target, lazy: lazy, force: anyFilesystem)
        } catch var e as AufsError where force && !anyFilesystem && e.message.contains("neither aufs nor") {
            // --force used to override this refusal; it is umount(8)'s MNT_FORCE now.
            e.details.append("--force is umount(8)'s MNT_FORCE and no longer overrides this refusal")
            throw e
        }
        if json { return try Terminal.printJSON(r) }
        let attempts = r.attempts > 1 || verbose ? " after \(r.attempts) attempt\(r.attempts == 1 ? "" : "s")" : ""
        print(
            "unmounted \(r.filesystem) from \(r.target)" + attempts
                + (r.removedWorkdir.map { "; removed overlay workdir \($0)" } ?? "")
                + (r.leftWorkdir.map { "; \($0)" } ?? "")
                + (r.releasedLayers.isEmpty
                    ? ""
                    : "; released \(r.releasedLayers.count) image layer\(r.releasedLayers.count == 1 ? "" : "s")"))
        for l in r.leftLayers { Terminal.error("aufsctl: warning: " + l) }
    }
}
