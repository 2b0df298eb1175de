import Glibc

public enum Fallback: String, Sendable, Codable, CaseIterable { case none, overlay }

public struct MountRequest: Sendable {
    public var options: AufsOptions
    public var target: String
    public var mkdir = false
    public var fallback: Fallback = .none
    public var dryRun = false
    /// Mount even where the union's geometry is refused (shared writable branch, target inside a branch).
    public var force = false

    public init(options: AufsOptions, target: String, mkdir: Bool = false, fallback: Fallback = .none, dryRun: Bool = false, force: Bool = false) {
        self.options = options
        self.target = target
        self.mkdir = mkdir
        self.fallback = fallback
        self.dryRun = dryRun
        self.force = force
    }
}

/// What `aufsctl mount` did (or, with --dry-run, would do).
public struct MountReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.mount/1"
    /// `aufs` or `overlay`: what was (or would be) mounted.
    public var filesystem: String
    public var target: String
    public var branches: [Branch]
    public var xino: String?
    public var calls: [String]
    public var dryRun: Bool
    public var loadedModule: Bool
    public var workdir: String?
    public var notes: [String]
    public var warnings: [String]
}

/// Validates a union against the live host and makes the calls: aufs through mount(2) plus
/// MS_REMOUNT append batches, or overlayfs as an explicit fallback.
public struct Mounter {
    public var syscalls: any Syscalls
    public var root: HostRoot
    public var lockPath = RuntimeDir.mountLock
    public var planner = AufsCallPlanner()
    /// Test-only hook run after validation and before the calls (the e2e suite removes a branch here).
    public var afterValidation: (@Sendable ([MountCall]) -> Void)?

    public init(syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot()) {
        self.syscalls = syscalls
        self.root = root
    }

    public static let workdirPrefix = ".aufsctl-work."

