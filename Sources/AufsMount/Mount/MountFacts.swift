// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// Whether the running kernel has an aufs module on disk to load.
public enum ModuleAvailability: Sendable, Equatable { case loadable(String), absent(String) }

/// The xino file a union gets: a path (nil for noxino), a note and a warning for the report.
public struct XinoChoice: Sendable, Equatable {
    public var path: String?
    public var note: String?
    public var warning: String?
}

/// What the overlay fallback needs to know about the host.
public struct OverlayFacts: Sendable {
    /// The upper (rw) branch is on the same filesystem as its parent, where the workdir goes.
    public var upperSharesParentDevice: Bool?
    public var whiteouts: Int
    public var firstWhiteout: String?
    public var overlayRegistered: Bool
    /// The upper branch's parent directory, opened like the branches: the workdir is made in it.
    public var upperParent: AnchoredDirectory? = nil
}

/// Everything the host says about one mount request, read before any decision is taken (as
/// libmount's context is): the planner decides on these alone, so it is pure and tested without
/// a kernel. Bad input found while reading (a missing branch, a bad xino=) throws here.
public struct MountFacts: Sendable {
    public var euid: UInt32
    /// Canonical mount point; with `createTarget` the normalised path `--mkdir` will create.
    public var target: String
    public var createTarget: Bool
    /// `target` with its existing part's symlinks resolved (for the geometry rules).
    public var canonicalTarget: String
    public var branches: [Branch]
    /// Each branch's directory fd (validated on it); empty in facts made by hand (planner tests).
    public var branchDirectories: [AnchoredDirectory] = []
    /// The mount point's directory fd; nil when --mkdir creates it (it is opened after creation).
    public var targetDirectory: AnchoredDirectory? = nil
    /// Live aufs unions and aufsctl's overlays.
    public var live: [UnionMount]
    public var aufsRegistered: Bool
    public var module: ModuleAvailability
    /// CONFIG_AUFS_BRANCH_MAX_*; read only when aufs may be mounted.
    public var branchLimit: Int?
    /// The xino choice, or the input error it found (reported after the geometry rules).
    public var xino: Result<XinoChoice, AufsError>
    /// Read only when the overlay fallback may be used.
    public var overlay: OverlayFacts?

    /// Reads the facts for `req` through the seams.
    public static func gather(
        _ req: MountRequest, syscalls: any Syscalls, root: HostRoot, cwd: String? = nil
    ) throws -> MountFacts {
        let euid = syscalls.geteuid()
        try MountPlanner.requireRoot(euid: euid, dryRun: req.dryRun)
        // aufs's branch limit applies to aufs only; the overlay fallback has its own (500 layers).
        let validator = BranchValidator(syscalls: syscalls, maxBranches: 32767, cwd: cwd)
        // Every branch is held open as an fd until the calls are made.
        let limit = aufsctl_raise_nofile(UInt(req.options.branches.count + 64))
        if limit < UInt(req.options.branches.count + 16) {
            throw AufsError.usage(
                "\(req.options.branches.count) branches need as many open files, and the limit is \(limit) "
                    + "(ulimit -n); raise it")
        }
        let (targetDirectory, target, create) = try prepareTarget(req, validator: validator)
        let anchored = try validator.validateAnchored(req.options.branches, readOnlyMount: req.options.readOnly)
        let branches = anchored.map(\.branch)
        let live = (try? StatusReader(root: root).read().mounts) ?? []
        let registered = ProcFilesystems.parse(FileRead.string(root.resolve("/proc/filesystems")) ?? "")
        let module = registered.has("aufs") ? .absent("aufs is registered") : moduleAvailability(syscalls, root)
        let xino: Result<XinoChoice, AufsError>
        do {
            xino = .success(try chooseXino(req.options, branches: branches, target: target, syscalls: syscalls))
        } catch let e as AufsError { xino = .failure(e) }
        var loadable = false
        if case .loadable = module { loadable = true }
        let overlayMayServe = req.fallback == .overlay && !registered.has("aufs")
        let aufsMayServe = registered.has("aufs") || loadable || req.fallback != .overlay
        return MountFacts(
            euid: euid, target: target, createTarget: create,
            canonicalTarget: create ? canonicalPrefix(target, syscalls) : target,
            branches: branches, branchDirectories: anchored.map(\.directory), targetDirectory: targetDirectory,
            live: live, aufsRegistered: registered.has("aufs"), module: module,
            // Every CONFIG_AUFS_BRANCH_MAX_* is at least 127 (the default the planner assumes): fewer
            // branches need no kernel config (a gunzip of /proc/config.gz; issue 14).
            branchLimit: aufsMayServe && branches.count > 127 ? branchLimit(syscalls, root) : nil, xino: xino,
            overlay: overlayMayServe
                ? try overlayFacts(anchored, syscalls: syscalls, registered: registered.has("overlay")) : nil)
    }

