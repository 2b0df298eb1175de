// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List aufs mounts and the overlay mounts aufsctl made, with their branches.",
        discussion: """
            Branches come from /sys/fs/aufs (else from the mount options), overlay layers from mountinfo; as root, \
            a union aufsctl persist wrote is marked persisted.

            Examples:
              aufsctl status
              One union, as JSON:
                aufsctl status ./mnt --json

            Exit status:
              0  listed (also when there is no union)
              1  /proc/self/mountinfo could not be read
              2  TARGET is not an aufs union nor an overlay aufsctl made
            """)

    @Argument(help: "Only this mount point.", completion: Completions.liveTargets) var target: String?
    @Flag(help: "Print the report as JSON (schema aufsctl.status/2).") var json = false

    func run() throws {
        var r = try StatusReader().read(target: target)
        // Root's state file says which unions come back at boot (aufsctl persist).
        let persisted = geteuid() == 0 ? ((try? UnionRecords().records()) ?? []) : []
        for i in r.mounts.indices {
            r.mounts[i].persisted = persisted.last { $0.kind == .persist && $0.target == r.mounts[i].target }?.via
        }
        if json { return try Terminal.printJSON(r) }
        if r.mounts.isEmpty { print("no aufs mounts and no overlay mounts made by aufsctl"); return }
        for m in r.mounts {
            print(
                "\(m.target)  \(m.filesystem)" + (m.si.map { "  si=\($0)" } ?? "")
                    + (m.xino.map { "  xino=\($0)" } ?? "")
                    + (m.workdir.map { "  workdir=\($0)" } ?? "") + (m.persisted.map { "  persisted (\($0))" } ?? ""))
            if let note = m.branchesNote {
                print("  branches from mountinfo's options, not sysfs: \(note)")
            }
            for (i, b) in m.branches.enumerated() {
                let img = m.images?.first { $0.index == i }
                print(
                    "  [\(i)] \(b)"
                        + (img.map {
                            "  image \($0.image)\($0.copy.map { " (copy \($0))" } ?? ""), \($0.type), \($0.device), "
                                + "\($0.size) bytes"
                        } ?? ""))
            }
        }
    }
}
