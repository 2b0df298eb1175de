// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLibLoad
import CLinuxShims
import Glibc

/// aufsctl as `/sbin/mount.aufs` and `/sbin/umount.aufs` (chosen by argv[0]): what mount(8),
/// `mount -a`, fstab and systemd `.mount` units run for `-t aufs`. It makes the mount(2) calls
/// itself, so util-linux >= 2.39's fsconfig path (no `br:`, 256-byte values) is never used.
public struct MountHelper {
    public var syscalls: any Syscalls
    public var root: HostRoot
    /// Every invocation's argv and outcome is appended here when set (AUFSCTL_HELPER_LOG).
    public var logPath: String?
    public var stderr: @Sendable (String) -> Void
    public var stdout: @Sendable (String) -> Void

    public init(
        syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot(), logPath: String? = nil,
        stdout: @escaping @Sendable (String) -> Void = { print(TerminalText.escape($0)) },
        stderr: @escaping @Sendable (String) -> Void = { MountHelper.writeStderr($0) }
    ) {
        self.syscalls = syscalls
        self.root = root
        self.logPath = logPath
        self.stdout = stdout
        self.stderr = stderr
    }

    public static func writeStderr(_ s: String) {
        let line = TerminalText.escape(s) + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// The helper name for argv[0], if aufsctl was started as one.
    public static func mode(argv0: String) -> String? {
        let base = String(argv0.split(separator: "/").last ?? "")
        return base == "mount.aufs" || base == "umount.aufs" ? base : nil
    }

    /// When `argv[0]` names a helper, runs it with the rest of `argv` (logging to
    /// AUFSCTL_HELPER_LOG when set) and exits with its code; otherwise returns. The one entry for
    /// both binaries that can be the helper (aufsctl and aufsctl-helper).
    public static func runIfInvokedAsHelper(_ argv: [String]) {
        guard let mode = mode(argv0: argv.first ?? "") else { return }
        var log: String?  // no closure: in Swift 6 a closure here is checked for its isolation at run
        if let p = getenv("AUFSCTL_HELPER_LOG") { log = String(cString: p) }  // time, a concurrency call
        exit(MountHelper(logPath: log).main(mode: mode, args: Array(argv.dropFirst())))
    }

    /// Runs the helper named `mode` with `args` (argv without argv[0]); returns the exit code.
    public func main(mode: String, args: [String]) -> Int32 {
        // A library that cannot be loaded is a system error here (mount(8)'s exit 2), not a usage one.
        aufsctl_lib_set_missing_exit(2)
        nameThisThreadAufsctl()
        var outcome: [String] = []
        let code: HelperExit
        do {
            outcome = mode == "umount.aufs" ? try umount(args) : try mount(args)
            code = .ok
        } catch let e as HelperError {
            stderr(e.message)
            outcome = ["exit \(e.exit.rawValue): \(e.message)"]
            code = e.exit
        } catch let e as AufsError {
            let msg = "\(mode): " + e.message
            stderr(msg)
            for d in e.details { stderr("  " + d) }
            outcome = ["exit 32: \(msg)"]
            code = .mountFailure
        } catch {
            stderr("\(mode): internal error: \(error)")
            outcome = ["exit 4: \(error)"]
            code = .internalBug
        }
        log(([mode] + args).map { ShellQuote.quote($0) }.joined(separator: " "), outcome)
        return code.rawValue
    }

    func log(_ call: String, _ lines: [String]) {
        guard let logPath else { return }
        // Never blocks (a FIFO without a reader fails at once, one with a reader is refused below)
        // and never follows a symlink: the log is a regular file or nothing.
        let fd = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            stderr("warning: AUFSCTL_HELPER_LOG=\(logPath): not logged: \(SysErrno(errno))")
            return
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            stderr("warning: AUFSCTL_HELPER_LOG=\(logPath): not a regular file; not logged")
            return
        }
        let text = ([call] + lines.map { "  " + $0 }).joined(separator: "\n") + "\n"
        flock(fd, LOCK_EX)
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    // MARK: mount.aufs

    func mount(_ args: [String]) throws -> [String] {
        let a = try MountHelperArguments.parse(args)
        try enterNamespace(a.namespace, helper: "mount.aufs")
        if !a.fake && syscalls.geteuid() != 0 {
            throw HelperError("mount.aufs: mounting needs root (CAP_SYS_ADMIN)", exit: .usage)
        }
        let classified = try HelperOptions.classify(a.options)
        if classified.remount { return try remount(a, classified) }
        var (opts, dropped) = try classified.parsedAufs(sloppy: a.sloppy)
        for d in dropped { stderr("mount.aufs: -s: ignored the unknown option \(d)") }
        if let list = AufsOptions.branchListValue(a.spec) {
            if !opts.branches.isEmpty {
                throw HelperError(
                    "mount.aufs: branches given both as SPEC (\(a.spec.prefix(20))...) and in -o; give one "
                        + "list", exit: .mountFailure)
            }
            do { opts.branches = try AufsOptions.parseBranchList(list) } catch let e as AufsError {
                throw HelperError("mount.aufs: " + e.message, exit: .mountFailure)
            }
        }
        if opts.branches.isEmpty {
            throw HelperError(
                "mount.aufs: -o has no branch list; expected br=RW:RO1=ro:... (or dirs=)", exit: .mountFailure)
        }
        var mounter = Mounter(syscalls: syscalls, root: root)
        mounter.planner.calls.extraFlags = classified.flags & ~UInt(MS_RDONLY)
        var request = MountRequest(options: opts, target: a.dir, dryRun: a.fake)
        request.fallbackAdvice =
            "add the mount option \(HelperFallback.option)=overlay (to the fstab line, or the unit's Options=) to "
            + "mount these layers with overlayfs instead"
        request.reuseIdleWorkdir = true
        let branchList =
            a.options.split(separator: ",").map(String.init).last { AufsOptions.branchListValue($0) != nil }
            .flatMap(AufsOptions.branchListValue) ?? AufsOptions.branchListValue(a.spec) ?? ""
        if let f = classified.fallback {
            request.fallback = f
            request.fallbackReason = "\(HelperFallback.option)=\(f.rawValue) was given"
        } else if let (f, source) = try HelperFallback.lookup(root: root, target: a.dir, branchList: branchList) {
            request.fallback = f
            request.fallbackReason = "\(source) sets \(HelperFallback.option)=\(f.rawValue)"
        }
        let report = try mounter.mount(request)
        if a.verbose {
            for n in report.notes { stdout("mount.aufs: " + n) }
            for c in SyscallRecord.lines(report.calls) {
                stdout("mount.aufs: " + (a.fake ? "would call " : "called ") + c)
            }
        } else if report.filesystem == .overlay, let n = report.notes.first {
            stderr("mount.aufs: " + n)  // overlay, not aufs: always said
        }
        for w in report.warnings { stderr("mount.aufs: warning: " + w) }
        if !a.fake && !a.noMtab {
            let opts = a.options.isEmpty ? "defaults" : FstabLine.escape(a.options)
            try Mtab(root: root).add("none \(FstabLine.escape(report.target)) \(report.filesystem) \(opts) 0 0")
        }
        return SyscallRecord.lines(report.calls)
    }

    func remount(_ a: MountHelperArguments, _ o: HelperOptions) throws -> [String] {
        let target = Paths.resolved(a.dir)
        // add:/append:/del:... are checked before anything is read.
        let branchOps = try o.aufs.compactMap(RemountBranchOperation.parse)
        // This union's sysfs entries only; its xino only when the options name one to compare.
        let live = try StatusReader(root: root).union(at: target, xino: o.aufs.contains { $0.hasPrefix("xino=") })
        if let live, live.filesystem == .overlay {
            throw HelperError(
                "mount.aufs: remount: \(target) is an overlay fallback union (aufs is not in this kernel): overlayfs "
                    + "cannot change the layers of a mounted union; `aufsctl branch add|del --remount` unmounts it "
                    + "and mounts it again with the new stack when nothing holds it; nothing was changed",
                exit: .mountFailure)
        }
        guard let live, live.filesystem == .aufs else {
            throw HelperError(
                "mount.aufs: remount: \(target) is not an aufs mount (see aufsctl status)", exit: .mountFailure)
        }
        if live.branches.isEmpty {
            throw HelperError(
                "mount.aufs: remount: the branches of \(target) could not be read "
                    + "(\(live.branchesNote ?? "none listed")); try again", exit: .mountFailure)
        }
        var wanted: [(path: String, permission: String?)]?
        var directories: [String: AnchoredDirectory] = [:]
        var options: [String] = []
        let liveEntries = live.branches.compactMap(RemountPlanner.Entry.init(sysfs:))
        for opt in o.aufs {
            if let list = AufsOptions.branchListValue(opt) {
                if wanted != nil {
                    throw HelperError("mount.aufs: remount: the branch list is given twice", exit: .mountFailure)
                }
                (wanted, directories) = try resolveWanted(list, live: liveEntries, target: target)
            } else if try RemountBranchOperation.parse(opt) != nil {
                continue
            } else if opt.hasPrefix("xino="), String(opt.dropFirst(5)) == live.xino {
                continue  // unchanged (mountinfo or fstab hands it back)
            } else {
                var probe = AufsOptions()
                do { try probe.add(option: opt) } catch let e as AufsError {
                    if a.sloppy {
                        stderr("mount.aufs: -s: ignored \(opt)")
                        continue
                    }
                    throw HelperError("mount.aufs: remount: " + e.message, exit: .mountFailure)
                }
                if opt != "ro" && opt != "rw" { options.append(opt) }
            }
        }
        let ops = try RemountPlanner().operations(live: liveEntries, wanted: wanted)
        if !branchOps.isEmpty {
            // mount(8) merges fstab's options (its br= list) with the command line's add:/del:.
            if !ops.isEmpty {
                throw HelperError(
                    "mount.aufs: remount: give the branches either as a list (br=, dirs=) or as operations (add:, "
                        + "append:, prepend:, del:, mod:), not both: the list given differs from the live branches of "
                        + "\(target)", exit: .mountFailure)
            }
            return try remountBranches(a, o, target: target, operations: branchOps, options: options)
        }
        return try remountCalls(
            a, o, target: target, options: options, operations: ops, live: liveEntries, directories: directories)
    }

    /// The MS_REMOUNT calls for `options` and the branch list's `operations`, made (or, with -f, printed).
    func remountCalls(
        _ a: MountHelperArguments, _ o: HelperOptions, target: String, options: [String], operations ops: [String],
        live liveEntries: [RemountPlanner.Entry], directories: [String: AnchoredDirectory]
    ) throws -> [String] {
        let planner = RemountPlanner()
        var directories = directories
        // Branches go to the kernel as the fds they were checked on, where they could be opened.
        for e in liveEntries where directories[e.path] == nil {
            if case .success(let d) = syscalls.anchorDirectory(e.path), d.path == e.path { directories[e.path] = d }
        }
        var calls = try planner.plan(
            target: target, flags: o.flags, options: options, operations: ops,
            kernelOperations: AufsKernelPaths.descriptors
                ? ops.map { RemountPlanner.operation($0) { directories[$0]?.procPath } } : nil)
        if a.fake {
            if a.verbose { for c in calls { stdout("mount.aufs: would call \(c)") } }
            return calls.map(\.description)
        }
        let unionRoot = try liveRoot(target)
        for i in calls.indices { calls[i].kernelTarget = unionRoot.procPath }
        // The executor holds the mount lock, flushes pseudo-links first when branches change, and
        // reports the kernel's log lines.
        try withExtendedLifetime((unionRoot, directories)) {
            try MountExecutor(syscalls: syscalls, root: root).remount(
                calls, failure: "mount.aufs: remount of \(target) failed")
        }
        if a.verbose { for c in calls { stdout("mount.aufs: called \(c)") } }
        return calls.map(\.description)
    }

    /// The wanted branch list with canonical paths: a live branch by its path as the kernel
    /// knows it (even if its directory is gone), a new one validated like `aufsctl branch add`.
    func resolveWanted(
        _ list: String, live: [RemountPlanner.Entry], target: String
    ) throws -> ([(path: String, permission: String?)], [String: AnchoredDirectory]) {
        let raw: [RawBranch]
        do { raw = try AufsOptions.parseBranchList(list) } catch let e as AufsError {
            throw HelperError("mount.aufs: remount: " + e.message, exit: .mountFailure)
        }
        let validator = BranchValidator(syscalls: syscalls)
        var out: [(path: String, permission: String?)] = []
        var directories: [String: AnchoredDirectory] = [:]
        let layers = LayerRecords().load(target)
        for r in raw {
            if let p = r.permission, case .failure(let why) = BranchPermission.parse(p) {
                throw HelperError("mount.aufs: remount: branch \(r.path): \(why)", exit: .mountFailure)
            }
            let lexical = Paths.normalize(r.path.hasPrefix("/") ? r.path : Paths.join(validator.cwd, r.path))
            if live.contains(where: { $0.path == lexical }) {
                out.append((lexical, r.permission))
                continue
            }
            // An image branch (fstab's list of a persisted union) is its live layer's directory.
            if let l = layers.first(where: { $0.image == lexical || $0.copiedFrom == lexical }) {
                out.append((l.directory, r.permission))
                continue
            }
            if ImageBranches.isImage(lexical) {
                throw HelperError(
                    "mount.aufs: remount: \(lexical) is an image that is not a layer of \(target); add it with "
                        + "-o remount,add:INDEX:\(lexical) (or append:, prepend:), not in a branch list",
                    exit: .mountFailure)
            }
            do {
                let d = try validator.anchoredDirectory(r.path, what: "branch")
                out.append((d.path, r.permission))
                directories[d.path] = d
            } catch let e as AufsError {
                throw HelperError("mount.aufs: remount: " + e.message, exit: .mountFailure)
            }
        }
        return (out, directories)
    }

    /// The root of the live mount at `target` by fd (LiveMount): what a remount is made on.
    func liveRoot(_ target: String) throws -> AnchoredDirectory {
        guard let entry = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: target) else {
            throw HelperError("mount.aufs: \(target) is not a mount point", exit: .mountFailure)
        }
        return try LiveMount.open(target, entry: entry, syscalls: syscalls).root(syscalls)
    }