    /// The mount point, canonical and opened; with --mkdir a missing one is returned (normalised,
    /// no fd) to be created later.
    static func prepareTarget(
        _ req: MountRequest, validator: BranchValidator
    ) throws -> (AnchoredDirectory?, String, Bool) {
        let t = req.target
        if t.isEmpty { throw AufsError.usage("mount point: empty path") }
        for (c, name) in BranchValidator.forbidden where c == "\n" || c == "\0" {
            if t.contains(c) { throw AufsError.usage("mount point \(t.replacingOccurrencesOfNUL): contains \(name)") }
        }
        let abs = t.hasPrefix("/") ? t : Paths.join(validator.cwd, t)
        // Created under the lock by the executor, along the canonical path (no symlink followed).
        if req.mkdir && !FileRead.exists(abs) { return (nil, canonicalPrefix(abs, validator.syscalls), true) }
        let d = try validator.anchoredDirectory(t, what: "mount point")
        if d.path == "/" { throw AufsError.usage("mount point \(t): / cannot be a union's mount point") }
        return (d, d.path, false)
    }

    static func moduleAvailability(_ syscalls: any Syscalls, _ root: HostRoot) -> ModuleAvailability {
        let kver = syscalls.uname().release
        guard FileRead.isDirectory(root.resolve("/lib/modules/\(kver)")),
            let index = try? ModuleIndex(root: root, kernel: kver), let info = index.lookup("aufs"),
            let path = info.path
        else { return .absent("no aufs module for \(kver)") }
        return .loadable(path)
    }

    /// CONFIG_AUFS_BRANCH_MAX_* of the running kernel, 127 when unknown.
    static func branchLimit(_ syscalls: any Syscalls, _ root: HostRoot) -> Int {
        let kver = syscalls.uname().release
        let keys = Set([32767, 1023, 511, 127].map { "CONFIG_AUFS_BRANCH_MAX_\($0)" })
        let c =
            KernelConfig.read(root.resolve("/boot/config-\(kver)"), keys: keys)
            ?? KernelConfig.read(root.resolve("/proc/config.gz"), keys: keys, gzip: true) ?? KernelConfig(values: [:])
        for n in [32767, 1023, 511, 127] where c["CONFIG_AUFS_BRANCH_MAX_\(n)"] == "y" { return n }
        return 127
    }

    static func overlayFacts(
        _ branches: [AnchoredBranch], syscalls: any Syscalls, registered: Bool
    ) throws -> OverlayFacts {
        var shares: Bool?
        var parent: AnchoredDirectory?
        if let upper = branches.first(where: { $0.branch.permission.writable }), upper.directory.path != "/" {
            switch syscalls.anchorDirectory(Paths.dirname(upper.directory.path)) {
            case .success(let p):
                parent = p
                shares = p.status.device == upper.directory.status.device
            case .failure(let f):
                throw AufsError(
                    "overlay fallback: the parent of the upper dir \(upper.directory.path), where the workdir "
                        + "goes: \(f); nothing was done")
            }
        }
        // A count for a warning only: read by path (a swap can only change the number warned about).
        let wh = countWhiteouts(branches.filter { !$0.branch.permission.writable }.map(\.branch.path))
        return OverlayFacts(
            upperSharesParentDevice: shares, whiteouts: wh.count, firstWhiteout: wh.first,
            overlayRegistered: registered, upperParent: parent)
    }