    public func mount(_ req: MountRequest) throws -> MountReport {
        nameThisThreadAufsctl()
        if !req.dryRun && syscalls.geteuid() != 0 {
            throw AufsError("mounting needs root (mount(2) requires CAP_SYS_ADMIN); run it with sudo, or add --dry-run to see the calls", exitCode: .failure)
        }
        // aufs's branch limit applies to aufs only; the overlay fallback has its own (500 layers).
        // The kernel config (a gunzip of /proc/config.gz) is read only once aufs is the filesystem.
        let validator = BranchValidator(syscalls: syscalls, maxBranches: 32767)
        let (target, mustCreate) = try prepareTarget(req, validator: validator)
        // --mkdir creates the mount point only once everything is validated, and removes it again
        // if the mount fails, so a refused mount changes nothing.
        func withTarget<T>(_ body: () throws -> T) throws -> T {
            guard mustCreate && !req.dryRun else { return try body() }
            let created = try makeDirectories(target)
            do { return try body() } catch {
                for d in created.reversed() { d.remove() }
                throw error
            }
        }
        let branches = try validator.validate(req.options.branches, readOnlyMount: req.options.readOnly)
        // The union against the live ones (aufs and aufsctl's overlays): what the kernel accepts
        // but breaks users is refused here unless --force, with the reason.
        let live = (try? StatusReader(root: root).read().mounts) ?? []
        let geometry = UnionGeometry.check(target: mustCreate ? canonicalPrefix(target) : target, branches: branches, live: live)
        if !geometry.refusals.isEmpty && !req.force {
            throw AufsError(geometry.refusals[0], exitCode: .usage, details: Array(geometry.refusals.dropFirst()))
        }
        let geometryWarnings = geometry.warnings + geometry.refusals.map { "--force: " + $0 }
        func checkAufsLimit() throws {
            let aufsLimit = branchLimit()
            if branches.count > aufsLimit {
                throw AufsError.usage("\(branches.count) branches given; this aufs allows at most \(aufsLimit) (CONFIG_AUFS_BRANCH_MAX_*)")
            }
        }

        // Checked before choosing the filesystem: a bad xino= is bad input even when overlay is used.
        let (xino, xinoNote, xinoWarning) = try chooseXino(req.options, branches: branches, target: target)
        var notes: [String] = []
        var loaded = false
        let registered = ProcFilesystems.parse(FileRead.string(root.resolve("/proc/filesystems")) ?? "")
        if !registered.has("aufs") {
            var unavailable: String?
            switch moduleAvailability() {
            case .loadable(let path):
                if req.dryRun {
                    notes.append("would load the aufs module (\(path)) through libkmod first")
                } else {
                    do {
                        _ = try ModuleLoader(root: root, syscalls: syscalls).load()
                        loaded = true
                        notes.append("loaded the aufs module (\(path)) through libkmod")
                    } catch let e as AufsError where req.fallback == .overlay {
                        unavailable = "the aufs module could not be loaded (\(e.message))"
                    }
                }
            case .absent(let why):
                unavailable = why
            }
            if let why = unavailable {
                if req.fallback == .overlay {
                    var report = try withTarget {
                        try OverlayMounter(syscalls: syscalls, root: root, lockPath: lockPath)
                            .mount(branches: branches, target: target, readOnly: req.options.readOnly,
                                   dryRun: req.dryRun, reason: why)
                    }
                    let ignored = req.options.other + (req.options.xino.map { ["xino=" + $0] } ?? [])
                    if !ignored.isEmpty {
                        report.warnings.append("overlay has no equivalent of the aufs options \(ignored.joined(separator: ",")); they were ignored")
                    }
                    report.warnings += geometryWarnings
                    report.notes += geometry.notes
                    return report
                }
                notes.append("aufs is not registered and \(why); trying the call anyway so the kernel has the last word")
            }
        }
        if let xinoNote { notes.append(xinoNote) }
        if let xino, xino.hasPrefix(RuntimeDir.xinoDir + "/"), !req.dryRun {
            try RuntimeDir.ensurePrivate(RuntimeDir.xinoDir, what: "the default xino directory")
        }
        var options = req.options.other
        if let xino { options.append("xino=" + xino) } else if req.options.noxino { options.append("noxino") }
        try checkAufsLimit()
        let calls = try planner.plan(branches: branches, options: options, target: target, readOnly: req.options.readOnly)
        var report = MountReport(filesystem: "aufs", target: target, branches: branches, xino: xino,
                                 calls: calls.map(\.description), dryRun: req.dryRun, loadedModule: loaded,
                                 workdir: nil, notes: notes + geometry.notes, warnings: geometryWarnings + (xinoWarning.map { [$0] } ?? []))
        if req.dryRun { return report }

        try withTarget {
            try makeCalls(calls, target: target)
        }
        report.notes.append("mounted aufs on \(target) with \(branches.count) branches in \(calls.count) call\(calls.count == 1 ? "" : "s")")
        return report
    }