    // MARK: umount.aufs

    func umount(_ args: [String]) throws -> [String] {
        let a = try UmountHelperArguments.parse(args)
        try enterNamespace(a.namespace, helper: "umount.aufs")
        if syscalls.geteuid() != 0 {
            throw HelperError("umount.aufs: unmounting needs root (CAP_SYS_ADMIN)", exit: .usage)
        }
        let target = Paths.resolved(a.dir)
        var unmounter = Unmounter(syscalls: syscalls, root: root)
        unmounter.flushPseudoLinks = !a.noPlinkFlush
        unmounter.flushFailureWarns = { e in stderr("umount.aufs: warning: pseudo-links not flushed: \(e.message)") }
        unmounter.extraFlags = a.force ? Int32(MNT_FORCE) : 0
        do {
            let r = try unmounter.unmount(target, lazy: a.lazy, force: false)
            if a.verbose { stdout("umount.aufs: unmounted \(r.target)") }
        } catch let e as AufsError {
            // -r: a busy union is remounted read-only instead (umount(8)'s contract).
            if a.readOnlyOnBusy, e.errno == EBUSY, let unionRoot = try? liveRoot(target),
                case .success = withExtendedLifetime(
                    unionRoot,
                    {
                        syscalls.mount(
                            source: "none", target: unionRoot.procPath, fstype: "aufs",
                            flags: UInt(MS_REMOUNT | MS_RDONLY), data: "")
                    })
            {
                stderr("umount.aufs: \(e.message); remounted read-only")
                return ["remounted read-only"]
            }
            throw HelperError("umount.aufs: " + e.message, exit: .mountFailure)
        }
        if !a.noMtab { try Mtab(root: root).remove(target: target) }
        return ["unmounted"]
    }

