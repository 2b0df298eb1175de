// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import FoundationEssentials
import Glibc

struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount an aufs union (validated first), or with --fallback overlay an overlayfs one.",
        discussion: """
            Forms:
              aufsctl mount [-o OPTS] dirs=./rw:./ro1=ro:./ro2=ro ./mnt
              aufsctl mount -t aufs -o dirs=./rw:./ro1=ro,xino=/dev/shm/aufs.xino none ./mnt
            dirs=, br= and br: are accepted; br= is what reaches the kernel.
            """)

    @Option(name: .customShort("t"), help: "Filesystem type; only aufs.")
    var type: String?

    @Option(name: .customShort("o"), help: "mount(8)-style options: the branch list and aufs options, comma separated.")
    var options: String?

    @Argument(
        help: ArgumentHelp(
            "dirs=BRANCHES (or a source such as none) then the mount point.", valueName: "SPEC|SOURCE TARGET"))
    var positional: [String] = []

    @Flag(help: "Create the mount point if missing.")
    var mkdir = false

    @Option(help: "What to mount when aufs is not available: none (fail) or overlay.")
    var fallback: Fallback = .none

    @Flag(help: "Print the calls without making them.")
    var dryRun = false

    @Flag(
        help: ArgumentHelp(
            "Mount even a refused geometry: a writable branch another union writes to, or a mount point inside one of "
                + "its branches.")
    )
    var force = false

    @Flag(help: "Print the report as JSON (schema aufsctl.mount/1).")
    var json = false

    func run() throws {
        if let type, type != "aufs" {
            throw AufsError.usage(
                "-t \(type): aufsctl mounts aufs (or overlay through --fallback overlay); drop -t or use -t aufs")
        }
        guard positional.count == 1 || positional.count == 2 else {
            throw AufsError.usage("expected [dirs=BRANCHES|SOURCE] TARGET, got \(positional.count) arguments")
        }
        var opts = try options.map(AufsOptions.parse(options:)) ?? AufsOptions()
        if positional.count == 2 {
            let spec = positional[0]
            for prefix in ["dirs=", "br=", "br:"] where spec.hasPrefix(prefix) {
                if !opts.branches.isEmpty {
                    throw AufsError.usage("branches given both in -o and as \(spec.prefix(5))...; give one list")
                }
                let list = String(spec.dropFirst(prefix.count))
                if let comma = list.firstIndex(of: ",") {
                    throw AufsError.usage(
                        "\(spec): ',' at \"\(list[comma...].prefix(30))\": the branch list argument holds branches "
                            + "only; aufs cannot escape ',' in a path, and options go in -o"
                    )
                }
                opts.branches = try AufsOptions.parseBranchList(list)
            }
        }
        if opts.branches.isEmpty {
            throw AufsError.usage("no branches: give dirs=RW:RO1=ro:... as an argument or in -o")
        }
        let req = MountRequest(
            options: opts, target: positional.last!, mkdir: mkdir, fallback: fallback, dryRun: dryRun, force: force)
        var syscalls: any Syscalls = LinuxSyscalls()
        // Test-only (the QEMU suite): remove a branch between validation and the call, to prove the
        // kernel's own refusal and its log line reach the user. Named so nobody sets it by accident.
        if let victim = getenv("AUFSCTL_TEST_RMDIR_AFTER_VALIDATION").map({ String(cString: $0) }) {
            syscalls = BeforeFirstMountSyscalls(syscalls) { _ = rmdir(victim) }
        }
        let mounter = Mounter(syscalls: syscalls)
        let report = try mounter.mount(req)
        if json {
            print(try encodeJSON(report))
            return
        }
        for w in report.warnings { Terminal.error("aufsctl: warning: " + w) }
        for n in report.notes { print(n) }
        if report.dryRun { print("dry run: these calls would be made:") }
        for c in report.calls { print((report.dryRun ? "  " : "  done: ") + c) }
    }
}

func encodeJSON<T: Encodable>(_ v: T) throws -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try enc.encode(v), as: UTF8.self)
}

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
        var unmounter = Unmounter()
        unmounter.flushPseudoLinks = !noPlinkFlush
        let r = try unmounter.unmount(target, lazy: lazy, force: force)
        if json { print(try encodeJSON(r)); return }
        print(
            "unmounted \(r.filesystem) from \(r.target)" + (r.attempts > 1 ? " after \(r.attempts) attempts" : "")
                + (r.removedWorkdir.map { "; removed overlay workdir \($0)" } ?? ""))
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List aufs mounts and the overlay mounts aufsctl made, with their branches.")

    @Argument(help: "Only this mount point.") var target: String?
    @Flag(help: "Print the report as JSON (schema aufsctl.status/1).") var json = false

    func run() throws {
        var r = try StatusReader().read(target: target)
        // Root's state file says which unions come back at boot (aufsctl persist).
        let persisted = geteuid() == 0 ? ((try? UnionRecords().records()) ?? []) : []
        for i in r.mounts.indices {
            r.mounts[i].persisted = persisted.last { $0.kind == .persist && $0.target == r.mounts[i].target }?.via
        }
        if json { print(try encodeJSON(r)); return }
        if r.mounts.isEmpty { print("no aufs mounts and no overlay mounts made by aufsctl"); return }
        for m in r.mounts {
            print(
                "\(m.target)  \(m.filesystem)" + (m.si.map { "  si=\($0)" } ?? "")
                    + (m.xino.map { "  xino=\($0)" } ?? "")
                    + (m.workdir.map { "  workdir=\($0)" } ?? "") + (m.persisted.map { "  persisted (\($0))" } ?? ""))
            if let note = m.branchesNote {
                print("  branches from mountinfo's options, not sysfs: \(note)")
            }
            for (i, b) in m.branches.enumerated() { print("  [\(i)] \(b)") }
        }
    }
}

struct BranchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch",
        abstract: "Add, delete or change a branch of a live aufs mount (aufs remount add=/append=, del=, mod=).")

    @Argument(help: "add, del or mod.") var action: BranchEditor.Action
    @Argument(help: "The aufs mount point.") var target: String
    @Argument(help: "PATH[=PERM].") var branch: String
    @Option(help: "With add: the position of the new branch (0 = top); default: append at the bottom.") var index: Int?
    @Flag(help: "Print the call without making it.") var dryRun = false
    @Flag(help: "Do not flush aufs's pseudo-links first (aufsctl plink flush).") var noPlinkFlush = false

    func run() throws {
        if index != nil && action != .add { throw AufsError.usage("--index applies to branch add only") }
        var editor = BranchEditor()
        editor.flushPseudoLinks = !noPlinkFlush
        let call = try editor.edit(action, target: target, branch: branch, index: index, dryRun: dryRun)
        print((dryRun ? "would call: " : "done: ") + call.description)
    }
}

// The strings ArgumentParser's defaults give, spelled out: the defaults go through key paths and
// generic descriptions, about 0.5 M instructions per type on every start (issue 14).
extension Fallback: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}
extension BranchEditor.Action: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}