    /// aufs whiteouts (`.wh.NAME`, `.wh..wh..opq`) below the given directories, not aufs's own
    /// `.wh..wh.plnk`/`.wh..wh.orph` bookkeeping; at most `limit` directories are read. `first` is
    /// the smallest whiteout name in the first directory (in the order given, depth first) that has one.
    /// Hand-written over getdents64: each entry's d_type tells a directory from a file, where
    /// readdir's names plus an lstat of every entry cost a 120-branch mount ~1 ms (issue 14).
    static func countWhiteouts(_ dirs: [String], limit: Int = 100_000) -> (count: Int, first: String?) {
        var count = 0
        var first: String?
        var visited = 0
        var buf = [UInt8](repeating: 0, count: 32768)
        for top in dirs {
            var stack = [top]
            while let d = stack.popLast(), visited < limit {
                visited += 1
                let fd = open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd < 0 { continue }
                defer { close(fd) }
                var found: [String] = []
                var subdirs: [String] = []
                while true {
                    let n = buf.withUnsafeMutableBytes { aufsctl_getdents64(fd, $0.baseAddress, UInt($0.count)) }
                    if n <= 0 { break }
                    buf.withUnsafeBytes { raw in
                        var off = 0
                        // linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated)
                        while off + 19 < n {
                            let reclen = Int(raw.loadUnaligned(fromByteOffset: off + 16, as: UInt16.self))
                            if reclen == 0 { break }
                            let type = raw[off + 18]
                            let nameStart = off + 19
                            var nameEnd = nameStart
                            while nameEnd < off + reclen && raw[nameEnd] != 0 { nameEnd += 1 }
                            let name = UnsafeRawBufferPointer(rebasing: raw[nameStart..<nameEnd])
                            off += reclen
                            if name.elementsEqual(".".utf8) || name.elementsEqual("..".utf8) { continue }
                            if name.starts(with: ".wh.".utf8)
                                && !(name.starts(with: ".wh..wh.".utf8) && !name.elementsEqual(".wh..wh..opq".utf8))
                            {
                                found.append(String(decoding: name, as: UTF8.self))
                                continue
                            }
                            var isDir = type == UInt8(DT_DIR)
                            if type == UInt8(DT_UNKNOWN) {  // filesystems that do not fill d_type
                                var st = stat()
                                let r = String(decoding: name, as: UTF8.self).withCString {
                                    fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW)
                                }
                                isDir = r == 0 && (st.st_mode & S_IFMT) == S_IFDIR
                            }
                            if isDir { subdirs.append(Paths.join(d, String(decoding: name, as: UTF8.self))) }
                        }
                    }
                }
                if !found.isEmpty {
                    count += found.count
                    if first == nil, let least = found.min(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                        first = Paths.join(d, least)
                    }
                }
                // Depth first, subdirectories in name order (the first whiteout named in the warning
                // may differ from before 2026-12-01, which walked the last branch first).
                stack.append(contentsOf: subdirs.sorted { $1.utf8.lexicographicallyPrecedes($0.utf8) })
            }
        }
        return (count, first)
    }

    /// The xino file: the one given (checked; a world-writable directory gets a warning), else a
    /// per-union name in root's private tmpfs directory /run/aufsctl/xino (never aufs's fixed
    /// `/tmp/.aufs.xino` or `<rw branch>/.aufs.xino`, names another user can create first: aufs
    /// creates the file with O_EXCL).
    static func chooseXino(
        _ o: AufsOptions, branches: [Branch], target: String, syscalls: any Syscalls
    ) throws -> XinoChoice {
        if o.noxino { return XinoChoice() }
        let validator = BranchValidator(syscalls: syscalls)
        if let given = o.xino {
            for (c, name) in BranchValidator.forbidden where c == "," || c == "\n" || c == "\0" {
                if given.contains(c) { throw AufsError.usage("xino=\(given): contains \(name)") }
            }
            let abs = given.hasPrefix("/") ? Paths.normalize(given) : Paths.absolute(given)
            let dir = try validator.canonicalDirectory(Paths.dirname(abs), what: "xino=\(given): directory")
            let path = Paths.join(dir, String(abs.split(separator: "/").last ?? ""))
            if case .success(let st) = syscalls.statfs(dir), let why = FilesystemKind(magic: st.magic).refusedForXino {
                throw AufsError.usage(
                    "xino=\(given): \(dir) is on \(FilesystemKind(magic: st.magic).name): \(why); "
                        + "use a file on tmpfs such as \(RuntimeDir.xinoDir)/NAME.xino")
            }
            if branches.contains(where: { path.hasPrefix($0.path + "/") && !$0.permission.writable }) {
                throw AufsError.usage(
                    "xino=\(given): inside a read-only branch; put it on a writable filesystem such as "
                        + "\(RuntimeDir.xinoDir)"
                )
            }
            var warning: String?
            if case .success(let st) = syscalls.fileStatus(dir, followSymlinks: true), st.mode & 0o002 != 0 {
                warning =
                    "xino=\(path) is in \(dir), which every user can write: another user can create that name first "
                    + "and make the mount fail (aufs creates it with O_EXCL); the default, a per-union name in "
                    + "\(RuntimeDir.xinoDir), cannot be taken"
            }
            return XinoChoice(path: path, note: nil, warning: warning)
        }
        let name = Mounter.xinoName(target: target)
        if case .success(let st) = syscalls.statfs(
            FileRead.isDirectory(RuntimeDir.xinoDir) ? RuntimeDir.xinoDir : "/run")
        {
            let kind = FilesystemKind(magic: st.magic)
            if let why = kind.refusedForXino {
                // No tmpfs /run (not a systemd host): the first writable branch, as aufs itself would.
                guard let rw = branches.first(where: { $0.permission.writable }) else {
                    throw AufsError.usage(
                        "\(RuntimeDir.xinoDir) is on \(kind.name) (\(why)) and no branch is writable; "
                            + "pass xino=PATH on tmpfs or ext4 in a directory only root can write")
                }
                let path = Paths.join(rw.path, ".aufs.xino")
                return XinoChoice(
                    path: path,
                    note: "\(RuntimeDir.xinoDir) is on \(kind.name), which aufs refuses for xino; using \(path)")
            }
        }
        return XinoChoice(path: Paths.join(RuntimeDir.xinoDir, name))
    }
}

/// The canonical form of a path that may not exist yet (--mkdir): its deepest existing ancestor
/// with symlinks resolved, then the rest.
func canonicalPrefix(_ path: String, _ syscalls: any Syscalls = LinuxSyscalls()) -> String {
    var head = Paths.normalize(path)
    var tail: [Substring] = []
    while head != "/" {
        if case .success(let c) = syscalls.realpath(head) {
            return tail.isEmpty ? c : Paths.join(c, tail.reversed().joined(separator: "/"))
        }
        tail.append(head.split(separator: "/").last ?? "")
        head = Paths.dirname(head)
    }
    return Paths.normalize(path)
}