    func enterNamespace(_ ns: String?, helper: String) throws {
        guard let ns else { return }
        let path = ns.allSatisfy(\.isNumber) ? "/proc/\(ns)/ns/mnt" : ns
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw HelperError("\(helper): -N \(ns): cannot open \(path): \(SysErrno(errno))", exit: .system)
        }
        defer { close(fd) }
        if aufsctl_setns_mnt(fd) != 0 {
            throw HelperError("\(helper): -N \(ns): setns: \(SysErrno(errno))", exit: .system)
        }
    }
}

/// `/etc/mtab`, only where it is a regular file (elsewhere a link to /proc/self/mounts, and
/// libmount keeps its own utab): lines added or removed under its lock.
struct Mtab {
    var root: HostRoot
    var path: String { root.resolve("/etc/mtab") }

    var isRegularFile: Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    func add(_ line: String) throws {
        guard isRegularFile else { return }
        try edit { $0 + [line] }
    }

    func remove(target: String) throws {
        guard isRegularFile else { return }
        try edit { lines in
            guard
                let i = lines.lastIndex(where: { l in
                    let f = l.split(separator: " ")
                    return f.count >= 2 && FstabLine.unescape(f[1]) == target
                })
            else { return lines }
            var out = lines
            out.remove(at: i)
            return out
        }
    }

    private func edit(_ change: ([String]) -> [String]) throws {
        // A lock file that stays (never unlinked, so two writers cannot hold two inodes), in root's
        // private /run/aufsctl, opened without following symlinks (FileLock).
        let lock: FileLock
        do {
            lock = try FileLock(path: RuntimeDir.path + "/mtab.lock", what: "/etc/mtab updates are serialised")
        } catch let e as AufsError {
            throw HelperError("cannot lock /etc/mtab: \(e.message)", exit: .mtab)
        }
        defer { lock.release() }
        let lines = (FileRead.string(path) ?? "").split(separator: "\n").map(String.init)
        do {
            try AtomicFile.write(path, change(lines).map { $0 + "\n" }.joined())
        } catch {
            throw HelperError("cannot write /etc/mtab: \(error)", exit: .mtab)
        }
    }
}