    func makeCalls(_ calls: [MountCall], target: String) throws {
        let lock = try FileLock(path: lockPath, what: "mounts are serialised because concurrent aufs mounts race on xino")
        defer { lock.release() }
        if let existing = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: target) {
            throw AufsError.usage("\(target) is already a mount point (\(existing.fstype) from \(existing.source)); unmount it first (aufsctl umount \(target))")
        }
        afterValidation?(calls)
        let log = KernelLog()
        for (n, call) in calls.enumerated() {
            if case .failure(let e) = syscalls.mount(source: call.source, target: call.target, fstype: call.fstype, flags: call.flags, data: call.data) {
                var details = ["call \(n + 1) of \(calls.count): \(call)"]
                details += (log?.newLines(containing: ["aufs"]) ?? []).map { "kernel: " + $0 }
                if n > 0 {
                    let undo = syscalls.umount2(target, flags: 0)
                    if case .failure = undo { _ = syscalls.umount2(target, flags: Int32(MNT_DETACH)) }
                    details.append("rolled back: unmounted \(target) after \(n) of \(calls.count) calls had succeeded; nothing is left mounted")
                }
                throw AufsError(Mounter.explain(e, target: target), exitCode: .failure, details: details)
            }
        }
    }

    static func explain(_ e: Errno, target: String) -> String {
        switch e.code {
        case ENODEV:
            return "mount failed: ENODEV: aufs is not available in this kernel (the filesystem type is not registered); run `aufsctl check` to see why and what would fix it, or add --fallback overlay"
        case EINVAL:
            return "mount failed: EINVAL: aufs refused the options; the kernel log lines below say why"
        case EPERM, EACCES:
            return "mount failed: \(e.name): not permitted (root and CAP_SYS_ADMIN are needed)"
        case ENOSPC:
            return "mount failed: ENOSPC: too many branches for this aufs build"
        case E2BIG:
            return "mount failed: E2BIG: too many options in one call"
        default:
            return "mount failed: \(e)"
        }
    }

    enum ModuleAvailability { case loadable(String), absent(String) }

    func moduleAvailability() -> ModuleAvailability {
        let kver = syscalls.uname().release
        guard FileRead.isDirectory(root.resolve("/lib/modules/\(kver)")),
              let index = try? ModuleIndex(root: root, kernel: kver), let info = index.lookup("aufs"), let path = info.path
        else { return .absent("no aufs module for \(kver)") }
        return .loadable(path)
    }

    /// CONFIG_AUFS_BRANCH_MAX_* of the running kernel, 127 when unknown.
    func branchLimit() -> Int {
        let kver = syscalls.uname().release
        var text = FileRead.string(root.resolve("/boot/config-\(kver)"))
        if text == nil, case .ok(let t) = FileRead.gunzip(root.resolve("/proc/config.gz")) { text = t }
        let c = KernelConfig.parse(text ?? "", only: ["CONFIG_AUFS_BRANCH_MAX_32767", "CONFIG_AUFS_BRANCH_MAX_1023", "CONFIG_AUFS_BRANCH_MAX_511", "CONFIG_AUFS_BRANCH_MAX_127"])
        for n in [32767, 1023, 511, 127] where c["CONFIG_AUFS_BRANCH_MAX_\(n)"] == "y" { return n }
        return 127
    }

    /// The mount point, canonical; with --mkdir a missing one is returned (normalised) to be created later.
    func prepareTarget(_ req: MountRequest, validator: BranchValidator) throws -> (String, Bool) {
        let t = req.target
        if t.isEmpty { throw AufsError.usage("mount point: empty path") }
        for (c, name) in BranchValidator.forbidden where c == "\n" || c == "\0" {
            if t.contains(c) { throw AufsError.usage("mount point \(t.replacingOccurrencesOfNUL): contains \(name)") }
        }
        let abs = t.hasPrefix("/") ? t : FilePath.join(validator.cwd, t)
        if req.mkdir && !FileRead.exists(abs) { return (FilePath.normalize(abs), true) }
        return (try validator.canonicalDirectory(t, what: "mount point"), false)
    }

    /// A directory `--mkdir` created: its parent's fd and its name, so that removing it again
    /// never re-resolves a path another user may have changed meanwhile.
    final class CreatedDirectory {
        let parent: Int32
        let name: String
        init(parent: Int32, name: String) { self.parent = parent; self.name = name }
        func remove() { unlinkat(parent, name, AT_REMOVEDIR) }
        deinit { close(parent) }
    }

    /// mkdir -p by directory fd: existing components are followed as the user named them, but a
    /// directory this call created is opened with O_NOFOLLOW, so one swapped for a symlink (in a
    /// parent another user can write) makes it fail instead of creating the rest elsewhere.
    /// Returns what it created, outermost first.
    func makeDirectories(_ p: String) throws -> [CreatedDirectory] {
        var created: [CreatedDirectory] = []
        var fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw AufsError("--mkdir: cannot open /: \(Errno(errno))") }
        func fail(_ message: String) -> AufsError {
            close(fd)
            for d in created.reversed() { d.remove() }
            return AufsError(message)
        }
        var cur = ""
        for c in FilePath.normalize(p).split(separator: "/").map(String.init) {
            cur += "/" + c
            var made = false
            if mkdirat(fd, c, 0o755) == 0 {
                made = true
            } else if errno != EEXIST {
                throw fail("--mkdir: cannot create \(cur): \(Errno(errno))")
            }
            let next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (made ? O_NOFOLLOW : 0))
            if next < 0 {
                let e = Errno(errno)
                if made { unlinkat(fd, c, AT_REMOVEDIR) }
                throw fail(e.code == ELOOP ? "--mkdir: \(cur), which aufsctl had just created, was replaced by a symlink; nothing more was created"
                                          : "--mkdir: cannot open \(cur): \(e)")
            }
            if made { created.append(CreatedDirectory(parent: dup(fd), name: c)) }
            close(fd)
            fd = next
        }
        close(fd)
        return created
    }

    /// The xino file: the one given (checked; a world-writable directory gets a warning), else a
    /// per-union name in root's private tmpfs directory /run/aufsctl/xino (never aufs's fixed
    /// `/tmp/.aufs.xino` or `<rw branch>/.aufs.xino`, names another user can create first: aufs
    /// creates the file with O_EXCL). Returns the path, a note and a warning.
    func chooseXino(_ o: AufsOptions, branches: [Branch], target: String) throws -> (path: String?, note: String?, warning: String?) {
        if o.noxino { return (nil, nil, nil) }
        let validator = BranchValidator(syscalls: syscalls)
        if let given = o.xino {
            for (c, name) in BranchValidator.forbidden where c == "," || c == "\n" || c == "\0" {
                if given.contains(c) { throw AufsError.usage("xino=\(given): contains \(name)") }
            }
            let abs = given.hasPrefix("/") ? FilePath.normalize(given) : FilePath.absolute(given)
            let dir = try validator.canonicalDirectory(FilePath.dirname(abs), what: "xino=\(given): directory")
            let path = FilePath.join(dir, String(abs.split(separator: "/").last ?? ""))
            if case .success(let st) = syscalls.statfs(dir), let why = FilesystemKind(magic: st.magic).refusedForXino {
                throw AufsError.usage("xino=\(given): \(dir) is on \(FilesystemKind(magic: st.magic).name): \(why); use a file on tmpfs such as \(RuntimeDir.xinoDir)/NAME.xino")
            }
            if branches.contains(where: { path.hasPrefix($0.path + "/") && !$0.permission.writable }) {
                throw AufsError.usage("xino=\(given): inside a read-only branch; put it on a writable filesystem such as \(RuntimeDir.xinoDir)")
            }
            var st = stat()
            let warning = stat(dir, &st) == 0 && st.st_mode & 0o002 != 0
                ? "xino=\(path) is in \(dir), which every user can write: another user can create that name first and make the mount fail (aufs creates it with O_EXCL); the default, a per-union name in \(RuntimeDir.xinoDir), cannot be taken"
                : nil
            return (path, nil, warning)
        }
        let name = Mounter.xinoName(target: target)
        if case .success(let st) = syscalls.statfs(FileRead.isDirectory(RuntimeDir.xinoDir) ? RuntimeDir.xinoDir : "/run") {
            let kind = FilesystemKind(magic: st.magic)
            if let why = kind.refusedForXino {
                // No tmpfs /run (not a systemd host): the first writable branch, as aufs itself would.
                guard let rw = branches.first(where: { $0.permission.writable }) else {
                    throw AufsError.usage("\(RuntimeDir.xinoDir) is on \(kind.name) (\(why)) and no branch is writable; pass xino=PATH on tmpfs or ext4 in a directory only root can write")
                }
                let path = FilePath.join(rw.path, ".aufs.xino")
                return (path, "\(RuntimeDir.xinoDir) is on \(kind.name), which aufs refuses for xino; using \(path)", nil)
            }
        }
        return (FilePath.join(RuntimeDir.xinoDir, name), nil, nil)
    }

    /// A per-union xino name: the mount point's last component (safe characters only) and a hash
    /// of its whole path, e.g. `mnt-3f2a1b4c.xino`.
    static func xinoName(target: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325  // FNV-1a 64
        for b in target.utf8 { hash = (hash ^ UInt64(b)) &* 0x100000001b3 }
        let base = String((target.split(separator: "/").last ?? "root").unicodeScalars
            .map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) ? Character($0) : "_" }
            .prefix(40))
        let hex = String(hash & 0xffff_ffff, radix: 16)
        return "\(base)-\(String(repeating: "0", count: 8 - hex.count))\(hex).xino"
    }
}
