// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
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
            A branch that is a file (or block device) is an image layer: squashfs or erofs (others with \
            --allow-fs), bound to a read-only loop device and mounted under /run/aufsctl/layers; its permission \
            defaults to rr (rr+wh when the image holds whiteouts). umount releases it.

            Examples:
              The walk-through's union, a container layer over three image layers:
                aufsctl mount dirs=./container:./image1=ro:./image2=ro:./image3=ro ./mnt
              The same in mount(8)'s form, with its own xino file:
                aufsctl mount -t aufs -o dirs=./container:./image1=ro,xino=/dev/shm/aufs.xino none ./mnt
              Where the kernel has no aufs, with overlayfs (it says so):
                aufsctl mount --fallback overlay dirs=./container:./image1=ro ./mnt
              Image layers (squashfs modules, as Slax stacks them):
                aufsctl mount dirs=./rw:./modules/002-xorg.sb:./modules/001-core.sb ./mnt
              The calls, without making them:
                aufsctl mount -f dirs=./container:./image1=ro ./mnt

            Exit status:
              0  mounted (with -f: checked, the calls printed, none made)
              1  the mount failed: the call, errno and the kernel's log lines; a partial union is unmounted again
              2  bad input (a refused branch or image) or a refused geometry (--force overrides the latter); \
            nothing mounted
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

    @Option(help: "Accept image branches holding this filesystem too (ext4, ext3, ext2, iso9660); repeatable.")
    var allowFs: [String] = []

    @Flag(help: "Mount a root-only copy (in /var/lib/aufsctl/images) of an image another user can write.")
    var copy = false

    @Flag(help: "Print the report as JSON (schema aufsctl.mount/2).")
    var json = false

    func validate() throws {
        if let type, type != "aufs" {
            throw AufsError.usage(
                "-t \(type): aufsctl mounts aufs (or overlay through --fallback overlay); drop -t or use -t aufs")
        }
        guard positional.count == 1 || positional.count == 2 else {
            throw AufsError.usage("expected [dirs=BRANCHES|SOURCE] TARGET, got \(positional.count) arguments")
        }
        _ = try mountOptions()
    }

    /// -o and the branch list argument as one AufsOptions (the list given once).
    func mountOptions() throws -> AufsOptions {
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
        return opts
    }

    func run() throws {
        let req = MountRequest(
            options: try mountOptions(), target: positional.last!, mkdir: mkdir, fallback: fallback, dryRun: dryRun,
            force: force)
        var syscalls = testSyscalls()
        // Test-only (the QEMU suite): remove a branch between validation and the call, to prove the
        // kernel's own refusal and its log line reach the user. Named so nobody sets it by accident.
        if let victim = getenv("AUFSCTL_TEST_RMDIR_AFTER_VALIDATION").map({ String(cString: $0) }) {
            syscalls = BeforeFirstMountSyscalls(syscalls) { _ = rmdir(victim) }
        }
        var mounter = Mounter(syscalls: syscalls)
        mounter.signingKey = { SigningProbe.keyHint(root: HostRoot(), kernel: $0) }
        mounter.images = imageOptions(allowFS: allowFs, copy: copy)
        let report = try mounter.mount(req)
        if json { return try Terminal.printJSON(report) }
        for w in report.warnings { Terminal.error("aufsctl: warning: " + w) }
        for n in report.notes { print(n) }
        if verbose {
            for (i, b) in report.branches.enumerated() {
                print("  branch \(i): \(b.path)=\(b.permission) on \(b.filesystem)")
            }
            if let x = report.xino { print("  xino: \(x)") }
        }
        if report.dryRun { print("dry run: these calls would be made:") }
        let calls = SyscallRecord.lines(report.calls)
        for c in calls { print((report.dryRun ? "  " : "  done: ") + c) }
        if let legacy = report.legacyCalls {
            if calls.contains(where: { $0.contains("FSCONFIG_SET_FD") }) {
                print("  or, where the kernel's overlay takes no layer fds (before 6.13): the same by path")
            }
            print("  or, where the kernel lacks fsconfig lowerdir+ (before 6.8):")
            for c in SyscallRecord.lines(legacy) { print("  " + c) }
        }
    }
}

// The strings ArgumentParser's defaults give, spelled out: the defaults go through key paths and
// generic descriptions, about 0.5 M instructions per type on every start (issue 14).
extension Fallback: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}

/// Image branch options; AUFSCTL_TEST_FAIL_AT=STEP (test-only, for the rollback tests) injects a
/// failure at that step of attaching an image layer.
func imageOptions(allowFS: [String], copy: Bool) -> ImageOptions {
    var o = ImageOptions(allowFS: allowFS, copy: copy)
    if let step = getenv("AUFSCTL_TEST_FAIL_AT").map({ String(cString: $0) }) {
        o.fault = { $0 == step }
    }
    return o
}

/// The kernel calls, and with AUFSCTL_TEST_PAUSE_BEFORE_CALL=FILE (test-only, for the race tests)
/// a pause before the first mount, remount or unmount call, everything checked: FILE is created,
/// and the call waits (up to 20 s) until the test has removed it, having swapped names meanwhile
/// as another user.
func testSyscalls() -> any Syscalls {
    guard let file = getenv("AUFSCTL_TEST_PAUSE_BEFORE_CALL").map({ String(cString: $0) }) else {
        return LinuxSyscalls()
    }
    return BeforeFirstMountSyscalls(LinuxSyscalls()) {
        close(open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600))
        for _ in 0..<2000 where access(file, F_OK) == 0 { usleep(10_000) }
    }
}
