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
            dirs=, br= and br: are accepted; br= is what reaches the kernel. Every branch is checked before the \
            kernel sees it, and the calls are split so that none exceeds the kernel's page.

            Examples:
              The walk-through's union, a container layer over three image layers:
                aufsctl mount dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt
              The same in mount(8)'s form, with its own xino file:
                aufsctl mount -t aufs -o dirs=./container:./image1=ro,xino=/dev/shm/aufs.xino none ./mnt
              Where the kernel has no aufs, with overlayfs (it says so):
                aufsctl mount --fallback overlay dirs=./container:./image1=ro ./mnt
              The calls, without making them:
                aufsctl mount -f dirs=./container:./image1=ro ./mnt

            Exit status:
              0  mounted (with -f: checked, the calls printed, none made)
              1  the mount failed: the call, errno and the kernel's log lines; a partial union is unmounted again
              2  bad input or a refused geometry (--force overrides the latter); nothing mounted
            """)

    @Option(name: .customShort("t"), help: ArgumentHelp("Filesystem type; only aufs.", valueName: "TYPE"))
    var type: String?

    @Option(
        name: .customShort("o"),
        help: ArgumentHelp(
            "mount(8)-style options: the branch list and aufs options, comma separated.", valueName: "OPTIONS"))
    var options: String?

    @Argument(
        help: ArgumentHelp(
            "dirs=BRANCHES (or a source such as none) then the mount point.", valueName: "SPEC|SOURCE TARGET"))
    var positional: [String] = []

    @Flag(help: "Create the mount point if missing.")
    var mkdir = false

    @Option(help: "What to mount when aufs is not available: none (fail) or overlay.")
    var fallback: Fallback = .none

    @Flag(
        name: [.customLong("dry-run"), .customShort("f"), .customLong("fake")],
        help: "Print the calls without making them (mount(8)'s -f/--fake).")
    var dryRun = false

    @Flag(name: .shortAndLong, help: "Also print each branch with its filesystem, and the xino file.")
    var verbose = false

    @Flag(
        name: .customShort("n"),
        help: "Accepted and ignored, as mount(8)'s -n: aufsctl never writes /etc/mtab (the kernel's table is the one).")
    var noMtab = false

    @Flag(
        help: ArgumentHelp(
            "Mount even a refused geometry: a writable branch another union writes to, or a mount point inside one of "
                + "its branches.")
    )
    var force = false

    @Flag(help: "Print the report as JSON (schema aufsctl.mount/2).")
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
        if verbose {
            for (i, b) in report.branches.enumerated() {
                print("  branch \(i): \(b.path)=\(b.permission) on \(b.filesystem)")
            }
            if let x = report.xino { print("  xino: \(x)") }
        }
        if report.dryRun { print("dry run: these calls would be made:") }
        for c in SyscallRecord.lines(report.calls) { print((report.dryRun ? "  " : "  done: ") + c) }
        if let legacy = report.legacyCalls {
            print("  or, where the kernel lacks fsconfig lowerdir+ (before 6.8):")
            for c in SyscallRecord.lines(legacy) { print("  " + c) }
        }
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
        var unmounter = Unmounter()
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
        if json { print(try encodeJSON(r)); return }
        let attempts = r.attempts > 1 || verbose ? " after \(r.attempts) attempt\(r.attempts == 1 ? "" : "s")" : ""
        print(
            "unmounted \(r.filesystem) from \(r.target)" + attempts
                + (r.removedWorkdir.map { "; removed overlay workdir \($0)" } ?? ""))
    }
}

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
        if json { print(try encodeJSON(r)); return }
        if r.mounts.isEmpty { print("no aufs mounts and no overlay mounts made by aufsctl"); return }
        for m in r.mounts {
            print(
                "\(m.target)  \(m.filesystem)" + (m.si.map { "  si=\($0)" } ?? "")
                    + (m.xino.map { "  xino=\($0)" } ?? "")
                    + (m.workdir.map { "  workdir=\($0)" } ?? "") + (m.persisted.map { "  persisted (\($0))" } ?? ""))
            for (i, b) in m.branches.enumerated() { print("  [\(i)] \(b)") }
        }
    }
}

struct BranchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch",
        abstract: "Add, delete or change a branch of a live aufs mount (aufs remount add=/append=, del=, mod=).",
        discussion: """
            A new branch is checked like mount's; the union's pseudo-links are flushed first. Overlay fallback \
            unions cannot change layers live.

            Examples:
              A fourth image layer, below the container layer:
                aufsctl branch add ./mnt ./image4=ro --index 1
              A layer's permission:
                aufsctl branch mod ./mnt ./image1=rr
              Drop a layer:
                aufsctl branch del ./mnt ./image3

            Exit status:
              0  changed (with --dry-run: the call printed)
              1  the kernel refused: the call, errno and its log lines
              2  bad input: not an aufs union, a bad branch or permission
            """)

    @Argument(help: "add, del or mod.") var action: BranchEditor.Action
    @Argument(help: "The aufs mount point.", completion: Completions.liveTargets) var target: String
    @Argument(help: "PATH[=PERM].", completion: .directory) var branch: String
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
